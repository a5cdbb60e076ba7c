import os
import tempfile
import time
from pathlib import Path

from sandbox.cleanup import remove_stale_workdirs


def test_old_build_folders_of_dead_workers_are_removed_and_fresh_ones_kept(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    old = tmp_path / "dockyard-sub-1-abc"
    fresh = tmp_path / "dockyard-sub-2-def"
    unrelated = tmp_path / "something-else"
    for folder in (old, fresh, unrelated):
        (folder / "context").mkdir(parents=True)
    an_hour_ago = time.time() - 3600
    os.utime(old, (an_hour_ago, an_hour_ago))
    os.utime(unrelated, (an_hour_ago, an_hour_ago))
    assert remove_stale_workdirs(older_than_seconds=600) == 1
    assert sorted(p.name for p in Path(tmp_path).iterdir()) == ["dockyard-sub-2-def", "something-else"]
