"""The PostgreSQL connection: settings checked and turned into an engine, transactions whose
database errors become one-line BackendErrors (password masked), and reads that ride out a
server restart."""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine, make_url

from qa.errors import ConfigError, DatabaseError
from qa.settings import Settings

CONNECT_TIMEOUT_S = 5
RECOVER_S = 10.0  # how long a read waits for a restarting server before giving up
PROBE_TIMEOUT_S = 2  # the readiness probe: a database slower than this to connect is not ready
UNAVAILABLE = "the database is unavailable"  # all an API client learns of the database
_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,40}$")


def mask_url(url: str | URL) -> str:
    """The URL with any password replaced by '***' (safe for messages and logs)."""
    try:
        return make_url(str(url)).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - unparsable: show nothing of it
        return "<unparsable postgres url>"


class Connection:
    """Engine, transactions and retries of one PgStore (the base of its other parts)."""

    def __init__(self, settings: Settings, embed_dim: int | None = None) -> None:
        raw = settings.store.postgres_url
        if raw is None or not raw.get_secret_value().strip():
            raise ConfigError(
                "store.mode is postgres but store.postgres_url is not set "
                "(e.g. QA_STORE__POSTGRES_URL=postgresql://user@127.0.0.1:55433/corpus_qa)"
            )
        table = settings.store.table.lower()
        if not _NAME.match(table):
            raise ConfigError(f"store.table {settings.store.table!r} is not a plain SQL name")
        try:
            url = make_url(raw.get_secret_value().strip())
        except Exception as exc:
            raise ConfigError("store.postgres_url is not a valid URL") from exc
        if url.get_backend_name() not in ("postgresql", "postgres"):
            raise ConfigError(f"store.postgres_url must be postgresql://..., not {mask_url(url)}")
        self.url = url.set(drivername="postgresql+psycopg2")
        self._async_url = url.set(drivername="postgresql+asyncpg")
        self.masked_url = mask_url(url)
        self.table = table
        self.data_table = f"data_{table}"
        self.files_table = f"{table}_files"
        self.meta_table = f"{table}_meta"
        self._requested_dim = embed_dim
        self._engine: Engine | None = None
        self._async_engine = None
        self._vs = None  # PGVectorStore for the current dimension
        self._vs_dim: int | None = None
        self._ready = False
        self._keyword_ready = False  # text_tsv seen on the data table
        self._seen_server = False

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = sa.create_engine(
                self.url,
                pool_pre_ping=True,
                pool_size=5,
                max_overflow=10,
                connect_args={"connect_timeout": CONNECT_TIMEOUT_S},
            )
        return self._engine

    def _async(self):
        if self._async_engine is None:
            from sqlalchemy.ext.asyncio import create_async_engine

            self._async_engine = create_async_engine(self._async_url, pool_pre_ping=True)
        return self._async_engine

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
        self._async_engine = None  # never connected by us; PGVectorStore's async path only
        self._vs = None
        self._ready = False

    def _error(self, exc: BaseException, doing: str) -> DatabaseError:
        reason = exc.__class__.__name__
        orig = getattr(exc, "orig", None)
        if orig is not None:
            first = (str(orig).strip().splitlines() or [""])[0]
            reason = f"{orig.__class__.__name__}: {first}" if first else reason
        if self.url.password:
            reason = reason.replace(str(self.url.password), "***")
        return DatabaseError(
            f"PostgreSQL at {self.masked_url}: {doing} failed ({reason})", public=UNAVAILABLE
        )

    def probe(self) -> str | None:
        """None when the server answers `select 1` now, else the operator's one-line reason:
        the readiness check behind /health. One fresh connection, no retry, no pool, so a
        database that went away is reported at once and one that came back is seen at once."""
        engine = sa.create_engine(
            self.url, poolclass=sa.pool.NullPool, connect_args={"connect_timeout": PROBE_TIMEOUT_S}
        )
        try:
            with engine.connect() as conn:
                conn.execute(sa.text("select 1"))
            return None
        except sa.exc.DBAPIError as exc:
            return str(self._error(exc, "connecting"))
        finally:
            engine.dispose()

    @contextmanager
    def _tx(self, doing: str) -> Iterator[sa.Connection]:
        """One transaction; database errors become DatabaseError (and roll the work back)."""
        try:
            with self.engine.begin() as conn:
                yield conn
        except sa.exc.DBAPIError as exc:
            raise self._error(exc, doing) from exc

    def transaction(self, doing: str) -> contextlib.AbstractContextManager[sa.Connection]:
        """One transaction for tables kept beside the index (qa.feedback): see _tx."""
        return self._tx(doing)

    def read(self, doing: str, fn):
        """fn(conn) in a read transaction that rides out a server restart: see _read."""
        return self._read(doing, fn)

    def _read(self, doing: str, fn):
        """Run fn(conn) in a read transaction (no DDL: a missing table reads as empty); see
        _retrying for what happens on a drop."""

        def run():
            with self.engine.begin() as conn:
                return fn(conn)

        return self._retrying(doing, run)

    def _retrying(self, doing: str, run):
        """run(), riding out a server restart: once this store has talked to the server, a
        dropped or refused connection is retried on a fresh pool for up to RECOVER_S. A server
        that never answered fails at once.
        """
        deadline = None
        while True:
            try:
                result = run()
                self._seen_server = True
                return result
            except sa.exc.DBAPIError as exc:
                transient = exc.connection_invalidated or (
                    self._seen_server
                    and isinstance(exc, sa.exc.OperationalError | sa.exc.InterfaceError)
                )
                now = time.monotonic()
                deadline = deadline or now + RECOVER_S
                if not transient or now >= deadline:
                    raise self._error(exc, doing) from exc
                self.engine.dispose()
                time.sleep(0.25)
