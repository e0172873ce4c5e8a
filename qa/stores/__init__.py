"""Where chunks and their vectors live: the embedded local store and PostgreSQL + pgvector,
behind one interface (qa.stores.base.Store).

The store is chosen here, once, from `store.mode`; ingestion, answering and the doors get
their store from `open_store` and never branch on the mode themselves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from qa.errors import ConfigError
from qa.settings import Settings
from qa.stores.base import Changes, Store, Writer

if TYPE_CHECKING:
    from qa.stores.postgres.connection import Connection

__all__ = ["Changes", "Store", "Writer", "database_problem", "open_database", "open_store"]


def open_store(settings: Settings) -> Store:
    """The store `settings.store.mode` names (PostgreSQL's modules are imported only for it)."""
    match settings.store.mode:
        case "local":
            from qa.stores.local import LocalStore

            return LocalStore(settings.store.data_dir, settings.corpus_dir)
        case "postgres":
            from qa.stores.postgres import PgStore

            return PgStore(settings)
    raise ConfigError(f"unknown store mode {settings.store.mode!r}")


def open_database(settings: Settings) -> Connection:
    """The PostgreSQL database of `store.postgres_url`, for tables kept beside the index (the
    feedback table): engine, transactions, reads that ride out a restart, one-line errors."""
    from qa.stores.postgres.connection import Connection

    return Connection(settings)


def database_problem(settings: Settings) -> tuple[str, str] | None:
    """(operator line, client line) when the index's database does not answer now, else
    None; always None for the local store, which has no server to lose."""
    if settings.store.mode != "postgres":
        return None
    from qa.stores.postgres.connection import UNAVAILABLE

    problem = open_database(settings).probe()
    return (problem, UNAVAILABLE) if problem else None
