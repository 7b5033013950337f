"""The verification plane as a play runs it: negotiate_probe on the controller, farm_audit's two passes."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

from harness.ansible import run_module, run_playbook, write_playbook
from harness.directory import admin_connection


def lab_playbook(directory: Path, name: str, plays: list, extra_vars: dict | None = None,
                 timeout: float = 600) -> subprocess.CompletedProcess:
    """A playbook against the lab's inventory ($LAB_INVENTORY); secret-holding variables go in a vars file."""
    path, args = write_playbook(directory, name, plays, extra_vars)
    return run_playbook(path, "-i", os.environ["LAB_INVENTORY"], *args, timeout=timeout)


def probe(url: str, **options) -> dict:
    """negotiate_probe as a play runs it (on the controller), as the lab's browser user alice."""
    args = {"url": url, "username": "alice@%s" % os.environ["LAB_REALM"], "password": "Alice-Pa55!",
            "ca_path": os.environ["LAB_CA_CERT"], "fail_on_mismatch": False}
    args.update(options)
    result = run_module("webfarm.winauth.negotiate_probe", args, timeout=120)
    assert "attempts" in result, result.output[-3000:]
    return result


def audit(tmp_path: Path, hosts: str, farm: dict, roles: dict | None = None, report: bool = False) -> dict:
    """farm_audit's node pass on ``hosts`` and its farm pass; the farm pass's result."""
    out = tmp_path / ("audit-%d.json" % time.monotonic_ns())
    farm_task = {"name": "farm pass", "webfarm.winauth.farm_audit": {
        "farm": "{{ farm }}", "nodes": "{{ ansible_play_hosts | map('extract', hostvars, 'node_audit') | list }}"},
        "run_once": True, "register": "farm_result"}
    if report:
        farm_task["webfarm.winauth.farm_audit"]["report_dir"] = str(tmp_path / "report")
    plays = [{
        "hosts": hosts, "gather_facts": False,
        "module_defaults": {"group/webfarm.winauth.ad": admin_connection()},
        "vars": {"farm": farm, "roles_of": roles or {}},
        "tasks": [
            {"name": "node pass", "webfarm.winauth.farm_audit": {
                "farm": "{{ farm }}", "role": "{{ roles_of[inventory_hostname] | default('node') }}"},
             "register": "node_audit"},
            farm_task,
            {"name": "keep the result", "ansible.builtin.copy": {"content": "{{ farm_result | to_json }}",
                                                                 "dest": str(out), "mode": "0600"},
             "delegate_to": "localhost", "run_once": True,
             "vars": {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}"}},
        ]}]
    proc = lab_playbook(tmp_path, "audit", plays)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    return json.loads(out.read_text())


def ids(findings: list[dict], severity: str | None = None) -> set[tuple[str, str | None]]:
    return {(f["id"], f["node"]) for f in findings if severity is None or f["severity"] == severity}
