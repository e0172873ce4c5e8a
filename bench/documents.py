"""Ingest throughput for PDF and Word documents against the raw embedding model.

    .venv/bin/python bench/documents.py [--copies 4] [--out bench/results_documents.md]

Why: issue 12 adds PDF (pypdfium2) and .docx (python-docx) readers; this says what reading,
chunking and indexing them cost next to the embedding model, which bounds ingest anyway.

Corpora (built in a temporary folder, never in corpus/):
- PDF: each copy is one PDF made by PDFium from the Debian manuals tests/data/
  shared-mime-info-spec.pdf (17 pages) and /usr/share/doc/libtasn1-doc/libtasn1.pdf (36 pages,
  when installed; else the spec twice); 4 copies = 212 pages.
- DOCX: the same pages' text written by python-docx, one Heading 1 per source page (so "pages"
  for .docx are source pages: Word files have no fixed pages).

For each: read + chunk alone (qa.documents: pages/s, chunks/s), a full `qa.ingest` into an
empty local store (model loaded and warmed first, as bench/scale.py does), and the raw
embedding model on the very chunk texts that ingest embedded (same batch size), twice right
after the ingest (the mean is the reference: the cores are shared). Results:
--out (Markdown) and the same path with .json.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import pypdfium2 as pdfium  # noqa: E402

import qa  # noqa: E402
from qa.documents import chunking, corpus  # noqa: E402
from qa.models.factory import build_embedding  # noqa: E402
from qa.stores.local import LocalStore  # noqa: E402

SPEC = ROOT / "tests" / "data" / "shared-mime-info-spec.pdf"
TASN1 = Path("/usr/share/doc/libtasn1-doc/libtasn1.pdf")


def build_pdf(path: Path) -> int:
    """One PDF of the Debian manuals' pages; its page count."""
    out = pdfium.PdfDocument.new()
    for src in (SPEC, TASN1 if TASN1.exists() else SPEC):
        doc = pdfium.PdfDocument(src)
        out.import_pages(doc)
        doc.close()
    out.save(path)
    n = len(out)
    out.close()
    return n


def build_docx(pdf: Path, path: Path) -> int:
    """The PDF's text as a Word document, a Heading 1 per page; the number of pages."""
    import docx

    d = docx.Document()
    doc = corpus.read(pdf, pdf.name)
    for seg in doc.segments:
        d.add_heading(f"Page {seg.page}", level=1)
        for para in seg.text.split("\n"):
            d.add_paragraph(para)
    d.save(path)
    return len(doc.segments)


def read_only(folder: Path, s: qa.Settings) -> dict[str, float]:
    t = time.perf_counter()
    chunks = 0
    for path, rel in corpus.scan(folder):
        doc = corpus.read(path, rel)
        chunks += len(chunking.split(doc, s.retrieval.chunk_size, s.retrieval.chunk_overlap))
    return {"seconds": time.perf_counter() - t, "chunks": chunks}


def ingest(folder: Path, data: Path) -> dict[str, Any]:
    s = qa.load_settings(corpus_dir=folder, store={"data_dir": data})
    build_embedding(s).get_text_embedding_batch(["warm-up"])  # cached: ingest reuses it
    t = time.perf_counter()
    rep = qa.ingest(settings=s, progress=False)
    seconds = time.perf_counter() - t
    texts = [r["text"] for r in LocalStore(data).load().records]  # what ingest embedded
    return {"seconds": seconds, "chunks": rep.embedded_chunks, "texts": texts, "settings": s}


