"""The HTTP translation service: a JSON API with dynamic batching, and a page that uses it."""
