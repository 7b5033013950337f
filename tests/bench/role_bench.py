"""make bench, the roles: lb_farm on N bench nodes, nothing to change and every node changing, beside its floor.

The floor is what a node must at least receive, measured in the same run: ``ansible.builtin.raw`` (one full
round trip) times the remote commands the role needs per node (1 when nothing changes, 2 when a node changes:
one read, one apply). Each role run comes right after its raw task, so both see the same load.

The farm: the Default Web Site and DefaultAppPool of every bench node, a virtual name of the bench's own
(its SPNs go to cam-svc, removed at the end), no batch-logon GPO (bench nodes have no computer account): the
right is granted in each node's local policy instead, so the role's batch-logon check passes and its restart
rides in the apply. "Every node changes" alternates kernel mode and the providers. The directory block must
run once per play, whatever N is: the bench fails when a directory task reports more than one host.
"""

from __future__ import annotations

import json
import os
import shlex
import statistics
import subprocess
import sys
from pathlib import Path

import yaml

from harness.ansible import VENV_BIN, ansible_env  # pylint: disable=import-error
from harness.directory import admin_connection  # pylint: disable=import-error
from winauth_lab.iis import initial_config  # pylint: disable=import-error
from winauth_lab.iis.scripts import LOCAL_POLICY, LOCAL_POLICY_FILE  # pylint: disable=import-error

REPEAT = int(os.environ.get("BENCH_ROLE_REPEAT", "3"))
STATES = [
    {"lb_farm_use_kernel_mode": False, "lb_farm_providers": ["Negotiate", "NTLM"]},
    {"lb_farm_use_kernel_mode": True, "lb_farm_providers": ["Negotiate"]},
]


def _grant_locally(node_dir: Path, account: str) -> None:
    """The batch-logon right in the node's local policy (what a GPO gives a domain member)."""
    policy = json.loads(json.dumps(LOCAL_POLICY))
    policy["SeBatchLogonRight"].append({"sid": None, "name": account})
    (node_dir / LOCAL_POLICY_FILE).write_text(json.dumps(policy, indent=2), encoding="utf-8")


def _plays(names: list[str], lab: dict[str, str], password: str) -> list[dict]:
    farm = {"lb_farm_virtual_name": "bench-farm.%s" % lab["LAB_DNS_DOMAIN"],
            "lb_farm_service_account": "%s\\cam-svc" % lab["LAB_NETBIOS"],
            "lb_farm_service_account_password": password, "lb_farm_batch_logon_gpo": "",
            "lb_farm_site": "Default Web Site", "lb_farm_app_pool": "DefaultAppPool", "lb_farm_summary": False}
    plays = []
    final = STATES[(REPEAT - 1) % 2]
    for phase, states in (("changed", [STATES[i % 2] for i in range(REPEAT)]), ("unchanged", [final] * REPEAT)):
        for index, state in enumerate(states):
            plays.append({"name": "raw %s %d" % (phase, index), "hosts": ",".join(names), "gather_facts": False,
                          "tasks": [{"name": "raw %s %d" % (phase, index), "ansible.builtin.raw": "hostname",
                                     "ignore_errors": True}]})
            plays.append({"name": "role %s %d" % (phase, index), "hosts": ",".join(names), "gather_facts": False,
                          "module_defaults": {"group/webfarm.winauth.ad": admin_connection(lab)},
                          "roles": [{"role": "webfarm.winauth.lb_farm", "vars": dict(farm, **state)}]})
    plays.append({"name": "cleanup", "hosts": "localhost", "connection": "local", "gather_facts": False,
                  "vars": {"ansible_python_interpreter": "{{ ansible_playbook_python }}"},
                  "module_defaults": {"group/webfarm.winauth.ad": admin_connection(lab)},
                  "tasks": [{"name": "cleanup", "webfarm.winauth.spn": {
                      "account": "cam-svc", "state": "absent",
                      "spns": ["HTTP/bench-farm.%s" % lab["LAB_DNS_DOMAIN"], "HTTP/bench-farm"]}}]})
    return plays


