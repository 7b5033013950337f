# Internal to the webfarm.winauth lab.
"""A lab node's SSH listener: Debian's real OpenSSH server on the node's own address, port 22.

What a Windows host with OpenSSH and ``DefaultShell`` PowerShell offers Ansible's ``ssh`` connection
(``ansible_shell_type: powershell``): public-key authentication, and Kerberos (``gssapi-with-mic``)
with the node's computer-account keys (``KRB5_KTNAME``, any SPN of the account, as
``GSSAPIStrictAcceptorCheck no`` makes OpenSSH accept). Every session runs one program, the forced
command ``winauth_lab/sshfront.py``, which hands the command line and stdin to the node process
(a Unix socket in the node's directory); the node runs them as ``powershell.exe -c <command line>``
would (``winauth_lab.hostexec.run_ssh``). No shell, no sftp, no forwarding, no TTY.

sshd needs the login name in the system's user database: nss_wrapper (``LD_PRELOAD``) gives this
sshd alone a passwd file naming the domain administrator (uid 0, as the node process itself runs),
so neither the machine's users nor its sshd (if any) are touched. The node process starts sshd in
its own process group and stops it when it stops.

Lab-wide files (``<lab>/ssh/``): the client key the lab inventory uses, authorized_keys and a
known_hosts of every node's host key. Per node (``<node>/ssh/``): host key, sshd_config, passwd, group.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import shutil
import socketserver
import struct
import subprocess
import sys
import typing
from pathlib import Path

SSHD = "/usr/sbin/sshd"
NSS_WRAPPER = "/usr/lib/x86_64-linux-gnu/libnss_wrapper.so"
SSH_PORT = 22
ADMINISTRATOR = "Administrator"
FRONT = Path(__file__).resolve().parent / "sshfront.py"


def available() -> bool:
    return os.path.exists(SSHD) and os.path.exists(NSS_WRAPPER) and shutil.which("ssh-keygen") is not None


def ensure_client_key(lab_ssh_dir: Path) -> Path:
    """The lab's client key (what ansible_ssh_private_key_file names) and authorized_keys holding it."""
    lab_ssh_dir.mkdir(parents=True, exist_ok=True)
    key = lab_ssh_dir / "id_ed25519"
    if not key.exists():
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "webfarm.winauth lab", "-f", str(key)],
                       check=True)
    authorized = lab_ssh_dir / "authorized_keys"
    public = (key.with_suffix(".pub")).read_text()
    if not authorized.exists() or authorized.read_text() != public:
        authorized.write_text(public)
    return key


def ensure_host_key(node_ssh_dir: Path) -> Path:
    node_ssh_dir.mkdir(parents=True, exist_ok=True)
    key = node_ssh_dir / "ssh_host_ed25519_key"
    if not key.exists():
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "", "-f", str(key)], check=True)
    return key


def known_hosts_line(node_ssh_dir: Path, names: list[str]) -> str:
    public = (node_ssh_dir / "ssh_host_ed25519_key.pub").read_text().split()
    return "%s %s %s\n" % (",".join(names), public[0], public[1])


def login_names(realm: str, netbios: str) -> list[str]:
    """The names the domain administrator logs in with, as Windows' OpenSSH takes them."""
    return ["%s@%s" % (ADMINISTRATOR, realm), "%s@%s" % (ADMINISTRATOR, realm.lower()),
            "%s\\%s" % (netbios, ADMINISTRATOR), ADMINISTRATOR]


