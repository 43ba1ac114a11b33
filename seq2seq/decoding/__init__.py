"""Opening a trained model and searching with it: the one checkpoint opener, greedy and beam
search, batched translation of text."""
