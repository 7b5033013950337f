"""How a Windows host runs each ansible-core release's command line, and the runner's command for each.

What each connection plugin makes of the runner's command (``connection_wire``) is written down from
the plugins' source in ansible-core 2.16 to 2.19 (docs/remote-contract.md); the lab node then runs it
as Windows would (``winauth_lab.hostexec``). The end-to-end proof with the real plugins of each release
is in tests/functional/test_connections.py and the compatibility matrix.
"""

from __future__ import annotations

import base64
import json
from types import SimpleNamespace

import pytest
from ansible.plugins.loader import shell_loader

from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis import contract
from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis.runner import remote_command
from winauth_lab import hostexec

SHELL = shell_loader.get("powershell")
PREFIX = "PowerShell -NoProfile -NonInteractive -ExecutionPolicy Unrestricted -EncodedCommand"
STUB = contract.stub("gpupdate", contract.SCRIPTS["gpupdate"])
PAYLOAD = contract.payload(contract.marker("gpupdate", contract.SCRIPTS["gpupdate"]) + "\n", {"target": "computer"})
RELEASES = ("2.16", "2.17", "2.18", "2.19")


def encode(script: str) -> str:
    return SHELL._encode_script(script, as_list=False, strict_mode=False, preserve_rc=False)


def twin_log() -> tuple[list, hostexec.Twin]:
    calls: list = []

    def twin(script: str, stdin: bytes) -> tuple[int, bytes, bytes]:
        calls.append((script, stdin))
        try:
            marker = contract.parse_marker(script)
            ok = marker == ("gpupdate", contract.SCRIPTS["gpupdate"]) and contract.split_payload(stdin)[1]
        except ValueError:
            ok = False
        return (0, b'{"ok":true}\r\n', b"") if ok else (1, b'{"ok":false}\r\n', b"")

    return calls, twin


def connection_wire(kind: str, release: str, command: str, in_data: bytes, twin: hostexec.Twin) -> hostexec.Result:
    """What the connection plugin of that release sends for exec_command(command, in_data), run as Windows runs it."""
    minor = int(release.split(".")[1])
    if kind == "winrm":
        if minor < 19 or not command.startswith(PREFIX):
            command = encode(command)      # 2.16-2.18 encode every command; 2.19 all but an encoded one
        return hostexec.run_winrs(command, in_data, twin)
    if kind == "ssh":
        if minor < 18:
            command = "chcp.com 65001 > $null ; " + encode(command)
        return hostexec.run_ssh(command, in_data, twin)
    if command.startswith(PREFIX + " "):    # psrp: an encoded command runs in the runspace, stdin as text
        script = base64.b64decode(command.split(" ")[-1]).decode("utf-16-le")
        text = in_data.decode()
    else:
        script, text = command + "\nexit $LASTEXITCODE", in_data
    objects = text.splitlines() if minor >= 19 else [text]
    return hostexec.run_pipeline(script, objects, twin)


@pytest.mark.parametrize("release", RELEASES)
@pytest.mark.parametrize("kind", ("winrm", "psrp", "ssh"))
def test_the_runner_command_runs_the_stub_once_on_every_release(kind: str, release: str) -> None:
    connection = SimpleNamespace(transport=kind, _shell=SHELL)
    calls, twin = twin_log()
    result = connection_wire(kind, release, remote_command(connection, STUB, release + ".0"), PAYLOAD, twin)
    assert (result.rc, result.stdout) == (0, b'{"ok":true}\r\n'), result
    assert len(calls) == 1 and contract.split_payload(calls[0][1])[1] == '{"target":"computer"}'
    # one powershell.exe for the stub: the winrm process, or under ssh's DefaultShell PowerShell; none under psrp
    assert result.processes == {"winrm": 1, "ssh": 2, "psrp": 0}[kind]


@pytest.mark.parametrize("release", ("2.16", "2.17", "2.18"))
def test_an_encoded_command_nests_a_child_powershell_that_reads_all_of_stdin(release: str) -> None:
    """What main sent before: on winrm before 2.19 the stub runs in a child powershell.exe, which gets the stdin."""
    calls, twin = twin_log()
    result = connection_wire("winrm", release, encode(STUB), PAYLOAD, twin)
    assert (result.rc, result.processes) == (0, 2)
    assert calls[0][1] == PAYLOAD.rstrip(b"\n")


def test_a_child_of_a_runspace_gets_no_stdin() -> None:
    calls, twin = twin_log()
    result = hostexec.run_pipeline(encode(STUB), PAYLOAD.decode().splitlines(), twin)
    assert result.rc == 1 and calls[0][1] == b""


def test_the_childs_exit_code_reaches_the_parent_as_powershell_gives_it() -> None:
    def failing(_script: str, _stdin: bytes) -> tuple[int, bytes, bytes]:
        return 3, b"", b""

    plain = hostexec.run_winrs(encode(encode(STUB)), PAYLOAD, failing)
    kept = hostexec.run_winrs(SHELL._encode_script(encode(STUB), as_list=False, strict_mode=True, preserve_rc=True),
                              PAYLOAD, failing)
    assert (plain.rc, kept.rc) == (1, 3)


@pytest.mark.parametrize("command", ["ipconfig /all", "cmd.exe /c dir", encode("Get-ChildItem C:\\"),
                                     encode("Get-Date; " + encode(STUB)), "PowerShell -File C:\\x.ps1",
                                     encode(encode(encode(encode(encode(encode(STUB))))))])
def test_anything_else_is_refused_by_name(command: str) -> None:
    calls, twin = twin_log()
    result = hostexec.run_winrs(command, PAYLOAD, twin)
    assert result.rc == 1 and not calls and b"runs only webfarm.winauth remote scripts" in result.stderr
    assert json.dumps(result.stderr.decode()).count(":") >= 1


def test_psrp_before_2_19_gives_one_string_and_raw_bytes_are_not_text() -> None:
    calls, twin = twin_log()
    assert hostexec.run_pipeline(STUB, [PAYLOAD.decode()], twin).rc == 0
    assert hostexec.run_pipeline(STUB + "\nexit $LASTEXITCODE", [PAYLOAD], twin).rc == 1
    assert calls[1][1] == b"System.Byte[]"


def test_stdin_is_read_only_by_a_script_that_reads_input() -> None:
    """An SSH client may never close stdin: a command that does not read $input must not wait for it."""
    reads: list[int] = []

    def stdin() -> bytes:
        reads.append(1)
        return PAYLOAD

    calls, twin = twin_log()
    assert hostexec.run_ssh("hostname", stdin, twin).rc == 1 and not reads
    assert hostexec.run_ssh(encode(STUB), stdin, twin).rc == 0 and reads == [1]
    assert calls[0][1] == PAYLOAD.rstrip(b"\n")
