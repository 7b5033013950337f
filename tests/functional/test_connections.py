"""Every way into a lab node, through Ansible's own connection plugins (ansible-core 2.19, the test venv).

WinRM over HTTP (every message encrypted with the NTLM or Kerberos session), PSRP over HTTPS and
HTTP (pypsrp), and SSH (Debian's OpenSSH, key and GSSAPI): for each, web_auth and app_pool round
trip on SERVER1/SERVER2 with the same remote calls per task as over WinRM HTTPS, the pool password
in no output at -vvvvv and in no node log, and the lb_farm role converges and then changes nothing.
A node killed while a collection script runs is reported as unreachable, over every connection.
WinRM over HTTPS, the default, is what the rest of the suite runs on.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
import yaml

from harness.ansible import VENV_BIN, ansible_env
from harness.connections import connection_env, connection_vars_for, lb_farm, release_bin, round_trip
from winauth_lab import sshd
from winauth_lab.cli import lab_dir as lab_directory
from winauth_lab.cli import load_seed
from winauth_lab.dc import SambaDC
from winauth_lab.nodes import CONNECTIONS, NodeFleet, NodeSpec

IIS_ACTION_PLUGINS = Path(__file__).resolve().parent / "_iis_action_plugins" / "action"
WAYS = [("winrm_http", "kerberos"), ("winrm_http", "ntlm"), ("psrp_https", "kerberos"), ("psrp_https", "ntlm"),
        ("psrp_http", "kerberos"), ("ssh", "key"), ("ssh", "gssapi")]
PROBE = NodeSpec("CONNPROBE", "127.0.0.97", "camtest.local", computer_account=False)


@pytest.mark.parametrize("connection,transport", WAYS, ids=["%s-%s" % way for way in WAYS])
def test_web_auth_and_app_pool_round_trip(lab, token, tmp_path, connection, transport) -> None:
    round_trip(release_bin(None), tmp_path, lab, connection, transport, token)


@pytest.mark.parametrize("connection,transport", WAYS, ids=["%s-%s" % way for way in WAYS])
def test_lb_farm_converges_and_is_idempotent(lab, token, tmp_path, connection, transport) -> None:
    lb_farm(release_bin(None), tmp_path, lab, connection, transport, token)


def _kill_group_once_connected(address: str, port: int, pid: int, after: float, timeout: float = 30.0) -> None:
    """SIGKILL the node's process group (the node, its sshd and sshd's sessions) `after` s into a connection."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        established = subprocess.run(["ss", "-Htn", "state", "established", "src", "%s:%d" % (address, port)],
                                     capture_output=True, text=True, check=False).stdout
        if established.strip():
            time.sleep(after)
            break
        time.sleep(0.02)
    os.killpg(pid, signal.SIGKILL)


@pytest.mark.parametrize("connection", list(CONNECTIONS))
def test_a_node_killed_during_a_collection_script_is_unreachable(lab, tmp_path, connection) -> None:
    fleet = NodeFleet(SambaDC(lab_directory(), load_seed()))
    config = fleet.prepare(PROBE, delay=4.0, node_dir=tmp_path / "probe")
    process = fleet.launch(config, None)
    try:
        fleet.wait_ready(config, process)
        known_hosts = tmp_path / "known_hosts"
        known_hosts.write_text(sshd.known_hosts_line(config.directory / "ssh", [PROBE.address]))
        inventory = tmp_path / "inventory.yml"
        inventory.write_text(yaml.safe_dump({"all": {"hosts": {"probe": {"ansible_host": PROBE.address}},
                                                     "vars": connection_vars_for(lab, known_hosts)}}))
        port = CONNECTIONS[connection][2]
        killer = threading.Thread(target=_kill_group_once_connected, args=(PROBE.address, port, process.pid, 1.0),
                                  daemon=True)
        killer.start()
        env = ansible_env(dict(connection_env(tmp_path, lab, "ntlm"), ANSIBLE_ACTION_PLUGINS=str(IIS_ACTION_PLUGINS)))
        transport = "key" if connection == "ssh" else "ntlm"
        out = subprocess.run([str(VENV_BIN / "ansible"), "-i", str(inventory), "probe", "-m", "winauth_iis_pool_probe",
                              "-a", "name=DefaultAppPool", "-o", "-e", "lab_connection=%s" % connection,
                              "-e", "lab_transport=%s" % transport], capture_output=True, text=True, env=env,
                             timeout=180, check=False)
        killer.join()
    finally:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait(timeout=10)
    line = next((text for text in out.stdout.splitlines() if text.startswith("probe |")), "")
    assert out.returncode == 4, out.stdout + out.stderr        # 4: a host was unreachable
    assert line.startswith("probe | UNREACHABLE!"), line
    assert PROBE.address in line, line
    if connection == "ssh":       # ssh's own words (exit code 255), named by the runner
        assert "the SSH connection to %s failed while running webfarm.winauth's iis_config script (Data could not " \
               "be sent to remote host" % PROBE.address in line, line
    else:
        assert "lost the connection to %s while running webfarm.winauth's iis_config script" % PROBE.address in line


