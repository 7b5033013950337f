"""make bench: web_auth, app_pool and the lb_farm role against N lab nodes, beside ansible.builtin.raw on them.

For each N (default 2, 10 and 50; ``BENCH_SIZES=2,10``), the bench nodes BENCH001..BENCH<N> start
from a fresh applicationHost.config and one playbook runs on them (forks = N):

* ``ansible.builtin.raw`` -- the floor: a lab node refuses it (it runs only the collection's
  scripts), which still costs one full WinRM round trip: connect, NTLM, shell, command, output;
* web_auth and app_pool, each when everything changes (alternating between two desired states)
  and when nothing changes (the same state again).

Then, on N=10 (``BENCH_CONNECTION_SIZE``), the same play once per way into a node
(``BENCH_CONNECTIONS``, default every lab_connection: winrm_https, winrm_http, psrp_https,
psrp_http, ssh; NTLM, or the SSH key: bench nodes have no computer account), each with its own
raw floor over the same connection.

Then the lb_farm role on 10 and 50 bench nodes (``BENCH_ROLE_SIZES``; ``role_bench.py``), nothing to
change and every node changing, beside raw times the commands a node must at least receive.

A task's wall time runs from its start to its last host's result (a callback records it). Each
measured task runs right after a raw task, so each has a floor measured under the same load (the
machine may be shared). The table gives medians of REPEAT runs (``BENCH_REPEAT``, default 5):
wall time, the raw floor, the ratio of each task to its own floor, and remote commands per node
(the modules' ``remote_calls``, checked against the nodes' own logs).

Bench nodes are added to the running lab with ``lab up`` and LAB_NODE_COUNT (no DC restart); the
lab's previous bench node count is restored at the end. ``--write-doc`` puts the table into
docs/benchmark.md. Not part of ``make test``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO / "tests" / "lab"), str(REPO / "tests" / "functional")]

from harness.ansible import VENV_BIN, ansible_env  # noqa: E402  pylint: disable=wrong-import-position
from winauth_lab.cli import lab_dir, load_seed  # noqa: E402  pylint: disable=wrong-import-position
from winauth_lab.dc import SambaDC  # noqa: E402  pylint: disable=wrong-import-position
from winauth_lab.iis import initial_config  # noqa: E402  pylint: disable=wrong-import-position
from winauth_lab.nodes import CONNECTIONS, NodeFleet  # noqa: E402  pylint: disable=wrong-import-position
from role_bench import lab_env, role_rows  # noqa: E402  pylint: disable=wrong-import-position

REPEAT = int(os.environ.get("BENCH_REPEAT", "5"))
SECRET = "Bench-Pool-Pa55!"
DOC = REPO / "docs" / "benchmark.md"
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"

WEB_AUTH = [
    {"site": "Default Web Site", "windows": {"enabled": True, "use_kernel_mode": False, "use_app_pool_credentials": True,
                                             "providers": ["Negotiate", "NTLM"]}, "anonymous": {"enabled": False}},
    {"site": "Default Web Site", "windows": {"enabled": False, "use_kernel_mode": True, "use_app_pool_credentials": False,
                                             "providers": ["NTLM"]}, "anonymous": {"enabled": True}},
]
APP_POOL = [
    {"name": "bench-pool", "identity": "SpecificUser", "username": "CAMTEST\\cam-svc", "password": SECRET,
     "load_user_profile": True, "idle_timeout": "00:00:00", "periodic_restart": {"time": "00:00:00"},
     "state": "started"},
    {"name": "bench-pool", "identity": "NetworkService", "load_user_profile": False, "idle_timeout": "00:10:00",
     "periodic_restart": {"time": "1.05:00:00"}, "state": "stopped"},
]


def lab_command(*args: str, count: int | None = None) -> None:
    env = dict(os.environ, PYTHONPATH=str(REPO / "tests" / "lab"))
    if count is not None:
        env["LAB_NODE_COUNT"] = str(count)
    subprocess.run([sys.executable, "-m", "winauth_lab", *args], env=env, check=True, cwd=str(REPO),
                   stdout=subprocess.DEVNULL)


def tasks() -> list[dict]:
    """Each measured task right after a raw task, so the floor is measured under the same load."""
    result: list[dict] = []
    for name, states in (("web_auth", WEB_AUTH), ("app_pool", APP_POOL)):
        final = states[(REPEAT - 1) % 2]
        for phase, args in (("changed", [states[i % 2] for i in range(REPEAT)]), ("unchanged", [final] * REPEAT)):
            for index, value in enumerate(args):
                result.append({"name": "raw %s %s %d" % (name, phase, index), "ansible.builtin.raw": "hostname",
                               "ignore_errors": True})
                result.append({"name": "%s %s %d" % (name, phase, index), "webfarm.winauth.%s" % name: value})
    return result


def reset(fleet: NodeFleet, names: list[str]) -> dict[str, int]:
    """Fresh configuration on the bench nodes; the size of each node's log (to count its commands)."""
    offsets = {}
    for spec in fleet.bench_specs():
        if spec.name not in names:
            continue
        config = fleet.application_host_config(spec)
        scratch = config.with_name(config.name + ".bench")
        scratch.write_text(initial_config(spec.name), encoding="utf-8", newline="")
        os.replace(scratch, config)
        (config.parent / "runtime.json").unlink(missing_ok=True)
        log = fleet.log_path(spec)
        offsets[spec.name] = log.stat().st_size if log.exists() else 0
    return offsets


