"""Load the course from lessons/content into the database.

Loading is all-or-nothing: every file is read and checked first, and only a course with no errors is
written, inside one transaction. Every error names the file, and the line where there is one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from django.db import transaction

# The checks spec belongs to the grader; it validates its own format without touching Docker.
from sandbox.grading.spec import spec_problems

from .markdown import render_markdown
from .models import Exercise, Lesson, Question

LESSON_DIR_PATTERN = re.compile(r"^(\d+)-([a-z0-9]+(?:-[a-z0-9]+)*)$")
SLUG_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
QUESTION_KINDS = {kind.value for kind in Question.Kind}
# Exercise files are plain text the learner edits in the browser; anything bigger than this is a mistake.
MAX_EXERCISE_FILE_BYTES = 256 * 1024


class ContentError(Exception):
    """One or more problems in the course files; the message lists each with its file and line."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass
class LoadedCourse:
    lessons: list[dict] = field(default_factory=list)
    exercises: list[dict] = field(default_factory=list)
    questions: list[dict] = field(default_factory=list)


@dataclass
class LoadSummary:
    lessons: int
    exercises: int
    questions: int
    removed: int


class _Problems:
    def __init__(self, root: Path):
        self.root = root
        self.items: list[str] = []

    def add(self, path: Path, message: str, line: int | None = None) -> None:
        try:
            name = path.relative_to(self.root.parent)
        except ValueError:
            name = path
        where = f"{name}:{line}" if line else f"{name}"
        self.items.append(f"{where}: {message}")


def _yaml_error_line(error: yaml.YAMLError, offset: int = 0) -> int | None:
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    return mark.line + 1 + offset if mark else None


def _describe_yaml_error(error: yaml.YAMLError) -> str:
    problem = getattr(error, "problem", None)
    return f"invalid YAML: {problem}" if problem else f"invalid YAML: {error}"


def _read_text(path: Path, problems: _Problems) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        problems.add(path, f"is not UTF-8 text ({error.reason} at byte {error.start})")
    except OSError as error:
        problems.add(path, f"cannot be read: {error.strerror}")
    return None


def _split_front_matter(path: Path, text: str, problems: _Problems) -> tuple[dict, str, int] | None:
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        problems.add(path, "must start with front matter between two '---' lines", 1)
        return None
    for index in range(1, len(lines)):
        if lines[index].strip() == "---":
            front_text = "".join(lines[1:index])
            try:
                front = yaml.safe_load(front_text) or {}
            except yaml.YAMLError as error:
                problems.add(path, _describe_yaml_error(error), _yaml_error_line(error, offset=1))
                return None
            if not isinstance(front, dict):
                problems.add(path, "front matter must be a mapping of keys to values", 2)
                return None
            return front, "".join(lines[index + 1 :]), index + 2
    problems.add(path, "front matter is not closed by a second '---' line", 1)
    return None


def _load_yaml_file(path: Path, problems: _Problems):
    text = _read_text(path, problems)
    if text is None:
        return None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        problems.add(path, _describe_yaml_error(error), _yaml_error_line(error))
        return None


def _require_str(data: dict, key: str, path: Path, problems: _Problems, where: str = "") -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        problems.add(path, f"{where}'{key}' is required and must be text")
        return ""
    return value