def test_http_refuses_what_windows_refuses_and_reads_what_arrives_encrypted(lab) -> None:
    """AllowUnencrypted=false: a plain message gets HTTP 500, Basic a 401; the encrypted call runs and is logged so."""
    import winrm  # pylint: disable=import-outside-toplevel
    from winrm.exceptions import InvalidCredentialsError, WinRMTransportError  # pylint: disable=import-outside-toplevel

    url = "http://server1.%s:5985/wsman" % lab["LAB_DNS_DOMAIN"]
    user, password = "Administrator@%s" % lab["LAB_REALM"], lab["LAB_ADMIN_PASSWORD"]
    with pytest.raises(WinRMTransportError) as plain:
        winrm.Protocol(url, transport="ntlm", username=user, password=password, message_encryption="never").open_shell()
    assert plain.value.code == 500
    with pytest.raises(InvalidCredentialsError):
        winrm.Protocol(url, transport="basic", username=user, password=password).open_shell()
    log = Path(lab["LAB_DIR"]) / "nodes" / "server1" / "node.log"
    offset = log.stat().st_size
    result = winrm.Session(url, auth=(user, password), transport="ntlm").run_ps("Get-Date")
    assert result.status_code == 1 and b"runs only webfarm.winauth remote scripts" in result.std_err
    process_log = (Path(lab["LAB_DIR"]) / "nodes" / "server1" / "process.log").read_text()
    assert "an unencrypted message was refused on the HTTP listener" in process_log
    with open(log, encoding="utf-8") as handle:
        handle.seek(offset)
        records = [json.loads(line) for line in handle.read().splitlines() if line.strip()]
    assert [(r["listener"], r["encrypted"], r["auth"], r["script"]) for r in records] == [
        ("http", True, "ntlm", "refused")]


UNPROTECTED = [("winrm_http", "ntlm", "ansible_winrm_message_encryption=never",
                "WinRM over HTTP with ansible_winrm_message_encryption=never"),
               ("psrp_http", "kerberos", "ansible_psrp_message_encryption=never",
                "PSRP over HTTP with ansible_psrp_message_encryption=never"),
               ("winrm_http", "ntlm", "ansible_winrm_transport=basic",
                "WinRM over HTTP with ansible_winrm_transport=basic, which pywinrm cannot encrypt")]


@pytest.mark.parametrize("connection,transport,variable,reason", UNPROTECTED,
                         ids=["%s-%s" % (way[0], way[2].split("=")[0]) for way in UNPROTECTED])
def test_a_password_is_never_sent_over_a_connection_that_does_not_protect_it(
        lab, token, tmp_path, connection, transport, variable, reason) -> None:
    """app_pool's password and web_auth's anonymous password: refused before the first remote command."""
    from harness.connections import NODES, node_dir, play  # pylint: disable=import-outside-toplevel
    from harness.nodes import NodeLog  # pylint: disable=import-outside-toplevel

    secret = "Cn-Clear-%s-Pa55!" % token
    logs = {node: NodeLog(node_dir(node) / "node.log") for node in NODES}
    for log in logs.values():
        log.mark()
    tasks = {"tasks": [
        {"webfarm.winauth.app_pool": {"name": "cc-%s" % token, "identity": "SpecificUser",
                                      "username": "%s\\cam-svc" % lab["LAB_NETBIOS"], "password": "{{ cc_secret }}"}},
        {"webfarm.winauth.web_auth": {"site": "Default Web Site", "anonymous": {
            "enabled": True, "username": "%s\\cam-svc" % lab["LAB_NETBIOS"], "password": "{{ cc_secret }}"}}}]}
    # The secret comes in as a variable, as a vault would give it (Ansible shows a failed task's source lines).
    out, results = play(release_bin(None), tmp_path, "lb_nodes", tasks, connection, transport,
                        connection_env(tmp_path, lab, transport), "-e", variable, "-e", "cc_secret=%s" % secret,
                        "-vvv")
    text = out.stdout + out.stderr
    assert set(results) == set(NODES), text[-3000:]
    assert secret not in text and secret not in json.dumps(results)
    for node in NODES:
        pool, anonymous = results[node]["r0"], results[node]["r1"]
        for refused, option in ((pool, "password"), (anonymous, "anonymous.password")):
            assert refused["failed"] and refused["remote_calls"] == 0, refused
            assert "refusing to send %s" % option in refused["msg"] and reason in refused["msg"], refused["msg"]
        # Nothing of either task reached the node: no command, no record in its log.
        assert logs[node].records() == [], logs[node].records()
        assert secret not in logs[node].path.read_text()
