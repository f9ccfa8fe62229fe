"""The judge: decides test cells in a process where no student code ever ran.

The student's notebook runs in its (sandboxed) kernel. The judge runs the instructor's setup and
given cells and the test cells in its own process; the graded names are bound to handles that
forward each call to the kernel over a socket (:mod:`grader.judge.channel`, served by
:mod:`course.kernel_channel`), and results come back by value (:mod:`course.channel_codec`).

Modules
-------
channel
    Frames over the socket, with a time limit per call and a size limit per reply.
remote
    The student's kernel as the judge sees it: handles for the objects that stay there.
cells
    Running a notebook's test cells against a kernel.
subprocess_kernel
    A kernel side in a process of its own (the mutation harness, ``course check``).
"""
