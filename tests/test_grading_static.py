"""Static grading checks (our Dockerfile analysis and hadolint), the checks spec, and the live lint.

Nothing here needs Docker: hadolint runs as a subprocess on the Dockerfile text.
"""

from __future__ import annotations

import textwrap
from types import SimpleNamespace

import pytest

from sandbox.grading import grade_submission, lint_dockerfile, spec_problems
from sandbox.grading.static import DockerfileSource, needed_stages, run_static_check


def dockerfile(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def run(check: dict, text: str, lint_rules: list[str] | None = None):
    return run_static_check(check, DockerfileSource(dockerfile(text), lint_rules or check.get("rules", [])))


GOOD = """
    FROM python:3.11-slim
    RUN useradd --create-home app
    WORKDIR /app
    COPY requirements.txt .
    RUN pip install --no-cache-dir -r requirements.txt
    COPY . .
    USER app
    HEALTHCHECK CMD ["python", "-c", "print('ok')"]
    CMD ["python", "app.py"]
"""

BAD = """
    FROM python:latest
    WORKDIR /app
    COPY . .
    RUN pip install -r requirements.txt
    ENV API_TOKEN=abc123
    USER root
    CMD python app.py
"""


# --- spec_problems -------------------------------------------------------------------------------------------


def check(**fields) -> dict:
    return {"id": "a-check", "title": "A check", **fields}


def test_a_valid_spec_has_no_problems():
    spec = {
        "checks": [
            check(id="lint", type="lint", rules=["DL3007", "SC2086"]),
            check(id="builds", type="build"),
            check(id="small", type="image-size", max_mb=60, points=2, section="large-images", hint="Use slim."),
            check(id="runs", type="command", run=["id", "-u"], stdout="^[1-9]", env={"A": "1"}),
            check(id="cached", type="cache", change="app.py", step="pip install"),
        ],
        "limits": {"check_seconds": 20},
        "context_files": {".git/HEAD": "ref: refs/heads/main\n"},
    }
    assert spec_problems(spec) == []


def test_spec_problems_name_the_check_and_the_field():
    spec = {"checks": [check(id="builds", type="build"), check(type="image-size", max_mb="big")]}
    assert spec_problems(spec) == ["checks[1] (image-size): 'max_mb' must be a number"]


def test_spec_problems_report_an_unknown_type_with_the_known_ones():
    problems = spec_problems({"checks": [check(type="imagesize")]})
    assert len(problems) == 1
    assert problems[0].startswith("checks[0] (imagesize): 'type' must be one of ")
    assert "image-size" in problems[0]


def test_spec_problems_report_missing_required_fields():
    assert spec_problems({"checks": [check(type="lint")]}) == ["checks[0] (lint): 'rules' is required"]


def test_spec_problems_report_unknown_keys_as_typos():
    problems = spec_problems({"checks": [check(type="lint", rules=["DL3007"], rule=["DL3006"])]})
    assert problems == ["checks[0] (lint): unknown keys rule (this type takes: rules)"]


def test_spec_problems_report_a_bad_rule_id_and_a_bad_regex():
    problems = spec_problems(
        {"checks": [check(type="lint", rules=["DL300"]), check(id="b", type="instructions", forbid=[{"pattern": "("}])]}
    )
    assert problems[0] == "checks[0] (lint): 'rules' item 1 must be a hadolint rule id such as DL3007 or SC2086"
    assert problems[1].startswith("checks[1] (instructions): 'forbid' item 1 'pattern' is not a valid regular")


def test_spec_problems_report_duplicate_ids():
    problems = spec_problems({"checks": [check(type="exec-form"), check(type="non-root-user")]})
    assert problems == ["checks[1] (non-root-user): id 'a-check' is used twice"]


def test_spec_problems_require_a_build_check_when_the_image_is_checked():
    problems = spec_problems({"checks": [check(type="image-size", max_mb=10)]})
    assert len(problems) == 1 and "require a 'build' check" in problems[0]


def test_spec_problems_require_at_least_one_assertion_where_all_are_optional():
    problems = spec_problems({"checks": [check(type="stages")]})
    assert problems == ["checks[0] (stages): give at least one of 'min', 'max'"]


def test_spec_problems_check_points_section_and_title():
    problems = spec_problems({"checks": [{"id": "x", "type": "exec-form", "points": -1, "section": 3}]})
    assert "checks[0] (exec-form): 'title' is required and must be text" in problems
    assert "checks[0] (exec-form): 'section' must be text" in problems
    assert "checks[0] (exec-form): 'points' must be a whole number of at least 0" in problems


def test_spec_problems_refuse_files_paths_that_are_not_absolute():
    problems = spec_problems({"checks": [check(id="b", type="build"), check(type="files", absent=["app/.env"])]})
    assert problems == ["checks[1] (files): 'absent' item 1 must be an absolute path in the image, such as /app/app.py"]


def test_spec_problems_check_limits_and_context_files():
    problems = spec_problems(
        {"checks": [check(type="exec-form")], "limits": {"build_seconds": 5}, "context_files": {"../x": "y"}}
    )
    assert "limits: unknown key 'build_seconds' (known: check_seconds)" in problems
    assert "'context_files' entry '../x' must be a relative path with text content" in problems


def test_spec_problems_need_a_list_of_checks():
    assert spec_problems({"checks": []}) == ["'checks' must be a non-empty list of checks"]


def test_every_shipped_exercise_has_a_valid_spec():
    from django.conf import settings

    from lessons.loader import read_course

    course = read_course(settings.LESSONS_CONTENT_DIR)
    assert len(course.exercises) >= 12
    for exercise in course.exercises:
        assert spec_problems(exercise["spec"]) == [], exercise["slug"]


# --- lint -------------------------------------------------------------------------------------------------------


def test_lint_fails_with_the_line_and_rule_that_fired():
    outcome = run({"type": "lint", "rules": ["DL3007"]}, BAD)
    assert not outcome.passed
    assert outcome.message.startswith("line 1: DL3007 Using latest is prone to errors")


def test_lint_passes_when_none_of_the_rules_fire():
    outcome = run({"type": "lint", "rules": ["DL3007", "DL3025"]}, GOOD)
    assert outcome.passed
    assert outcome.message == "hadolint finds none of DL3007, DL3025."


def test_lint_switches_on_rules_that_hadolint_leaves_off_by_default():
    outcome = run({"type": "lint", "rules": ["DL3057"]}, 'FROM python:3.11-slim\nCMD ["python"]\n')
    assert not outcome.passed
    assert "DL3057" in outcome.message


def test_lint_cannot_be_silenced_by_an_ignore_comment():
    text = """
        FROM python:3.11-slim
        # hadolint ignore=DL3025
        CMD python app.py
    """
    assert not run({"type": "lint", "rules": ["DL3025"]}, text).passed


# --- stages and base image ----------------------------------------------------------------------------------------

MULTI_STAGE = """
    FROM python:3.11-slim AS build
    RUN python -c "print('build')"
    FROM build AS base
    USER 1000
    FROM busybox:latest
    COPY --from=build /etc/hostname /copied
    CMD ["sh"]
"""


def test_stages_counts_from_lines():
    assert run({"type": "stages", "min": 2}, MULTI_STAGE).passed
    outcome = run({"type": "stages", "min": 2}, GOOD)
    assert outcome.message == "the Dockerfile has 1 stage (FROM on line 1); this exercise needs at least 2."
    assert not run({"type": "stages", "max": 2}, MULTI_STAGE).passed


def test_base_image_pinned_fails_on_latest_and_on_a_missing_tag():
    outcome = run({"type": "base-image", "pinned": True}, BAD)
    assert outcome.message.startswith("line 1: FROM python:latest uses the `latest` tag")
    outcome = run({"type": "base-image", "pinned": True}, 'FROM busybox\nCMD ["sh"]\n')
    assert outcome.message.startswith("line 1: FROM busybox names no tag")


def test_base_image_pinned_accepts_tags_digests_and_earlier_stages():
    assert run({"type": "base-image", "pinned": True}, GOOD).passed
    text = "FROM python:3.11-slim@sha256:" + "a" * 64 + " AS one\nFROM one\n"
    assert run({"type": "base-image", "pinned": True}, text).passed


def test_base_image_allowed_looks_at_the_final_stage():
    assert run({"type": "base-image", "allowed": ["busybox:latest"]}, MULTI_STAGE).passed
    outcome = run({"type": "base-image", "allowed": ["busybox"]}, GOOD)
    assert outcome.message == "line 1: the final image is built FROM python:3.11-slim; this exercise wants busybox."


def test_base_image_allowed_follows_a_final_stage_built_from_an_earlier_one():
    text = 'FROM python:3.11-slim AS base\nFROM base\nCMD ["python"]\n'
    assert run({"type": "base-image", "allowed": ["docker.io/library/python:3.11-slim"]}, text).passed


# --- user, healthcheck, exec form ---------------------------------------------------------------------------------


def test_non_root_user_fails_without_user_or_with_root():
    assert run({"type": "non-root-user"}, "FROM busybox:latest\n").message == (
        "the final stage has no USER instruction, so the container runs as root."
    )
    assert (
        run({"type": "non-root-user"}, BAD).message == "line 6: the last USER is root, so the container runs as root."
    )
    assert not run({"type": "non-root-user"}, "FROM busybox:latest\nUSER 0:0\n").passed


def test_non_root_user_passes_for_a_user_set_in_the_stage_the_final_one_builds_on():
    text = 'FROM busybox:latest AS base\nUSER nobody\nFROM base\nCMD ["sh"]\n'
    assert run({"type": "non-root-user"}, text).message == "line 2: the container runs as nobody."
    assert run({"type": "non-root-user"}, GOOD).passed


def test_healthcheck_instruction_needs_one_that_is_not_none():
    assert run({"type": "healthcheck-instruction"}, GOOD).passed
    assert not run({"type": "healthcheck-instruction"}, BAD).passed
    outcome = run({"type": "healthcheck-instruction"}, "FROM busybox:latest\nHEALTHCHECK NONE\n")
    assert outcome.message == "line 2: HEALTHCHECK NONE switches health checks off."


def test_exec_form_fails_on_shell_form_with_the_line():
    outcome = run({"type": "exec-form"}, BAD)
    assert outcome.message.startswith("line 7: `CMD python app.py` is shell form, so /bin/sh -c runs as PID 1")


def test_exec_form_fails_on_a_json_command_that_keeps_a_shell_as_pid_1():
    outcome = run({"type": "exec-form"}, 'FROM busybox:latest\nCMD ["sh", "-c", "sleep 60"]\n')
    assert "starts a shell that stays PID 1" in outcome.message
    assert run({"type": "exec-form"}, 'FROM busybox:latest\nCMD ["sh", "-c", "exec sleep 60"]\n').passed
    assert run(
        {"type": "exec-form"}, 'FROM busybox:latest\nCMD ["sh", "-c", "trap \'exit 0\' TERM; sleep 60"]\n'
    ).passed


def test_exec_form_needs_a_command():
    outcome = run({"type": "exec-form"}, "FROM busybox:latest\n")
    assert outcome.message == "the Dockerfile has no CMD or ENTRYPOINT, so the container runs the base image's command."


def test_exec_form_checks_only_the_last_cmd_and_entrypoint():
    text = 'FROM busybox:latest\nCMD sleep 1\nENTRYPOINT ["sh"]\nCMD ["-c", "echo hi"]\n'
    outcome = run({"type": "exec-form"}, text)
    assert outcome.passed
    assert outcome.message == 'line 3 `ENTRYPOINT ["sh"]` and line 4 `CMD ["-c", "echo hi"]` use exec form.'


# --- install order ------------------------------------------------------------------------------------------------

INSTALL = {"type": "install-order", "manifest": "requirements.txt", "install": "pip install"}


def test_install_order_fails_when_the_source_is_copied_before_the_install():
    outcome = run(INSTALL, BAD)
    assert outcome.message == (
        "line 3 `COPY . .` comes before line 4 `RUN pip install -r requirements.txt`, "
        "so any source change re-installs every dependency."
    )


def test_install_order_passes_when_only_the_manifest_comes_first():
    outcome = run(INSTALL, GOOD)
    assert outcome.passed
    assert outcome.message.startswith("line 4 copies only requirements.txt and line 5 installs from it")


def test_install_order_fails_when_a_single_source_file_comes_first():
    text = """
        FROM python:3.11-slim
        COPY requirements.txt app.py ./
        RUN pip install -r requirements.txt
    """
    assert "comes before line 3" in run(INSTALL, text).message


def test_install_order_needs_the_install_and_the_manifest():
    assert run(INSTALL, "FROM python:3.11-slim\nCOPY . .\n").message == (
        "no RUN instruction installs the dependencies (none matches `pip install`)."
    )
    outcome = run(INSTALL, "FROM python:3.11-slim\nRUN pip install flask\n")
    assert outcome.message.startswith("requirements.txt is not copied before line 2")


def test_install_order_accepts_globs_and_ignores_copies_from_other_stages():
    text = """
        FROM busybox:latest AS files
        FROM python:3.11-slim
        COPY --from=files /etc/passwd /tmp/passwd
        COPY requirements*.txt ./
        RUN pip install -r requirements.txt
        COPY . .
    """
    assert run(INSTALL, text).passed


# --- secrets and instructions -------------------------------------------------------------------------------------


def test_no_secrets_fails_on_an_env_with_a_secret_name():
    outcome = run({"type": "no-secrets"}, BAD)
    assert outcome.message.startswith("line 5: ENV API_TOKEN sets a secret-looking value")


def test_no_secrets_fails_on_any_arg_with_a_secret_name():
    outcome = run({"type": "no-secrets"}, "FROM busybox:latest\nARG DB_PASSWORD\n")
    assert "build arguments are recorded in the image history" in outcome.message


def test_no_secrets_fails_on_a_credential_value_whatever_its_name():
    outcome = run({"type": "no-secrets"}, "FROM busybox:latest\nENV CONFIG=sk_live_51HxTq2Lr8Vb0Wz9\n")
    assert "looks like a real credential" in outcome.message


def test_no_secrets_passes_ordinary_settings_and_empty_secret_names():
    text = (
        'FROM busybox:latest\nENV PYTHONUNBUFFERED=1 APP_ENV=production\nENV API_TOKEN=""\nENV OLD_STYLE value here\n'
    )
    assert run({"type": "no-secrets"}, text).passed


def test_instructions_forbid_names_the_line_and_the_reason():
    text = "FROM python:3.11-slim\nRUN python -m pytest\n"
    rule = {"keyword": "RUN", "pattern": "pytest", "message": "tests belong in CI."}
    assert (
        run({"type": "instructions", "forbid": [rule]}, text).message
        == "line 2 `RUN python -m pytest`: tests belong in CI."
    )


def test_instructions_ignore_stages_the_default_build_skips():
    text = """
        FROM python:3.11-slim AS base
        FROM base AS test
        RUN python -m unittest
        FROM base AS production
        CMD ["python", "app.py"]
    """
    assert run({"type": "instructions", "forbid": [{"keyword": "RUN", "pattern": "unittest"}]}, text).passed


def test_instructions_require_fails_when_nothing_matches():
    outcome = run({"type": "instructions", "require": [{"keyword": "label", "pattern": "maintainer"}]}, GOOD)
    assert (
        outcome.message
        == "no LABEL instruction does what is needed: this exercise needs one that matches `maintainer`."
    )


def test_needed_stages_follow_copy_from_and_parent_stages():
    from sandbox.dockerfile import parse_dockerfile

    text = """
        FROM busybox:latest AS assets
        FROM busybox:latest AS unused
        FROM python:3.11-slim AS base
        FROM base
        COPY --from=assets /bin/sh /sh
    """
    assert needed_stages(parse_dockerfile(dockerfile(text))) == {0, 2, 3}


# --- A Dockerfile that cannot be parsed ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["stages", "exec-form", "non-root-user", "no-secrets", "install-order"])
def test_an_unparseable_dockerfile_fails_each_check_with_the_line(kind):
    fields = {"stages": {"min": 1}, "install-order": {"manifest": "r.txt", "install": "pip"}}.get(kind, {})
    outcome = run({"type": kind, **fields}, "FROM busybox:latest\nFROMM x\n")
    assert not outcome.passed
    assert outcome.message == "line 2: unknown instruction: FROMM"


# --- lint_dockerfile (the editor's live lint) ---------------------------------------------------------------------


def test_lint_dockerfile_reports_parser_errors_with_their_line():
    findings = lint_dockerfile("FROM busybox:latest\nFROMM x\n")
    assert findings[0] == {"line": 2, "rule": "syntax", "level": "error", "message": "unknown instruction: FROMM"}
    assert all(finding["rule"] != "DL1000" for finding in findings)


def test_lint_dockerfile_reports_what_the_sandbox_refuses_and_hadolint_findings():
    findings = lint_dockerfile(dockerfile(BAD))
    rules = [finding["rule"] for finding in findings]
    assert rules[0] == "sandbox" and findings[0]["line"] == 1
    assert "python:latest" in findings[0]["message"]
    assert {"DL3007", "DL3025"} <= set(rules)
    assert [finding["line"] for finding in findings] == sorted(finding["line"] for finding in findings)


def test_lint_dockerfile_is_empty_for_a_clean_dockerfile():
    assert lint_dockerfile('FROM debian:bookworm-slim\nCMD ["bash"]\n') == []


# --- grade_submission with static checks only ---------------------------------------------------------------------


def exercise_with(checks: list[dict]):
    return SimpleNamespace(spec={"checks": checks}, lesson=SimpleNamespace(slug="layer-caching"), solution_files={})


def test_grade_submission_runs_static_checks_without_docker_and_reports_each_at_once():
    exercise = exercise_with(
        [
            {"id": "order", "type": "install-order", "title": "Order", "manifest": "requirements.txt",
             "install": "pip install", "section": "how-the-build-cache-works", "hint": "Copy it first.", "points": 3},
            {"id": "exec", "type": "exec-form", "title": "Exec form"},
        ]
    )  # fmt: skip
    seen = []
    result = grade_submission(exercise, {"Dockerfile": dockerfile(BAD)}, env=object(), on_check=seen.append)
    assert [verdict["id"] for verdict in seen] == ["order", "exec"]
    order = result["checks"][0]
    assert order["status"] == "failed" and order["passed"] is False
    assert order["section_url"] == "/lessons/layer-caching/#how-the-build-cache-works"
    assert order["hint"] == "Copy it first." and order["points"] == 3
    assert result["score"] == 0 and result["passed"] is False
    assert result["message"] == "0 of 2 checks passed. Still to fix: Order; Exec form."
    assert result["build"] is None and result["image"] is None


def test_grade_submission_scores_by_points():
    exercise = exercise_with(
        [
            {"id": "order", "type": "install-order", "title": "Order", "manifest": "requirements.txt",
             "install": "pip install", "points": 3},
            {"id": "exec", "type": "exec-form", "title": "Exec form"},
        ]
    )  # fmt: skip
    text = dockerfile(BAD).replace("CMD python app.py", 'CMD ["python", "app.py"]')
    result = grade_submission(exercise, {"Dockerfile": text}, env=object())
    assert result["score"] == 25


def test_grade_submission_reports_a_broken_check_as_an_error_that_never_passes(monkeypatch):
    from sandbox.grading import static

    def broken(check, source):
        raise RuntimeError("boom")

    monkeypatch.setitem(static.STATIC_CHECKS, "exec-form", broken)
    result = grade_submission(exercise_with([{"id": "exec", "type": "exec-form", "title": "E"}]),
                              {"Dockerfile": dockerfile(GOOD)}, env=object())  # fmt: skip
    verdict = result["checks"][0]
    assert verdict["status"] == "error" and verdict["passed"] is False
    assert verdict["message"] == "could not run this check: an internal error (RuntimeError)"
    assert result["passed"] is False
