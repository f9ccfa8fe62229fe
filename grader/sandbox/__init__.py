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
kernel_server
    Each worker's process that has imported what kernels import and forks them, each confined by the
    launcher's own steps; also ``stop_helper``, which ends it (and the zygote) by closing its stdin.
kernel_client
    What jupyter_client starts instead of ``unshare`` when a kernel server forks the kernel: it asks
    for the kernel and stands for it. Standard library only.
"""
