"""Ask the worker's kernel server for a sandboxed kernel, and stand for it (stdlib only, run by path).

:class:`grader.sandbox.kernel.SandboxKernelManager` starts this file, when its sandbox names a kernel
server (:mod:`grader.sandbox.kernel_server`), instead of ``unshare`` and the launcher::

    python -I -S kernel_client.py SOCKET SPEC_JSON -- python -m ipykernel_launcher -f CONNECTION_FILE

It sends the server the :class:`~grader.sandbox.spec.LaunchSpec` and the kernel's command line, with
its own stdin, stdout and stderr, which become the kernel's. Then it stands for the kernel, which the
server forked: jupyter_client sees this process as the kernel's and signals it. SIGINT is passed on
as an interrupt; any other signal it can catch ends the kernel. When the kernel exits, this process
exits with the kernel's status; when this process dies (even by SIGKILL), the server's monitor sees
the connection close and kills the kernel.
"""

import json
import signal
import socket
import struct
import sys

#: The request's header: the length of its JSON (see grader.sandbox.kernel_server.HEADER)
HEADER = struct.Struct("!I")
#: Signals passed on to the kernel's monitor
FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)


def main(argv):
    separator = argv.index("--")
    socket_path, spec = argv[1], json.loads(argv[2])
    request = json.dumps({"spec": spec, "argv": argv[separator + 1:]}).encode()
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    connection.connect(socket_path)
    data = HEADER.pack(len(request)) + request
    sent = socket.send_fds(connection, [data], [0, 1, 2])
    connection.sendall(data[sent:])

    def forward(number, _frame):
        try:
            connection.send(bytes([number]))
        except OSError:
            pass

    for number in FORWARDED:
        signal.signal(number, forward)
    received = b""
    while b"\n" not in received:
        chunk = connection.recv(4096)
        if not chunk:  # the server or the monitor failed
            return 1
        received += chunk
    code = int(json.loads(received.split(b"\n", 1)[0])["exit"])
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main(sys.argv))
