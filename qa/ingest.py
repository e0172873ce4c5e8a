"""Turn the corpus into the persisted index, incrementally.

Unchanged files (same sha256, same chunking, same embedding model) are not touched; a changed
file has only its own chunks re-embedded; a vanished file's chunks leave the index. The result
is committed by the store as one unit (a new local generation, or one PostgreSQL transaction),
so a crash mid-way loses nothing. Ingest talks only to the Store interface (qa.stores.base).
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from qa.documents import chunking, corpus, readers
from qa.errors import one_line
from qa.models.factory import build_embedding
from qa.settings import Settings
from qa.stores import open_store
from qa.stores.base import Changes, Warn

MB = 1024 * 1024

# Committing the index in batches, so a killed ingest keeps its embedding work, is not done: a
# commit writes a whole new generation (all vectors + BM25), so per-batch commits cost O(n^2)
# writes, and a partial generation would be served as if complete. Cheaper if ever needed: an
# embedding cache keyed by chunk id (file + position + content hash), filled batch by batch and
# read by the next run.


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
    moved_from_local: int = 0  # chunks copied from the local index into PostgreSQL
    chunks: dict[str, int] = field(default_factory=dict)  # per file indexed in this run

    def as_dict(self) -> dict:
        return asdict(self)


def _signature(s: Settings, embed_name: str) -> dict:
    return {
        "embedding": f"{s.embedding.mode}:{embed_name}",
        "chunk_size": s.retrieval.chunk_size,
        "chunk_overlap": s.retrieval.chunk_overlap,
        "readers": readers.VERSION,
    }


def _targets(
    s: Settings, paths: Iterable[Path] | None, warn: Warn
) -> tuple[list[tuple[Path, str]], set[str]]:
    """Files to sync, and the name prefixes they cover (a vanished file under one is deleted)."""
    root = s.corpus_dir.resolve()
    follow = s.ingest.follow_external_links
    if not paths:
        return corpus.scan(root, warn, follow), {""}
    files, prefixes = [], set()
    for given in (Path(x) for x in paths):
        p = given.resolve()
        rel_base = p.relative_to(root).as_posix() if p.is_relative_to(root) else p.as_posix()
        if given.is_symlink() and not follow and not p.is_relative_to(root):
            warn(f"{given}: links outside the corpus, skipped (ingest.follow_external_links)")
            continue
        if p.is_dir():
            inner = corpus.scan(p, warn, follow, root=root if p.is_relative_to(root) else p)
            files += [(f, f"{rel_base}/{r}" if rel_base != "." else r) for f, r in inner]
            prefixes.add("" if rel_base == "." else rel_base + "/")
        elif p.exists():
            files.append((p, rel_base))
            prefixes.add(rel_base)
        else:
            prefixes.add(rel_base)  # named but gone: its chunks leave the index
    return files, prefixes


def _plan(
    s: Settings,
    old_files: dict[str, dict],
    paths: Iterable[Path] | None,
    report: IngestReport,
    warn: Warn,
) -> Changes:
    plan = Changes()
    files, prefixes = _targets(s, paths, warn)
    seen = {rel for _, rel in files}
    for rel, info in old_files.items():
        # a whole-corpus sync ("") covers the corpus folder, not a file ingested by its path
        # from outside it (named by its absolute path): that one leaves only when named again
        inside = not Path(rel).is_absolute()
        covered = any(rel == p or (rel.startswith(p) and (p or inside)) for p in prefixes)
        if covered and rel not in seen:
            report.deleted += 1
            plan.deleted_ids += info.get("chunks", [])
        elif not covered:
            plan.files[rel] = info
            plan.kept.add(rel)
    limit = s.ingest.max_file_mb * MB
    limits = corpus.Limits(max_pages=s.ingest.max_pages)

    def drop(rel: str, line: str) -> None:
        """One file fails, the rest of the corpus is still indexed; its old chunks go."""
        warn(line)
        report.skipped.append(rel)
        if rel in old_files:
            plan.deleted_ids += old_files[rel].get("chunks", [])
            report.deleted += 1

    for path, rel in files:
        prior = old_files.get(rel)
        skip = functools.partial(drop, rel)

        try:
            size = path.stat().st_size
            if size > limit:
                mb = s.ingest.max_file_mb
                skip(f"{rel}: {size / MB:.3g} MB is over ingest.max_file_mb ({mb:g}), skipped")
                continue
            sha = corpus.file_hash(path)
        except OSError as exc:
            skip(f"{rel}: cannot be read ({exc.strerror or exc}), skipped")
            continue
        if prior and prior["sha256"] == sha:
            report.unchanged += 1
            plan.files[rel] = prior
            plan.kept.add(rel)
            continue
        try:
            doc = corpus.read(path, rel, limits)
            nodes = chunking.split(doc, s.retrieval.chunk_size, s.retrieval.chunk_overlap)
        except corpus.UnreadableFile as exc:
            skip(str(exc))
            continue
        except Exception as exc:  # a parser or splitter bug on one file must not stop the rest
            skip(f"{rel}: could not be indexed ({one_line(exc)}), skipped")
            continue
        if prior:
            plan.deleted_ids += prior.get("chunks", [])
        report.updated += bool(prior)
        report.chunks[rel] = len(nodes)
        report.added += not prior
        plan.files[rel] = {
            "sha256": sha,
            "title": doc.metadata.get("title"),
            "date": doc.metadata.get("date"),
            "chunks": [n.node_id for n in nodes],
        }
        plan.records += [
            {
                "id": n.node_id,
                "text": n.text,
                "metadata": n.metadata,
                "start": n.start_char_idx,
                "end": n.end_char_idx,
            }
            for n in nodes
        ]
    return plan


def ingest(
    settings: Settings,
    paths: Iterable[Path] | None = None,
    progress: bool | None = None,
    warn: Warn = _stderr,
) -> IngestReport:
    """Sync the index with the corpus (or with the given files/folders) and commit it, through
    whichever store the settings choose (qa.stores.open_store)."""
    s = settings
    store = open_store(s)
    embed = build_embedding(s)
    report = IngestReport()
    try:
        with store.writer(_signature(s, embed.model_name), warn) as w:
            report.moved_from_local = w.moved
            report.rebuilt = w.replace
            changes = _plan(s, w.files, paths, report, warn)
            changed = report.added or report.updated or report.deleted
            if not changed and not w.replace and w.exists:
                report.total_chunks = w.count()
                return report
            vectors = _embed(
                embed, [r["text"] for r in changes.records], s.embedding.batch_size, progress
            )
            report.embedded_chunks = len(changes.records)
            report.total_chunks = w.commit(changes, vectors)
    finally:
        store.close()
    return report


def _embed(embed, texts: list[str], batch: int, progress: bool | None) -> np.ndarray | None:
    if not texts:
        return None
    out: list[np.ndarray] = []  # float32 per batch: Python float lists cost ~8x the memory
    # progress None: a bar only on a terminal (tqdm's disable=None); True/False force it
    disable = None if progress is None else not progress
    with tqdm(
        total=len(texts), desc="embedding", unit="chunk", disable=disable, file=sys.stderr
    ) as bar:
        for i in range(0, len(texts), batch):
            vecs = embed.get_text_embedding_batch(texts[i : i + batch])
            out.append(np.asarray(vecs, dtype=np.float32))
            bar.update(min(batch, len(texts) - i))
    return np.concatenate(out)
