"""The remote runner and the IIS action base class, over an in-process lab node.

The connection here is the lab node without its network: it takes the command line Ansible
built, decodes ``-EncodedCommand`` as the WinRM node does, and hands script and stdin to the
twin (``winauth_lab.remote.dispatch``). Everything above it is real: Ansible's ActionBase and
``_low_level_execute_command``, the PowerShell shell plugin's encoding, the runner, the planners.
The round trip through a real WinRM lab node is in tests/functional/test_iis_action_roundtrip.py.
"""

from __future__ import annotations

import base64
import json
import typing as t
from pathlib import Path

import pytest
from ansible.errors import AnsibleActionFail, AnsibleConnectionFailure
from ansible.parsing.dataloader import DataLoader
from ansible.playbook.play_context import PlayContext
from ansible.playbook.task import Task
from ansible.plugins.loader import shell_loader
from ansible.template import Templar

from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis.config import (
    Plan,
    SecretCheck,
    Target,
    plan_attributes,
    plan_collection,
    plan_item,
)
from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis.action import IISAction
from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis.runner import RemoteRunner
from winauth_lab import hostexec
from winauth_lab.iis import initial_config
from winauth_lab.remote import NodeContext, dispatch

WA = "system.webServer/security/authentication/windowsAuthentication"
POOLS = "system.applicationHost/applicationPools"


class InProcessNode:
    """A connection whose far end is a lab node's decoder and twin, in this process."""

    transport = "winrm"
    become = None
    allow_executable = False
    default_user = "Administrator"

    def __init__(self, node: NodeContext, shell: str = "powershell") -> None:
        self._shell = shell_loader.get(shell)
        self.node = node
        self.commands: list[tuple[str, bytes]] = []

    def get_option(self, name: str) -> t.Any:
        raise KeyError(name)

    def exec_command(self, cmd: str, in_data: bytes | None = None, sudoable: bool = True) -> tuple[int, bytes, bytes]:
        del sudoable
        self.commands.append((cmd, in_data or b""))
        if not cmd.startswith("PowerShell "):       # as ansible-core's winrm does: encode what is not encoded
            cmd = self._shell._encode_script(cmd, as_list=False, strict_mode=False, preserve_rc=False)
        result = hostexec.run_winrs(cmd, in_data or b"", lambda script, text: dispatch(script, text, self.node))
        return result.rc, result.stdout, result.stderr


class WebAuthProbe(IISAction):
    """A minimal IIS action (like the collection's web_auth): Windows authentication at a location."""

    ARGUMENT_SPEC = {
        "location": {"type": "str", "default": ""},
        "enabled": {"type": "bool"},
        "use_app_pool_credentials": {"type": "bool"},
        "providers": {"type": "list", "elements": "str"},
    }

    def targets(self, args: dict[str, t.Any]) -> list[Target]:
        return [Target(WA, args["location"])]

    def plan(self, args, states) -> Plan:
        plan = Plan()
        plan_attributes(plan, states[0], [], {"enabled": args["enabled"],
                                              "useAppPoolCredentials": args["use_app_pool_credentials"]})
        if args["providers"] is not None:
            plan_collection(plan, states[0], ["providers"], [{"value": p} for p in args["providers"]])
        return plan


class PoolProbe(IISAction):
    ARGUMENT_SPEC = {"name": {"type": "str", "required": True},
                     "user": {"type": "str"}, "password": {"type": "str", "no_log": True}}

    def targets(self, args):
        key = {"name": args["name"]}
        return [Target(POOLS, "", (), (SecretCheck((key, "processModel"), "password", args["password"]),))]

    def plan(self, args, states):
        plan = Plan()
        plan_item(plan, states[0], [], {"name": args["name"]}, None, {"processModel": {
            "identityType": "SpecificUser", "userName": args["user"], "password": args["password"]}})
        return plan


@pytest.fixture()
def node(tmp_path: Path) -> NodeContext:
    context = NodeContext("SERVER1", tmp_path / "SERVER1")
    context.node_dir.mkdir()
    context.application_host_config.write_bytes(initial_config("SERVER1").encode("utf-8"))
    return context