def write_config(node_dir: Path, address: str, lab_ssh_dir: Path, node_json: Path, *, realm: str, netbios: str,
                 krb5_conf: str, port: int = SSH_PORT) -> Path:
    """sshd_config, passwd, group, krb5.conf and k5login files of one node's sshd."""
    ssh_dir = node_dir / "ssh"
    host_key = ensure_host_key(ssh_dir)
    home = ssh_dir / "home"
    home.mkdir(exist_ok=True)
    names = login_names(realm, netbios)
    users = ["root:x:0:0:root:/root:/bin/sh", "sshd:x:%d:65534::/run/sshd:/usr/sbin/nologin" % _sshd_uid()]
    users += ["%s:x:0:0:%s:%s:/bin/sh" % (name, ADMINISTRATOR, home) for name in names]
    (ssh_dir / "passwd").write_text("\n".join(users) + "\n")
    (ssh_dir / "group").write_text("root:x:0:\nnogroup:x:65534:\n")
    # Kerberos: the administrator's principal may log in under each of its names (krb5_kuserok reads k5login).
    k5login = ssh_dir / "k5login"
    k5login.mkdir(exist_ok=True)
    for name in names:
        (k5login / name).write_text("%s@%s\n" % (ADMINISTRATOR, realm))
    base = Path(krb5_conf).read_text() if krb5_conf and Path(krb5_conf).exists() else "[libdefaults]\n"
    (ssh_dir / "krb5.conf").write_text(base.replace("[libdefaults]", "[libdefaults]\n    k5login_directory = %s"
                                                    % k5login, 1))
    front = "%s -S -E %s %s" % (sys.executable, FRONT, node_json)
    config = ssh_dir / "sshd_config"
    config.write_text("\n".join([
        "# sshd of one webfarm.winauth lab node, written by the node at start; do not edit.",
        "ListenAddress %s:%d" % (address, port),
        "HostKey %s" % host_key,
        "PidFile %s" % (ssh_dir / "sshd.pid"),
        "AuthorizedKeysFile %s" % (lab_ssh_dir / "authorized_keys"),
        "PubkeyAuthentication yes",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "GSSAPIAuthentication yes",
        "GSSAPIStrictAcceptorCheck no",
        "GSSAPICleanupCredentials yes",
        "UsePAM no",
        "PermitRootLogin prohibit-password",
        "StrictModes no",
        "UseDNS no",
        "ExposeAuthInfo yes",
        "PermitTTY no",
        "AllowTcpForwarding no",
        "AllowAgentForwarding no",
        "AllowStreamLocalForwarding no",
        "X11Forwarding no",
        "PermitTunnel no",
        "PermitUserEnvironment no",
        "PrintMotd no",
        "MaxStartups 200",
        "MaxSessions 50",
        "ClientAliveInterval 0",
        "LogLevel VERBOSE",
        "ForceCommand %s" % front,
        "",
    ]))
    return config


def _sshd_uid() -> int:
    """The privilege-separation user's uid (Debian's openssh-server creates it)."""
    try:
        import pwd  # pylint: disable=import-outside-toplevel
        return pwd.getpwnam("sshd").pw_uid
    except (ImportError, KeyError):
        return 65534


def launch(config: Path, log: Path, env: dict[str, str]) -> subprocess.Popen:
    """sshd in the foreground, in the caller's process group (so a group kill takes its connections too)."""
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)        # OpenSSH's privilege-separation directory
    ssh_dir = config.parent
    env = dict(env, LD_PRELOAD=NSS_WRAPPER, NSS_WRAPPER_PASSWD=str(ssh_dir / "passwd"),
               NSS_WRAPPER_GROUP=str(ssh_dir / "group"), KRB5_CONFIG=str(ssh_dir / "krb5.conf"))
    env.pop("KRB5CCNAME", None)
    with open(log, "ab") as handle:
        return subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)], stdin=subprocess.DEVNULL, stdout=handle,
                                stderr=subprocess.STDOUT, env=env, preexec_fn=_end_with_parent)


def _end_with_parent() -> None:
    """In the child before exec: SIGTERM when the node process dies, even by SIGKILL (Linux prctl PDEATHSIG)."""
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)      # PR_SET_PDEATHSIG


def session_processes(ssh_dir: Path) -> list[int]:
    """The pids of this node's sshd processes (its listener and its sessions): their environment names its passwd."""
    marker = ("NSS_WRAPPER_PASSWD=%s" % (ssh_dir / "passwd")).encode()
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if marker in (proc / "environ").read_bytes().split(b"\0"):
                found.append(int(proc.name))
        except OSError:
            continue
    return found


class FrontServer(socketserver.ThreadingUnixStreamServer):
    """The node's side of sshfront.py: one request per connection, answered by ``execute(header, read_stdin)``.

    ``read_stdin()`` asks the front end for the session's stdin (all of it, to its end) the first time it is called.
    """

    daemon_threads = True

    def __init__(self, path: Path,
                 execute: typing.Callable[[dict, typing.Callable[[], bytes]], tuple[int, bytes, bytes]]) -> None:
        path.unlink(missing_ok=True)
        self.execute = execute
        super().__init__(str(path), _FrontHandler)
        os.chmod(path, 0o600)


class _FrontHandler(socketserver.BaseRequestHandler):
    server: FrontServer

    def _read(self, size: int) -> bytes:
        data = bytearray()
        while len(data) < size:
            chunk = self.request.recv(min(size - len(data), 1 << 20))
            if not chunk:
                raise ConnectionError("the SSH session went away")
            data += chunk
        return bytes(data)

    def handle(self) -> None:
        try:
            header = json.loads(self._read(struct.unpack(">I", self._read(4))[0]))
        except (ConnectionError, ValueError):
            return
        stdin: list[bytes] = []

        def read_stdin() -> bytes:
            if not stdin:
                self.request.sendall(b"S")
                stdin.append(self._read(struct.unpack(">Q", self._read(8))[0]))
            return stdin[0]

        try:
            rc, stdout, stderr = self.server.execute(header, read_stdin)
            self.request.sendall(b"R" + struct.pack(">iQQ", rc, len(stdout), len(stderr)) + stdout + stderr)
        except (ConnectionError, OSError, ValueError):
            pass        # the session ended (the client went away) before the answer
