"""Validate a learner's submitted files and write them as a build context.

The browser sends a JSON object of file name to file text. Everything here assumes that input is hostile:
names could try to escape the context directory, contents could be binary or huge. `validate_files` turns
the input into bytes or refuses it with one message a learner can read; `write_context` writes validated
files without ever following a symlink or overwriting anything.
"""

from __future__ import annotations

import math
import os
import re
import stat
from pathlib import Path

from django.conf import settings

DOCKERFILE_NAME = "Dockerfile"
MAX_NAME_LENGTH = 200

# One path part: ASCII letters, digits, dot, underscore and dash. Slashes separate parts.
NAME_PART_PATTERN = re.compile(r"[A-Za-z0-9._-]+")
NAME_CHARACTERS_HELP = "letters, digits, '.', '_', '-' and '/' between folders"


class SubmissionRejected(Exception):
    """A submission that cannot be built, with a message for the learner.

    The message names the file or Dockerfile line at fault and says what to change.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def validate_files(files: object, required: str = DOCKERFILE_NAME) -> dict[str, bytes]:
    """Check a submission's files and return them encoded as UTF-8 bytes.

    `required` is the file the submission must have: the Dockerfile, or a lab's commands.sh or compose.yaml.
    Raises SubmissionRejected naming the first problem found.
    """
    if not isinstance(files, dict):
        raise SubmissionRejected("The submission must be a set of files (file name → text).")
    max_files = settings.SUBMISSION_MAX_FILES
    if len(files) > max_files:
        raise SubmissionRejected(f"The submission has {len(files)} files; at most {max_files} are allowed.")
    for name, content in files.items():
        if not isinstance(name, str):
            raise SubmissionRejected("Every file name must be text.")
        if not isinstance(content, str):
            raise SubmissionRejected(f"{_shown(name)}: the file's content must be text.")
    for name in files:
        check_name(name)
    _check_no_file_folder_clash(files)
    encoded = {name: _encode(name, content) for name, content in files.items()}
    _check_sizes(encoded)
    if required not in encoded:
        what = "Dockerfile" if required == DOCKERFILE_NAME else required
        raise SubmissionRejected(f"The submission has no {what} (a file named exactly '{required}').")
    return encoded


def check_name(name: str) -> None:
    """Refuse a file name that is not a plain relative path inside the build context."""
    shown = _shown(name)
    if not name:
        raise SubmissionRejected("A file has an empty name.")
    if len(name) > MAX_NAME_LENGTH:
        raise SubmissionRejected(f"{shown}: file names may be at most {MAX_NAME_LENGTH} characters long.")
    if any(ord(char) < 32 or ord(char) == 127 for char in name):
        raise SubmissionRejected(f"{shown}: file names may not contain control characters.")
    if "\\" in name:
        raise SubmissionRejected(f"{shown}: use '/' between folders, not a backslash.")
    if name.startswith("/"):
        raise SubmissionRejected(f"{shown}: file names must be relative (no leading '/').")
    for part in name.split("/"):
        _check_name_part(shown, part)


def _check_name_part(shown: str, part: str) -> None:
    if part == "":
        raise SubmissionRejected(f"{shown}: the name has an empty folder part ('//' or a trailing '/').")
    if part in (".", ".."):
        raise SubmissionRejected(f"{shown}: '.' and '..' are not allowed in file names.")
    if part.startswith("-"):
        raise SubmissionRejected(f"{shown}: file and folder names may not start with '-'.")
    if not NAME_PART_PATTERN.fullmatch(part):
        raise SubmissionRejected(f"{shown}: file names may only use {NAME_CHARACTERS_HELP}.")


def _check_no_file_folder_clash(files: dict[str, str]) -> None:
    # "app" and "app/main.py" cannot both exist on disk: one name would be a file and a folder.
    folders = set()
    for name in files:
        parts = name.split("/")
        for end in range(1, len(parts)):
            folders.add("/".join(parts[:end]))
    for name in sorted(files):
        if name in folders:
            raise SubmissionRejected(f"{_shown(name)} is both a file and a folder in the submission.")


def _encode(name: str, content: str) -> bytes:
    if "\x00" in content:
        raise SubmissionRejected(f"{_shown(name)}: binary files are not accepted, only UTF-8 text.")
    try:
        return content.encode("utf-8")
    except UnicodeEncodeError:
        # Lone surrogates survive JSON decoding into str but are not valid UTF-8.
        raise SubmissionRejected(f"{_shown(name)}: the file is not valid UTF-8 text.") from None


def _check_sizes(encoded: dict[str, bytes]) -> None:
    max_file = settings.SUBMISSION_MAX_FILE_BYTES
    max_total = settings.SUBMISSION_MAX_TOTAL_BYTES
    for name, data in encoded.items():
        if len(data) > max_file:
            raise SubmissionRejected(
                f"{_shown(name)} is {_kib(len(data))} KiB; each file may be at most {_kib(max_file)} KiB."
            )
    total = sum(len(data) for data in encoded.values())
    if total > max_total:
        raise SubmissionRejected(
            f"The files add up to {_kib(total)} KiB; a submission may be at most {_kib(max_total)} KiB."
        )


def _kib(size: int) -> str:
    # Round up to a tenth so that a file just over the limit never reads as equal to it.
    value = math.ceil(size * 10 / 1024) / 10
    return str(int(value)) if value == int(value) else f"{value:.1f}"


def _shown(name: str) -> str:
    # Names appear in messages; keep them short and printable whatever the learner sent.
    printable = "".join(char if char.isprintable() else "?" for char in name)
    if len(printable) > 60:
        printable = printable[:57] + "..."
    return repr(printable)


def as_bytes(files: dict[str, bytes] | dict[str, str]) -> dict[str, bytes]:
    """Files as bytes, whether they came as text (from the browser or the course) or as bytes already."""
    return {name: data.encode("utf-8") if isinstance(data, str) else data for name, data in files.items()}


def write_context(files: dict[str, bytes], directory: str | os.PathLike[str]) -> Path:
    """Write validated files into `directory`, which must be new or empty, and return its path.

    Folders are opened relative to their parent with O_NOFOLLOW and files are created with O_EXCL, so a
    symlink or an existing file is never followed or overwritten, whatever a name says.
    """
    root = Path(directory)
    _prepare_root(root)
    root_fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        for name, data in files.items():
            # Names are checked again here: this function may be called without validate_files.
            check_name(name)
            _write_one(root_fd, name, data)
    finally:
        os.close(root_fd)
    return root


def _prepare_root(root: Path) -> None:
    try:
        os.mkdir(root, 0o755)
        return
    except FileExistsError:
        pass
    info = os.lstat(root)
    if not stat.S_ISDIR(info.st_mode) or os.listdir(root):
        raise ValueError(f"{root} must be a new or empty directory.")


def _write_one(root_fd: int, name: str, data: bytes) -> None:
    *folders, filename = name.split("/")
    dir_fd = os.dup(root_fd)
    try:
        for folder in folders:
            dir_fd = _enter_folder(dir_fd, folder)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
        file_fd = os.open(filename, flags, 0o644, dir_fd=dir_fd)
        try:
            # The umask may have removed bits; the context's files are always 0644.
            os.fchmod(file_fd, 0o644)
            view = memoryview(data)
            while view:
                written = os.write(file_fd, view)
                view = view[written:]
        finally:
            os.close(file_fd)
    finally:
        os.close(dir_fd)


def _enter_folder(parent_fd: int, folder: str) -> int:
    """Open (creating if needed) a subfolder of parent_fd, close parent_fd and return the new fd."""
    try:
        try:
            os.mkdir(folder, 0o755, dir_fd=parent_fd)
        except FileExistsError:
            pass
        return os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=parent_fd)
    finally:
        os.close(parent_fd)
