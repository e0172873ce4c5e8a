"""Where chunks and their vectors live: the embedded local store and PostgreSQL + pgvector."""
