# Internal to the webfarm.winauth lab.
"""The lab's web endpoints and its L4 load balancer: start, stop, reset, status.

Each node of the seed (SERVER1, SERVER2, ARR1, CONTENT1, CONTENT2) gets a web endpoint process
(``winauth_lab.web``) on its own address, ports 80 and 443, beside its WinRM process: the sites
of its applicationHost.config, with the node's and the seed's alias names on its certificate (the
lab CA's), as a farm installs one certificate for its virtual name on every node.

The L4 load balancer in front of the L4 farm is HAProxy from Debian (not our code): mode tcp,
roundrobin, one frontend per port on the alias address (``sso`` -> 127.0.0.20), the farm's
nodes as backends with TCP health checks. Its configuration and pid file live in
``<lab dir>/haproxy/``; it is stopped by pid.

Files of a node's endpoint: ``<lab dir>/nodes/<node>/web/`` (web.json, web.pid, process.log,
u_ex.log, httperr.log, events.log, web.log, keytabs/).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from . import tls
from .dc import LabError, SambaDC
from .nodes import LAB_PACKAGE_PARENT, NodeFleet, NodeSpec, find_lab_processes
from .webnode import HTTP_PORT, HTTPS_PORT, WebConfig

START_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0
# The alias an L4 load balancer answers for, and the nodes behind it (the seed's L4 farm, seed 001).
BALANCED = {"sso": ("SERVER1", "SERVER2")}
LOG_FILES = ("u_ex.log", "httperr.log", "events.log", "web.log", "process.log")


def _port_open(address: str, port: int, timeout: float = 0.3) -> bool:
    try:
        with socket.create_connection((address, port), timeout=timeout):
            return True
    except OSError:
        return False


def _pid_of(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def _process_has(pid: int | None, *needles: str) -> bool:
    """True when pid is alive (not a zombie) and its command line holds every needle."""
    if not pid:
        return False
    try:
        with open("/proc/%d/stat" % pid, encoding="ascii", errors="replace") as handle:
            if handle.read().rsplit(") ", 1)[1][0] == "Z":
                return False
        cmdline = Path("/proc/%d/cmdline" % pid).read_bytes()
    except (OSError, IndexError):
        return False
    return all(needle.encode() in cmdline for needle in needles)


def _stop(pids: list[tuple[int, tuple[str, ...]]], timeout: float = STOP_TIMEOUT) -> None:
    alive = [(pid, needles) for pid, needles in pids if _process_has(pid, *needles)]
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid, _needles in alive:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and any(_process_has(pid, *n) for pid, n in alive):
            time.sleep(0.05)
        alive = [(pid, n) for pid, n in alive if _process_has(pid, *n)]
        if not alive:
            return


class WebFleet:
    """The web endpoints of the seed's nodes and the HAProxy in front of the L4 farm."""

    def __init__(self, dc: SambaDC, nodes: NodeFleet | None = None) -> None:
        self.dc = dc
        self.seed = dc.seed
        self.nodes = nodes or NodeFleet(dc)
        self.haproxy_dir = dc.lab_dir / "haproxy"

    # -- which ----------------------------------------------------------------------------------
    def specs(self) -> list[NodeSpec]:
        return [spec for spec in self.nodes.default_specs() if spec.computer_account]

    def web_dir(self, spec: NodeSpec) -> Path:
        return self.nodes.node_dir(spec) / "web"

    def config_path(self, spec: NodeSpec) -> Path:
        return self.web_dir(spec) / "web.json"

    def aliases(self) -> dict[str, str]:
        return {str(k): str(v) for k, v in (self.seed.raw.get("aliases") or {}).items()}

    # -- processes ------------------------------------------------------------------------------
    def pid(self, spec: NodeSpec) -> int | None:
        return _pid_of(self.web_dir(spec) / "web.pid")

    def running(self, spec: NodeSpec) -> bool:
        return (_process_has(self.pid(spec), "winauth_lab.web", str(self.config_path(spec)))
                and _port_open(spec.address, HTTPS_PORT))

    def prepare(self, spec: NodeSpec) -> WebConfig:
        directory = self.web_dir(spec)
        directory.mkdir(parents=True, exist_ok=True)
        tls.ensure_ca(self.dc.tls_dir, self.seed.realm)
        # The node's names, the seed's aliases and a wildcard for the farm names tests make up.
        names = [spec.fqdn, spec.short, "*.%s" % self.seed.dns_domain]
        addresses = [spec.address]
        for alias, address in self.aliases().items():
            names += ["%s.%s" % (alias, self.seed.dns_domain), alias]
            addresses.append(address)
        cert, key = tls.issue_server_cert(self.dc.tls_dir, "web2-%s" % spec.short, names, addresses)
        config = WebConfig(name=spec.name, address=spec.address, fqdn=spec.fqdn,
                           node_dir=str(self.nodes.node_dir(spec)), cert=str(cert), key=str(key),
                           ca_cert=str(self.dc.tls_dir / "ca.pem"), realm=self.seed.realm, netbios=self.seed.netbios,
                           dc_host=self.seed.dc_fqdn, smb_conf=str(self.dc.smb_conf), sam_ldb=str(self.dc.sam_ldb),
                           domain_dn=self.seed.base_dn, computer_keytab=str(self.nodes.keytab_path(spec)))
        config.dump(self.config_path(spec))
        return config

    def launch(self, spec: NodeSpec) -> subprocess.Popen:
        self.prepare(spec)
        (self.web_dir(spec) / "web.pid").unlink(missing_ok=True)
        env = dict(os.environ)
        env.update({
            "PYTHONPATH": os.pathsep.join([str(LAB_PACKAGE_PARENT)] + [p for p in [os.environ.get("PYTHONPATH")] if p]),
            "KRB5_CONFIG": str(self.dc.krb5_conf),
            "KRB5_KTNAME": "FILE:%s" % self.nodes.keytab_path(spec),
            # Every lab process shares one machine (and user): a per-machine replay cache is not modelled.
            "KRB5RCACHETYPE": "none",
            "NTLM_USER_FILE": str(self.nodes.ntlm_user_file),
            "PYTHONUNBUFFERED": "1",
        })
        env.pop("KRB5CCNAME", None)
        with open(self.web_dir(spec) / "process.log", "ab") as log:
            return subprocess.Popen([sys.executable, "-m", "winauth_lab.web", str(self.config_path(spec))],
                                    stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env,
                                    cwd=str(self.web_dir(spec)), start_new_session=True)

    def start(self) -> list[str]:
        """Start the endpoints that are not running and the load balancer; return what was started."""
        started = []
        launched = []
        for spec in self.specs():
            if self.running(spec):
                continue
            self._stop_specs([spec])
            for port in (HTTP_PORT, HTTPS_PORT):
                if _port_open(spec.address, port, 0.2):
                    raise LabError("%s:%d is already taken by another process; stop it first" % (spec.address, port))
            launched.append((spec, self.launch(spec)))
        for spec, process in launched:
            deadline = time.monotonic() + START_TIMEOUT
            while not self.running(spec):
                if process.poll() is not None or time.monotonic() > deadline:
                    process.kill()
                    tail = (self.web_dir(spec) / "process.log").read_text(errors="replace")[-1500:]
                    raise LabError("lab web endpoint %s did not start:\n%s" % (spec.name, tail))
                time.sleep(0.05)
            started.append("web:%s" % spec.name)
        if not self.haproxy_running():
            self.start_haproxy()
            started.append("haproxy")
        return started

    def _stop_specs(self, specs: list[NodeSpec]) -> list[str]:
        targets, names = [], []
        for spec in specs:
            pid = self.pid(spec)
            if pid and _process_has(pid, "winauth_lab.web", str(self.config_path(spec))):
                targets.append((pid, ("winauth_lab.web", str(self.config_path(spec)))))
                names.append("web:%s" % spec.name)
        # Endpoints whose pid file is gone still show in /proc.
        wanted = {str(self.config_path(spec)) for spec in specs}
        for pid, path in find_lab_processes("winauth_lab.web", "web.json", self.nodes.nodes_dir).items():
            if str(path) in wanted and pid not in [known for known, _n in targets]:
                targets.append((pid, ("winauth_lab.web", str(path))))
        _stop(targets)
        for spec in specs:
            (self.web_dir(spec) / "web.pid").unlink(missing_ok=True)
        return names

    def stop_all(self) -> list[str]:
        stopped = self._stop_specs(self.specs())
        if self.stop_haproxy():
            stopped.append("haproxy")
        return stopped

    def restart(self, names: list[str] | None = None) -> None:
        """Restart endpoints (all, or the named nodes) to load new lab code; the load balancer keeps running."""
        specs = [s for s in self.specs() if names is None or s.name in {n.upper() for n in names}]
        self._stop_specs(specs)
        self.start()

    # -- HAProxy --------------------------------------------------------------------------------
    @property
    def haproxy_cfg(self) -> Path:
        return self.haproxy_dir / "haproxy.cfg"

    @property
    def haproxy_pid_file(self) -> Path:
        return self.haproxy_dir / "haproxy.pid"

    def haproxy_config(self) -> str:
        specs = {spec.name: spec for spec in self.specs()}
        lines = ["# The lab's L4 load balancer (written by `make lab-up`; do not edit).",
                 "global", "    maxconn 512", "    pidfile %s" % self.haproxy_pid_file, "",
                 "defaults", "    mode tcp", "    balance roundrobin", "    timeout connect 5s",
                 "    timeout client 2m", "    timeout server 2m", ""]
        for alias, nodes in BALANCED.items():
            address = self.aliases().get(alias)
            members = [specs[n] for n in nodes if n in specs]
            if not address or not members:
                continue
            for port in (HTTPS_PORT, HTTP_PORT):
                name = "%s_%d" % (alias, port)
                lines += ["frontend %s" % name, "    bind %s:%d" % (address, port),
                          "    default_backend %s_nodes" % name, "",
                          "backend %s_nodes" % name]
                lines += ["    server %s %s:%d check inter 3s fall 2 rise 1" % (m.name, m.address, port)
                          for m in members]
                lines.append("")
        return "\n".join(lines)

    def haproxy_pid(self) -> int | None:
        return _pid_of(self.haproxy_pid_file)

    def haproxy_running(self) -> bool:
        return _process_has(self.haproxy_pid(), "haproxy", str(self.haproxy_cfg))

    def start_haproxy(self) -> None:
        self.haproxy_dir.mkdir(parents=True, exist_ok=True)
        self.haproxy_cfg.write_text(self.haproxy_config())
        check = subprocess.run(["haproxy", "-c", "-q", "-f", str(self.haproxy_cfg)], capture_output=True, text=True,
                               check=False)
        if check.returncode != 0:
            raise LabError("haproxy refuses %s: %s" % (self.haproxy_cfg, (check.stdout + check.stderr)[-800:]))
        proc = subprocess.run(["haproxy", "-D", "-f", str(self.haproxy_cfg), "-p", str(self.haproxy_pid_file)],
                              capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise LabError("haproxy did not start: %s" % (proc.stdout + proc.stderr)[-800:])
        deadline = time.monotonic() + START_TIMEOUT
        while not self.haproxy_running():
            if time.monotonic() > deadline:
                raise LabError("haproxy did not start within %ss" % START_TIMEOUT)
            time.sleep(0.05)

    def stop_haproxy(self) -> bool:
        pid = self.haproxy_pid()
        if not _process_has(pid, "haproxy", str(self.haproxy_cfg)):
            self.haproxy_pid_file.unlink(missing_ok=True)
            return False
        _stop([(pid, ("haproxy", str(self.haproxy_cfg)))])
        self.haproxy_pid_file.unlink(missing_ok=True)
        return True

    # -- reset and status -------------------------------------------------------------------------
    def reset_all(self) -> None:
        """Empty the endpoints' logs and drop exported pool-identity keytabs (the processes keep running)."""
        for spec in self.specs():
            directory = self.web_dir(spec)
            for name in LOG_FILES:
                path = directory / name
                if path.exists():
                    path.write_text("")
            for keytab in (directory / "keytabs").glob("*.keytab") if (directory / "keytabs").exists() else []:
                keytab.unlink(missing_ok=True)

    def all_running(self) -> bool:
        return all(self.running(spec) for spec in self.specs()) and self.haproxy_running()

    def status(self) -> dict:
        return {
            "endpoints": [{"name": spec.name, "address": spec.address, "ports": [HTTP_PORT, HTTPS_PORT],
                           "pid": self.pid(spec), "running": self.running(spec),
                           "w3c_log": str(self.web_dir(spec) / "u_ex.log")} for spec in self.specs()],
            "load_balancers": [{"name": "%s.%s" % (alias, self.seed.dns_domain), "address": self.aliases().get(alias),
                                "backends": list(nodes), "pid": self.haproxy_pid(),
                                "running": self.haproxy_running()} for alias, nodes in BALANCED.items()],
        }

    def env_values(self) -> dict[str, str]:
        return {"LAB_WEB_LOGS": " ".join(str(self.web_dir(spec) / "u_ex.log") for spec in self.specs()),
                "LAB_LB": " ".join("%s.%s=%s" % (alias, self.seed.dns_domain, self.aliases().get(alias, ""))
                                   for alias in BALANCED)}
