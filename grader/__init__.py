"""The instructor's grader: ``course grade`` (sandboxed, parallel autograding) and ``course check``.

A separate package from ``course`` (what the notebooks import): the learner's install brings it without
its engine's dependencies, which the ``grading`` extra adds (``pip install -e '.[grading]'``).
``course check`` and the nbgrader preprocessors of ``nbgrader_config.py`` need no extra.

Layout, in the order a grading run goes through it:

cli
    The ``course`` command (``course grade``, ``course check``); ``python -m grader`` is the same.
messages
    The typed messages between the stages (bundle, submission files, options, result, crash cause).
structure
    ``AssignmentStructure``: an assignment as the gradebook knows it (bundle, flags, template, report).
nbgrader_terms
    nbgrader's vocabulary: cell roles, hidden-test delimiters, ``error_line`` (what a failed cell
    shows), the environment nbgrader needs.
instructor
    In the instructor's process: plan the run, drive the engine, record results, summarise.
worker
    On a Dask worker: one submission graded by nbgrader in a scratch course.
sandbox
    Around the student's kernel: namespaces, limits, an unprivileged uid.
nbgrader_plugins
    Preprocessors every nbgrader run of the course uses (``nbgrader_config.py``).
check
    ``course check``: a learner grades their own notebook, with plain nbgrader.

The in-kernel probe is :mod:`course.probe`: it runs inside the student's kernel, which sees the
``course`` package only.
"""
