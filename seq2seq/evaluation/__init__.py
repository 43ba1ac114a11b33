"""Scoring a model on a run's splits with sacrebleu, and the results table of runs."""