def _load_lesson(folder: Path, problems: _Problems) -> dict | None:
    match = LESSON_DIR_PATTERN.match(folder.name)
    if not match:
        problems.add(folder, "lesson folders are named NN-slug, e.g. 07-layer-caching")
        return None
    path = folder / "lesson.md"
    if not path.is_file():
        problems.add(folder, "has no lesson.md")
        return None
    text = _read_text(path, problems)
    if text is None:
        return None
    split = _split_front_matter(path, text, problems)
    if split is None:
        return None
    front, body, _ = split
    before = len(problems.items)
    title = _require_str(front, "title", path, problems)
    order = front.get("order")
    if not isinstance(order, int) or order < 1:
        problems.add(path, "'order' is required and must be a positive whole number")
    objectives = front.get("objectives", [])
    if not isinstance(objectives, list) or not objectives or not all(isinstance(o, str) for o in objectives):
        problems.add(path, "'objectives' must be a non-empty list of sentences")
    summary = front.get("summary", "")
    if not isinstance(summary, str):
        problems.add(path, "'summary' must be text")
    unknown = set(front) - {"title", "order", "summary", "objectives"}
    if unknown:
        problems.add(path, f"unknown front matter keys: {', '.join(sorted(unknown))}")
    if not body.strip():
        problems.add(path, "has no lesson text after the front matter")
    if len(problems.items) > before:
        return None
    rendered = render_markdown(body)
    return {
        "slug": match.group(2),
        "order": order,
        "title": title.strip(),
        "summary": summary.strip(),
        "objectives": objectives,
        "body_markdown": body,
        "body_html": rendered.html,
        "toc": rendered.toc,
        "source_path": str(path.relative_to(problems.root.parent)),
        "folder": folder,
    }


def _read_file_tree(folder: Path, problems: _Problems) -> dict[str, str]:
    files: dict[str, str] = {}
    if not folder.is_dir():
        problems.add(folder, "is missing")
        return files
    for path in sorted(folder.rglob("*")):
        if path.is_symlink():
            problems.add(path, "is a symlink; exercise files must be plain files")
        elif path.is_file():
            if path.stat().st_size > MAX_EXERCISE_FILE_BYTES:
                problems.add(path, f"is larger than {MAX_EXERCISE_FILE_BYTES // 1024} KiB")
                continue
            text = _read_text(path, problems)
            if text is not None:
                files[path.relative_to(folder).as_posix()] = text
    return files


def _load_exercise(lesson: dict, folder: Path, order: int, problems: _Problems) -> dict | None:
    path = folder / "exercise.yaml"
    if not SLUG_PATTERN.match(folder.name):
        problems.add(folder, "exercise folders are named with a lower-case slug, e.g. layer-cache")
        return None
    if not path.is_file():
        problems.add(folder, "has no exercise.yaml")
        return None
    data = _load_yaml_file(path, problems)
    if data is None:
        return None
    if not isinstance(data, dict):
        problems.add(path, "must be a mapping with title, prompt and checks", 1)
        return None
    before = len(problems.items)
    title = _require_str(data, "title", path, problems)
    prompt = _require_str(data, "prompt", path, problems)
    for message in spec_problems(data):
        problems.add(path, message)
    # An exercise's place in its lesson: `order:` when given, else its folder's place in alphabetical order.
    order = data.get("order", order)
    if isinstance(order, bool) or not isinstance(order, int) or order < 0:
        problems.add(path, "'order' must be a whole number (the exercise's place in its lesson)")
    for anchor in _section_refs(data):
        if anchor not in {entry["anchor"] for entry in lesson["toc"]}:
            problems.add(path, f"links to section '#{anchor}', which {lesson['source_path']} does not have")
    starter = _read_file_tree(folder / "starter", problems)
    solution = _read_file_tree(folder / "solution", problems)
    if len(problems.items) > before:
        return None
    return {
        "lesson_slug": lesson["slug"],
        "slug": folder.name,
        "order": order,
        "title": title.strip(),
        "kind": data.get("kind", "dockerfile"),
        "prompt_markdown": prompt,
        "prompt_html": render_markdown(prompt).html,
        "spec": data,
        "starter_files": starter,
        "solution_files": solution,
        "source_path": str(path.relative_to(problems.root.parent)),
    }


def _section_refs(spec: dict) -> list[str]:
    refs = []
    for check in spec.get("checks") or []:
        if isinstance(check, dict) and isinstance(check.get("section"), str):
            refs.append(check["section"])
    return refs


