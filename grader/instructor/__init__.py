"""What runs in the instructor's process (``course grade``), in pipeline order.

plan
    Finds the submissions, reads them, and builds what is sent to the workers.
engine
    Sends one task per submission to Dask (or runs them here), one per student at a time; progress bar.
record
    Records each result as nbgrader's autograde would: the course's preprocessors after ``Execute``,
    the ``autograded/`` folder, and the rows merged in bulk by ``merge``.
merge
    The gradebook rows of a batch of results (SQLAlchemy core, one transaction).
gradebook
    Assignment structure to and from gradebooks; scores read back; comparing gradebooks.
summary
    End-of-run summary, JSON report and exit status.
grading_log
    ``GradingLogRow``: the JSON report's rows, written by ``summary`` and read by ``course report``.
flag_reasons
    The grader's own table of flag reasons beside nbgrader's, written by ``record``, read by the report.
flag_marks
    formgrader's flag as the grader sets it, never over a person's (written by ``record``).
"""
