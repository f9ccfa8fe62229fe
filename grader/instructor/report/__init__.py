"""``course report``: what a graded class did, at a glance.

Reads nbgrader's gradebook and the ``autograded/`` notebooks (nothing else:
no kernel runs, nothing is written but the report) and answers four
questions in one self-contained HTML page, with the same numbers in CSV and
JSON: how scores are distributed; which test cells fail and with which
messages; which submissions look alike beyond the given code; which were
flagged or not graded, and why. See ``docs/report.md``.

Modules, in the order the report is built
-----------------------------------------
models
    The typed results handed between the stages.
gradebook_reader
    Scores, flags, given code and hidden-test lines from the gradebook.
autograded
    Failure messages and each student's own code from one autograded notebook.
failures
    Failure rates and messages grouped after masking numbers.
similarity
    Similar submissions with copydetect.
notes
    Flagged and not graded submissions with reasons; the slowest ones.
figures
    Score histograms as data URIs.
output
    The HTML, CSV and JSON files.
build
    Runs the stages; ``cli`` is the command line.

Nothing is imported here, so that ``course --help`` does not load nbformat,
matplotlib and copydetect: use ``grader.instructor.report.build.build_report``
and ``grader.instructor.report.output.write_report_files``.
"""
