"""save_upload: type, size, content checks, safe names, no silent overwrite."""

from __future__ import annotations

from pathlib import Path

import pytest

import qa
from qa.uploads import safe_name, save_upload


@pytest.fixture
def s(tmp_path: Path) -> qa.Settings:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "existing.txt").write_text("An existing document.\n", encoding="utf-8")
    return qa.load_settings(
        corpus_dir=corpus,
        store={"data_dir": tmp_path / "data"},
        ui={"max_upload_mb": 1},
        llm={"mode": "mock"},
        embedding={"mode": "mock"},
    )


def _names(s: qa.Settings) -> list[str]:
    return sorted(p.name for p in Path(s.corpus_dir).iterdir())


def test_saves_text_into_corpus(s: qa.Settings) -> None:
    path = save_upload(s, "notes.md", b"# Notes\n\nThe moon is made of basalt.\n")
    assert path == Path(s.corpus_dir) / "notes.md"
    assert path.read_bytes() == b"# Notes\n\nThe moon is made of basalt.\n"
    assert _names(s) == ["existing.txt", "notes.md"]  # no temporary file left behind


@pytest.mark.parametrize(
    "filename",
    [
        "../../evil.txt",
        "..\\..\\evil.txt",
        "/etc/evil.txt",
        "sub/dir/evil.txt",
        "C:\\Users\\x\\evil.txt",
    ],
)
def test_path_traversal_stays_in_corpus(s: qa.Settings, filename: str) -> None:
    path = save_upload(s, filename, b"evil but harmless text\n")
    assert path.parent == Path(s.corpus_dir)
    assert path.name == "evil.txt"
    assert not (Path(s.corpus_dir).parent / "evil.txt").exists()


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        (".hidden.txt", "hidden.txt"),
        ("..txt", "upload.txt"),
        ("...", "upload"),
        ("my report (final).TXT", "my_report_final.txt"),
        ("semi;colon|pipe$.md", "semi_colon_pipe.md"),
        ("nul\x00byte.txt", "nulbyte.txt"),
        ("", "upload"),
    ],
)
def test_safe_name(filename: str, expected: str) -> None:
    assert safe_name(filename) == expected


def test_hidden_name_is_made_visible(s: qa.Settings) -> None:
    path = save_upload(s, ".bashrc.txt", b"visible now\n")
    assert not path.name.startswith(".")


def test_never_overwrites_another_file(s: qa.Settings) -> None:
    first = save_upload(s, "existing.txt", b"Different content.\n")
    second = save_upload(s, "existing.txt", b"Yet other content.\n")
    assert first.name == "existing-1.txt"
    assert second.name == "existing-2.txt"
    assert (Path(s.corpus_dir) / "existing.txt").read_text() == "An existing document.\n"


def test_identical_content_is_refused(s: qa.Settings) -> None:
    with pytest.raises(qa.InputError, match="already in the corpus as existing.txt"):
        save_upload(s, "copy.txt", b"An existing document.\n")
    assert _names(s) == ["existing.txt"]


@pytest.mark.parametrize("filename", ["tool.exe", "image.png", "archive.tar.gz", "noext"])
def test_unsupported_type_is_refused(s: qa.Settings, filename: str) -> None:
    with pytest.raises(qa.InputError, match="cannot index") as exc:
        save_upload(s, filename, b"some text\n")
    assert "\n" not in str(exc.value)
    assert _names(s) == ["existing.txt"]


def test_too_large_is_refused(s: qa.Settings) -> None:
    data = b"a line of text\n" * (1024 * 1024 // 15 + 10)  # just over 1 MB
    with pytest.raises(qa.InputError, match="over the upload limit of 1 MB"):
        save_upload(s, "big.txt", data)
    assert _names(s) == ["existing.txt"]


@pytest.mark.parametrize(
    "data",
    [
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00",
        bytes(range(256)) * 4,
        b"\xff\xfe\xfa\xfb not utf-8 \xc3\x28",
    ],
)
def test_binary_is_refused(s: qa.Settings, data: bytes) -> None:
    with pytest.raises(qa.InputError, match="binary|UTF-8"):
        save_upload(s, "fake.txt", data)
    assert _names(s) == ["existing.txt"]


@pytest.mark.parametrize("data", [b"", b"   \n\t\n"])
def test_empty_is_refused(s: qa.Settings, data: bytes) -> None:
    with pytest.raises(qa.InputError, match="empty"):
        save_upload(s, "empty.txt", data)


def test_creates_missing_corpus_dir(tmp_path: Path) -> None:
    s = qa.load_settings(corpus_dir=tmp_path / "new" / "corpus", store={"data_dir": tmp_path})
    path = save_upload(s, "a.txt", b"first document\n")
    assert path.exists()


def test_saved_upload_is_indexed(s: qa.Settings) -> None:
    path = save_upload(s, "fact.txt", b"The glorbix festival takes place in Vantor every May.\n")
    report = qa.ingest([path], settings=s, progress=False)
    assert report.added == 1
    assert report.embedded_chunks >= 1


def test_refusal_names_every_allowed_type(s: qa.Settings) -> None:
    with pytest.raises(qa.InputError) as exc:
        save_upload(s, "slides.pptx", b"PK\x03\x04 some zip")
    msg = str(exc.value)
    assert msg.startswith("slides.pptx: cannot index '.pptx'; upload one of")
    assert all(suffix in msg for suffix in qa.FILE_TYPES) and "(Word)" in msg


DATA = Path(__file__).parents[1] / "data"


@pytest.mark.parametrize("name", ["shared-mime-info-spec.pdf", "heron-station-guide.docx"])
def test_binary_documents_are_accepted(s: qa.Settings, name: str) -> None:
    data = (DATA / name).read_bytes()
    assert save_upload(s, name, data).read_bytes() == data


@pytest.mark.parametrize(("name", "kind"), [("a.pdf", "PDF"), ("a.docx", "Word")])
def test_binary_document_with_other_content_is_refused(
    s: qa.Settings, name: str, kind: str
) -> None:
    with pytest.raises(qa.InputError, match=f"a.{name[2:]}: not a {kind} file"):
        save_upload(s, name, b"plain text pretending\n")
