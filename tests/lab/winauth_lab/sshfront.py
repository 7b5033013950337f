# Internal to the webfarm.winauth lab.
"""The forced command of a lab node's sshd: hand one SSH exec request to the node process and relay its answer.

``sshfront.py NODE_JSON`` runs as sshd's ForceCommand (``python -S -E``: standard library only, quick
to start). It sends the command line sshd received (``SSH_ORIGINAL_COMMAND``) with who logged in and
how (``SSH_USER_AUTH``: publickey or gssapi-with-mic) to the node's Unix socket, then all of stdin if
the node asks for it (only a command that reads ``$input`` does: a client may never close stdin),
and writes back the node's stdout and stderr with its exit code. The node runs the
command as Windows' OpenSSH with PowerShell would. A session without a command (an interactive
login) is refused, as are subsystems such as sftp.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import struct
import sys


def _auth_method() -> str:
    path = os.environ.get("SSH_USER_AUTH", "")
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            methods = [line.split()[0] for line in handle if line.strip()]
    except OSError:
        return "unknown"
    return methods[-1] if methods else "unknown"


def _read_exact(sock: socket.socket, size: int) -> bytes:
    data = bytearray()
    while len(data) < size:
        chunk = sock.recv(min(size - len(data), 1 << 20))
        if not chunk:
            raise ConnectionError("the lab node went away during the command")
        data += chunk
    return bytes(data)


def _end_session() -> None:
    """Kill this session's sshd processes (the ancestors that are sshd), as a host that went down would."""
    pid = os.getppid()
    while pid > 1:
        try:
            with open("/proc/%d/cmdline" % pid, "rb") as handle:
                is_sshd = handle.read().startswith(b"sshd")
            with open("/proc/%d/stat" % pid, encoding="ascii", errors="replace") as handle:
                parent = int(handle.read().rsplit(") ", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            return
        if is_sshd:
            os.kill(pid, signal.SIGKILL)
        elif pid != os.getppid():
            return
        pid = parent


def main() -> int:
    command = os.environ.get("SSH_ORIGINAL_COMMAND", "")
    if not command:
        sys.stderr.write("this lab node runs only webfarm.winauth remote scripts; it offers no interactive shell\r\n")
        return 1
    with open(sys.argv[1], encoding="utf-8") as handle:
        node_dir = json.load(handle)["node_dir"]
    header = json.dumps({"command": command, "user": os.environ.get("USER", ""), "auth": _auth_method(),
                         "client": os.environ.get("SSH_CONNECTION", "").split(" ")[0]}).encode("utf-8")
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.connect(os.path.join(node_dir, "ssh.sock"))
            sock.sendall(struct.pack(">I", len(header)) + header)
            # The node asks for stdin ("S") only when the command reads it; else the result follows ("R").
            if _read_exact(sock, 1) == b"S":
                stdin = sys.stdin.buffer.read()
                sock.sendall(struct.pack(">Q", len(stdin)) + stdin)
                _read_exact(sock, 1)
            rc, out_length, err_length = struct.unpack(">iQQ", _read_exact(sock, 20))
            stdout, stderr = _read_exact(sock, out_length), _read_exact(sock, err_length)
    except OSError:
        _end_session()
        return 255
    sys.stdout.buffer.write(stdout)
    sys.stdout.buffer.flush()
    sys.stderr.buffer.write(stderr)
    sys.stderr.buffer.flush()
    return rc


if __name__ == "__main__":
    sys.exit(main())
