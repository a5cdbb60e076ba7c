"""docs/security.md names, for each threat, the test that proves its defence: every test it names exists."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "security.md"


def named_tests() -> list[tuple[str, str]]:
    """(file, test) for every `tests/x.py::test_y` on the page; a bare `::test_z` belongs to the file before it."""
    found = []
    for line in PAGE.read_text().splitlines():
        current = None
        for match in re.finditer(r"`(tests/[\w/]+\.py)?::(test_\w+)`", line):
            current = match.group(1) or current
            found.append((current, match.group(2)))
    return found


def test_the_security_page_names_tests_on_every_row():
    assert len(named_tests()) > 50
    assert all(path is not None for path, _ in named_tests())


def test_every_test_the_security_page_names_exists():
    missing = [
        f"{path}::{name}"
        for path, name in named_tests()
        if not re.search(rf"^(async )?def {name}\(", (ROOT / path).read_text(), re.MULTILINE)
    ]
    assert missing == []


def test_the_readme_links_to_the_security_page():
    assert "(docs/security.md)" in (ROOT / "README.md").read_text()
