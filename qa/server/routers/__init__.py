"""The HTTP routes, one module per concern: chat completions, ingest, health and models."""
