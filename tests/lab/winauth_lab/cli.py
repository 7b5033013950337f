# Internal to the webfarm.winauth lab.
"""``python -m winauth_lab up|down|reset|status|env|deps``: the lab's command line.

The Makefile's lab-* targets call this. The lab is real Active Directory (a
Samba AD DC) and WinRM web nodes on loopback addresses; see docs/lab.md for
what is simulated. ``up`` with LAB_NODE_COUNT=N (or ``make lab-up NODES=N``)
adds N bench nodes; the count is remembered until changed.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
from pathlib import Path

from . import dc as lab_dc
from . import packages
from .dc import (HOSTS_BEGIN, HOSTS_END, LabError, SambaDC, Seed, hosts_entries, requested_kdc_profile,
                 write_hosts_block)
from .nodes import NodeFleet, connection_hint, requested_bench_count
from .webfleet import WebFleet

REPO_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_LAB_DIR = REPO_ROOT / "build" / "lab"
DEFAULT_SEED = Path(__file__).resolve().parents[1] / "seed.yml"


def lab_dir() -> Path:
    return Path(os.environ.get("LAB_DIR", DEFAULT_LAB_DIR)).resolve()


def load_seed() -> Seed:
    return Seed.load(Path(os.environ.get("LAB_SEED", DEFAULT_SEED)))


def ensure_packages() -> None:
    """Install what bindep.txt lists and prove the lab's files are there (see packages.py)."""
    problems = packages.ensure()
    if problems:
        raise LabError("; ".join(problems))


def env_lines(dc: SambaDC) -> list[str]:
    seed = dc.seed
    values = {
        "LAB_DIR": str(dc.lab_dir),
        "LAB_DC": seed.dc_address,
        "LAB_DC_HOSTNAME": seed.dc_fqdn,
        "LAB_REALM": seed.realm,
        "LAB_NETBIOS": seed.netbios,
        "LAB_DNS_DOMAIN": seed.dns_domain,
        "LAB_DOMAIN_DN": seed.base_dn,
        "LAB_ADMIN_USER": "Administrator",
        "LAB_ADMIN_PASSWORD": seed.admin_password,
        "LAB_CA_CERT": str(dc.tls_dir / "ca.pem"),
        "LAB_SMB_CONF": str(dc.smb_conf),
        "LAB_SAM_LDB": str(dc.sam_ldb),
        "LAB_DOMAIN_PARTITION": str(dc.domain_partition),
        "LAB_SYSVOL": str(dc.sysvol),
        "KRB5_CONFIG": str(dc.krb5_conf),
    }
    values.update(NodeFleet(dc).env_values())
    values.update(WebFleet(dc).env_values())
    return (["export %s=%s" % (name, shlex.quote(value)) for name, value in values.items()]
            + ["# %s" % line for line in connection_hint(seed.realm)])


def all_hosts_entries(dc: SambaDC, fleet: NodeFleet) -> list[str]:
    return hosts_entries(dc.seed) + fleet.hosts_entries()


def _nodes_up(dc: SambaDC, fleet: NodeFleet, stopped: list[str] | None = None) -> str:
    """Start the nodes that are not running, stop unwanted ones, write the inventory; describe what happened."""
    stopped = (stopped or []) + fleet.stop_unwanted()
    started = fleet.start()
    web = WebFleet(dc, fleet).start()      # the nodes' web endpoints and the L4 load balancer
    fleet.write_inventory()
    (dc.lab_dir / "lab.env").write_text("\n".join(env_lines(dc)) + "\n")
    parts = []
    if started:
        parts.append("started %s" % " ".join(spec.name for spec in started))
    if web:
        parts.append("started %s" % " ".join(web))
    if stopped:
        parts.append("stopped %s" % " ".join(stopped))
    return "; ".join(parts) or "all running"


def _hosts_current(dc: SambaDC, fleet: NodeFleet) -> bool:
    """True when the marked block of /etc/hosts holds exactly the lab's names."""
    try:
        lines = [line.strip() for line in lab_dc.HOSTS_FILE.read_text().splitlines()]
    except OSError:
        return False
    if HOSTS_BEGIN not in lines or HOSTS_END not in lines:
        return False
    return lines[lines.index(HOSTS_BEGIN) + 1:lines.index(HOSTS_END)] == all_hosts_entries(dc, fleet)


def _switch_profile(dc: SambaDC, profile: str) -> str | None:
    """Restart the running DC when it runs another KDC profile; say what changed."""
    current = dc.running_profile()
    if current == profile:
        return None
    dc.stop()
    dc.start(profile)
    return "KDC profile %s -> %s (DC restarted)" % (current or "unrecorded", profile)