def raw(texts: list[str], s: qa.Settings) -> dict[str, float]:
    e = build_embedding(s)
    b = s.embedding.batch_size
    t = time.perf_counter()
    for i in range(0, len(texts), b):
        e.get_text_embedding_batch(texts[i : i + b])
    return {"seconds": time.perf_counter() - t, "chunks": len(texts)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--copies", type=int, default=4)
    ap.add_argument("--out", default=str(ROOT / "bench" / "results_documents.md"))
    a = ap.parse_args()
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="qa-bench-docs-") as tmp:
        base = Path(tmp)
        folders = {"pdf": base / "pdf", "docx": base / "docx"}
        for f in folders.values():
            f.mkdir()
        pages = 0
        for i in range(a.copies):
            pdf = folders["pdf"] / f"manuals-{i}.pdf"
            pages += build_pdf(pdf)
            build_docx(pdf, folders["docx"] / f"manuals-{i}.docx")
        for kind, folder in folders.items():
            s = qa.load_settings(corpus_dir=folder, store={"data_dir": base / f"data-{kind}"})
            r = read_only(folder, s)
            ing = ingest(folder, base / f"data-{kind}")
            # the raw model right after ingest and again after that: the two cores are shared,
            # so two runs bracket the machine's state; their mean is the reference
            runs = [raw(ing["texts"], ing["settings"]) for _ in range(2)]
            rw = {"seconds": sum(x["seconds"] for x in runs) / 2, "chunks": runs[0]["chunks"]}
            mb = sum(p.stat().st_size for p in folder.iterdir()) / 2**20
            results[kind] = {
                "files": a.copies,
                "pages": pages,
                "mb": round(mb, 2),
                "read_chunk_s": round(r["seconds"], 2),
                "read_pages_per_s": round(pages / r["seconds"], 1),
                "read_chunks_per_s": round(r["chunks"] / r["seconds"], 1),
                "chunks": ing["chunks"],
                "ingest_s": round(ing["seconds"], 2),
                "ingest_pages_per_s": round(pages / ing["seconds"], 2),
                "ingest_chunks_per_s": round(ing["chunks"] / ing["seconds"], 1),
                "raw_embed_s": round(rw["seconds"], 2),
                "raw_chunks_per_s": round(rw["chunks"] / rw["seconds"], 1),
                "raw_runs_chunks_per_s": [round(x["chunks"] / x["seconds"], 1) for x in runs],
                "ingest_vs_raw": round(rw["seconds"] / ing["seconds"], 3),
            }
            print(kind, json.dumps(results[kind]), file=sys.stderr, flush=True)
    meta = {
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "machine": f"{platform.machine()}, {__import__('os').cpu_count()} CPUs",
        "embedding": qa.describe(s)["embedding"],
        "chunk_size": s.retrieval.chunk_size,
        "batch_size": s.embedding.batch_size,
        "copies": a.copies,
        "load": " / ".join(f"{x:.1f}" for x in __import__("os").getloadavg()),
    }
    out = Path(a.out)
    out.with_suffix(".json").write_text(json.dumps({"meta": meta, "results": results}, indent=2))
    out.write_text(report(meta, results))
    print(out.read_text())


def report(meta: dict[str, Any], results: dict[str, dict]) -> str:
    rows = [
        ("files / pages / MB", lambda r: f"{r['files']} / {r['pages']} / {r['mb']}"),
        ("chunks", lambda r: r["chunks"]),
        ("read + chunk only: pages/s", lambda r: r["read_pages_per_s"]),
        ("read + chunk only: chunks/s", lambda r: r["read_chunks_per_s"]),
        ("qa.ingest: seconds", lambda r: r["ingest_s"]),
        ("qa.ingest: pages/s", lambda r: r["ingest_pages_per_s"]),
        ("qa.ingest: chunks/s", lambda r: r["ingest_chunks_per_s"]),
        ("raw embedding model: chunks/s (mean of two runs)", lambda r: r["raw_chunks_per_s"]),
        ("raw embedding model: the two runs", lambda r: r["raw_runs_chunks_per_s"]),
        ("ingest / raw throughput", lambda r: r["ingest_vs_raw"]),
    ]
    lines = [
        "# Ingest throughput: PDF and Word against the raw embedding model",
        "",
        f"`.venv/bin/python bench/documents.py --copies {meta['copies']}` on {meta['date']}, "
        f"{meta['machine']}; embedding {meta['embedding']}, chunk_size {meta['chunk_size']}, "
        f"batch {meta['batch_size']}. Corpus: Debian's shared-mime-info and libtasn1 manuals "
        "(pdfTeX) joined by PDFium; the .docx corpus is the same pages' text written by "
        "python-docx, a Heading 1 per source page. Load average (1, 5, 15 min) at the end: "
        f"{meta['load']}.",
        "",
        "| | PDF (pypdfium2) | DOCX (python-docx) |",
        "|---|---|---|",
    ]
    for name, f in rows:
        lines.append(f"| {name} | {f(results['pdf'])} | {f(results['docx'])} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
