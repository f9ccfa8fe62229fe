"""nbgrader configuration of the backpropagation course.

Run nbgrader from this folder (the course root), with the course's
environment's ``bin/`` on PATH: nbgrader calls ``alembic`` by name.
"""

from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import (
    AssignLatePenalties,
    CheckCellMetadata,
    ClearHiddenTests,
    Execute,
    GetGrades,
    IgnorePattern,
    LimitOutput,
    SaveAutoGrades,
)

from grader.nbgrader_plugins import ShortenTestTracebacks, StderrToStdout

c = get_config()  # noqa: F821 (provided by traitlets when it loads this file)

c.CourseDirectory.course_id = "backprop"

# Every cell gets two minutes: the slowest cell (training the CNN in 07) takes
# well under a minute on two cores; an infinite loop costs one cell, not the
# batch, because the kernel is interrupted and the next cell runs.
c.Execute.timeout = 120
c.Execute.interrupt_on_timeout = True

# A student who deleted or emptied a graded cell gets it back from the
# gradebook before grading, instead of an error for the whole notebook.
c.OverwriteCells.add_missing_cells = True

# nbgrader zeroes a test cell that wrote anything to stderr; move stderr to
# stdout after execution so that a library's warning cannot zero a correct
# answer (the tests check for warnings explicitly where it matters).
c.Autograde.autograde_preprocessors = [
    Execute,
    IgnorePattern,
    ClearMetadataPreprocessor,
    LimitOutput,
    StderrToStdout,
    SaveAutoGrades,
    AssignLatePenalties,
    CheckCellMetadata,
]

# Feedback never shows hidden tests: neither their code nor a traceback that
# quotes it. ShortenTestTracebacks reads the hidden lines it masks from the
# test cells, so it runs before ClearHiddenTests removes them.
c.GenerateFeedback.preprocessors = [
    GetGrades,
    CSSHTMLHeaderPreprocessor,
    ShortenTestTracebacks,
    ClearHiddenTests,
]