def cmd_up(dc: SambaDC) -> int:
    profile = requested_kdc_profile()
    fleet = NodeFleet(dc)
    count = requested_bench_count()
    if count is not None and count != fleet.bench_count:
        fleet.set_bench_count(count)
    if dc.running() and dc.provisioned():
        started = time.monotonic()
        switched = _switch_profile(dc, profile)
        if switched:
            print("lab: %s in %.1fs" % (switched, time.monotonic() - started), flush=True)
        stopped = fleet.stop_unwanted()
        nodes = fleet.specs()
        if (not stopped and all(fleet.running(spec) for spec in nodes) and fleet.inventory_path.exists()
                and _hosts_current(dc, fleet) and WebFleet(dc, fleet).all_running()):
            print("lab: already up (DC %s on %s, %d web nodes); nothing to do"
                  % (dc.seed.dc_fqdn, dc.seed.dc_address, len(nodes)))
            return 0
        write_hosts_block(all_hosts_entries(dc, fleet))
        what = _nodes_up(dc, fleet, stopped)
        print("lab: DC already up; web nodes: %s (%.1fs); inventory %s"
              % (what, time.monotonic() - started, fleet.inventory_path))
        return 0
    ensure_packages()
    started = time.monotonic()
    # Nodes left from an earlier DC hold its keys: restart them with this DC's.
    fleet.stop_all()
    dc.lab_dir.mkdir(parents=True, exist_ok=True)
    if not dc.provisioned():
        dc.stop()
        print("lab: provisioning %s (%s) ..." % (dc.seed.realm, dc.seed.netbios), flush=True)
        dc.provision()
    elif not dc.sam_ldb.exists():
        dc.restore_snapshot()
    dc.write_krb5_conf()
    write_hosts_block(all_hosts_entries(dc, fleet))
    dc.start(profile)
    what = _nodes_up(dc, fleet)
    print("lab: up in %.1fs: DC %s on %s, KDC profile %s (LDAP 389, LDAPS 636, GC 3268/3269, Kerberos 88, SMB 445); "
          "web nodes (WinRM 5986): %s; inventory %s"
          % (time.monotonic() - started, dc.seed.dc_fqdn, dc.seed.dc_address, profile, what, fleet.inventory_path))
    return 0


def cmd_down(dc: SambaDC) -> int:
    stopped = WebFleet(dc).stop_all()
    stopped += NodeFleet(dc).stop_all()
    dc.stop()
    write_hosts_block(None)
    print("lab: down (web nodes stopped: %s)" % (" ".join(stopped) or "none"))
    return 0


def cmd_reset(dc: SambaDC) -> int:
    profile = requested_kdc_profile()
    started = time.monotonic()
    fleet = NodeFleet(dc)
    dc.stop()
    dc.restore_snapshot()
    dc.write_krb5_conf()
    write_hosts_block(all_hosts_entries(dc, fleet))
    dc.start(profile)
    # The node processes keep running: their state is the files reset here, and their acceptors read the
    # keytab (re-exported from the restored directory) at each Kerberos login.
    fleet.reset_all()
    WebFleet(dc, fleet).reset_all()
    fleet.export_keytabs([spec for spec in fleet.specs() if fleet.running(spec)])
    _nodes_up(dc, fleet)
    print("lab: reset to the seeded state in %.1fs (web nodes: initial applicationHost.config, empty logs)"
          % (time.monotonic() - started))
    return 0


def cmd_status(dc: SambaDC) -> int:
    nodes = NodeFleet(dc).status()
    status = {
        "lab_dir": str(dc.lab_dir),
        "provisioned": dc.provisioned(),
        "dc": {"name": dc.seed.dc_fqdn, "address": dc.seed.dc_address, "pid": dc.pid(), "running": dc.running(),
               "kdc_profile": dc.running_profile()},
        "nodes": nodes,
        "web": WebFleet(dc).status(),
    }
    print(json.dumps(status, indent=2))
    web_up = all(e["running"] for e in status["web"]["endpoints"] + status["web"]["load_balancers"])
    return 0 if status["dc"]["running"] and all(node["running"] for node in nodes) and web_up else 3


def cmd_env(dc: SambaDC) -> int:
    print("\n".join(env_lines(dc)))
    return 0


def cmd_deps(_dc: SambaDC) -> int:
    ensure_packages()
    return 0


COMMANDS = {"up": cmd_up, "down": cmd_down, "reset": cmd_reset, "status": cmd_status, "env": cmd_env,
            "deps": cmd_deps}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="winauth_lab", description=__doc__)
    parser.add_argument("command", choices=sorted(COMMANDS))
    args = parser.parse_args(argv)
    try:
        dc = SambaDC(lab_dir(), load_seed())
        return COMMANDS[args.command](dc)
    except LabError as exc:
        print("lab: error: %s" % exc, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