def make(cls: type, node: NodeContext, args: dict, check: bool = False, diff: bool = True,
         shell: str = "powershell") -> IISAction:
    task = Task()
    task.action = "webfarm.winauth.probe"
    task.args = args
    task.check_mode = check
    task.diff = diff
    loader = DataLoader()
    return cls(task=task, connection=InProcessNode(node, shell), play_context=PlayContext(), loader=loader,
               templar=Templar(loader=loader), shared_loader_obj=None)


def test_a_change_costs_two_calls_and_a_second_run_one(node: NodeContext) -> None:
    args = {"location": "Default Web Site", "enabled": True, "use_app_pool_credentials": True,
            "providers": ["Negotiate", "NTLM"]}
    result = make(WebAuthProbe, node, args).run(task_vars={})
    assert result["changed"] is True and result["remote_calls"] == 2
    assert result["diff"]["before"].startswith("[%s @ Default Web Site]\nenabled = false (inherited)\n" % WA)
    assert "useAppPoolCredentials = true" in result["diff"]["after"]
    assert result["changes"] == ["set enabled=true (%s @ Default Web Site)" % WA,
                                 "set useAppPoolCredentials=true (%s @ Default Web Site)" % WA]
    assert [r["op"] for r in node.log] == ["read", "apply"]
    again = make(WebAuthProbe, node, args).run(task_vars={})
    assert again["changed"] is False and again["remote_calls"] == 1 and again["changes"] == []


def test_check_mode_reads_and_writes_nothing(node: NodeContext) -> None:
    before = node.application_host_config.read_bytes()
    result = make(WebAuthProbe, node, {"location": "Default Web Site", "enabled": True}, check=True).run(task_vars={})
    assert result["changed"] is True and result["remote_calls"] == 1
    assert node.application_host_config.read_bytes() == before


def test_each_call_is_one_command_with_stub_and_stdin(node: NodeContext) -> None:
    action = make(WebAuthProbe, node, {"location": "", "enabled": True})
    action.run(task_vars={})
    commands = action._connection.commands
    assert len(commands) == 2
    for cmd, stdin in commands:
        # winrm encodes every command it is given (ansible-core 2.16 to 2.19): the runner hands it the stub
        assert cmd.startswith("$WinauthScript = @{ Id = 'iis_config'")
        assert len(action._connection._shell._encode_script(cmd, strict_mode=False, preserve_rc=False)) < 8000
        script_line, request_line = stdin.decode("ascii").splitlines()
        assert "$WinauthScript = @{ Id = 'iis_config'" in base64.b64decode(script_line).decode("utf-8")
        assert json.loads(request_line)["op"] in ("read", "apply")


def test_structured_errors_fail_the_task_with_one_line(node: NodeContext) -> None:
    with pytest.raises(AnsibleActionFail) as caught:
        make(WebAuthProbe, node, {"location": "Defualt Web Site", "enabled": True}).run(task_vars={})
    message = caught.value.message
    assert message.startswith("IIS configuration error (location_not_found) in %s, location 'Defualt Web Site': "
                              "no site named 'Defualt Web Site' on this server (sites: Default Web Site). Fix: " % WA)
    assert "\n" not in message
    assert caught.value.result["remote_calls"] == 1


def test_protocol_errors_show_stderr(node: NodeContext) -> None:
    action = make(WebAuthProbe, node, {"enabled": True})
    action._connection.exec_command = lambda cmd, in_data=None, sudoable=True: (1, b"", b"powershell.exe not found")
    with pytest.raises(AnsibleActionFail, match="did not return its JSON response \\(rc 1\\): powershell.exe not found"):
        action.run(task_vars={})


def test_argument_validation_happens_before_any_call(node: NodeContext) -> None:
    action = make(WebAuthProbe, node, {"enabled": "perhaps"})
    with pytest.raises(AnsibleActionFail, match="enabled"):
        action.run(task_vars={})
    assert action._connection.commands == []


