# Internal to the webfarm.winauth lab.
"""The lab's web nodes as a fleet: which nodes exist, their files, start, stop, reset, inventory.

Default nodes are the computers of the seed (SERVER1, SERVER2, ARR1, CONTENT1,
CONTENT2), each on its seed address. Benchmarks may add BENCH001..BENCHnnn
(``LAB_NODE_COUNT=50``, or ``make lab-up NODES=50``) on 127.0.0.101 upwards;
bench nodes have no computer account, so they offer Basic and NTLM only.

Everything lives under ``<lab dir>/nodes/<name>/``: node.json (the process's
configuration), node.pid, node.log (one JSON line per remote call),
process.log (the process's own output), applicationHost.config and, for a
node with a computer account, node.keytab.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import typing
from dataclasses import dataclass
from pathlib import Path

import yaml

from . import sshd, tls
from .dc import LabError, SambaDC
from .nodeconfig import SSH_PORT, WSMAN_HTTP_PORT, WSMAN_PORT, NodeConfig

LAB_PACKAGE_PARENT = Path(__file__).resolve().parents[1]
BENCH_PREFIX = "BENCH"
BENCH_FIRST_OCTET = 101        # BENCH001 is 127.0.0.101
BENCH_MAX = 150                # ... BENCH150 is 127.0.0.250: the lab keeps to 127.0.0.x
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
INVENTORY_GROUPS = {"lb_nodes": ("SERVER1", "SERVER2"), "arr_frontends": ("ARR1",),
                    "content_nodes": ("CONTENT1", "CONTENT2")}
# The ways into a lab node (the inventory's lab_connection) and what each is in Ansible's terms.
CONNECTIONS = {
    "winrm_https": ("winrm", "https", WSMAN_PORT),
    "winrm_http": ("winrm", "http", WSMAN_HTTP_PORT),
    "psrp_https": ("psrp", "https", WSMAN_PORT),
    "psrp_http": ("psrp", "http", WSMAN_HTTP_PORT),
    "ssh": ("ssh", "ssh", SSH_PORT),
}

# lab_transport per kind of connection: NTLM or Kerberos for WinRM and PSRP; the lab's key or GSSAPI for ssh.
TRANSPORTS = {"winrm": ("ntlm", "kerberos"), "psrp": ("ntlm", "kerberos"), "ssh": ("key", "gssapi")}


@dataclass(frozen=True)
class NodeSpec:
    """One lab node: its name, address and whether it has a computer account (so Kerberos keys)."""

    name: str
    address: str
    dns_domain: str
    computer_account: bool = True

    @property
    def short(self) -> str:
        return self.name.lower()

    @property
    def fqdn(self) -> str:
        return "%s.%s" % (self.short, self.dns_domain)


def _pid_of(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def _is_node_process(pid: int | None, config_path: Path) -> bool:
    """True when pid is alive (not a zombie) and is the node process of that config."""
    if not pid:
        return False
    try:
        with open("/proc/%d/stat" % pid, encoding="ascii", errors="replace") as handle:
            if handle.read().rsplit(") ", 1)[1][0] == "Z":
                return False
        cmdline = Path("/proc/%d/cmdline" % pid).read_bytes().split(b"\0")
    except (OSError, IndexError):
        return False
    return b"winauth_lab.node" in cmdline and str(config_path).encode() in cmdline


def _port_open(address: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((address, port), timeout=timeout):
            return True
    except OSError:
        return False


def requested_bench_count() -> int | None:
    """LAB_NODE_COUNT (or NODES, which `make lab-up NODES=50` passes on) if set, else None."""
    for name in ("LAB_NODE_COUNT", "NODES"):
        value = os.environ.get(name, "").strip()
        if value:
            try:
                count = int(value)
            except ValueError as exc:
                raise LabError("%s=%r is not a number of bench nodes" % (name, value)) from exc
            if not 0 <= count <= BENCH_MAX:
                raise LabError("%s=%d: the lab offers 0 to %d bench nodes (127.0.0.%d-%d)"
                               % (name, count, BENCH_MAX, BENCH_FIRST_OCTET, BENCH_FIRST_OCTET + BENCH_MAX - 1))
            return count
    return None


class NodeFleet:
    """The web nodes of one lab."""

    def __init__(self, dc: SambaDC) -> None:
        self.dc = dc
        self.seed = dc.seed
        self.nodes_dir = dc.lab_dir / "nodes"
        self.inventory_path = dc.lab_dir / "inventory.yml"
        self.ntlm_user_file = self.nodes_dir / "ntlm_users"
        self.ssh_dir = dc.lab_dir / "ssh"
        self.known_hosts = self.ssh_dir / "known_hosts"
        self._bench_file = self.nodes_dir / "bench.json"

    # -- which nodes ----------------------------------------------------------
    def default_specs(self) -> list[NodeSpec]:
        return [NodeSpec(c["name"].upper(), c["address"], self.seed.dns_domain)
                for c in self.seed.raw.get("computers", []) if c.get("address")]

    @property
    def bench_count(self) -> int:
        try:
            return int(json.loads(self._bench_file.read_text())["count"])
        except (OSError, ValueError, KeyError):
            return 0

    def set_bench_count(self, count: int) -> None:
        self.nodes_dir.mkdir(parents=True, exist_ok=True)
        self._bench_file.write_text(json.dumps({"count": count}) + "\n")

    def bench_specs(self, count: int | None = None) -> list[NodeSpec]:
        count = self.bench_count if count is None else count
        return [NodeSpec("%s%03d" % (BENCH_PREFIX, i), "127.0.0.%d" % (BENCH_FIRST_OCTET + i - 1),
                         self.seed.dns_domain, computer_account=False) for i in range(1, count + 1)]

    def specs(self) -> list[NodeSpec]:
        return self.default_specs() + self.bench_specs()

    def hosts_entries(self) -> list[str]:
        """/etc/hosts lines for bench nodes (the seed's computers are already in the DC's block)."""
        return ["%s %s %s" % (spec.address, spec.fqdn, spec.short) for spec in self.bench_specs()]

    # -- files ------------------------------------------------------------------
    def node_dir(self, spec: NodeSpec) -> Path:
        return self.nodes_dir / spec.short

    def config_path(self, spec: NodeSpec) -> Path:
        return self.node_dir(spec) / "node.json"

    def log_path(self, spec: NodeSpec) -> Path:
        return self.node_dir(spec) / "node.log"

    def application_host_config(self, spec: NodeSpec) -> Path:
        return self.node_dir(spec) / "applicationHost.config"

    def keytab_path(self, spec: NodeSpec) -> Path:
        return self.node_dir(spec) / "node.keytab"

    def write_ntlm_user_file(self) -> None:
        """The NTLM acceptor's users (pyspnego reads NTLM_USER_FILE): the seed's users and Administrator.

        pyspnego matches the domain exactly, so each user is listed without a domain, with the
        NetBIOS and DNS domain names, and as a UPN.
        """
        users = [("Administrator", self.seed.admin_password)]
        users += [(u["name"], u["password"]) for u in self.seed.raw.get("users", []) if u.get("password")]
        lines = []
        for name, password in users:
            if ":" in name or ":" in password:
                raise LabError("seed user %s: NTLM_USER_FILE cannot hold a ':' in a name or password" % name)
            lines += [":%s:%s" % (name, password), "%s:%s:%s" % (self.seed.netbios, name, password),
                      "%s:%s:%s" % (self.seed.dns_domain, name, password),
                      ":%s@%s:%s" % (name, self.seed.realm, password)]
        self.nodes_dir.mkdir(parents=True, exist_ok=True)
        _write_private(self.ntlm_user_file, "\n".join(lines) + "\n")

    def export_keytabs(self, specs: list[NodeSpec]) -> None:
        """The computer accounts' keys, exported from the lab AD (what a domain join leaves on a host).

        One ``samba-tool domain exportkeytab`` per node, run side by side.
        """
        jobs = []
        for spec in specs:
            if not spec.computer_account:
                continue
            scratch = self.keytab_path(spec).with_suffix(".new")
            scratch.parent.mkdir(parents=True, exist_ok=True)
            scratch.unlink(missing_ok=True)
            process = subprocess.Popen(["samba-tool", "domain", "exportkeytab", str(scratch),
                                        "--principal=%s$" % spec.name, "-s", str(self.dc.smb_conf)],
                                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            jobs.append((spec, scratch, process))
        for spec, scratch, process in jobs:
            output = process.communicate()[0]
            if process.returncode != 0 or not scratch.exists():
                raise LabError("cannot export the keytab of %s$: %s" % (spec.name, output[-800:]))
            os.chmod(scratch, 0o600)
            os.replace(scratch, self.keytab_path(spec))

    def write_initial_config(self, spec: NodeSpec) -> bool:
        """Write the node's starting applicationHost.config, if the twin provides one; True if written."""
        try:
            from .iis import initial_config  # pylint: disable=import-outside-toplevel  # the twin may not exist yet
        except ImportError:
            return False
        target = self.application_host_config(spec)
        scratch = target.with_suffix(".new")
        scratch.write_text(initial_config(spec.name), encoding="utf-8")
        os.replace(scratch, target)
        return True

    def prepare(self, spec: NodeSpec, *, delay: float = 0.0, node_dir: Path | None = None) -> NodeConfig:
        """Create the node's directory, certificate and configuration; keep an existing applicationHost.config.

        With ``node_dir`` the node is an extra one for tests (its own directory, no keytab, no initial config).
        """
        directory = node_dir or self.node_dir(spec)
        directory.mkdir(parents=True, exist_ok=True)
        ca = tls.ensure_ca(self.dc.tls_dir, self.seed.realm)
        cert, key = tls.issue_server_cert(self.dc.tls_dir, "node-%s" % spec.short, [spec.fqdn, spec.short],
                                          [spec.address])
        if not self.ntlm_user_file.exists():
            self.write_ntlm_user_file()
        if node_dir is None and not self.application_host_config(spec).exists():
            self.write_initial_config(spec)
        ssh = sshd.available()
        if ssh:
            sshd.ensure_client_key(self.ssh_dir)
            sshd.ensure_host_key(directory / "ssh")
        config = NodeConfig(name=spec.name, address=spec.address, fqdn=spec.fqdn, node_dir=str(directory),
                            cert=str(cert), key=str(key), ca_cert=str(ca), realm=self.seed.realm,
                            netbios=self.seed.netbios, dc_host=self.seed.dc_fqdn, delay=delay,
                            lab_ssh_dir=str(self.ssh_dir) if ssh else "")
        config.dump(directory / "node.json")
        return config

    # -- processes ----------------------------------------------------------------
    def pid(self, spec: NodeSpec) -> int | None:
        return _pid_of(self.node_dir(spec) / "node.pid")

    def running(self, spec: NodeSpec) -> bool:
        return _is_node_process(self.pid(spec), self.config_path(spec)) and _port_open(spec.address, WSMAN_PORT)

    def launch(self, config: NodeConfig, keytab: Path | None) -> subprocess.Popen:
        """Start a node process for a prepared config; do not wait for it."""
        config.pid_path.unlink(missing_ok=True)
        env = dict(os.environ)
        env.update({
            "PYTHONPATH": os.pathsep.join([str(LAB_PACKAGE_PARENT)] + [p for p in [os.environ.get("PYTHONPATH")] if p]),
            "KRB5_CONFIG": str(self.dc.krb5_conf),
            "NTLM_USER_FILE": str(self.ntlm_user_file),
            "PYTHONUNBUFFERED": "1",
        })
        # Without a keytab the acceptor has no keys: Kerberos fails cleanly, Basic and NTLM still work.
        env["KRB5_KTNAME"] = "FILE:%s" % (keytab if keytab else config.directory / "no.keytab")
        env.pop("KRB5CCNAME", None)
        with open(config.directory / "process.log", "ab") as log:
            return subprocess.Popen([sys.executable, "-m", "winauth_lab.node", str(config.directory / "node.json")],
                                    stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env,
                                    cwd=str(config.directory), start_new_session=True)

    @staticmethod
    def wait_ready(config: NodeConfig, process: subprocess.Popen, timeout: float = START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                tail = (config.directory / "process.log").read_text(errors="replace")[-1500:]
                raise LabError("lab node %s exited with %s during start-up:\n%s"
                               % (config.name, process.returncode, tail))
            if _pid_of(config.pid_path) == process.pid and _port_open(config.address, config.port, 0.2):
                return
            time.sleep(0.05)
        process.kill()
        raise LabError("lab node %s did not listen on %s:%d within %ss"
                       % (config.name, config.address, config.port, timeout))

    def start(self, specs: list[NodeSpec] | None = None) -> list[NodeSpec]:
        """Start the given (default: all) nodes that are not running; return those started."""
        wanted = [s for s in (self.specs() if specs is None else specs) if not self.running(s)]
        if not wanted:
            return []
        self.write_ntlm_user_file()
        self.stop_nodes(wanted)       # a stale process of these nodes (lost pid file or port), if any
        launched = []
        for spec in wanted:
            for port in (WSMAN_PORT, WSMAN_HTTP_PORT, SSH_PORT):
                if _port_open(spec.address, port, 0.2):
                    raise LabError("%s:%d is already taken by another process; stop it first" % (spec.address, port))
            config = self.prepare(spec)
            launched.append((config, self.launch(config, self.keytab_path(spec) if spec.computer_account else None)))
        self.write_known_hosts()
        # The acceptor reads its keytab at each Kerberos login: export while the processes start.
        try:
            self.export_keytabs(wanted)
            for config, process in launched:
                self.wait_ready(config, process)
        except LabError:
            for config, process in launched:
                process.kill()
            raise
        return wanted

    def write_known_hosts(self) -> None:
        """Every node's SSH host key under its names and address (what the inventory's ssh connection checks)."""
        lines = [sshd.known_hosts_line(self.node_dir(spec) / "ssh", [spec.fqdn, spec.short, spec.address])
                 for spec in self.specs() if (self.node_dir(spec) / "ssh" / "ssh_host_ed25519_key.pub").exists()]
        if lines:
            self.ssh_dir.mkdir(parents=True, exist_ok=True)
            self.known_hosts.write_text("".join(lines))

    @staticmethod
    def stop_pids(targets: list[tuple[int | None, Path, str]], timeout: float = STOP_TIMEOUT) -> None:
        """Stop node processes by pid (TERM to all, then KILL to the stubborn) and wait until their ports close.

        ``targets`` holds (pid, node.json path, address); a pid that is not that node's process is left alone.
        """
        alive = [(pid, config) for pid, config, _address in targets if pid and _is_node_process(pid, config)]
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for pid, _config in alive:
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and any(_is_node_process(pid, config) for pid, config in alive):
                time.sleep(0.05)
            alive = [(pid, config) for pid, config in alive if _is_node_process(pid, config)]
            if not alive:
                break
        deadline = time.monotonic() + timeout
        addresses = [address for _pid, _config, address in targets]
        while time.monotonic() < deadline and any(_port_open(address, WSMAN_PORT, 0.1) for address in addresses):
            time.sleep(0.05)

    def _node_processes(self) -> dict[int, Path]:
        """pid -> node.json of every node process of this lab, found in /proc (even one whose pid file is gone)."""
        return find_lab_processes("winauth_lab.node", "node.json", self.nodes_dir)

    def _stop_dirs(self, wanted: typing.Callable[[str], bool]) -> list[str]:
        """Stop this lab's node processes (by pid file, or found without one) whose directory name is wanted."""
        targets, stopped = [], []
        for pid, config_path in sorted(self._node_processes().items()):
            if not wanted(config_path.parent.name) or not _is_node_process(pid, config_path):
                continue
            try:
                address = json.loads(config_path.read_text())["address"]
            except (OSError, ValueError, KeyError):
                address = "127.0.0.1"
            targets.append((pid, config_path, address))
            stopped.append(config_path.parent.name.upper())
        self.stop_pids(targets)
        pid_files = sorted(self.nodes_dir.glob("*/node.pid")) if self.nodes_dir.exists() else []
        for pid_file in pid_files:
            if wanted(pid_file.parent.name):
                pid_file.unlink(missing_ok=True)
        return sorted(set(stopped))

    def stop_all(self) -> list[str]:
        """Stop every node process of this lab (bench nodes included); return the names of those stopped."""
        return self._stop_dirs(lambda name: True)

    def stop_unwanted(self) -> list[str]:
        """Stop running nodes that are no longer part of the lab (e.g. bench nodes after NODES went down)."""
        keep = {self.node_dir(spec).name for spec in self.specs()}
        return self._stop_dirs(lambda name: name not in keep)

    def stop_nodes(self, specs: list[NodeSpec]) -> list[str]:
        names = {self.node_dir(spec).name for spec in specs}
        return self._stop_dirs(lambda name: name in names)

    # -- reset ------------------------------------------------------------------
    def reset_node(self, spec: NodeSpec) -> None:
        """Back to the initial applicationHost.config and empty logs."""
        directory = self.node_dir(spec)
        directory.mkdir(parents=True, exist_ok=True)
        if not self.write_initial_config(spec):
            self.application_host_config(spec).unlink(missing_ok=True)
        self.log_path(spec).write_text("")
        (directory / "process.log").write_text("")

    def reset_all(self) -> None:
        for spec in self.specs():
            self.reset_node(spec)

    # -- what others read ---------------------------------------------------------
    def status(self) -> list[dict]:
        return [{"name": spec.name, "hostname": spec.fqdn, "address": spec.address, "port": WSMAN_PORT,
                 "pid": self.pid(spec), "running": self.running(spec), "kerberos": spec.computer_account,
                 "log": str(self.log_path(spec)), "config": str(self.application_host_config(spec))}
                for spec in self.specs()]

    def env_values(self) -> dict[str, str]:
        specs = self.specs()
        return {
            "LAB_INVENTORY": str(self.inventory_path),
            "LAB_NODES": " ".join("%s=%s" % (spec.name, spec.address) for spec in specs),
            "LAB_NODE_LOGS": " ".join(str(self.log_path(spec)) for spec in specs),
            "LAB_NODE_CONFIGS": " ".join(str(self.application_host_config(spec)) for spec in specs),
            "LAB_CONNECTIONS": " ".join(CONNECTIONS),
            "LAB_TRANSPORTS": " ".join(dict.fromkeys(t for kind in TRANSPORTS.values() for t in kind)),
            "LAB_SSH_KEY": str(self.ssh_dir / "id_ed25519"),
            "LAB_SSH_KNOWN_HOSTS": str(self.known_hosts),
        }

    def inventory(self) -> dict:
        """An ordinary Ansible inventory of the lab nodes (winrm over HTTPS, NTLM, CA validated)."""
        specs = {spec.name: spec for spec in self.specs()}
        children: dict[str, dict] = {}
        for group, names in INVENTORY_GROUPS.items():
            children[group] = {"hosts": {n: {"ansible_host": specs[n].fqdn} for n in names if n in specs}}
        known = {n for names in INVENTORY_GROUPS.values() for n in names}
        others = [spec for spec in self.default_specs() if spec.name not in known]
        if others:
            children["other_nodes"] = {"hosts": {spec.name: {"ansible_host": spec.fqdn} for spec in others}}
        bench = self.bench_specs()
        if bench:
            children["bench_nodes"] = {"hosts": {spec.name: {"ansible_host": spec.fqdn} for spec in bench}}
        lab_vars = connection_vars(self.seed.realm, self.seed.admin_password, self.dc.tls_dir / "ca.pem",
                                   self.ssh_dir / "id_ed25519", self.known_hosts)
        return {"all": {"children": {
            "windows": {"children": {"lab_nodes": {"children": children, "vars": lab_vars}}},
        }}}

    def write_inventory(self) -> Path:
        header = "# The webfarm.winauth lab's web nodes, written by `make lab-up`; do not edit.\n" + "".join(
            "# %s\n" % line for line in connection_hint(self.seed.realm))
        text = header + yaml.safe_dump(self.inventory(), default_flow_style=False, sort_keys=False)
        _write_private(self.inventory_path, text)
        return self.inventory_path


def connection_hint(realm: str) -> list[str]:
    """How to pick a way into the nodes, for the inventory's header and ``make -s lab-env`` (comment lines)."""
    return ["The way in: ansible-playbook -i \"$LAB_INVENTORY\" ... "
            "-e lab_connection=CONNECTION -e lab_transport=TRANSPORT",
            "lab_connection: %s (the first is the default)" % " | ".join(CONNECTIONS),
            "lab_transport: %s (the first is the default)" % " | ".join(TRANSPORTS["winrm"]),
            "  over ssh: %s (the default ntlm means key, kerberos means gssapi)" % " | ".join(TRANSPORTS["ssh"]),
            "Kerberos needs KRB5_CONFIG (eval \"$(make -s lab-env)\"); ssh with gssapi a ticket first",
            "(kinit Administrator@%s). Over HTTP every WinRM/PSRP message is encrypted (auto)." % realm]


def connection_vars(realm: str, password: str, ca_cert: Path, ssh_key: Path, known_hosts: Path) -> dict:
    """The lab group's connection variables: one inventory for every way in, picked by lab_connection/lab_transport."""
    table = "{{ %s[lab_connection] }}"
    kinds = {name: kind for name, (kind, _scheme, _port) in CONNECTIONS.items()}
    schemes = {name: scheme for name, (_kind, scheme, _port) in CONNECTIONS.items()}
    ports = {name: port for name, (_kind, _scheme, port) in CONNECTIONS.items()}
    ssh_common = "-o UserKnownHostsFile=%s -o StrictHostKeyChecking=yes " % known_hosts
    return {
        "lab_connection": "winrm_https",
        "lab_transport": "ntlm",
        "ansible_connection": table % json.dumps(kinds, sort_keys=False),
        "ansible_port": table % json.dumps(ports, sort_keys=False),
        "ansible_shell_type": "powershell",
        # A UPN works with every transport (kinit needs one for kerberos; the lab's sshd knows it too).
        "ansible_user": "Administrator@%s" % realm,
        # winrm and psrp read it (ansible_password would make ssh ask for sshpass: ssh uses the key or a ticket).
        "ansible_winrm_password": password,
        "ansible_winrm_scheme": table % json.dumps(schemes, sort_keys=False),
        "ansible_winrm_transport": "{{ lab_transport }}",
        "ansible_winrm_server_cert_validation": "validate",
        "ansible_winrm_ca_trust_path": str(ca_cert),
        # Ansible runs kinit with an empty environment: let it see the lab's krb5.conf.
        "ansible_winrm_kinit_env_vars": ["KRB5_CONFIG"],
        "ansible_psrp_protocol": table % json.dumps(schemes, sort_keys=False),
        "ansible_psrp_auth": "{{ lab_transport }}",
        "ansible_psrp_cert_validation": "validate",
        "ansible_psrp_ca_cert": str(ca_cert),
        "ansible_ssh_private_key_file": str(ssh_key),
        "ansible_ssh_common_args": "{{ %s + ('-o GSSAPIAuthentication=yes -o PreferredAuthentications=gssapi-with-mic'"
                                   " if lab_transport in ['kerberos', 'gssapi'] else '-o GSSAPIAuthentication=no "
                                   "-o PreferredAuthentications=publickey') }}" % json.dumps(ssh_common),
    }


def _write_private(path: Path, text: str) -> None:
    """Write a file that holds lab secrets: mode 0600, replaced atomically."""
    scratch = path.with_name(path.name + ".new")
    fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(scratch, path)


def find_lab_processes(module: str, config_name: str, under: Path) -> dict[int, Path]:
    """pid -> config file of every ``python -m <module> <config>`` process whose config lies under ``under``.

    Read from /proc, so a lab process whose pid file is gone is still found and can be stopped.
    """
    found = {}
    prefix = str(under) + os.sep
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        paths = [arg.decode(errors="replace") for arg in argv if arg.endswith(config_name.encode())]
        if module.encode() in argv and paths and paths[0].startswith(prefix):
            found[int(proc.name)] = Path(paths[0])
    return found
