"""Speed of ``course report`` on a synthetic class: 1,000 students x 7 notebooks by default.

Builds a throwaway course (``nbgrader generate_assignment`` of every
assignment), then writes the class directly, without running a kernel:

* the gradebook rows (students, submissions, one grade per test cell) with
  SQL inserts into nbgrader's own tables;
* one autograded notebook per submission: the release notebook with each
  graded name of the solution cells taken, per student at random, from the
  reference, a correct variant or a mutant of ``tests/mutants/<id>.py``, and an
  error output (a realistic message with random indices and values) in every
  test cell the student's random scores say failed.

Scores and messages are random, so only the time is meaningful. Then it runs
``course report '*'`` once and prints the time. Usage::

    python benchmarks/report_speed.py [--students 1000] [--keep]
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nbgrader.api import (  # noqa: E402
    Grade,
    Gradebook,
    Student,
    SubmittedAssignment,
    SubmittedNotebook,
)
from sqlalchemy import insert  # noqa: E402

from benchmarks.machine import describe_machine  # noqa: E402
from tests.course_copy import make_course_copy, nbgrader  # noqa: E402
from tests.mutation import load_mutant_module  # noqa: E402
from tests.notebooks import nbgrader_meta, read_notebook, release_path  # noqa: E402
from tests.report_class import defined_names, solutions, with_entry  # noqa: E402

ASSIGNMENTS = sorted(p.name for p in (ROOT / "release").iterdir() if (p / f"{p.name}.ipynb").is_file())
MESSAGES = [
    "AssertionError: dx of {name} disagrees with finite differences: {n} of {m} entries differ from the "
    "numerical gradient; the worst is at index ({i}, {j}), value {v:.6g}, relative error {r:.3g} "
    "(allowed: 1e-07 relative, 1e-09 absolute).",
    "AssertionError: out of {name} has dtype float64, expected float32. Hint: a float32 input must give a "
    "float32 output",
    "AssertionError: {name} modified its argument number 1 in place; work on a copy.",
    "ValueError: operands could not be broadcast together with shapes ({i},{j}) ({j},{n})",
    "NotImplementedError",
]


@functools.cache
def _cell_with(cell_code: str, target: str, entry: str) -> str:
    return with_entry(cell_code, target, entry)


def student_cells(assignment: str, rng: random.Random) -> dict[str, str]:
    """Solution cell id -> code: each graded name from the reference, a correct variant or a mutant."""
    cells = solutions(assignment)
    module = load_mutant_module(assignment)
    for target in module.CORRECT_VARIANTS:
        roll = rng.random()
        pool = (module.MUTANTS if roll < 0.3 else module.CORRECT_VARIANTS if roll < 0.7 else {}).get(target)
        if not pool:
            continue
        entry = rng.choice(list(pool.values()))
        for cell_id, code in cells.items():
            if target in defined_names(code):
                cells[cell_id] = _cell_with(code, target, entry)
                break
    return cells


def build_class(course: Path, students: int, seed: int = 0) -> None:
    rng = random.Random(seed)
    names = [f"student-{i:04d}" for i in range(students)]
    base_cells = {a: solutions(a) for a in ASSIGNMENTS}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "backprop") as gb:
        gb.db.execute(insert(Student.__table__), [{"id": n} for n in names])
        for assignment in ASSIGNMENTS:
            found = gb.find_assignment(assignment)
            notebook = found.notebooks[0]
            cells = [(c.id, c.name, c.max_score) for c in notebook.grade_cells]
            release = read_notebook(release_path(assignment))
            submitted, notebooks, grades = [], [], []
            for student in names:
                sa, sn = uuid.uuid4().hex, uuid.uuid4().hex
                submitted.append({"id": sa, "assignment_id": found.id, "student_id": student,
                                  "timestamp": datetime(2026, 11, 23, 12)})
                notebooks.append({"id": sn, "assignment_id": sa, "notebook_id": notebook.id,
                                  "flagged": rng.random() < 0.01, "late_submission_penalty": None})
                failed = {}
                for cell_id, name, max_score in cells:
                    ok = rng.random() < 0.75
                    grades.append({"id": uuid.uuid4().hex, "notebook_id": sn, "cell_id": cell_id,
                                   "auto_score": max_score if ok else 0.0, "needs_manual_grade": False})
                    if not ok:
                        failed[name] = rng.choice(MESSAGES).format(
                            name=name.removeprefix("test_"), n=rng.randint(1, 9), m=rng.randint(10, 99),
                            i=rng.randint(0, 5), j=rng.randint(0, 5), v=rng.uniform(-2, 2),
                            r=rng.uniform(0.01, 2))
                code = student_cells(assignment, rng) if rng.random() < 0.9 else base_cells[assignment]
                nb = json.loads(json.dumps(release))
                for cell in nb["cells"]:
                    meta = nbgrader_meta(cell)
                    if meta.get("solution") and meta.get("grade_id") in code:
                        cell["source"] = code[meta["grade_id"]]
                    if cell["cell_type"] == "code":
                        cell["outputs"] = []
                        if meta.get("grade_id") in failed:
                            ename, _, evalue = failed[meta["grade_id"]].partition(": ")
                            cell["outputs"] = [{"output_type": "error", "ename": ename, "evalue": evalue,
                                                "traceback": ["(traceback that quotes the test)"]}]
                folder = course / "autograded" / student / assignment
                folder.mkdir(parents=True, exist_ok=True)
                (folder / f"{assignment}.ipynb").write_text(json.dumps(nb))
            gb.db.execute(insert(SubmittedAssignment.__table__), submitted)
            gb.db.execute(insert(SubmittedNotebook.__table__), notebooks)
            gb.db.execute(insert(Grade.__table__), grades)
            gb.db.commit()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=1000)
    parser.add_argument("--keep", action="store_true", help="keep the course (its path is printed)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="report-speed-"))
    try:
        course = make_course_copy(work / "course", ASSIGNMENTS)
        nbgrader(course, "generate_assignment", "*", "--force")
        started = time.perf_counter()
        build_class(course, args.students)
        print(f"built {args.students} students x {len(ASSIGNMENTS)} notebooks in "
              f"{time.perf_counter() - started:.1f} s")
        env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "grader", "report", "*", "--out", str(work / "report")],
                       cwd=course, env=env, check=True)
        seconds = time.perf_counter() - started
        size = sum(p.stat().st_size for p in (work / "report").iterdir()) / 1e6
        print(f"course report: {args.students} students x {len(ASSIGNMENTS)} notebooks in {seconds:.1f} s "
              f"(report files {size:.1f} MB)")
        print(describe_machine())
        if args.keep:
            print(f"kept: {work}")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
