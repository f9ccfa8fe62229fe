"""``course report``'s command line where there is nothing to report: it says so and creates nothing."""

from __future__ import annotations

import shutil

from grader.cli import main
from tests.notebooks import ROOT


def test_no_gradebook_exits_2_and_creates_none(tmp_path, capsys):
    shutil.copy(ROOT / "nbgrader_config.py", tmp_path)
    status = main(["report", "*", "--root", str(tmp_path), "--no-progress"])
    assert status == 2
    assert "no nbgrader gradebook" in capsys.readouterr().err
    assert not (tmp_path / "gradebook.db").exists()
    assert not (tmp_path / "reports").exists()
