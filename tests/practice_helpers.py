"""A small course for the practice tests: two lessons with one question of every type, and one exercise."""

from __future__ import annotations

from pathlib import Path

from lessons.loader import load_course
from lessons.models import Exercise, Lesson, Question

from .conftest import write_file, write_lesson

IMAGES_QUESTIONS = """
- id: image-vs-container
  type: choice
  section: first-section
  prompt: What is a container, relative to an image?
  options:
    - A running instance of an image, with its own writable layer
    - A compressed copy of an image
    - A virtual machine
  answer: 0
  explanation: A container is an image plus a writable layer and a process.

- id: valid-cmds
  type: multi
  section: first-section
  prompt: Which of these are valid exec-form CMD lines?
  options:
    - 'CMD ["python", "app.py"]'
    - CMD python app.py
    - 'CMD ["gunicorn", "app:app"]'
    - "CMD ['python', 'app.py']"
  answer: [0, 2]
  explanation: Exec form is a JSON array with double quotes.

- id: vm-vs-container
  type: text
  section: first-section
  prompt: How does a container differ from a virtual machine?
  model_answer: A container shares the host kernel and starts in milliseconds; a VM boots its own kernel.
  key_points:
    - shares the host kernel
    - starts in milliseconds
  explanation: Containers are isolated processes on a shared kernel.
"""

CACHING_QUESTIONS = """
- id: spot-root
  type: spot_bug
  section: first-section
  prompt: Which line busts the cache for the dependency install on every code change?
  code: |
    FROM python:3.11-slim
    WORKDIR /app
    COPY . .
    RUN pip install -r requirements.txt
  answer: 3
  explanation: Copying the whole source before the install makes every edit miss the cache.

- id: cache-order
  type: order
  section: first-section
  prompt: Order these lines for the best use of the cache.
  items:
    - FROM python:3.11-slim
    - COPY requirements.txt .
    - RUN pip install -r requirements.txt
    - COPY . .
  explanation: Dependencies first, source last.
"""


CHECKS = [
    {"id": "builds", "type": "build", "title": "The image builds"},
    {"id": "exec-form", "type": "exec-form", "title": "CMD uses the exec form"},
    {"id": "non-root", "type": "non-root-user", "title": "The container runs as a non-root user"},
]


def build_practice_course(root: Path) -> None:
    images = write_lesson(root, "01-images", title="Images and containers", order=1)
    caching = write_lesson(root, "02-caching", title="Layer caching", order=2)
    write_file(images / "questions.yaml", IMAGES_QUESTIONS)
    write_file(caching / "questions.yaml", CACHING_QUESTIONS)
    load_course(root)
    # Made directly rather than loaded: the checks spec belongs to the sandbox, and practice needs none.
    Exercise.objects.create(
        lesson=Lesson.objects.get(slug="caching"),
        slug="first-dockerfile",
        title="Your first Dockerfile",
        prompt_markdown="Write a Dockerfile for `app.py`.",
        prompt_html="<p>Write a Dockerfile for <code>app.py</code>.</p>",
        starter_files={"Dockerfile": "FROM python:3.11-slim\n", "app.py": "print('hi')\n"},
        solution_files={"Dockerfile": 'FROM python:3.11-slim\nCOPY app.py .\nUSER 1000\nCMD ["python", "app.py"]\n'},
        spec={"checks": CHECKS},
    )


def question(key: str) -> Question:
    return Question.objects.select_related("lesson").get(key=key)
