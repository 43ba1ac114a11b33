"""Studies: sweeps of training jobs (result.json per job) and their report."""
