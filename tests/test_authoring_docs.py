"""The authoring guide documents the whole exercise spec: every check type the grader accepts is in it, or in
the grader's own reference (where kinds of exercise other than Dockerfiles document theirs)."""

from pathlib import Path

import yaml

from sandbox.grading.spec import CHECK_TYPES, COMMON_FIELDS, spec_problems

ROOT = Path(__file__).resolve().parent.parent
GUIDE = (ROOT / "docs" / "authoring.md").read_text()
GRADER = (ROOT / "sandbox" / "grading" / "README.md").read_text()


def test_every_check_type_is_documented():
    missing = [kind for kind in CHECK_TYPES if f"| `{kind}` |" not in GUIDE and f"| `{kind}` |" not in GRADER]
    assert missing == []


def test_every_field_every_check_has_is_documented():
    assert [field for field in sorted(COMMON_FIELDS) if f"| `{field}` |" not in GUIDE] == []


def test_the_guide_s_example_exercise_is_valid():
    example = GUIDE.split("An example with one check of each phase:\n\n```yaml\n")[1].split("```")[0]
    assert spec_problems(yaml.safe_load(example)) == []


def test_every_field_of_every_check_type_is_in_its_row():
    missing = []
    for kind, check_type in CHECK_TYPES.items():
        rows = [line for line in (GUIDE + "\n" + GRADER).splitlines() if line.startswith(f"| `{kind}` |")]
        for field in check_type.fields:
            if not any(f"`{field}`" in row for row in rows):
                missing.append(f"{kind}.{field}")
    assert missing == []
