"""Safe, parallel, observable grading: ``course grade`` and ``course check``.

Modules
-------
cli
    The ``course`` command line.
engine
    Finds submissions, runs one Dask task per (student, assignment), records results.
task
    What a worker runs: nbgrader autograde in a scratch course, in the sandbox.
nbgrader_main
    nbgrader's command line without a slow optional import, for the tasks.
sandbox
    The kernel manager that starts kernels in the sandbox; the sandbox user.
launcher
    Runs as root inside the namespaces: hides files, sets limits, drops privileges.
preprocessors
    ``SandboxExecute`` (worker) and ``ReplayExecute`` (recorder) for nbgrader.
record
    Records results in the real gradebook with nbgrader's own ``Autograde``.
gradebook
    Assignment structure to and from gradebooks; comparing gradebooks.
flags
    Static analysis of submissions for manual review.
probe
    Runtime tripwire inside the kernel.
summary
    End-of-run summary and exit status.
check
    ``course check``: a learner grades their own notebook.
"""
