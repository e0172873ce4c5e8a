"""Prompts live as files beside this module (qa/prompts/*.txt, shipped in the wheel), loaded
by name; none is written in code. settings.prompts_dir points elsewhere to try other wordings."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from qa.errors import ConfigError


@lru_cache(maxsize=64)
def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(f"prompt file missing: {path}") from exc


def load(prompts_dir: Path, name: str) -> str:
    """The raw text of <prompts_dir>/<name>.txt."""
    return _read(Path(prompts_dir) / f"{name}.txt")


def render(prompts_dir: Path, name: str, **values: str) -> str:
    """<prompts_dir>/<name>.txt with its {placeholders} filled (values may contain braces)."""
    return load(prompts_dir, name).format(**values)
