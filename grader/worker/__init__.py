"""What runs on a Dask worker (or in the instructor's process with ``--workers 0``).

task
    One submission: a scratch course, nbgrader autograde there, the result sent back.
flags
    Static analysis of the submitted files for manual review.
zygote
    A helper process that imported nbgrader once and forks one fresh nbgrader process per task.
nbgrader_main
    nbgrader's command line without a slow optional import.
execute
    ``SandboxExecute``: nbgrader's ``Execute`` with the kernel in the sandbox, capped output and the
    probe; what the scratch course's configuration wires in.
"""
