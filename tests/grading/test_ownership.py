"""What ``course grade`` writes while running as root goes back to the course's owner."""

import os
from pathlib import Path

import pytest

from grader.instructor.ownership import return_to_course_owner

OWNER = (65534, 65534)  # nobody: any uid but root's


@pytest.fixture
def course(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("chown needs root")
    root = tmp_path / "course"
    (root / "autograded" / "alice" / "01").mkdir(parents=True)
    (root / "autograded" / "alice" / "01" / "01.ipynb").write_text("{}")
    (root / "gradebook.db").write_text("")
    (root / "source").mkdir()
    (root / "source" / "secret.ipynb").write_text("{}")
    (root / "autograded" / "alice" / "link").symlink_to(root / "source" / "secret.ipynb")
    os.chown(root, *OWNER)
    return root


def _owner(path: Path) -> tuple[int, int]:
    info = path.lstat()
    return info.st_uid, info.st_gid


def test_the_gradebook_and_autograded_go_back_to_the_owner(course):
    changed = return_to_course_owner(course, f"sqlite:///{course / 'gradebook.db'}")
    assert changed == 6
    for path in (course / "gradebook.db", course / "autograded", course / "autograded/alice/01/01.ipynb",
                 course / "autograded/alice/link"):
        assert _owner(path) == OWNER, path
    # a link is changed itself, never what it points to; nothing else of the course is touched
    assert _owner(course / "source" / "secret.ipynb") == (0, 0)


def test_a_gradebook_elsewhere_or_on_a_server_is_left_alone(course, tmp_path):
    elsewhere = tmp_path / "elsewhere.db"
    elsewhere.write_text("")
    return_to_course_owner(course, f"sqlite:///{elsewhere}")
    return_to_course_owner(course, "postgresql+psycopg2://grader@db/backprop")
    assert _owner(elsewhere) == (0, 0)
    assert _owner(course / "gradebook.db") == (0, 0)
    assert _owner(course / "autograded") == OWNER


def test_a_course_that_root_owns_stays_root_s(course):
    os.chown(course, 0, 0)
    assert return_to_course_owner(course, f"sqlite:///{course / 'gradebook.db'}") == 0
    assert _owner(course / "gradebook.db") == (0, 0)