def log_counts(fleet: NodeFleet, offsets: dict[str, int]) -> dict[str, int]:
    counts = {}
    for spec in fleet.bench_specs():
        if spec.name in offsets:
            with open(fleet.log_path(spec), encoding="utf-8") as handle:
                handle.seek(offsets[spec.name])
                counts[spec.name] = len([line for line in handle.read().splitlines() if line.strip()])
    return counts


def run(fleet: NodeFleet, count: int, work: Path, connection: str = "winrm_https") -> list[dict]:
    names = [spec.name for spec in fleet.bench_specs()][:count]
    offsets = reset(fleet, names)
    playbook = work / "bench.yml"
    playbook.write_text(yaml.safe_dump([{"hosts": ",".join(names), "gather_facts": False, "tasks": tasks()}]))
    out_file = work / ("timer-%d.json" % count)
    env = ansible_env({"ANSIBLE_CALLBACK_PLUGINS": str(Path(__file__).resolve().parent / "callback"),
                       "ANSIBLE_CALLBACKS_ENABLED": "bench_timer", "BENCH_TIMER_OUT": str(out_file)})
    started = time.monotonic()
    transport = "key" if connection == "ssh" else "ntlm"
    proc = subprocess.run([str(VENV_BIN / "ansible-playbook"), "-i", str(fleet.inventory_path), "-f", str(count),
                           "-e", "lab_connection=%s" % connection, "-e", "lab_transport=%s" % transport,
                           str(playbook)], capture_output=True, text=True, env=env, timeout=3600, check=False)
    elapsed = time.monotonic() - started
    if not out_file.exists():
        raise SystemExit("the bench play did not finish:\n%s%s" % (proc.stdout[-4000:], proc.stderr[-2000:]))
    timed = json.loads(out_file.read_text())
    problems = [(t["name"], h, r["msg"]) for t in timed for h, r in t["hosts"].items()
                if r["status"] != "ok" and not t["name"].startswith("raw")]
    problems += [(t["name"], "-", "%d of %d hosts answered" % (len(t["hosts"]), count)) for t in timed
                 if len(t["hosts"]) != count]
    if problems:
        raise SystemExit("bench tasks failed: %s" % problems[:5])
    # Independent count: every command a node ran is one line of its log.
    expected = {name: sum(r["hosts"][name]["remote_calls"] or 0 for r in timed if not r["name"].startswith("raw"))
                + sum(1 for r in timed if r["name"].startswith("raw")) for name in names}
    logged = log_counts(fleet, offsets)
    if logged != expected:
        raise SystemExit("node logs disagree with remote_calls: logged %s, expected %s" % (logged, expected))

    def spans(prefix: str) -> list[float]:
        return [t["end"] - t["start"] for t in timed if t["name"].startswith(prefix + " ")]

    def calls(prefix: str) -> float:
        values = [r["remote_calls"] for t in timed if t["name"].startswith(prefix + " ") for r in t["hosts"].values()]
        return statistics.mean(values)

    def changed(prefix: str) -> bool:
        return all(r["changed"] for t in timed if t["name"].startswith(prefix + " ") for r in t["hosts"].values())

    rows = []
    for module in ("web_auth", "app_pool"):
        for phase in ("unchanged", "changed"):
            prefix = "%s %s" % (module, phase)
            if changed(prefix) != (phase == "changed"):
                raise SystemExit("%s: the tasks did not report changed=%s on every node" % (prefix, phase == "changed"))
            ours, floors = spans(prefix), spans("raw " + prefix)
            rows.append({"n": count, "connection": connection, "task": module,
                         "phase": "nothing changes" if phase == "unchanged" else "everything changes",
                         "wall": statistics.median(ours), "calls": calls(prefix),
                         "floor": statistics.median(floors),
                         "ratio": statistics.median(a / b for a, b in zip(ours, floors)), "play": elapsed})
    return rows


