"""An IIS action plugin reads and edits a lab node's configuration through Ansible's winrm connection.

The plugin (tests/functional/_iis_action_plugins) is built on the collection's IISAction base, as
the collection's IIS plugins are; it runs from the lab inventory against SERVER1 with a pool name
of its own, and removes it again. What it proves: one remote call per host when nothing changes,
two when something does, check mode and diff, host-side secret comparison, one-line errors, the
node's log and applicationHost.config.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from harness.ansible import run_on_hosts
from harness.nodes import node_file

ACTION_PLUGINS = Path(__file__).resolve().parent / "_iis_action_plugins" / "action"
SECRET = "Probe-Pool-Pa55!"


def play(tmp_path: Path, tasks: list[dict], *options: str) -> tuple[subprocess.CompletedProcess, dict]:
    """Run tasks on SERVER1 from the lab inventory; return the process and each registered result by name."""
    out, results = run_on_hosts(tmp_path, "SERVER1", tasks, *options, action_plugins=ACTION_PLUGINS,
                                ignore_errors=False)
    return out, results.get("SERVER1", {})


def test_action_plugin_round_trip_on_a_lab_node(lab, token, tmp_path) -> None:
    del lab
    pool = "winauth-probe-%s" % token
    config = node_file("LAB_NODE_CONFIGS", "SERVER1")
    log = node_file("LAB_NODE_LOGS", "SERVER1")
    log_start = log.stat().st_size if log.exists() else 0
    probe = {"name": pool, "user": "CAMTEST\\cam-svc", "password": SECRET}
    out, results = play(tmp_path, [
        {"winauth_iis_pool_probe": probe, "diff": True},
        {"winauth_iis_pool_probe": probe},
        {"winauth_iis_pool_probe": dict(probe, password="Other-Pa55!"), "check_mode": True},
        {"winauth_iis_pool_probe": dict(probe, queue_length=5), "ignore_errors": True},
        {"winauth_iis_pool_probe": {"name": pool, "state": "absent"}},
        {"winauth_iis_pool_probe": {"name": pool, "state": "absent"}},
    ], "--diff")
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    created, again, checked, invalid, removed, gone = (results["r%d" % i] for i in range(6))
    assert created["changed"] is True and created["remote_calls"] == 2 and created["existed"] is False
    assert "password = (secret, changed)" in created["diff"]["after"]
    assert again["changed"] is False and again["remote_calls"] == 1 and again["existed"] is True
    assert checked["changed"] is True and checked["remote_calls"] == 1
    assert checked["changes"] == ["set password (secret) (system.applicationHost/applicationPools @ server "
                                  "[name=%s]/processModel)" % pool]
    assert invalid["failed"] is True and invalid["remote_calls"] == 1
    assert invalid["msg"] == "queueLength must be between 10 and 65535, not 5"
    assert removed["changed"] is True and removed["remote_calls"] == 2
    assert gone["changed"] is False and gone["remote_calls"] == 1
    assert SECRET not in out.stdout + out.stderr + json.dumps(results)
    # the node's own log: one line per remote call, names only
    with open(log, encoding="utf-8") as handle:
        handle.seek(log_start)
        records = [json.loads(line) for line in handle.read().splitlines() if line.strip()]
    applies = [r for r in records if r.get("op") == "apply" and (
        pool in json.dumps(r.get("edits")) or [(e["op"], e.get("key", {"name": pool})) for e in r["edits"]] == [
            ("remove", {"name": pool})])]   # (nodes started before the twin logged item keys show no key)
    assert [(r["changed"], [e["op"] for e in r["edits"]]) for r in applies] == [
        (True, ["add", "set", "set", "set"]), (True, ["remove"])]
    assert applies[0]["edits"][3]["attribute"] == "password" and "value" not in applies[0]["edits"][3]
    assert len([r for r in records if r.get("op") == "read"]) >= 6
    assert SECRET not in log.read_text()
    assert pool not in config.read_text()


def test_action_plugin_adds_and_reads_back_through_the_file(lab, token, tmp_path) -> None:
    del lab
    pool = "winauth-probe-%s" % token
    config = node_file("LAB_NODE_CONFIGS", "SERVER1")
    probe = {"name": pool, "user": "CAMTEST\\cam-svc", "password": SECRET, "queue_length": 2000}
    out, results = play(tmp_path, [{"winauth_iis_pool_probe": probe}])
    try:
        assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
        text = config.read_text()
        start = text.index('<add name="%s"' % pool)
        element = text[start:text.index("</add>", start)]
        assert 'queueLength="2000"' in element and 'identityType="SpecificUser"' in element
        assert 'password="[enc:IISWASOnlyCngProvider:' in element and SECRET not in text
        assert results["r0"]["remote_calls"] == 2
    finally:
        play(tmp_path, [{"winauth_iis_pool_probe": {"name": pool, "state": "absent"}}])
    assert pool not in config.read_text()
