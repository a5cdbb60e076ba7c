"""sandbox.files: what a submission may contain, and writing it as a build context."""

from __future__ import annotations

import os
import stat

import pytest

from sandbox.files import SubmissionRejected, _write_one, check_name, validate_files, write_context

DOCKERFILE = "FROM busybox:latest\n"


def rejected(files) -> str:
    with pytest.raises(SubmissionRejected) as caught:
        validate_files(files)
    return caught.value.message


# --- Accepted submissions -----------------------------------------------------------------------------------


def test_valid_files_come_back_as_utf8_bytes():
    files = {"Dockerfile": DOCKERFILE, "app/main.py": "print('héllo')\n", ".dockerignore": "*.pyc\n"}
    validated = validate_files(files)
    assert validated == {
        "Dockerfile": DOCKERFILE.encode(),
        "app/main.py": "print('héllo')\n".encode(),
        ".dockerignore": b"*.pyc\n",
    }


@pytest.mark.parametrize(
    "name",
    ["requirements.txt", "app/main.py", "src/pkg/__init__.py", ".dockerignore", ".env.example", "a-b_c.d", "x" * 200],
)
def test_plain_relative_names_are_allowed(name):
    check_name(name)


def test_empty_files_are_allowed():
    assert validate_files({"Dockerfile": DOCKERFILE, "empty.txt": ""})["empty.txt"] == b""


def test_files_exactly_at_the_limits_are_allowed(settings):
    settings.SUBMISSION_MAX_FILE_BYTES = 2048
    settings.SUBMISSION_MAX_TOTAL_BYTES = 4096
    settings.SUBMISSION_MAX_FILES = 3
    files = {"Dockerfile": "#" * 2047 + "\n", "a": "x" * 2048, "b": ""}
    assert len(validate_files(files)) == 3


# --- Shape and count ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("files", [None, [], "Dockerfile", [("Dockerfile", DOCKERFILE)]])
def test_not_a_dict_is_refused(files):
    assert "set of files" in rejected(files)


def test_non_text_name_is_refused():
    assert "file name must be text" in rejected({1: "x", "Dockerfile": DOCKERFILE})


@pytest.mark.parametrize("content", [None, 12, b"FROM busybox", ["FROM busybox"]])
def test_non_text_content_is_refused_and_named(content):
    message = rejected({"Dockerfile": DOCKERFILE, "app.py": content})
    assert "'app.py'" in message and "text" in message


def test_too_many_files(settings):
    settings.SUBMISSION_MAX_FILES = 3
    files = {"Dockerfile": DOCKERFILE, "a": "", "b": "", "c": ""}
    assert rejected(files) == "The submission has 4 files; at most 3 are allowed."


def test_missing_dockerfile():
    message = rejected({"app.py": "print(1)\n"})
    assert "no Dockerfile" in message


def test_dockerfile_in_a_folder_does_not_count():
    assert "no Dockerfile" in rejected({"docker/Dockerfile": DOCKERFILE})


def test_lowercase_dockerfile_does_not_count():
    assert "no Dockerfile" in rejected({"dockerfile": DOCKERFILE})


def test_empty_submission_has_no_dockerfile():
    assert "no Dockerfile" in rejected({})


# --- Names --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("/etc/passwd", "must be relative"),
        ("../secret", "'.' and '..' are not allowed"),
        ("app/../../x", "'.' and '..' are not allowed"),
        ("./app.py", "'.' and '..' are not allowed"),
        ("app\\main.py", "not a backslash"),
        ("app//main.py", "empty folder part"),
        ("app/", "empty folder part"),
        ("-rf", "may not start with '-'"),
        ("app/-x", "may not start with '-'"),
        ("tab\there", "control characters"),
        ("new\nline", "control characters"),
        ("nul\x00", "control characters"),
        ("del\x7f", "control characters"),
        ("space name.txt", "may only use letters, digits"),
        ("café.txt", "may only use letters, digits"),
        ("what?.txt", "may only use letters, digits"),
        ("a:b", "may only use letters, digits"),
        ("$HOME", "may only use letters, digits"),
        ("x" * 201, "at most 200 characters"),
    ],
)
def test_bad_names_are_refused_with_the_reason(name, expected):
    message = rejected({"Dockerfile": DOCKERFILE, name: "x"})
    assert expected in message


def test_empty_name_is_refused():
    assert "empty name" in rejected({"Dockerfile": DOCKERFILE, "": "x"})


def test_bad_name_message_names_the_file():
    assert rejected({"Dockerfile": DOCKERFILE, "../up.txt": "x"}).startswith("'../up.txt'")


def test_control_characters_are_not_echoed_raw():
    message = rejected({"Dockerfile": DOCKERFILE, "a\x1b[31mred": "x"})
    assert "\x1b" not in message


def test_long_names_are_shortened_in_messages():
    message = rejected({"Dockerfile": DOCKERFILE, "y" * 300: "x"})
    assert "..." in message and len(message) < 200


def test_a_name_that_is_both_file_and_folder_is_refused():
    message = rejected({"Dockerfile": DOCKERFILE, "app": "x", "app/main.py": "y"})
    assert message == "'app' is both a file and a folder in the submission."


