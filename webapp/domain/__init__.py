"""Domain rules as plain functions: they take what they need and know nothing of requests."""
