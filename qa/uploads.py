"""Save a document uploaded through a door (browser, HTTP) into the corpus, safely.

`save_upload` checks the type (the suffixes ingestion reads), the size (`ui.max_upload_mb`) and
the content (not empty, not binary), makes a safe file name (no folders, no traversal, no hidden
names), never overwrites another file (a numeric suffix is added; identical content already in
the corpus is refused) and writes the file atomically. Every refusal is a one-line InputError.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import unicodedata
from pathlib import Path

from qa.documents.corpus import SUPPORTED, scan
from qa.documents.readers import KINDS
from qa.errors import InputError
from qa.settings import Settings

MAX_NAME = 100  # characters of the stem kept from the uploaded name
# bytes of the whole saved name: file systems allow 255 (NAME_MAX); the rest leaves room for
# the "-NNNN" added when the name is taken, so 120 CJK characters (360 bytes) still fit
MAX_NAME_BYTES = 200
MAX_SUFFIX = 16  # characters: longer is no suffix ingestion reads anyway
_UNSAFE = re.compile(r"[^\w.-]+")
# the first bytes of the binary types (a .docx is a zip); every other type is UTF-8 text
_MAGIC = {".pdf": b"%PDF-", ".docx": b"PK\x03\x04"}


def safe_name(filename: str) -> str:
    """The last path component of `filename`, reduced to letters, digits, `_`, `-` and `.`;
    never hidden, never empty, never `.`/`..`. The suffix is kept (lower-cased)."""
    base = re.split(r"[\\/]", unicodedata.normalize("NFKC", filename or ""))[-1]
    base = "".join(ch for ch in base if ch.isprintable())
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    stem = _UNSAFE.sub("_", stem).strip("._- ")[:MAX_NAME].rstrip("._- ")
    suffix = _UNSAFE.sub("", suffix).lower()[:MAX_SUFFIX]
    room = MAX_NAME_BYTES - len(suffix.encode()) - 1
    stem = stem.encode()[:room].decode("utf-8", "ignore").rstrip("._- ")  # whole characters
    stem = stem or "upload"
    return f"{stem}.{suffix}" if suffix else stem


def _check_content(name: str, suffix: str, data: bytes) -> None:
    if not data.strip():
        raise InputError(f"{name}: the file is empty")
    if suffix in _MAGIC:
        if not data.startswith(_MAGIC[suffix]):
            raise InputError(f"{name}: not a {KINDS[suffix]} file")
        return
    if b"\x00" in data:
        raise InputError(f"{name}: looks like a binary file, not text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{name}: not UTF-8 text (save it as UTF-8 and upload again)") from None
    controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\t\n\r\f")
    if controls > max(8, len(text) // 100):
        raise InputError(f"{name}: looks like a binary file, not text")
    if KINDS[suffix] != "HTML" and not text.strip():
        raise InputError(f"{name}: the file is empty")


def allowed() -> str:
    """The supported types for a refusal: ".docx (Word), .htm (HTML), ..."."""
    return ", ".join(f"{k} ({KINDS[k]})" for k in sorted(SUPPORTED))


def _identical(corpus_dir: Path, data: bytes) -> str | None:
    """Relative name of a corpus file with exactly these bytes, if any."""
    digest = hashlib.sha256(data).hexdigest()
    for path, rel in scan(corpus_dir):
        try:
            if path.stat().st_size == len(data) and (
                hashlib.sha256(path.read_bytes()).hexdigest() == digest
            ):
                return rel
        except OSError:
            continue
    return None


def check_upload(settings: Settings, filename: str, data: bytes) -> tuple[str, str]:
    """(safe name, name shown in messages) of an acceptable upload; InputError otherwise.

    Refused: an unsupported type, a file over the size limit, empty or binary content, or
    content identical to a file already in the corpus."""
    name = safe_name(filename)
    shown = Path(str(filename or "").replace("\\", "/")).name or name
    suffix = Path(name).suffix.lower()
    if suffix not in SUPPORTED:
        kinds = allowed()
        got = f"'{suffix}'" if suffix else "a file without a suffix"
        raise InputError(f"{shown}: cannot index {got}; upload one of {kinds}")
    limit_mb = settings.ui.max_upload_mb
    if len(data) > limit_mb * 1024 * 1024:
        size_mb = len(data) / (1024 * 1024)
        raise InputError(f"{shown}: {size_mb:.1f} MB is over the upload limit of {limit_mb} MB")
    _check_content(shown, suffix, data)
    same = _identical(Path(settings.corpus_dir), data)
    if same is not None:
        raise InputError(f"{shown}: the same document is already in the corpus as {same}")
    return name, shown


def save_upload(settings: Settings, filename: str, data: bytes) -> Path:
    """Check an uploaded document and write it into `settings.corpus_dir`; return its path.

    Raises InputError (one line) when `check_upload` refuses it.
    """
    name, shown = check_upload(settings, filename, data)
    return _write(Path(settings.corpus_dir), name, shown, data)


def save_uploads(settings: Settings, files: list[tuple[str, bytes]]) -> list[Path]:
    """Several uploads, all or nothing: every file is checked before any is written (two equal
    files in one batch are refused too), and the files written are removed if one fails, so a
    bad second file never leaves the first in the corpus unindexed."""
    checked = [check_upload(settings, name, data) for name, data in files]
    first: dict[str, str] = {}
    for (_, shown), (_, data) in zip(checked, files, strict=True):
        digest = hashlib.sha256(data).hexdigest()
        if digest in first:
            raise InputError(f"{shown}: the same document as {first[digest]} in this upload")
        first[digest] = shown
    saved: list[Path] = []
    try:
        for (name, shown), (_, data) in zip(checked, files, strict=True):
            saved.append(_write(Path(settings.corpus_dir), name, shown, data))
    except BaseException:
        remove(saved)
        raise
    return saved


def remove(paths: list[Path]) -> None:
    """Take uploads back out of the corpus (their ingest failed: nothing is left half done)."""
    for p in paths:
        Path(p).unlink(missing_ok=True)


def _write(corpus_dir: Path, name: str, shown: str, data: bytes) -> Path:
    """Write `data` atomically under a free name like `name`, never replacing a file."""
    corpus_dir.mkdir(parents=True, exist_ok=True)
    suffix = Path(name).suffix.lower()
    # Write a hidden temporary file (ingestion skips hidden names), then hard-link it to a
    # free name: link() fails instead of replacing, so a concurrent upload is never clobbered.
    fd, tmp = tempfile.mkstemp(prefix=".upload-", suffix=".part", dir=corpus_dir)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        stem = Path(name).stem
        for i in range(0, 10_000):
            target = corpus_dir / (name if i == 0 else f"{stem}-{i}{suffix}")
            try:
                os.link(tmp, target)
            except FileExistsError:
                continue
            except OSError:  # a file system without hard links: exclusive create instead
                try:
                    with open(target, "xb") as fh:
                        fh.write(data)
                except FileExistsError:
                    continue
            return target
        raise InputError(f"{shown}: too many files with this name in the corpus")
    finally:
        Path(tmp).unlink(missing_ok=True)
