"""What people translate through: the terminal prompt, pipes and files, attention heatmaps."""
