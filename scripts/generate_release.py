"""Regenerate release/ from source/ with ``nbgrader generate_assignment``.

Usage::

    python scripts/generate_release.py [ASSIGNMENT ...] [--out DIR]

nbgrader runs in a scratch copy of the course (config and sources only), so
the course root gets no gradebook and no stray files; the generated student
versions are then copied to ``DIR/release/`` (the course root by default).
Run it with the course environment's Python (``make release`` does).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the grader package of this checkout, installed or not

from grader.nbgrader_terms import copy_source_course, nbgrader_command, nbgrader_environment  # noqa: E402


def all_assignments() -> list[str]:
    return sorted(p.name for p in (ROOT / "source").iterdir() if p.is_dir() and p.name[:2].isdigit())


def generate(assignments: list[str], out_root: Path) -> None:
    """Generate the release of ``assignments`` into ``out_root / "release"``."""
    with tempfile.TemporaryDirectory(prefix="course-release-") as scratch:
        scratch_root = copy_source_course(ROOT, Path(scratch), assignments)
        for assignment in assignments:
            result = subprocess.run(
                nbgrader_command("generate_assignment", assignment, "--force"),
                cwd=scratch_root,
                env=nbgrader_environment(),
                capture_output=True,
                text=True,
            )
            if result.returncode != 0:
                sys.stderr.write(result.stdout + result.stderr)
                raise SystemExit(f"nbgrader generate_assignment {assignment} failed")
            target = out_root / "release" / assignment
            if target.exists():
                shutil.rmtree(target)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copytree(scratch_root / "release" / assignment, target)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("assignments", nargs="*", help="default: every assignment in source/")
    parser.add_argument("--out", type=Path, default=ROOT, help="folder that gets release/")
    args = parser.parse_args()
    generate(args.assignments or all_assignments(), args.out)


if __name__ == "__main__":
    main()
