"""The lab's web nodes: real WS-Management over HTTPS with Basic, NTLM and Kerberos, reached by Ansible and pywinrm.

The nodes simulate only IIS's configuration engine (the twin in winauth_lab.remote): until a command is one
of the collection's remote scripts it is refused, which is what most of these tests look at, from the outside.
"""

from __future__ import annotations

import base64
import concurrent.futures
import hashlib
import json
import os
import signal
import socket
import ssl
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest
import requests
import spnego
import winrm
import xmltodict
import yaml
from ansible.plugins.loader import shell_loader
from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis import contract
from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis.runner import script_text
from spnego.channel_bindings import GssChannelBindings
from winrm.exceptions import InvalidCredentialsError, WinRMOperationTimeoutError, WSManFaultError

from harness.ansible import VENV_BIN, ansible_command, ansible_env
from harness.directory import Kerberos, samba_tool
from harness.nodes import NodeLog
from conftest import lab_command
from winauth_lab.cli import lab_dir, load_seed
from winauth_lab.dc import SambaDC
from winauth_lab.nodeconfig import NodeConfig
from winauth_lab.nodes import NodeFleet, NodeSpec
from winauth_lab.wsman import parse_duration, powershell_script

IIS_ACTION_PLUGINS = Path(__file__).resolve().parent / "_iis_action_plugins" / "action"
ACTION_PLUGINS = Path(__file__).resolve().parent / "_lab_node_plugins" / "action"
REFUSAL = "runs only webfarm.winauth remote scripts"
PROBE = NodeSpec("PROBE", "127.0.0.99", "camtest.local", computer_account=False)
USERS = {"alice": "Alice-Pa55!", "webops": "WebOps-Pa55!", "cam-svc": "Cam-Svc-Pa55!", "user1": "User1-Pa55!"}


# -- helpers -------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def fleet(lab) -> NodeFleet:
    """The lab's nodes; the session's `lab up` has started them."""
    nodes = NodeFleet(SambaDC(lab_dir(), load_seed()))
    down = [spec.name for spec in nodes.default_specs() if not nodes.running(spec)]
    assert not down, "lab nodes not running after `lab up`: %s" % down
    return nodes


@pytest.fixture()
def ccache(lab, tmp_path, monkeypatch) -> str:
    """A private Kerberos ticket cache with Administrator's TGT, for pywinrm's kerberos transport."""
    del lab
    path = Kerberos.create(tmp_path).kinit_admin()["KRB5CCNAME"]
    monkeypatch.setenv("KRB5CCNAME", path)
    return path


def write_inventory(path: Path, lab: dict[str, str], hosts: dict[str, dict]) -> Path:
    """An ordinary winrm inventory (nothing lab specific but the CA path and the names)."""
    common = {
        "ansible_connection": "winrm",
        "ansible_port": 5986,
        "ansible_user": "Administrator@%s" % lab["LAB_REALM"],
        "ansible_password": lab["LAB_ADMIN_PASSWORD"],
        "ansible_winrm_ca_trust_path": lab["LAB_CA_CERT"],
        "ansible_winrm_kinit_env_vars": ["KRB5_CONFIG"],
    }
    inventory = {"all": {"children": {"nodes": {"hosts": hosts, "vars": common}},
                         "hosts": {"localhost": {"ansible_connection": "local",
                                                 "ansible_python_interpreter": str(VENV_BIN / "python")}}}}
    path.write_text(yaml.safe_dump(inventory))
    return path


