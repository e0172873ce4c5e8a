"""Turn the corpus into the persisted index, incrementally.

Unchanged files (same sha256, same chunking, same embedding model) are not touched; a changed
file has only its own chunks re-embedded; a vanished file's chunks leave the index. The result
is committed as a new store generation, so a crash mid-way loses nothing.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from qa import chunking, corpus
from qa.bm25 import BM25Index
from qa.components import build_embedding
from qa.errors import CorpusError
from qa.settings import Settings
from qa.store import CorruptIndex, IndexData, LocalStore

Warn = Callable[[str], None]


def _stderr(msg: str) -> None:
    print(f"warning: {msg}", file=sys.stderr)


@dataclass
class IngestReport:
    added: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    skipped: list[str] = field(default_factory=list)
    embedded_chunks: int = 0
    total_chunks: int = 0
    rebuilt: bool = False

    def as_dict(self) -> dict:
        return asdict(self)


def _signature(s: Settings, embed_name: str) -> dict:
    return {
        "embedding": f"{s.embedding.mode}:{embed_name}",
        "chunk_size": s.retrieval.chunk_size,
        "chunk_overlap": s.retrieval.chunk_overlap,
    }


def _targets(s: Settings, paths: Iterable[Path] | None) -> tuple[list[tuple[Path, str]], set[str]]:
    """Files to sync, and the name prefixes they cover (a vanished file under one is deleted)."""
    root = s.corpus_dir.resolve()
    if not paths:
        return corpus.scan(root), {""}
    files, prefixes = [], set()
    for p in (Path(x).resolve() for x in paths):
        rel_base = p.relative_to(root).as_posix() if p.is_relative_to(root) else p.as_posix()
        if p.is_dir():
            files += [(f, f"{rel_base}/{r}" if rel_base != "." else r) for f, r in corpus.scan(p)]
            prefixes.add("" if rel_base == "." else rel_base + "/")
        elif p.exists():
            files.append((p, rel_base))
            prefixes.add(rel_base)
        else:
            prefixes.add(rel_base)  # named but gone: its chunks leave the index
    return files, prefixes


def load_index(store: LocalStore, warn: Warn = _stderr) -> IndexData | None:
    """The live index, or None (after saying so) when it is corrupt and must be rebuilt."""
    try:
        return store.load()
    except CorruptIndex as exc:
        warn(f"{exc}; rebuilding it from the corpus")
        store.discard()
        return None


def ingest(
    settings: Settings,
    paths: Iterable[Path] | None = None,
    progress: bool | None = None,
    warn: Warn = _stderr,
) -> IngestReport:
    """Sync the index with the corpus (or with the given files/folders) and commit it."""
    s = settings
    store = LocalStore(s.store.data_dir)
    embed = build_embedding(s)
    report = IngestReport()
    with store.lock():
        old = load_index(store, warn)
        report.rebuilt = old is None and store.live_dir() is None and bool(paths) is False
        signature = _signature(s, embed.model_name)
        if old is not None and old.manifest.get("signature") != signature:
            old = None  # other chunking or embedding model: every file is re-embedded
        old = old or IndexData()
        files, prefixes = _targets(s, paths)
        seen = {rel for _, rel in files}

        keep_rows: list[int] = []
        new_records: list[dict] = []
        new_texts: list[str] = []
        manifest_files: dict[str, dict] = {}
        rows_by_file: dict[str, list[int]] = {}
        for i, rec in enumerate(old.records):
            rows_by_file.setdefault(rec["metadata"]["file_name"], []).append(i)

        for rel, info in old.files.items():
            covered = any(rel == p or rel.startswith(p) for p in prefixes)
            if covered and rel not in seen:
                report.deleted += 1
            elif not covered:
                manifest_files[rel] = info
                keep_rows += rows_by_file.get(rel, [])

        for path, rel in files:
            prior = old.files.get(rel)
            try:
                sha = corpus.file_hash(path)
            except OSError as exc:
                warn(f"{rel}: cannot be read ({exc.strerror}), skipped")
                report.skipped.append(rel)
                continue
            if prior and prior["sha256"] == sha:
                report.unchanged += 1
                manifest_files[rel] = prior
                keep_rows += rows_by_file.get(rel, [])
                continue
            try:
                doc = corpus.read(path, rel)
            except corpus.UnreadableFile as exc:
                warn(str(exc))
                report.skipped.append(rel)
                if prior:
                    report.deleted += 1
                continue
            nodes = chunking.split(doc, s.retrieval.chunk_size, s.retrieval.chunk_overlap)
            if prior:
                report.updated += 1
            else:
                report.added += 1
            manifest_files[rel] = {
                "sha256": sha,
                "title": doc.metadata.get("title"),
                "date": doc.metadata.get("date"),
                "chunks": [n.node_id for n in nodes],
            }
            for n in nodes:
                new_records.append(
                    {
                        "id": n.node_id,
                        "text": n.text,
                        "metadata": n.metadata,
                        "start": n.start_char_idx,
                        "end": n.end_char_idx,
                    }
                )
                new_texts.append(n.text)

        changed = (
            report.added
            or report.updated
            or report.deleted
            or old.manifest.get("signature") != signature
        )
        if not changed and store.exists():
            report.total_chunks = len(old.records)
            return report

        vectors = _embed(embed, new_texts, s.embedding.batch_size, progress)
        report.embedded_chunks = len(new_texts)
        kept = old.vectors[keep_rows] if keep_rows else None
        parts = [v for v in (kept, vectors) if v is not None and len(v)]
        data = IndexData(
            manifest={"signature": signature, "files": manifest_files},
            records=[old.records[i] for i in keep_rows] + new_records,
            vectors=np.vstack(parts) if parts else np.zeros((0, 0), dtype=np.float32),
        )
        texts = [r["text"] for r in data.records]
        store.commit(data, extras=lambda d: BM25Index.build(texts).save(d) if texts else None)
        report.total_chunks = len(data.records)
    return report


def _embed(embed, texts: list[str], batch: int, progress: bool | None) -> np.ndarray | None:
    if not texts:
        return None
    out: list[list[float]] = []
    show = progress if progress is not None else None
    with tqdm(
        total=len(texts),
        desc="embedding",
        unit="chunk",
        disable=not show if show is not None else None,
        file=sys.stderr,
    ) as bar:
        for i in range(0, len(texts), batch):
            out += embed.get_text_embedding_batch(texts[i : i + batch])
            bar.update(min(batch, len(texts) - i))
    return np.asarray(out, dtype=np.float32)


def require_nonempty(data: IndexData | None, corpus_dir: Path) -> IndexData:
    if data is None or not data.records:
        raise CorpusError(
            f"the corpus at {corpus_dir} has no readable documents: add .txt or .md files "
            "and run `qa ingest`"
        )
    return data
