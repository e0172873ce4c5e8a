"""The local model file: refused when its sha256 does not match (the real parts joined:
tests/integration/test_weights.py)."""

from __future__ import annotations

import hashlib

import pytest

from qa.models import weights


def test_verify_accepts_matching_digest(tmp_path):
    f = tmp_path / "m.gguf"
    f.write_bytes(b"weights")
    weights.verify(f, hashlib.sha256(b"weights").hexdigest())


def test_verify_refuses_mismatch_with_one_line(tmp_path):
    f = tmp_path / "m.gguf"
    f.write_bytes(b"tampered")
    with pytest.raises(weights.WeightsError) as err:
        weights.verify(f, hashlib.sha256(b"weights").hexdigest())
    assert "sha256" in str(err.value) and "\n" not in str(err.value)


def test_tampered_packaged_model_is_refused_even_with_old_stamp(tmp_path, monkeypatch):
    """A stamp from a good file does not vouch for a replaced one (size/mtime change)."""
    f = tmp_path / weights.FILE_NAME
    f.write_bytes(b"not the real model")
    (tmp_path / (weights.FILE_NAME + ".verified")).write_text('{"size": 1, "mtime_ns": 1}')
    with pytest.raises(weights.WeightsError, match=f"expected {weights.SHA256[:12]}"):
        weights.ensure_model(tmp_path)
