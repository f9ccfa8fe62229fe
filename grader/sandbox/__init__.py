"""The sandbox student kernels run in (Linux namespaces, resource limits, an unprivileged uid).

kernel
    The kernel manager that starts kernels in the sandbox (used by the worker's nbgrader); the sandbox
    user, per-submission uids, the kernel's environment.
spec
    ``TaskSettings``, ``SandboxSpec`` and ``LaunchSpec``: the settings on their way from the task to the
    launcher.
launcher
    Executed as root inside the new namespaces: builds the kernel a root of its own (an explicit list
    of what it sees), sets limits, drops privileges, then becomes the kernel. Standard library only.
"""