def role_rows(fleet, count: int, work: Path, lab: dict[str, str], password: str) -> list[dict]:
    """Rows for the table: lb_farm on ``count`` bench nodes, both phases, beside raw x commands."""
    specs = fleet.bench_specs()[:count]
    names = [spec.name for spec in specs]
    offsets = {}
    for spec in specs:
        config = fleet.application_host_config(spec)
        config.write_text(initial_config(spec.name), encoding="utf-8", newline="")
        (config.parent / "runtime.json").unlink(missing_ok=True)
        _grant_locally(config.parent, "%s\\cam-svc" % lab["LAB_NETBIOS"])
        log = fleet.log_path(spec)
        offsets[spec.name] = log.stat().st_size if log.exists() else 0
    playbook = work / ("roles-%d.yml" % count)
    playbook.write_text(yaml.safe_dump(_plays(names, lab, password)))
    out_file = work / ("role-timer-%d.json" % count)
    # The lab's environment too: KRB5_CONFIG, for the role's Kerberos proof of the pool's password.
    env = ansible_env(dict(lab, ANSIBLE_CALLBACK_PLUGINS=str(Path(__file__).resolve().parent / "callback"),
                           ANSIBLE_CALLBACKS_ENABLED="bench_timer", BENCH_TIMER_OUT=str(out_file)))
    try:
        proc = subprocess.run([str(VENV_BIN / "ansible-playbook"), "-i", str(fleet.inventory_path), "-f", str(count),
                               "-e", "lab_connection=winrm_https", "-e", "lab_transport=ntlm", str(playbook)],
                              capture_output=True, text=True, env=env, timeout=3600, check=False)
    finally:
        for spec in specs:
            (fleet.node_dir(spec) / LOCAL_POLICY_FILE).unlink(missing_ok=True)
    if proc.returncode != 0 or not out_file.exists():
        raise SystemExit("the role bench failed:\n%s%s" % (proc.stdout[-4000:], proc.stderr[-2000:]))
    timed = json.loads(out_file.read_text())
    several = sorted({t["name"] for t in timed if "Directory |" in t["name"] and len(t["hosts"]) > 1})
    if several:
        raise SystemExit("the directory block ran on more than one host: %s" % several)

    def span(play: str) -> float:
        tasks = [t for t in timed if t.get("play") == play and t["end"] is not None]
        return max(t["end"] for t in tasks) - min(t["start"] for t in tasks)

    def node_calls(play: str) -> float:
        values = [r["remote_calls"] for t in timed if t.get("play") == play and "Node |" in t["name"]
                  for r in t["hosts"].values() if r.get("remote_calls") is not None]
        return sum(values) / count

    logged = _log_lines(fleet, specs, offsets)
    expected_total = count * 2 * REPEAT + sum(round(node_calls("role %s %d" % (p, i)) * count)
                                              for p in ("changed", "unchanged") for i in range(REPEAT))
    if sum(logged.values()) != expected_total:
        raise SystemExit("node logs disagree with remote_calls: logged %d, expected %d" % (
            sum(logged.values()), expected_total))

    def part(play: str, marker: str) -> float:
        return sum(t["end"] - t["start"] for t in timed if t.get("play") == play and marker in t["name"]
                   and t["end"] is not None)

    rows = []
    for phase, least in (("unchanged", 1), ("changed", 2)):
        plays = ["role %s %d" % (phase, i) for i in range(REPEAT)]
        print("lb_farm on %d nodes, %s: of %.2f s, the directory block %.2f s, the node task %.2f s, %d tasks" % (
            count, phase, statistics.median(span(p) for p in plays), statistics.median(part(p, "Directory |") for p in plays),
            statistics.median(part(p, "Node |") for p in plays),
            len([t for t in timed if t.get("play") == plays[0]])), flush=True)
        ours = [span("role %s %d" % (phase, i)) for i in range(REPEAT)]
        raws = [span("raw %s %d" % (phase, i)) for i in range(REPEAT)]
        calls = [node_calls("role %s %d" % (phase, i)) for i in range(REPEAT)]
        if any(c != least for c in calls):
            raise SystemExit("lb_farm %s sent %s commands per node" % (phase, calls))
        rows.append({"n": count, "connection": "winrm_https", "task": "lb_farm role",
                     "phase": "nothing changes" if phase == "unchanged" else "every node changes",
                     "wall": statistics.median(ours), "calls": statistics.median(calls),
                     "floor": statistics.median(r * least for r in raws),
                     "ratio": statistics.median(a / (b * least) for a, b in zip(ours, raws)), "play": sum(ours)})
    return rows


def _log_lines(fleet, specs, offsets: dict[str, int]) -> dict[str, int]:
    counts = {}
    for spec in specs:
        with open(fleet.log_path(spec), encoding="utf-8") as handle:
            handle.seek(offsets[spec.name])
            counts[spec.name] = len([line for line in handle.read().splitlines() if line.strip()])
    return counts


def lab_env() -> dict[str, str]:
    """The running lab's LAB_* variables (as ``winauth_lab env`` prints them)."""
    repo = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-m", "winauth_lab", "env"], capture_output=True, text=True, check=True,
                         cwd=str(repo), env=dict(os.environ, PYTHONPATH=str(repo / "tests" / "lab"))).stdout
    values = {}
    for line in out.splitlines():
        if line.startswith("export ") and "=" in line:
            name, _sep, value = line[len("export "):].partition("=")
            values[name] = shlex.split(value)[0] if value else ""
    return values