def _not_text(values: list, what: str) -> list[str]:
    # An unquoted "word: rest" in a YAML list is read as a mapping, not as text; say how to fix it.
    return [
        f"{what} {number} is not plain text (YAML reads an unquoted ': ' as a mapping); put it in quotes"
        for number, value in enumerate(values, start=1)
        if not isinstance(value, str) or not value.strip()
    ]


def _question_problems(item: dict) -> list[str]:
    kind = item.get("type")
    problems = []
    if kind in {"choice", "multi"}:
        options = item.get("options")
        if not isinstance(options, list) or len(options) < 2:
            return ["'options' must list at least two choices"]
        problems.extend(_not_text(options, "option"))
        answer = item.get("answer")
        answers = answer if kind == "multi" else [answer]
        if kind == "multi" and not isinstance(answer, list):
            problems.append("'answer' must be a list of option indexes")
        elif not all(isinstance(a, int) and 0 <= a < len(options) for a in answers):
            problems.append(f"'answer' must be option indexes from 0 to {len(options) - 1}")
    elif kind == "text":
        if not isinstance(item.get("model_answer"), str):
            problems.append("'model_answer' is required")
        if not isinstance(item.get("key_points", []), list):
            problems.append("'key_points' must be a list")
        else:
            problems.extend(_not_text(item.get("key_points", []), "key point"))
    elif kind == "spot_bug":
        code = item.get("code")
        if not isinstance(code, str) or not code.strip():
            return ["'code' is required"]
        answer = item.get("answer")
        if not isinstance(answer, int) or not 1 <= answer <= len(code.rstrip("\n").splitlines()):
            problems.append("'answer' must be a line number of 'code' (counting from 1)")
    elif kind == "order":
        items = item.get("items")
        if not isinstance(items, list) or len(items) < 2 or len(set(map(str, items))) != len(items):
            problems.append("'items' must list at least two distinct steps in the right order")
        else:
            problems.extend(_not_text(items, "item"))
    return problems


def _question_lines(text: str) -> dict[str, int]:
    """Map each question id to its line, so errors can point at the question."""
    lines = {}
    for number, line in enumerate(text.splitlines(), start=1):
        match = re.match(r"^-\s+id:\s*['\"]?([^'\"\s#]+)", line)
        if match:
            lines.setdefault(match.group(1), number)
    return lines


def _load_questions(lesson: dict, problems: _Problems) -> list[dict]:
    path = lesson["folder"] / "questions.yaml"
    if not path.is_file():
        return []
    text = _read_text(path, problems)
    if text is None:
        return []
    try:
        data = yaml.safe_load(text) or []
    except yaml.YAMLError as error:
        problems.add(path, _describe_yaml_error(error), _yaml_error_line(error))
        return []
    if not isinstance(data, list):
        problems.add(path, "must be a list of questions", 1)
        return []
    lines = _question_lines(text)
    anchors = {entry["anchor"] for entry in lesson["toc"]}
    seen: set[str] = set()
    questions = []
    for index, item in enumerate(data):
        if not isinstance(item, dict):
            problems.add(path, f"question {index + 1} must be a mapping")
            continue
        qid = item.get("id")
        line = lines.get(str(qid))
        if not isinstance(qid, str) or not SLUG_PATTERN.match(qid):
            problems.add(path, f"question {index + 1}: 'id' must be a lower-case slug", line)
            continue
        if qid in seen:
            problems.add(path, f"question id '{qid}' is used twice", line)
            continue
        seen.add(qid)
        errors = []
        if item.get("type") not in QUESTION_KINDS:
            errors.append(f"'type' must be one of {', '.join(sorted(QUESTION_KINDS))}")
        for key in ("prompt", "explanation"):
            if not isinstance(item.get(key), str) or not item[key].strip():
                errors.append(f"'{key}' is required")
        section = item.get("section", "")
        if section and section not in anchors:
            errors.append(f"'section' is '#{section}', which {lesson['source_path']} does not have")
        if not errors:
            errors = _question_problems(item)
        for error in errors:
            problems.add(path, f"question '{qid}': {error}", line)
        if errors:
            continue
        payload = {k: v for k, v in item.items() if k not in {"id", "type", "prompt", "explanation", "section"}}
        questions.append(
            {
                "lesson_slug": lesson["slug"],
                "key": f"{lesson['slug']}/{qid}",
                "kind": item["type"],
                "prompt": item["prompt"],
                "data": payload,
                "explanation": item["explanation"],
                "section": section,
                "order": index,
            }
        )
    return questions


