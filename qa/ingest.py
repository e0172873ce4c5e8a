"""Turn the corpus into the persisted index, incrementally.

Unchanged files (same sha256, same chunking, same embedding model) are not touched; a changed
file has only its own chunks re-embedded; a vanished file's chunks leave the index. The result
is committed as a new store generation, so a crash mid-way loses nothing.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from qa.documents import chunking, corpus
from qa.errors import CorpusError, one_line
from qa.models.factory import build_embedding
from qa.settings import Settings
from qa.stores.bm25 import BM25Index
from qa.stores.local import CorruptIndex, IndexData, LocalStore

Warn = Callable[[str], None]
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

    def as_dict(self) -> dict:
        return asdict(self)


def _signature(s: Settings, embed_name: str) -> dict:
    return {
        "embedding": f"{s.embedding.mode}:{embed_name}",
        "chunk_size": s.retrieval.chunk_size,
        "chunk_overlap": s.retrieval.chunk_overlap,
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


def load_index(store: LocalStore, warn: Warn = _stderr) -> IndexData | None:
    """The live index, or None (after saying so) when it is corrupt and must be rebuilt."""
    try:
        return store.load()
    except CorruptIndex as exc:
        warn(f"{exc}; rebuilding it from the corpus")
        store.discard()
        return None


@dataclass
class _Plan:
    """What one ingest changes, whatever the store: the new manifest, the chunks to embed and
    the old chunk ids that leave the index."""

    files: dict[str, dict] = field(default_factory=dict)
    kept: set[str] = field(default_factory=set)  # files whose old chunks stay as they are
    records: list[dict] = field(default_factory=list)
    deleted_ids: list[str] = field(default_factory=list)


def _plan(
    s: Settings,
    old_files: dict[str, dict],
    paths: Iterable[Path] | None,
    report: IngestReport,
    warn: Warn,
) -> _Plan:
    plan = _Plan()
    files, prefixes = _targets(s, paths, warn)
    seen = {rel for _, rel in files}
    for rel, info in old_files.items():
        covered = any(rel == p or rel.startswith(p) for p in prefixes)
        if covered and rel not in seen:
            report.deleted += 1
            plan.deleted_ids += info.get("chunks", [])
        elif not covered:
            plan.files[rel] = info
            plan.kept.add(rel)
    limit = s.ingest.max_file_mb * MB

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
            doc = corpus.read(path, rel)
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
    """Sync the index with the corpus (or with the given files/folders) and commit it."""
    if settings.store.mode == "postgres":
        return _ingest_postgres(settings, paths, progress, warn)
    s = settings
    store = LocalStore(s.store.data_dir)
    embed = build_embedding(s)
    report = IngestReport()
    with store.lock():
        old = load_index(store, warn)
        report.rebuilt = old is None and not paths
        signature = _signature(s, embed.model_name)
        if old is not None and old.manifest.get("signature") != signature:
            old = None  # other chunking or embedding model: every file is re-embedded
        old = old or IndexData()
        plan = _plan(s, old.files, paths, report, warn)
        if not (report.added or report.updated or report.deleted) and store.exists():
            report.total_chunks = len(old.records)
            return report
        vectors = _embed(embed, [r["text"] for r in plan.records], s.embedding.batch_size, progress)
        report.embedded_chunks = len(plan.records)
        keep_rows = [
            i for i, r in enumerate(old.records) if r["metadata"]["file_name"] in plan.kept
        ]
        parts = [
            v
            for v in (old.vectors[keep_rows] if keep_rows else None, vectors)
            if v is not None and len(v)
        ]
        data = IndexData(
            manifest={"signature": signature, "files": plan.files},
            records=[old.records[i] for i in keep_rows] + plan.records,
            vectors=np.vstack(parts) if parts else np.zeros((0, 0), dtype=np.float32),
        )
        texts = [r["text"] for r in data.records]
        store.commit(data, extras=lambda d: BM25Index.build(texts).save(d) if texts else None)
        report.total_chunks = len(data.records)
    return report


def _ingest_postgres(
    s: Settings, paths: Iterable[Path] | None, progress: bool | None, warn: Warn
) -> IngestReport:
    """The same sync against PostgreSQL + pgvector: one transaction per ingest.

    When the PostgreSQL index is empty and the local index was built with the same chunking and
    embedding model, its vectors are moved over instead of embedding everything again."""
    from qa.stores.postgres import PgStore

    embed = build_embedding(s)
    pg = PgStore(s)
    report = IngestReport()
    signature = _signature(s, embed.model_name)
    with pg.lock():
        manifest = pg.manifest()
        replace = manifest.get("signature") != signature
        if replace or not pg.exists():
            local = load_index(LocalStore(s.store.data_dir), warn)
            if local is not None and local.records and local.manifest.get("signature") == signature:
                pg.apply(signature, local.files, local.records, local.vectors, replace=True)
                report.moved_from_local = len(local.records)
                manifest, replace = pg.manifest(), False
        old_files = {} if replace else manifest.get("files", {})
        report.rebuilt = replace
        plan = _plan(s, old_files, paths, report, warn)
        changed = report.added or report.updated or report.deleted
        if changed or replace or not pg.exists():
            vectors = _embed(
                embed, [r["text"] for r in plan.records], s.embedding.batch_size, progress
            )
            report.embedded_chunks = len(plan.records)
            pg.apply(
                signature,
                plan.files,
                plan.records,
                vectors,
                delete_chunk_ids=plan.deleted_ids,
                replace=replace,
            )
        report.total_chunks = pg.count()
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


def require_nonempty(data: IndexData | None, corpus_dir: Path) -> IndexData:
    if data is None or not data.records:
        raise CorpusError(
            f"the corpus at {corpus_dir} has no readable documents: add .txt or .md files "
            "and run `qa ingest`"
        )
    return data