def table(rows: list[dict]) -> str:
    lines = ["| N nodes | connection | task | when | wall time (s) | remote commands per node | raw floor (s) "
             "| ours / floor |", "|---:|---|---|---|---:|---:|---:|---:|"]
    for row in rows:
        lines.append("| %d | %s | %s | %s | %.2f | %g | %.2f | %.2f |" % (
            row["n"], row["connection"], row["task"], row["phase"], row["wall"], row["calls"], row["floor"],
            row["ratio"]))
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--write-doc", action="store_true", help="put the table into docs/benchmark.md")
    options = parser.parse_args()
    sizes = [int(s) for s in os.environ.get("BENCH_SIZES", "2,10,50").split(",") if s.strip()]
    connections = [c for c in os.environ.get("BENCH_CONNECTIONS", ",".join(CONNECTIONS)).split(",") if c.strip()]
    per_connection = int(os.environ.get("BENCH_CONNECTION_SIZE", "10"))
    role_sizes = [int(s) for s in os.environ.get("BENCH_ROLE_SIZES", "10,50").split(",") if s.strip()]
    unknown = [c for c in connections if c not in CONNECTIONS]
    if unknown:
        raise SystemExit("BENCH_CONNECTIONS: unknown %s (the lab offers %s)" % (unknown, ", ".join(CONNECTIONS)))
    fleet = NodeFleet(SambaDC(lab_dir(), load_seed()))
    previous = fleet.bench_count
    rows: list[dict] = []
    try:
        started = time.monotonic()
        nodes = max(sizes + role_sizes + ([per_connection] if connections else []))
        lab_command("up", count=nodes)
        print("bench: %d bench nodes up in %.1fs (the DC was not restarted)" % (nodes, time.monotonic() - started),
              flush=True)
        with tempfile.TemporaryDirectory(prefix="winauth-bench-") as work:
            for count in sizes:
                rows += run(fleet, count, Path(work))
                print(table(rows[-4:]).split("\n", 2)[-1], flush=True)
            for connection in connections:
                rows += run(fleet, per_connection, Path(work), connection)
                print(table(rows[-4:]).split("\n", 2)[-1], flush=True)
            if role_sizes:
                lab = lab_env()
                password = next(u["password"] for u in yaml.safe_load(
                    (REPO / "tests" / "lab" / "seed.yml").read_text(encoding="utf-8"))["users"] if u["name"] == "cam-svc")
                for count in role_sizes:
                    rows += role_rows(fleet, count, Path(work), lab, password)
                    print(table(rows[-2:]).split("\n", 2)[-1], flush=True)
    finally:
        lab_command("up", count=previous)
    result = table(rows)
    print("\n" + result)
    if options.write_doc:
        text = DOC.read_text(encoding="utf-8")
        head, _sep, rest = text.partition(BEGIN)
        _old, _sep, tail = rest.partition(END)
        DOC.write_text("%s%s\n%s\n%s%s" % (head, BEGIN, result, END, tail), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