def test_secrets_are_compared_on_the_host_and_never_returned(node: NodeContext) -> None:
    secret = "Pool-Secret-42"
    args = {"name": "cam-pool", "user": "CAMTEST\\cam-svc", "password": secret}
    result = make(PoolProbe, node, args).run(task_vars={})
    assert result["changed"] and result["remote_calls"] == 2
    assert secret not in json.dumps(result) and secret not in json.dumps(node.log)
    again = make(PoolProbe, node, args).run(task_vars={})
    assert again["changed"] is False and again["remote_calls"] == 1
    rotated = make(PoolProbe, node, dict(args, password="Pool-Secret-43")).run(task_vars={})
    assert rotated["changed"] and rotated["changes"] == [
        "set password (secret) (%s @ server [name=cam-pool]/processModel)" % POOLS]


def test_the_runner_needs_a_powershell_host(node: NodeContext) -> None:
    with pytest.raises(AnsibleActionFail, match="the host's shell must be PowerShell"):
        make(WebAuthProbe, node, {"enabled": True}, shell="sh").run(task_vars={})


def test_companion_scripts(node: NodeContext) -> None:
    runner = RemoteRunner(make(WebAuthProbe, node, {}))
    assert runner.gpupdate()["succeeded"] is True
    holders = runner.user_rights(["SeBatchLogonRight"])["SeBatchLogonRight"]
    assert {"sid": "S-1-5-32-568", "name": "BUILTIN\\IIS_IUSRS"} in holders
    assert runner.calls == 2


class BrokenConnection(InProcessNode):
    """A connection whose command fails the way its plugin reports it (a lost host)."""

    def __init__(self, node: NodeContext, transport: str, error: Exception) -> None:
        super().__init__(node)
        self.transport, self.error = transport, error

    def exec_command(self, cmd: str, in_data: bytes | None = None, sudoable: bool = True) -> tuple[int, bytes, bytes]:
        raise self.error


SSH_LOST = AnsibleConnectionFailure('Data could not be sent to remote host "127.0.0.21". Make sure this host can be '
                                    'reached over ssh: Connection to 127.0.0.21 closed by remote host.')


@pytest.mark.parametrize("transport,error,expected", [
    ("winrm", ConnectionResetError(104, "Connection reset by peer"),
     "lost the connection to 127.0.0.21 while running webfarm.winauth's iis_config script ([Errno 104] Connection "
     "reset by peer); the host may have gone down or restarted its WinRM service"),
    ("ansible.builtin.psrp", ConnectionResetError(104, "Connection reset by peer"),
     "lost the connection to 127.0.0.21 while running webfarm.winauth's iis_config script"),
    ("ssh", SSH_LOST, "the SSH connection to 127.0.0.21 failed while running webfarm.winauth's iis_config script "
     "(Data could not be sent to remote host \"127.0.0.21\". Make sure this host can be reached over ssh: Connection "
     "to 127.0.0.21 closed by remote host.); the host may have gone down, be unreachable or have restarted its SSH "
     "service"),
    # winrm and psrp report what they detect (a refused login, a timeout) clearly themselves: left as they say it
    ("winrm", AnsibleConnectionFailure("ntlm: the specified credentials were rejected by the server"),
     "ntlm: the specified credentials were rejected by the server"),
])
def test_a_connection_lost_during_a_call_names_the_host_and_script(node: NodeContext, transport: str,
                                                                   error: Exception, expected: str) -> None:
    action = make(WebAuthProbe, node, {})
    action._connection = BrokenConnection(node, transport, error)
    action._play_context.remote_addr = "127.0.0.21"
    with pytest.raises(AnsibleConnectionFailure) as failure:
        RemoteRunner(action).run("iis_config", {"op": "read", "sections": []})
    assert str(failure.value).startswith(expected), str(failure.value)