# --- Content ------------------------------------------------------------------------------------------------


def test_nul_bytes_mean_binary():
    message = rejected({"Dockerfile": DOCKERFILE, "logo.png": "\x89PNG\x00\x00"})
    assert message == "'logo.png': binary files are not accepted, only UTF-8 text."


def test_lone_surrogates_are_not_utf8():
    message = rejected({"Dockerfile": DOCKERFILE, "bad.txt": "abc\udcff"})
    assert message == "'bad.txt': the file is not valid UTF-8 text."


def test_a_file_over_the_limit_names_its_size_in_kib(settings):
    settings.SUBMISSION_MAX_FILE_BYTES = 256 * 1024
    message = rejected({"Dockerfile": DOCKERFILE, "big.txt": "x" * (300 * 1024)})
    assert message == "'big.txt' is 300 KiB; each file may be at most 256 KiB."


def test_a_file_just_over_the_limit_never_reads_as_equal(settings):
    settings.SUBMISSION_MAX_FILE_BYTES = 256 * 1024
    message = rejected({"Dockerfile": DOCKERFILE, "big.txt": "x" * (256 * 1024 + 1)})
    assert "256.1 KiB" in message


def test_size_counts_utf8_bytes_not_characters(settings):
    settings.SUBMISSION_MAX_FILE_BYTES = 1024
    # 600 characters of two bytes each are 1200 bytes.
    assert "1.2 KiB" in rejected({"Dockerfile": DOCKERFILE, "accents.txt": "é" * 600})


def test_total_over_the_limit(settings):
    settings.SUBMISSION_MAX_FILE_BYTES = 4096
    settings.SUBMISSION_MAX_TOTAL_BYTES = 8192
    files = {"Dockerfile": DOCKERFILE, "a": "x" * 4096, "b": "x" * 4096}
    message = rejected(files)
    assert message == "The files add up to 8.1 KiB; a submission may be at most 8 KiB."


# --- Writing the context ------------------------------------------------------------------------------------


def test_write_context_writes_files_and_folders(tmp_path):
    files = validate_files({"Dockerfile": DOCKERFILE, "app/pkg/mod.py": "x = 1\n", ".dockerignore": "*.pyc\n"})
    root = write_context(files, tmp_path / "ctx")
    assert (root / "Dockerfile").read_bytes() == DOCKERFILE.encode()
    assert (root / "app" / "pkg" / "mod.py").read_text() == "x = 1\n"
    assert (root / ".dockerignore").exists()


def test_written_files_are_mode_0644_whatever_the_umask(tmp_path):
    old = os.umask(0o077)
    try:
        root = write_context({"Dockerfile": b"FROM busybox\n", "a/b.txt": b"x"}, tmp_path / "ctx")
    finally:
        os.umask(old)
    assert stat.S_IMODE((root / "Dockerfile").stat().st_mode) == 0o644
    assert stat.S_IMODE((root / "a" / "b.txt").stat().st_mode) == 0o644


def test_write_context_accepts_an_existing_empty_directory(tmp_path):
    write_context({"Dockerfile": b"FROM busybox\n"}, tmp_path)
    assert (tmp_path / "Dockerfile").exists()


def test_write_context_refuses_a_directory_with_files(tmp_path):
    (tmp_path / "old").write_text("x")
    with pytest.raises(ValueError):
        write_context({"Dockerfile": b"FROM busybox\n"}, tmp_path)


def test_write_context_rechecks_names(tmp_path):
    with pytest.raises(SubmissionRejected):
        write_context({"../escape": b"x"}, tmp_path / "ctx")
    assert not (tmp_path / "escape").exists()


def write_into(root, name: str, data: bytes) -> None:
    """Write one file the way write_context does, into a folder that already has something planted in it."""
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        _write_one(fd, name, data)
    finally:
        os.close(fd)


def test_writing_never_follows_a_symlinked_folder(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "ctx"
    root.mkdir()
    (root / "app").symlink_to(outside)
    with pytest.raises(OSError):
        write_into(root, "app/main.py", b"x")
    assert list(outside.iterdir()) == []


def test_writing_never_follows_or_overwrites_a_symlinked_file(tmp_path):
    target = tmp_path / "target"
    target.write_text("keep")
    root = tmp_path / "ctx"
    root.mkdir()
    (root / "Dockerfile").symlink_to(target)
    with pytest.raises(OSError):
        write_into(root, "Dockerfile", b"evil")
    assert target.read_text() == "keep"


def test_writing_never_overwrites_an_existing_file(tmp_path):
    (tmp_path / "Dockerfile").write_text("old")
    with pytest.raises(FileExistsError):
        write_into(tmp_path, "Dockerfile", b"new")
    assert (tmp_path / "Dockerfile").read_text() == "old"


def test_write_context_refuses_a_symlink_as_the_root(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "link"
    link.symlink_to(real)
    with pytest.raises(ValueError):
        write_context({"Dockerfile": b"FROM busybox\n"}, link)
    assert list(real.iterdir()) == []