def run_ansible(*argv: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return ansible_command(*argv, env={"ANSIBLE_HOST_PATTERN_MISMATCH": "error"}, action_plugins=ACTION_PLUGINS,
                           timeout=timeout)


def oneline_results(stdout: str) -> dict[str, str]:
    """Host -> its lines of `ansible -o` output."""
    results: dict[str, str] = {}
    for line in stdout.splitlines():
        host, sep, rest = line.partition(" | ")
        if sep:
            results[host] = results.get(host, "") + rest + "\n"
    return results


def probe_node(fleet: NodeFleet, tmp_path: Path, delay: float = 0.0) -> tuple[NodeConfig, subprocess.Popen]:
    """An extra node of the test's own on 127.0.0.99 (no computer account: Basic and NTLM)."""
    config = fleet.prepare(PROBE, delay=delay, node_dir=tmp_path / "probe")
    process = fleet.launch(config, None)
    fleet.wait_ready(config, process)
    return config, process


@pytest.fixture()
def probe(fleet, tmp_path):
    started: list[tuple[NodeConfig, subprocess.Popen]] = []

    def start(delay: float = 0.0) -> tuple[NodeConfig, subprocess.Popen]:
        started.append(probe_node(fleet, tmp_path, delay))
        return started[-1]

    yield start
    for config, process in started:
        fleet.stop_pids([(process.pid, config.directory / "node.json", config.address)])
        process.wait(timeout=10)


def session(host: str, transport: str, user: str, password: str, lab: dict[str, str], **kwargs) -> winrm.Session:
    return winrm.Session("https://%s:5986/wsman" % host, auth=(user, password), transport=transport,
                         server_cert_validation="validate", ca_trust_path=lab["LAB_CA_CERT"], **kwargs)


# -- pure logic ------------------------------------------------------------------------------------------------
def test_command_lines_decode_to_the_script_they_run() -> None:
    shell = shell_loader.get("powershell")
    script = "$x = 1\r\n\r\n  Write-Output $x  \r\n# webfarm.winauth remote script: marker"
    # What Ansible sends for raw (re-encoded: lines trimmed, blank lines dropped, LF joined) ...
    assert powershell_script(shell._encode_script(script, strict_mode=False, preserve_rc=False)) == \
        "$x = 1\nWrite-Output $x\n# webfarm.winauth remote script: marker"
    # ... for a pre-encoded plugin command (strict mode first, exit code trailer last) ...
    decoded = powershell_script(shell._encode_script(script))
    assert decoded.splitlines()[0] == "Set-StrictMode -Version Latest"
    assert "# webfarm.winauth remote script: marker" in decoded.splitlines()
    # ... and pywinrm's run_ps, all in rsp:Command.
    encoded = base64.b64encode("Get-Date".encode("utf-16-le")).decode()
    assert powershell_script("powershell -encodedcommand %s" % encoded) == "Get-Date"
    assert powershell_script("PowerShell.exe -NoProfile -enc %s" % encoded) == "Get-Date"
    assert powershell_script("powershell -ExecutionPolicy Bypass -Command Get-Date -Format o") == "Get-Date -Format o"
    assert powershell_script("ipconfig /all") == "ipconfig /all"
    assert powershell_script("powershell -EncodedCommand !!notbase64") == "powershell -EncodedCommand !!notbase64"


def test_operation_timeouts_parse_like_wsman_durations() -> None:
    assert parse_duration("PT20S", 5) == 20
    assert parse_duration("PT60.000S", 5) == 60
    assert parse_duration("PT1M30S", 5) == 90
    assert parse_duration("garbage", 5) == 5


# -- the inventory and environment lab-up writes ----------------------------------------------------------------
def test_lab_env_and_inventory_describe_the_nodes(lab, fleet) -> None:
    assert lab["LAB_NODES"].split()[:5] == ["SERVER1=127.0.0.21", "SERVER2=127.0.0.22", "ARR1=127.0.0.31",
                                            "CONTENT1=127.0.0.41", "CONTENT2=127.0.0.42"]
    logs, configs = lab["LAB_NODE_LOGS"].split(), lab["LAB_NODE_CONFIGS"].split()
    assert len(logs) == len(configs) == len(lab["LAB_NODES"].split())
    assert all(Path(path).name == "node.log" and Path(path).exists() for path in logs)
    assert all(Path(path).name == "applicationHost.config" for path in configs)
    # ansible-inventory prints the inventory's variables as the file holds them, the lab's connection password
    # among them (a user's inventory would vault it): a dump of the lab's own file, not output of the collection,
    # so it is read without the session's secrets check, which looks at what the collection and the lab print
    listed = subprocess.run([str(VENV_BIN / "ansible-inventory"), "-i", lab["LAB_INVENTORY"], "--list"],
                            capture_output=True, text=True, env=ansible_env(), timeout=120, check=False)
    assert listed.returncode == 0, listed.stderr
    inventory = json.loads(listed.stdout)
    assert sorted(inventory["lb_nodes"]["hosts"]) == ["SERVER1", "SERVER2"]
    assert inventory["arr_frontends"]["hosts"] == ["ARR1"]
    assert sorted(inventory["content_nodes"]["hosts"]) == ["CONTENT1", "CONTENT2"]
    assert "lab_nodes" in inventory["windows"]["children"]
    server1 = inventory["_meta"]["hostvars"]["SERVER1"]
    assert server1["ansible_host"] == "server1.camtest.local"
    assert (server1["lab_connection"], server1["lab_transport"]) == ("winrm_https", "ntlm")     # the defaults
    for picked, expected in ((), "winrm 5986 https ntlm"), (("-e", "lab_connection=psrp_http", "-e",
                                                             "lab_transport=kerberos"), "psrp 5985 http kerberos"):
        shown = run_ansible("ansible", "-i", lab["LAB_INVENTORY"], "SERVER1", "-o", *picked, "-m",
                            "ansible.builtin.debug", "-a", 'msg="{{ ansible_connection }} {{ ansible_port }} '
                            '{{ ansible_winrm_scheme }} {{ ansible_winrm_transport }}"')
        line = next((line for line in shown.stdout.splitlines() if line.startswith("SERVER1 | SUCCESS =>")), "")
        assert line and json.loads(line.split("=>", 1)[1])["msg"] == expected, shown.stdout + shown.stderr
    assert server1["ansible_winrm_ca_trust_path"] == lab["LAB_CA_CERT"]
    assert server1["ansible_winrm_kinit_env_vars"] == ["KRB5_CONFIG"]
    # make -s lab-env names the ways in and how to pick one (comment lines, harmless under eval)
    text = lab_command("env").stdout
    assert lab["LAB_CONNECTIONS"].split() == ["winrm_https", "winrm_http", "psrp_https", "psrp_http", "ssh"]
    assert lab["LAB_TRANSPORTS"].split() == ["ntlm", "kerberos", "key", "gssapi"]
    hints = [line for line in text.splitlines() if line.startswith("# ")]
    assert any("-e lab_connection=" in line and "-e lab_transport=" in line for line in hints), text
    assert any(all(name in line for name in lab["LAB_CONNECTIONS"].split()) for line in hints), hints
    evaluated = subprocess.run(["bash", "-c", 'eval "$1" && test -n "$LAB_TRANSPORTS"', "-", text], check=False)
    assert evaluated.returncode == 0


def test_second_lab_up_keeps_the_same_node_processes(fleet) -> None:
    before = {spec.name: fleet.pid(spec) for spec in fleet.specs()}
    again = lab_command("up")
    assert "nothing to do" in again.stdout, again.stdout
    assert {spec.name: fleet.pid(spec) for spec in fleet.specs()} == before


# -- Ansible's own winrm connection ------------------------------------------------------------------------------
def test_ansible_raw_is_refused_over_every_transport_and_certificate_mode(lab, fleet, tmp_path) -> None:
    transports = {"basic": ("CAMTEST\\alice", USERS["alice"]), "ntlm": ("CAMTEST\\webops", USERS["webops"]),
                  "kerberos": ("Administrator@%s" % lab["LAB_REALM"], lab["LAB_ADMIN_PASSWORD"])}
    hosts, logs = {}, {}
    for node, validation in (("SERVER1", "validate"), ("SERVER2", "ignore")):
        spec = next(s for s in fleet.specs() if s.name == node)
        logs[node] = NodeLog(fleet.log_path(spec))
        for transport, (user, password) in transports.items():
            hosts["%s_%s" % (node.lower(), transport)] = {
                "ansible_host": spec.fqdn, "ansible_winrm_transport": transport, "ansible_user": user,
                "ansible_password": password, "ansible_winrm_server_cert_validation": validation}
    inventory = write_inventory(tmp_path / "inventory.yml", lab, hosts)
    out = run_ansible("ansible", "-i", str(inventory), "nodes", "-m", "ansible.builtin.raw", "-a", "hostname", "-o",
                      "-f", "6")
    results = oneline_results(out.stdout)
    assert sorted(results) == sorted(hosts), out.stdout + out.stderr
    for host, text in results.items():
        assert "FAILED | rc=1" in text and REFUSAL in text, (host, text)
    expected = {("basic", "CAMTEST\\alice"), ("ntlm", "CAMTEST\\webops"), ("kerberos", "CAMTEST\\Administrator")}
    for node, log in logs.items():
        records = [r for r in log.records() if (r["auth"], r["user"]) in expected]
        assert sorted((r["auth"], r["user"]) for r in records) == sorted(expected), (node, records)
        assert all(r["script"] == "refused" and r["rc"] == 1 and r["node"] == node for r in records)


def test_ansible_sends_large_stdin_in_chunks_over_one_shell(lab, fleet, tmp_path) -> None:
    spec = next(s for s in fleet.specs() if s.name == "CONTENT2")
    log = NodeLog(fleet.log_path(spec))
    inventory = write_inventory(tmp_path / "inventory.yml", lab, {
        "content2": {"ansible_host": spec.fqdn, "ansible_winrm_transport": "ntlm",
                     "ansible_user": "CAMTEST\\cam-svc", "ansible_password": USERS["cam-svc"]}})
    # 450 000 bytes: Ansible sends three Send messages (200 000-byte chunks, End on the last).
    for pre_encode in ("false", "true"):
        out = run_ansible("ansible", "-i", str(inventory), "content2", "-m", "lab_node_exec", "-o",
                          "-a", "script=hostname stdin_bytes=450000 pre_encode=%s" % pre_encode)
        assert REFUSAL in out.stdout and '"rc": 1' in out.stdout, out.stdout + out.stderr
    records = log.wait_for(2, user="CAMTEST\\cam-svc")
    assert [r["stdin_bytes"] for r in records] == [450000, 450000]
    # The node logs sizes, never the data.
    assert "lab-stdin-" not in fleet.log_path(spec).read_text()
    assert "lab-stdin-" not in (fleet.node_dir(spec) / "process.log").read_text()


def test_wrong_passwords_are_rejected_per_transport(lab, probe, tmp_path) -> None:
    config = probe()[0]          # a node of this test's own: its logs hold only what this test did
    log, process_log = NodeLog(config.log_path), NodeLog(config.directory / "process.log")
    wrong = "Wrong-%s!" % uuid.uuid4().hex[:8]
    hosts = {"probe_%s" % t: {"ansible_host": config.address, "ansible_winrm_transport": t,
                              "ansible_password": wrong} for t in ("basic", "ntlm", "kerberos")}
    inventory = write_inventory(tmp_path / "inventory.yml", lab, hosts)
    out = run_ansible("ansible", "-i", str(inventory), "nodes", "-m", "ansible.builtin.raw", "-a", "hostname", "-o",
                      "-f", "3")
    results = oneline_results(out.stdout)
    assert "UNREACHABLE" in results["probe_basic"] and "credentials were rejected" in results["probe_basic"]
    assert "UNREACHABLE" in results["probe_ntlm"] and "credentials were rejected" in results["probe_ntlm"]
    # Kerberos fails earlier, at kinit on the controller: the KDC refuses the password.
    assert "UNREACHABLE" in results["probe_kerberos"] and "Kerberos auth failure" in results["probe_kerberos"]
    # pywinrm directly, and a user NTLM does not know at all.
    for transport, user in (("basic", "CAMTEST\\alice"), ("ntlm", "CAMTEST\\alice"), ("ntlm", "CAMTEST\\nobody")):
        with pytest.raises(InvalidCredentialsError):
            session(config.address, transport, user, wrong, lab).run_cmd("hostname")
    assert log.records() == []
    failures = [line for line in process_log.text().splitlines() if "authentication failed" in line]
    assert any("basic: Administrator@%s rejected by the directory" % lab["LAB_REALM"] in line for line in failures)
    assert any("basic: CAMTEST\\alice rejected by the directory" in line for line in failures), failures
    assert len([line for line in failures if "ntlm:" in line]) == 3, failures
    for path in config.directory.rglob("*"):        # the node's files, its ssh/ folder too
        if path.is_file():
            assert wrong not in path.read_text(errors="replace"), path


# -- pywinrm, protocol level --------------------------------------------------------------------------------------
@pytest.mark.parametrize("transport", ["basic", "ntlm", "kerberos"])
def test_pywinrm_session_reaches_a_node(lab, fleet, ccache, transport) -> None:
    del ccache   # used through KRB5CCNAME by the kerberos transport
    spec = next(s for s in fleet.specs() if s.name == "CONTENT1")
    log = NodeLog(fleet.log_path(spec))
    user, password = "CAMTEST\\user1", USERS["user1"]
    if transport == "kerberos":
        user, password = "Administrator@%s" % lab["LAB_REALM"], lab["LAB_ADMIN_PASSWORD"]
    result = session(spec.fqdn, transport, user, password, lab).run_ps("Get-Service W3SVC")
    assert result.status_code == 1
    assert REFUSAL in result.std_err.decode()
    records = log.wait_for(1, auth=transport)
    assert records and records[-1]["script"] == "refused" and records[-1]["rc"] == 1


def test_protocol_stdin_output_and_keep_alive_on_one_connection(lab, fleet) -> None:
    spec = next(s for s in fleet.specs() if s.name == "SERVER2")
    log = NodeLog(fleet.log_path(spec))
    protocol = winrm.Protocol("https://%s:5986/wsman" % spec.fqdn, transport="ntlm", username="CAMTEST\\alice",
                              password=USERS["alice"], server_cert_validation="validate",
                              ca_trust_path=lab["LAB_CA_CERT"])
    shell_id = protocol.open_shell(codepage=65001)
    encoded = base64.b64encode("hostname".encode("utf-16-le")).decode()
    first = protocol.run_command(shell_id, "PowerShell", ["-NoProfile", "-EncodedCommand", encoded])
    marker = "stdin-marker-%s" % uuid.uuid4().hex
    chunks = [(marker * 4000).encode()[:100_000]] * 3
    for index, chunk in enumerate(chunks):
        protocol.send_command_input(shell_id, first, chunk, end=index == len(chunks) - 1)
    stdout, stderr, rc = protocol.get_command_output(shell_id, first)
    protocol.cleanup_command(shell_id, first)          # pywinrm checks RelatesTo on Signal ...
    second = protocol.run_command(shell_id, "ipconfig", ["/all"])
    rc2 = protocol.get_command_output(shell_id, second)[2]
    protocol.cleanup_command(shell_id, second)
    protocol.close_shell(shell_id, close_session=False)  # ... and on Delete
    protocol.transport.close_session()
    assert (stdout, rc, rc2) == (b"", 1, 1) and REFUSAL in stderr.decode()
    records = log.wait_for(2, user="CAMTEST\\alice", shell_id=shell_id)
    assert [r["stdin_bytes"] for r in records] == [300_000, 0]
    # Authenticated once: both commands came over the same TCP connection.
    assert records[0]["connection"] == records[1]["connection"]
    assert marker not in fleet.log_path(spec).read_text()


def test_wsman_faults_and_http_behaviour(lab, fleet) -> None:
    spec = next(s for s in fleet.specs() if s.name == "SERVER1")
    url = "https://%s:5986/wsman" % spec.fqdn
    ca, alice = lab["LAB_CA_CERT"], ("CAMTEST\\alice", USERS["alice"])
    with requests.Session() as http:   # verify= on each call: a session's own is overridden by REQUESTS_CA_BUNDLE
        unauthenticated = http.post(url, data=b"<x/>", headers={"Content-Type": "application/soap+xml"}, verify=ca)
        assert unauthenticated.status_code == 401
        offers = unauthenticated.headers["WWW-Authenticate"]
        assert "Negotiate" in offers and "Basic" in offers
        assert unauthenticated.headers["Content-Length"] == "0"
        assert http.get(url, auth=alice, verify=ca).status_code == 405
        assert http.post(url.replace("/wsman", "/other"), auth=alice, verify=ca).status_code == 404
    protocol = winrm.Protocol(url, transport="basic", username="CAMTEST\\alice", password=USERS["alice"],
                              server_cert_validation="validate", ca_trust_path=lab["LAB_CA_CERT"])
    with pytest.raises(WSManFaultError) as missing:
        protocol.run_command("00000000-0000-0000-0000-000000000000", "hostname")
    assert missing.value.wsman_fault_code == 2150858843
    assert "shell was not found" in missing.value.reason
    # A resource the node does not serve (WMI here): a Windows-style fault says no.
    request = {"env:Envelope": protocol.build_wsman_header(
        action="http://schemas.xmlsoap.org/ws/2004/09/transfer/Create",
        resource_uri="http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/Win32_Service")}
    request["env:Envelope"]["env:Body"] = {}
    with pytest.raises(WSManFaultError) as other:
        protocol.send_message(xmltodict.unparse(request))
    assert other.value.wsman_fault_code == 0x80338000 and "offers only the Windows shell" in other.value.reason
    # PowerShell remoting without a runspace pool to open: a schema fault.
    request = {"env:Envelope": protocol.build_wsman_header(
        action="http://schemas.xmlsoap.org/ws/2004/09/transfer/Create",
        resource_uri="http://schemas.microsoft.com/powershell/Microsoft.PowerShell")}
    request["env:Envelope"]["env:Body"] = {}
    with pytest.raises(WSManFaultError) as psrp:
        protocol.send_message(xmltodict.unparse(request))
    assert psrp.value.wsman_fault_code == 0x80338041 and "creationXml" in psrp.value.reason
    # Message encryption forced over HTTPS: accepted, as Windows accepts it.
    forced = winrm.Protocol(url, transport="ntlm", username="CAMTEST\\alice", password=USERS["alice"],
                            server_cert_validation="validate", ca_trust_path=lab["LAB_CA_CERT"],
                            message_encryption="always")
    forced.close_shell(forced.open_shell())


def test_tls_channel_binding_is_enforced(lab, fleet, ccache) -> None:
    del ccache   # the kerberos initiator below uses it through KRB5CCNAME
    spec = next(s for s in fleet.specs() if s.name == "SERVER1")
    url, ca = "https://%s:5986/wsman" % spec.fqdn, lab["LAB_CA_CERT"]
    der = ssl.PEM_cert_to_DER_cert(Path(NodeConfig.load(fleet.config_path(spec)).cert).read_text())
    right = GssChannelBindings(application_data=b"tls-server-end-point:" + hashlib.sha256(der).digest())
    wrong = GssChannelBindings(application_data=b"tls-server-end-point:" + bytes(32))

    def ntlm(bindings: GssChannelBindings | None) -> int:
        client = spnego.client("CAMTEST\\alice", USERS["alice"], hostname=spec.fqdn, service="HTTP", protocol="ntlm",
                               channel_bindings=bindings)
        with requests.Session() as http:
            first = http.post(url, headers={"Authorization": "Negotiate %s" % base64.b64encode(client.step()).decode()},
                              data=b"", verify=ca)
            challenge = base64.b64decode(first.headers["WWW-Authenticate"].split()[1])
            answer = base64.b64encode(client.step(challenge)).decode()
            return http.post(url, headers={"Authorization": "Negotiate %s" % answer}, data=b"", verify=ca).status_code

    def kerberos(bindings: GssChannelBindings | None) -> int:
        client = spnego.client(hostname=spec.fqdn, service="HTTP", protocol="kerberos", channel_bindings=bindings)
        token = base64.b64encode(client.step()).decode()
        return requests.post(url, headers={"Authorization": "Negotiate %s" % token}, data=b"", verify=ca).status_code

    # NTLM requires the binding (as Extended Protection "Required" does); Kerberos checks it when sent.
    assert (ntlm(right), ntlm(wrong), ntlm(None)) == (200, 401, 401)
    assert (kerberos(right), kerberos(wrong), kerberos(None)) == (200, 401, 200)


def test_a_slow_command_times_out_and_the_client_retries(lab, probe) -> None:
    config = probe(delay=2.0)[0]
    log = NodeLog(config.log_path)
    protocol = winrm.Protocol("https://%s:5986/wsman" % config.address, transport="ntlm", username="CAMTEST\\alice",
                              password=USERS["alice"], server_cert_validation="ignore", operation_timeout_sec=1,
                              read_timeout_sec=5)
    shell_id = protocol.open_shell()
    command_id = protocol.run_command(shell_id, "hostname")
    with pytest.raises(WinRMOperationTimeoutError):          # w:TimedOut, 2150858793, after OperationTimeout
        protocol.get_command_output_raw(shell_id, command_id)
    rc = protocol.get_command_output(shell_id, command_id)[2]  # retries Receive until Done
    protocol.cleanup_command(shell_id, command_id)
    protocol.close_shell(shell_id)
    assert rc == 1
    records = log.wait_for(1)
    assert len(records) == 1 and records[0]["duration_ms"] >= 2000


def test_concurrent_connections_to_one_node(lab, fleet) -> None:
    spec = next(s for s in fleet.specs() if s.name == "SERVER2")
    log = NodeLog(fleet.log_path(spec))

    def one(_index: int) -> int:
        return session(spec.fqdn, "ntlm", "CAMTEST\\cam-svc", USERS["cam-svc"], lab).run_cmd("hostname").status_code

    with concurrent.futures.ThreadPoolExecutor(max_workers=12) as pool:
        codes = list(pool.map(one, range(24)))
    assert codes == [1] * 24
    records = log.wait_for(24, user="CAMTEST\\cam-svc")
    assert len(records) == 24 and len({r["connection"] for r in records}) == 24


# -- failures Ansible must report clearly ---------------------------------------------------------------------------
def test_a_node_killed_mid_play_is_unreachable(lab, fleet, probe, tmp_path) -> None:
    config, process = probe()
    inventory = write_inventory(tmp_path / "inventory.yml", lab, {
        "probe": {"ansible_host": config.address, "ansible_winrm_transport": "ntlm",
                  "ansible_winrm_server_cert_validation": "ignore"}})
    playbook = tmp_path / "play.yml"
    playbook.write_text(yaml.safe_dump([{
        "hosts": "probe", "gather_facts": False, "tasks": [
            {"name": "refused", "ansible.builtin.raw": "hostname", "ignore_errors": True},
            {"name": "kill the node", "delegate_to": "localhost",
             "ansible.builtin.command": "kill -KILL %d" % process.pid},
            {"name": "after", "ansible.builtin.raw": "hostname"},
        ]}]))
    out = run_ansible("ansible-playbook", "-i", str(inventory), str(playbook))
    text = out.stdout + out.stderr
    assert out.returncode == 4, text        # 4: a host was unreachable
    assert REFUSAL in text
    assert "UNREACHABLE!" in text and "Connection refused" in text and config.address in text
    assert "unreachable=1" in text and "ignored=1" in text


def _kill_once_connected(config: NodeConfig, pid: int, after: float, timeout: float = 30.0) -> None:
    """SIGKILL the node `after` seconds after a client connection to it is established."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        source = "%s:%d" % (config.address, config.port)
        established = subprocess.run(["ss", "-Htn", "state", "established", "src", source], capture_output=True,
                                     text=True, check=False).stdout
        if established.strip():
            time.sleep(after)
            break
        time.sleep(0.02)
    os.kill(pid, signal.SIGKILL)


def test_a_node_killed_during_a_command_fails_the_task_with_the_connection_error(lab, fleet, probe, tmp_path) -> None:
    config, process = probe(delay=5.0)        # each command takes 5 s: the kill lands while it runs
    inventory = write_inventory(tmp_path / "inventory.yml", lab, {
        "probe": {"ansible_host": config.address, "ansible_winrm_transport": "ntlm",
                  "ansible_winrm_server_cert_validation": "ignore"}})
    killer = threading.Thread(target=_kill_once_connected, args=(config, process.pid, 1.0), daemon=True)
    killer.start()
    out = run_ansible("ansible", "-i", str(inventory), "probe", "-m", "ansible.builtin.raw", "-a", "hostname", "-o")
    killer.join()
    line = oneline_results(out.stdout).get("probe", "")
    # Ansible's winrm plugin reports this as a failed task (rc -1), naming the lost connection: the aborted
    # Receive, or the refused clean-up that follows it.
    assert "FAILED | rc=-1" in line, out.stdout + out.stderr
    assert "Connection refused" in line or "Connection aborted" in line, line
    assert REFUSAL not in line


def test_a_node_killed_during_a_collection_script_is_unreachable(lab, fleet, probe, tmp_path) -> None:
    """Through the collection's own runner (IISAction), a connection lost mid-call is UNREACHABLE, not a failure."""
    config, process = probe(delay=5.0)
    inventory = write_inventory(tmp_path / "inventory.yml", lab, {
        "probe": {"ansible_host": config.address, "ansible_winrm_transport": "ntlm",
                  "ansible_winrm_server_cert_validation": "ignore"}})
    killer = threading.Thread(target=_kill_once_connected, args=(config, process.pid, 1.0), daemon=True)
    killer.start()
    out = ansible_command("ansible", "-i", str(inventory), "probe", "-m", "winauth_iis_pool_probe", "-a",
                          "name=DefaultAppPool", "-o", action_plugins=IIS_ACTION_PLUGINS, timeout=120)
    killer.join()
    line = oneline_results(out.stdout).get("probe", "")
    assert out.returncode == 4, out.stdout + out.stderr        # 4: a host was unreachable
    assert line.startswith("UNREACHABLE!"), line
    assert "lost the connection to %s while running webfarm.winauth's iis_config script" % config.address in line


# -- Kerberos: the hostname trap ------------------------------------------------------------------------------------
class TrapAccount:
    """A user account (an application pool identity, say) that takes SERVER1's HTTP SPNs; deleted afterwards."""

    def __init__(self, lab: dict[str, str], token: str) -> None:
        del lab
        self.name = "trap-%s" % token
        self.exists = False
        self._tool("user", "create", self.name, "Trap-%s-Pa55!" % token)
        self.exists = True

    @staticmethod
    def _tool(*args: str) -> None:
        samba_tool(*args, database=True)

    def add_spn(self, spn: str) -> None:
        self._tool("spn", "add", spn, self.name)

    def delete(self) -> None:
        if self.exists:
            self._tool("user", "delete", self.name)
            self.exists = False


@pytest.fixture()
def trap_account(lab, token):
    account = TrapAccount(lab, token)
    yield account
    account.delete()


def test_kerberos_hostname_trap_and_its_fixes(lab, fleet, trap_account, ccache, tmp_path) -> None:
    del ccache   # pywinrm's kerberos below uses it through KRB5CCNAME
    spec = next(s for s in fleet.specs() if s.name == "SERVER1")
    process_log = NodeLog(fleet.node_dir(spec) / "process.log")
    base = {"ansible_host": spec.fqdn, "ansible_winrm_transport": "kerberos"}
    hosts = {"plain": dict(base), "service_host": dict(base, ansible_winrm_service="HOST"),
             "short_name": dict(base, ansible_winrm_kerberos_hostname_override=spec.short)}
    inventory = write_inventory(tmp_path / "inventory.yml", lab, hosts)

    def raw() -> dict[str, str]:
        out = run_ansible("ansible", "-i", str(inventory), "nodes", "-m", "ansible.builtin.raw", "-a", "hostname",
                          "-o", "-f", "3")
        return oneline_results(out.stdout)

    # The mistake: HTTP/<node fqdn> registered on the pool account. The KDC now encrypts the ticket for
    # HTTP/server1.camtest.local with that account's key, which the node (its computer account) cannot read.
    trap_account.add_spn("HTTP/%s" % spec.fqdn)
    trapped = raw()
    assert "UNREACHABLE" in trapped["plain"] and "credentials were rejected" in trapped["plain"], trapped
    assert "HTTP/%s@%s not found in keytab" % (spec.fqdn, lab["LAB_REALM"]) in process_log.text()
    # Fixes that reach the computer account: the HOST service class, or a name whose HTTP SPN is still unmapped.
    assert "FAILED | rc=1" in trapped["service_host"] and REFUSAL in trapped["service_host"], trapped
    assert "FAILED | rc=1" in trapped["short_name"] and REFUSAL in trapped["short_name"], trapped
    # Register the short name too (as setspn users often do) and only the HOST service class still works.
    trap_account.add_spn("HTTP/%s" % spec.short)
    both = raw()
    assert "UNREACHABLE" in both["short_name"] and "credentials were rejected" in both["short_name"], both
    assert "FAILED | rc=1" in both["service_host"], both
    # Remove the account and the plain HTTP/<fqdn> ticket reaches the node again (via HOST/ on SERVER1$).
    trap_account.delete()
    result = session(spec.fqdn, "kerberos", "Administrator@%s" % lab["LAB_REALM"], lab["LAB_ADMIN_PASSWORD"],
                     lab).run_cmd("hostname")
    assert result.status_code == 1 and REFUSAL in result.std_err.decode()


# -- end to end: the collection's own remote script, through Ansible's winrm connection --------------------------------
WINDOWS_AUTH = "system.webServer/security/authentication/windowsAuthentication"


def iis_config_call(request: dict) -> dict[str, str]:
    """lab_node_exec arguments for one iis_config call as the contract builds it: a stub, then script and request."""
    version = contract.SCRIPTS["iis_config"]
    return {"script": contract.stub("iis_config", version),
            "stdin": contract.payload(script_text("iis_config"), request).decode("ascii")}


def test_iis_config_script_reads_a_node_over_every_transport(lab, fleet, tmp_path) -> None:
    specs = {s.name: s for s in fleet.specs()}
    hosts = {"server1_kerberos": {"ansible_host": specs["SERVER1"].fqdn, "ansible_winrm_transport": "kerberos"},
             "content1_basic": {"ansible_host": specs["CONTENT1"].fqdn, "ansible_winrm_transport": "basic"},
             "arr1_ntlm": {"ansible_host": specs["ARR1"].fqdn, "ansible_winrm_transport": "ntlm"}}
    logs = {name: NodeLog(fleet.log_path(specs[name])) for name in ("SERVER1", "CONTENT1", "ARR1")}
    inventory = write_inventory(tmp_path / "inventory.yml", lab, hosts)
    call = iis_config_call({"op": "read", "sections": [{"section": WINDOWS_AUTH, "location": "Default Web Site"}]})
    out = run_ansible("ansible", "-i", str(inventory), "nodes", "-m", "lab_node_exec", "-a", json.dumps(call), "-o",
                      "-f", "3")
    results = oneline_results(out.stdout)
    assert sorted(results) == sorted(hosts), out.stdout + out.stderr
    for host, text in results.items():
        assert "SUCCESS" in text, (host, text)
        response = json.loads(json.loads(text.split("=>", 1)[1])["stdout"])
        assert response["ok"] is True and response["script"] == "iis_config", (host, response)
        assert response["result"]["sections"][0]["found"] is True
    for name, auth in (("SERVER1", "kerberos"), ("CONTENT1", "basic"), ("ARR1", "ntlm")):
        records = logs[name].wait_for(1, auth=auth, script="iis_config")
        assert records and records[-1]["version"] == contract.SCRIPTS["iis_config"] and records[-1]["op"] == "read", records
        assert records[-1]["rc"] == 0 and records[-1]["sections"] == ["%s@Default Web Site" % WINDOWS_AUTH]


def test_iis_config_script_edits_the_node_applicationhost_config(lab, probe, tmp_path) -> None:
    config = probe()[0]
    log = NodeLog(config.log_path)
    inventory = write_inventory(tmp_path / "inventory.yml", lab, {
        "probe": {"ansible_host": config.address, "ansible_winrm_transport": "ntlm",
                  "ansible_winrm_server_cert_validation": "ignore"}})
    read = iis_config_call({"op": "read", "sections": [{"section": WINDOWS_AUTH, "location": "Default Web Site"}]})
    apply = iis_config_call({"op": "apply", "edits": [{"op": "set", "section": WINDOWS_AUTH,
                                                       "location": "Default Web Site", "attribute": "enabled",
                                                       "value": True}]})
    enabled = "(%s.stdout | from_json).result.sections[0].element.attributes.enabled.value"
    playbook = tmp_path / "play.yml"
    playbook.write_text(yaml.safe_dump([{"hosts": "probe", "gather_facts": False, "tasks": [
        {"lab_node_exec": read, "register": "before"},
        {"lab_node_exec": apply, "register": "applied"},
        {"lab_node_exec": read, "register": "after"},
        {"ansible.builtin.assert": {"that": [
            "not (%s)" % (enabled % "before"), "(applied.stdout | from_json).result.changed", enabled % "after"]}},
    ]}]))
    out = run_ansible("ansible-playbook", "-i", str(inventory), str(playbook))
    assert out.returncode == 0, out.stdout + out.stderr
    application_host = (config.directory / "applicationHost.config").read_text()
    assert '<location path="Default Web Site"' in application_host and 'enabled="true"' in application_host
    records = log.wait_for(3, script="iis_config")
    assert [r["op"] for r in records] == ["read", "apply", "read"]
    assert records[1]["changed"] is True and all(r["auth"] == "ntlm" for r in records)


# -- lab-reset and lab-down (they stop or reset the shared lab: run last) -------------------------------------------------
@pytest.mark.lab_lifecycle
def test_lab_reset_and_down_handle_the_nodes(lab, fleet, ccache) -> None:
    del ccache   # pywinrm's kerberos below uses it through KRB5CCNAME
    specs = fleet.default_specs()
    server1 = next(s for s in specs if s.name == "SERVER1")
    session(server1.fqdn, "ntlm", "CAMTEST\\alice", USERS["alice"], lab).run_cmd("hostname")
    assert fleet.log_path(server1).read_text()
    config = fleet.application_host_config(server1)
    config.write_text(config.read_text() + "<!-- changed by a test -->\n")
    before = {spec.name: fleet.pid(spec) for spec in specs}

    lab_command("reset")
    assert {spec.name: fleet.pid(spec) for spec in specs} == before     # reset keeps the node processes ...
    assert all(fleet.running(spec) for spec in specs)
    assert all(fleet.log_path(spec).read_text() == "" for spec in specs)  # ... and resets their files
    assert "changed by a test" not in config.read_text() and "<configuration>" in config.read_text()
    result = session(server1.fqdn, "kerberos", "Administrator@%s" % lab["LAB_REALM"], lab["LAB_ADMIN_PASSWORD"],
                     lab).run_cmd("hostname")   # keys re-exported from the restored directory
    assert result.status_code == 1

    lab_command("down")
    assert not any(_listening(spec.address) for spec in specs)
    assert not [spec.name for spec in specs if fleet.pid(spec)]
    lab_command("up")
    assert all(fleet.running(spec) for spec in specs)


def _listening(address: str) -> bool:
    try:
        with socket.create_connection((address, 5986), timeout=0.3):
            return True
    except OSError:
        return False