class EditedAfterTheRead(InProcessNode):
    """Another run adds a provider at the site between this task's read and its apply."""

    def exec_command(self, cmd: str, in_data: bytes | None = None, sudoable: bool = True) -> tuple[int, bytes, bytes]:
        if len(self.commands) == 1:
            other = make(WebAuthProbe, self.node, {"location": "Default Web Site",
                                                   "providers": ["Negotiate", "NTLM", "Negotiate:Kerberos"]})
            assert other.run(task_vars={})["changed"] is True
        return super().exec_command(cmd, in_data, sudoable)


def test_an_edit_made_between_the_read_and_the_apply_is_never_overwritten(node: NodeContext) -> None:
    """Issue: an exact collection was cleared and re-added from the earlier read, losing the other run's item."""
    args = {"location": "Default Web Site", "providers": ["Negotiate"]}
    action = make(WebAuthProbe, node, args)
    action._connection = EditedAfterTheRead(node)
    with pytest.raises(AnsibleActionFail) as caught:
        action.run(task_vars={})
    message = caught.value.message
    assert "changed_since_read" in message and "location 'Default Web Site'" in message, message
    assert "nothing was written" in message and "run the task again" in message and "\n" not in message
    assert "changed" not in caught.value.result and caught.value.result["remote_calls"] == 2
    assert 'value="Negotiate:Kerberos"' in node.application_host_config.read_text(encoding="utf-8")
    rerun = make(WebAuthProbe, node, args).run(task_vars={})     # reads again, plans from what it finds
    assert rerun["changed"] is True and "Negotiate:Kerberos" in rerun["diff"]["before"]
    assert 'value="Negotiate:Kerberos"' not in node.application_host_config.read_text(encoding="utf-8")


class StoppedAfterTheRead(InProcessNode):
    """Someone stops DefaultAppPool between the task's read and its apply (another admin, WAS rapid-fail)."""

    def exec_command(self, cmd: str, in_data: bytes | None = None, sudoable: bool = True) -> tuple[int, bytes, bytes]:
        if len(self.commands) == 1:
            from winauth_lab.iis import runtime  # pylint: disable=import-outside-toplevel

            store = runtime.load(self.node.node_dir)
            store["applicationPools"]["defaultapppool"] = "Stopped"
            runtime.dump(self.node.node_dir, store, lambda path, data: path.write_bytes(data))
        return super().exec_command(cmd, in_data, sudoable)


def test_a_runtime_step_refused_after_the_commit_fails_the_task_as_changed_and_says_committed(
        node: NodeContext) -> None:
    """Issue: IIS commit, then the recycle fails; the task must say both (changed, and that the edits stay)."""
    from ansible_collections.webfarm.winauth.plugins.action.app_pool import (  # pylint: disable=import-outside-toplevel
        ActionModule as AppPool,
    )

    action = make(AppPool, node, {"name": "DefaultAppPool", "state": "recycled", "start_mode": "AlwaysRunning"})
    action._connection = StoppedAfterTheRead(node)
    with pytest.raises(AnsibleActionFail) as caught:
        action.run(task_vars={})
    message, result = caught.value.message, caught.value.result
    assert "runtime_failed" in message and "cannot recycle application pool 'DefaultAppPool': it is Stopped" in message
    assert "after this request's configuration edits were committed (they stay written)" in message
    assert "state=restarted" in message and "\n" not in message
    assert result["changed"] is True and result["committed"] is True and result["remote_calls"] == 2
    # As on Windows: the configuration edit was committed before the refused recycle.
    assert 'startMode="AlwaysRunning"' in node.application_host_config.read_text(encoding="utf-8")


def test_a_runtime_step_refused_without_a_commit_is_not_changed(node: NodeContext) -> None:
    from ansible_collections.webfarm.winauth.plugins.action.app_pool import (  # pylint: disable=import-outside-toplevel
        ActionModule as AppPool,
    )

    before = node.application_host_config.read_bytes()
    action = make(AppPool, node, {"name": "DefaultAppPool", "state": "recycled"})
    action._connection = StoppedAfterTheRead(node)
    with pytest.raises(AnsibleActionFail) as caught:
        action.run(task_vars={})
    assert "(no configuration edit was committed)" in caught.value.message
    assert "changed" not in caught.value.result and node.application_host_config.read_bytes() == before
