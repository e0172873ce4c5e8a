"""The embedded local store: chunk records and vectors, persisted as immutable generations.

Layout under data_dir: `gen-<n>/` holds `manifest.json`, `chunks.jsonl` and `vectors.npy`;
`CURRENT` names the live generation. A commit writes a whole new generation, fsyncs it, then
atomically replaces CURRENT, so a crash at any point leaves the previous index usable.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

FORMAT = 1


class CorruptIndex(Exception):
    """The live generation cannot be read; the caller rebuilds from the corpus."""


@dataclass
class IndexData:
    """One generation in memory: manifest, chunk records and their vectors (row-aligned)."""

    manifest: dict[str, Any] = field(default_factory=lambda: {"format": FORMAT, "files": {}})
    records: list[dict[str, Any]] = field(default_factory=list)
    vectors: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.float32))
    path: Path | None = None  # the generation directory it was loaded from

    @property
    def files(self) -> dict[str, dict[str, Any]]:
        return self.manifest["files"]


class LocalStore:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)

    @property
    def _current(self) -> Path:
        return self.data_dir / "CURRENT"

    def live_dir(self) -> Path | None:
        try:
            name = self._current.read_text().strip()
        except FileNotFoundError:
            return None
        return self.data_dir / name

    def exists(self) -> bool:
        return self._current.exists()

    def load(self) -> IndexData | None:
        """The live generation, None when there is none; CorruptIndex when it is unreadable."""
        gen = self.live_dir()
        if gen is None:
            return None
        try:
            manifest = json.loads((gen / "manifest.json").read_text())
            with open(gen / "chunks.jsonl", encoding="utf-8") as f:
                records = [json.loads(line) for line in f if line.strip()]
            vectors = np.load(gen / "vectors.npy", allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise CorruptIndex(f"index at {gen} is unreadable ({exc.__class__.__name__})") from exc
        if manifest.get("format") != FORMAT or len(records) != manifest.get("chunks", -1):
            raise CorruptIndex(f"index at {gen} is incomplete")
        if len(records) and vectors.shape[0] != len(records):
            raise CorruptIndex(
                f"index at {gen} has {vectors.shape[0]} vectors, {len(records)} chunks"
            )
        return IndexData(manifest=manifest, records=records, vectors=vectors, path=gen)

    def commit(self, data: IndexData, extras: Callable[[Path], None] | None = None) -> Path:
        """Write data (and whatever `extras` writes into the new directory) as a new generation,
        make it live atomically, drop older generations."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        gen = self.data_dir / f"gen-{time.time_ns()}"
        tmp = gen.with_name(gen.name + ".tmp")
        tmp.mkdir()
        data.manifest["format"] = FORMAT
        data.manifest["chunks"] = len(data.records)
        with open(tmp / "chunks.jsonl", "w", encoding="utf-8") as f:
            for rec in data.records:
                f.write(json.dumps(rec, ensure_ascii=False) + "\n")
        np.save(tmp / "vectors.npy", data.vectors.astype(np.float32), allow_pickle=False)
        (tmp / "manifest.json").write_text(json.dumps(data.manifest, indent=1))
        if extras is not None:
            extras(tmp)
        for name in ("chunks.jsonl", "vectors.npy", "manifest.json"):
            _fsync(tmp / name)
        os.replace(tmp, gen)
        pointer = self.data_dir / "CURRENT.tmp"
        pointer.write_text(gen.name)
        _fsync(pointer)
        os.replace(pointer, self._current)
        _fsync(self.data_dir)
        self._collect(keep=gen.name)
        data.path = gen
        return gen

    def _collect(self, keep: str) -> None:
        for old in self.data_dir.glob("gen-*"):
            if old.name != keep:
                shutil.rmtree(old, ignore_errors=True)

    def discard(self) -> None:
        """Forget the live generation (used after corruption, before a rebuild)."""
        self._current.unlink(missing_ok=True)

    @contextmanager
    def lock(self) -> Iterator[None]:
        """One writer at a time across processes (CLI, browser upload, HTTP ingest)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with open(self.data_dir / ".lock", "w") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
