"""`manage.py bench` runs end to end in a tiny mode and writes its numbers as JSON; its arithmetic is plain."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from ops.management.commands.bench import as_markdown, median, medians, target, to_json

ROOT = Path(__file__).resolve().parent.parent


def run_bench(tmp_path: Path, *args: str) -> tuple[dict, str]:
    out = tmp_path / "bench.json"
    result = subprocess.run(
        [sys.executable, "manage.py", "bench", "--runs", "1", "--json", str(out), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(out.read_text()), result.stdout


def assert_positive(value) -> None:
    assert isinstance(value, float) and value > 0, value


@pytest.mark.sandbox
def test_a_tiny_run_measures_raw_and_dockyard_side_by_side_and_writes_json(tmp_path):
    found, printed = run_bench(tmp_path, "--skip-browser", "--bursts", "2")
    assert set(found) == {"machine", "started_at", "runs", "playground", "graded", "browser", "throughput", "targets"}
    assert found["runs"] == 1
    playground = found["playground"]["medians"]
    assert set(playground) == {"raw_first_line", "raw_build", "ws_first_line", "ws_final"}
    for value in playground.values():
        assert_positive(value)
    assert playground["raw_first_line"] <= playground["raw_build"]
    assert playground["ws_first_line"] <= playground["ws_final"]
    graded = found["graded"]
    assert set(graded["medians"]) == {"raw_build", "raw_build_and_checks", "ws_first_line", "ws_verdict"}
    assert set(graded["raw_checks"]) == {"inspect", "history", "app-copied", "prints-greeting"}
    # The stage spans come from the timings every submission records.
    assert {"queue", "lease", "build", "checks", "publish", "total"} <= set(graded["stages"])
    assert "check:prints-greeting" in graded["stages"]
    assert found["browser"] == {"skipped": "skipped (--skip-browser)"}
    burst = found["throughput"]["2"]
    for name in ("raw_sequential_per_daemon", "raw_one_by_one", "dockyard"):
        assert_positive(burst[name])
    names = [row["name"] for row in found["targets"]]
    assert names == [
        "first log line at the WebSocket ≤ raw first line + 100 ms",
        "playground final event ≤ 1.15× raw build",
        "graded verdict ≤ 1.15× raw build + checks",
        "Chromium: click → first line on the page ≤ 300 ms",
        "Chromium: page verdict ≤ 300 ms after the WebSocket verdict",
        "2 at once ≤ 1.15× raw sequential on the same daemons",
    ]
    assert [row["met"] is None for row in found["targets"]] == [False, False, False, True, True, False]
    assert "Targets (issue 15):" in printed


@pytest.mark.sandbox
@pytest.mark.e2e
def test_a_tiny_run_measures_the_page_in_chromium(tmp_path):
    found, _ = run_bench(tmp_path, "--no-throughput")
    page = found["browser"]["medians"]
    assert set(page) == {"first_line", "verdict", "lag_after_ws"}
    assert_positive(page["first_line"])
    assert page["first_line"] < page["verdict"]
    # Measured, and not bounded here: the page and the plain WebSocket client get the same verdict at the same
    # moment, and which of the two processes notes it first depends on how busy the machine is.
    assert isinstance(page["lag_after_ws"], float) and math.isfinite(page["lag_after_ws"])
    assert found["throughput"] == {"skipped": "skipped (--no-throughput)"}


def test_medians_leave_out_missing_values():
    assert median([0.3, float("nan"), 0.1, 0.2]) == 0.2
    assert median([float("nan")]) is None
    assert medians([{"build": 1.0, "queue": 0.1}, {"build": 3.0}]) == {"build": 2.0, "queue": 0.1}


def test_a_target_is_met_not_met_or_not_measured():
    assert target("t", 0.2, 0.3) == {"name": "t", "value": 0.2, "limit": 0.3, "met": True}
    assert target("t", 0.4, 0.3)["met"] is False
    assert target("t", None, 0.3)["met"] is None
    assert target("t", 0.2, None)["met"] is None


def test_the_json_has_no_nan():
    assert json.loads(to_json({"a": [float("nan"), 1.23456789], "b": {"c": 2}})) == {"a": [None, 1.2346], "b": {"c": 2}}


def test_the_markdown_tables_show_each_target_and_stage():
    results = {
        "targets": [target("graded verdict ≤ 1.15× raw build + checks", 0.52, 0.55), target("page", None, 0.3)],
        "playground": {"stages": {"queue": 0.015, "build": 0.146}},
        "graded": {"stages": {"queue": 0.012, "checks": 0.307}},
    }
    assert as_markdown(results).splitlines() == [
        "| target | measured | limit | met |",
        "| --- | --- | --- | --- |",
        "| graded verdict ≤ 1.15× raw build + checks | 0.520 s | 0.550 s | yes |",
        "| page | – | 0.300 s | not measured |",
        "",
        "| stage (median) | playground | graded `first-dockerfile` |",
        "| --- | --- | --- |",
        "| queue | 0.015 s | 0.012 s |",
        "| build | 0.146 s | – |",
        "| checks | – | 0.307 s |",
    ]