def read_course(root: Path) -> LoadedCourse:
    """Read and check every file under root; raise ContentError listing every problem found."""
    problems = _Problems(root)
    course = LoadedCourse()
    if not root.is_dir():
        raise ContentError([f"{root}: the content folder does not exist"])
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))
    slugs: dict[str, Path] = {}
    orders: dict[int, Path] = {}
    exercise_slugs: dict[str, Path] = {}
    for folder in folders:
        lesson = _load_lesson(folder, problems)
        if lesson is None:
            continue
        if lesson["slug"] in slugs:
            problems.add(folder, f"duplicate lesson slug '{lesson['slug']}' (also {slugs[lesson['slug']].name})")
            continue
        if lesson["order"] in orders:
            problems.add(
                folder / "lesson.md", f"order {lesson['order']} is also used by {orders[lesson['order']].name}"
            )
        slugs[lesson["slug"]] = folder
        orders[lesson["order"]] = folder
        course.lessons.append(lesson)
        exercises_dir = folder / "exercises"
        if exercises_dir.is_dir():
            for order, exercise_folder in enumerate(sorted(p for p in exercises_dir.iterdir() if p.is_dir())):
                exercise = _load_exercise(lesson, exercise_folder, order, problems)
                if exercise is None:
                    continue
                if exercise["slug"] in exercise_slugs:
                    problems.add(exercise_folder, f"duplicate exercise slug '{exercise['slug']}'")
                    continue
                exercise_slugs[exercise["slug"]] = exercise_folder
                course.exercises.append(exercise)
        course.questions.extend(_load_questions(lesson, problems))
    if not course.lessons and not problems.items:
        problems.add(root, "has no lessons")
    if problems.items:
        raise ContentError(problems.items)
    return course


def _sync(model, rows: list[dict], key: str, extra: dict | None = None) -> set:
    keep = set()
    for row in rows:
        values = {k: v for k, v in row.items() if k not in {key, "folder", "lesson_slug"}}
        values.update((extra or {}).get(row[key], {}))
        model.objects.update_or_create(**{key: row[key]}, defaults=values)
        keep.add(row[key])
    return keep


@transaction.atomic
def load_course(root: Path) -> LoadSummary:
    """Read the course and write it to the database in one transaction (nothing changes on error)."""
    course = read_course(root)
    kept_lessons = _sync(Lesson, course.lessons, "slug")
    lessons = {lesson.slug: lesson for lesson in Lesson.objects.filter(slug__in=kept_lessons)}
    exercise_extra = {row["slug"]: {"lesson": lessons[row["lesson_slug"]]} for row in course.exercises}
    kept_exercises = _sync(Exercise, course.exercises, "slug", exercise_extra)
    question_extra = {row["key"]: {"lesson": lessons[row["lesson_slug"]]} for row in course.questions}
    kept_questions = _sync(Question, course.questions, "key", question_extra)
    removed = Question.objects.exclude(key__in=kept_questions).delete()[0]
    removed += Exercise.objects.exclude(slug__in=kept_exercises).delete()[0]
    removed += Lesson.objects.exclude(slug__in=kept_lessons).delete()[0]
    return LoadSummary(len(kept_lessons), len(kept_exercises), len(kept_questions), removed)
