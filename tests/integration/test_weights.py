"""The packaged model: its parts joined (about 491 MB written) give the pinned sha256."""

from __future__ import annotations

from qa.models import weights


def test_packaged_parts_join_to_the_pinned_digest(tmp_path):
    path = weights.ensure_model(tmp_path)
    assert path.stat().st_size == sum(p.stat().st_size for p in weights._part_paths())
    assert weights.sha256_of(path) == weights.SHA256
