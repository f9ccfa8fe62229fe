"""pyproject.toml and environment.yml describe the same environment."""

import re
import tomllib

from tests.notebooks import ROOT


def _normalise(requirement: str) -> tuple[str, str]:
    name, spec = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$", requirement).groups()
    return name.lower().replace("_", "-"), spec.replace(" ", "")


def _pyproject_requirements() -> set[tuple[str, str]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        requirements += extra
    # an extra that names the project itself (test = ["backprop-course[grading]", ...]) adds what the
    # other extra lists, already counted
    return {_normalise(r) for r in requirements if _normalise(r)[0] != project["name"]}


def _conda_requirements() -> set[tuple[str, str]]:
    """Requirements of environment.yml: conda packages and those its pip section installs by name."""
    found, in_pip_section = set(), False
    text = (ROOT / "environment.yml").read_text()
    for line in text.split("dependencies:", 1)[1].splitlines():
        stripped = line.strip()
        if stripped.startswith("- pip:"):
            in_pip_section = True
            continue
        if not stripped.startswith("- ") or stripped.startswith("#"):
            continue
        entry = stripped[2:].split("#")[0].strip()
        if in_pip_section and entry.startswith("-"):
            continue  # pip options such as "-e ." are not requirements
        name, spec = _normalise(entry)
        if name in {"python", "pip"}:
            continue
        found.add((name, spec))
    return found


def test_environment_yml_lists_what_pyproject_lists():
    assert _conda_requirements() == _pyproject_requirements()


def test_environment_yml_installs_the_course_package():
    assert re.search(r"^\s+- -e \.\s*$", (ROOT / "environment.yml").read_text(), re.M)
