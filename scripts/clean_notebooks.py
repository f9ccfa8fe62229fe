"""Store notebooks clean: no outputs, no execution counts, no editor metadata.

Usage::

    python scripts/clean_notebooks.py [PATH ...]     # default: source/
    python scripts/clean_notebooks.py --check [PATH ...]

Cell metadata keeps only ``nbgrader`` and ``tags``; notebook metadata keeps
only the kernelspec and the language name. ``--check`` changes nothing and
exits 1 if some notebook is not clean.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
KEPT_CELL_METADATA = ("nbgrader", "tags")
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def cleaned(nb):
    """Return a clean copy of a notebook (nbformat.NotebookNode)."""
    nb = nbformat.from_dict(nb)
    nb.metadata = nbformat.from_dict(
        {"kernelspec": KERNELSPEC, "language_info": {"name": "python"}}
    )
    for cell in nb.cells:
        cell.metadata = nbformat.from_dict(
            {k: cell.metadata[k] for k in KEPT_CELL_METADATA if k in cell.metadata}
        )
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        if "attachments" in cell and not cell["attachments"]:
            del cell["attachments"]
    return nb


def notebooks_under(paths: list[Path]) -> list[Path]:
    found = []
    for path in paths:
        if path.is_dir():
            found += sorted(p for p in path.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
        else:
            found.append(path)
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("paths", nargs="*", type=Path, default=[ROOT / "source"])
    parser.add_argument("--check", action="store_true", help="report, do not write")
    args = parser.parse_args()
    dirty = []
    for path in notebooks_under(args.paths):
        nb = nbformat.read(str(path), as_version=4)
        clean = cleaned(nb)
        if clean != nb:
            dirty.append(path)
            if not args.check:
                nbformat.write(clean, str(path))
    for path in dirty:
        print(("not clean: " if args.check else "cleaned: ") + str(path))
    return 1 if (dirty and args.check) else 0


if __name__ == "__main__":
    sys.exit(main())
