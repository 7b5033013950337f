# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""Run the collection's remote scripts on a Windows host through the host's own connection (controller side).

One call is one remote command (``_low_level_execute_command``) over whatever connection the
host uses (winrm, psrp, or ssh with the PowerShell shell): the command line is a small stub, run
by exactly one PowerShell on the host, and stdin carries the script and the JSON request
(docs/remote-contract.md). The runner counts its calls, so results can report ``remote_calls``.
"""

from __future__ import annotations

import os
import re
import typing as t

from ansible.errors import AnsibleActionFail, AnsibleConnectionFailure
from ansible.release import __version__ as ansible_version
from ansible.utils.collection_loader import resource_from_fqcr

from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis import contract
from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis.config import SectionState, Target, read_request

SCRIPT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "powershell")
PRELUDE = "prelude"
# The parts a script uses beyond the prelude, sent between the prelude and the script (function definitions only).
PARTS: dict[str, tuple[str, ...]] = {
    "iis_config": ("iis_values", "rights_read"),
    "gpupdate": ("rights_read",),
    "user_rights": ("rights_read",),
}
_SCRIPTS: dict[str, str] = {}


def _read(name: str) -> str:
    with open(os.path.join(SCRIPT_DIR, "%s.ps1" % name), encoding="utf-8") as handle:
        return handle.read()


def compact(text: str) -> str:
    """PowerShell without its comment lines, blank lines and indentation: every call sends the script and the host
    parses it, so a quarter less text is paid on every call. The scripts hold no here-string and no string that
    spans lines, so no line's meaning depends on its leading white space."""
    lines = (line.strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line and not line.startswith("#"))


def script_text(script_id: str) -> str:
    """The script as it is sent: the prelude (helpers every script uses), the script's parts, then the shipped .ps1,
    compacted (``compact``).

    The .ps1 must declare the catalogue's version in its marker; the version stands for the text sent.
    """
    if script_id not in _SCRIPTS:
        if script_id not in contract.SCRIPTS:
            raise AnsibleActionFail("unknown webfarm.winauth remote script %r" % script_id)
        text = _read(script_id)
        if contract.parse_marker(text) != (script_id, contract.SCRIPTS[script_id]):
            raise AnsibleActionFail("%s.ps1 does not declare %s version %s; the collection is damaged"
                                    % (os.path.join(SCRIPT_DIR, script_id), script_id, contract.SCRIPTS[script_id]))
        _SCRIPTS[script_id] = compact("\n".join([_read(name) for name in (PRELUDE, *PARTS.get(script_id, ()))] + [text]))
    return _SCRIPTS[script_id]


class RemoteRunner:
    """Runs remote scripts for one action plugin task and counts the calls."""

    def __init__(self, action: t.Any) -> None:
        self._action = action
        self.calls = 0
        self.warnings: list[str] = []
        connection = action._connection
        shell = getattr(connection, "_shell", None)
        if getattr(shell, "SHELL_FAMILY", None) != "powershell":
            raise AnsibleActionFail("%s manages IIS on Windows hosts: the host's shell must be PowerShell "
                                    "(ansible_connection winrm or psrp, or ssh with ansible_shell_type=powershell), "
                                    "not %s" % (action._task.action, getattr(shell, "SHELL_FAMILY", "unknown")))
        become = getattr(connection, "become", None)
        if become is not None and getattr(become, "name", "").endswith("runas"):
            self.warnings.append("become (runas) does not apply to webfarm.winauth's remote scripts; they run as the "
                                 "connection user, who must be a local administrator")

    def run(self, script_id: str, request: dict[str, t.Any]) -> dict[str, t.Any]:
        """One remote call: the result, or a RemoteError / RemoteProtocolError."""
        script = script_text(script_id)
        command = remote_command(self._action._connection, contract.stub(script_id, contract.SCRIPTS[script_id]))
        self.calls += 1
        try:
            response = self._action._low_level_execute_command(command, in_data=contract.payload(script, request))
        except AnsibleConnectionFailure as exc:
            if connection_kind(self._action._connection) == "ssh":
                # ssh reports a session that broke (or never opened) in its own words only (exit code 255)
                raise _lost_connection(self._action, script_id, exc) from exc
            raise
        except (ConnectionError, OSError) as exc:
            raise _lost_connection(self._action, script_id, exc) from exc
        except Exception as exc:  # pylint: disable=broad-except
            # requests/urllib3 errors (winrm, psrp) are not OSError subclasses at every level.
            if any(cls.__name__ in ("ConnectionError", "ProtocolError", "ChunkedEncodingError")
                   for cls in type(exc).__mro__):
                raise _lost_connection(self._action, script_id, exc) from exc
            raise
        return contract.parse_response(response.get("rc", 1), response.get("stdout", ""),
                                       response.get("stderr", ""), script_id)

    # -- iis_config -----------------------------------------------------------------------------

    def read(self, targets: t.Sequence[Target]) -> list[SectionState]:
        return self.read_node(targets)[0]

    def read_node(self, targets: t.Sequence[Target], rights: t.Sequence[str] = ()
                  ) -> tuple[list[SectionState], dict[str, list[dict[str, t.Any]]]]:
        """One read of the targets and (1.4.0) of who holds ``rights``: a node's whole state in one command."""
        request = read_request(targets)
        if rights:
            request["rights"] = list(rights)
        result = self.run("iis_config", request)
        sections = result.get("sections", [])
        if len(sections) != len(targets):
            raise contract.RemoteProtocolError("iis_config read returned %d sections for %d requested"
                                               % (len(sections), len(targets)))
        holders = result.get("rights") or {}
        if rights and not all(isinstance(holders.get(right), list) for right in rights):
            raise contract.RemoteProtocolError("iis_config read did not return the holders of %s" % ", ".join(rights))
        return [SectionState.from_result(target, section) for target, section in zip(targets, sections)], holders

    def apply(self, edits: t.Sequence[dict[str, t.Any]],
              expect: t.Sequence[dict[str, t.Any]] = ()) -> dict[str, t.Any]:
        """One apply; ``expect`` (``config.expect_request``) must still read as it did, or nothing is written."""
        request: dict[str, t.Any] = {"op": "apply", "edits": list(edits)}
        if expect:
            request["expect"] = list(expect)
        return self.run("iis_config", request)

    # -- companions -----------------------------------------------------------------------------

    def gpupdate(self, target: str = "computer", wait: int = 600, rights: t.Sequence[str] = ()) -> dict[str, t.Any]:
        """gpupdate /force; with ``rights`` (1.2.0) the result also holds who holds them after the refresh."""
        request: dict[str, t.Any] = {"target": target, "wait": wait}
        if rights:
            request["rights"] = list(rights)
        return self.run("gpupdate", request)

    def user_rights(self, rights: t.Sequence[str]) -> dict[str, list[dict[str, t.Any]]]:
        return self.run("user_rights", {"rights": list(rights)})["rights"]


def _release(version: str) -> tuple[int, int]:
    match = re.match(r"(\d+)\.(\d+)", version)
    return (int(match.group(1)), int(match.group(2))) if match else (0, 0)


def connection_kind(connection: t.Any) -> str:
    """winrm, psrp, ssh or another connection plugin's short name."""
    return resource_from_fqcr(str(getattr(connection, "transport", "")))


def remote_command(connection: t.Any, stub: str, version: str = ansible_version) -> str:
    """The command line of a call, so that exactly one PowerShell on the host runs the stub (docs/remote-contract.md).

    winrm (every release; 2.19 skips a command that is already encoded) and ssh with the powershell shell
    (before 2.18) encode every command they are given as ``PowerShell -EncodedCommand`` themselves: an encoded
    command would run in a second, nested powershell.exe, so they get the stub as it is. psrp and ssh from 2.18 run
    the command they are given: they get it encoded by the host's shell plugin.
    """
    kind = connection_kind(connection)
    if kind == "winrm" or (kind == "ssh" and _release(version) < (2, 18)):
        return stub
    return connection._shell._encode_script(stub, as_list=False, strict_mode=False, preserve_rc=False)


def _lost_connection(action: t.Any, script_id: str, exc: Exception) -> AnsibleConnectionFailure:
    """A connection that broke during a remote call makes the host unreachable, as Ansible reports it."""
    host = getattr(action._play_context, "remote_addr", None) or "the host"
    reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if connection_kind(action._connection) == "ssh":
        return AnsibleConnectionFailure("the SSH connection to %s failed while running webfarm.winauth's %s script "
                                        "(%s); the host may have gone down, be unreachable or have restarted its SSH "
                                        "service: check it, then run the play again" % (host, script_id, reason))
    return AnsibleConnectionFailure("lost the connection to %s while running webfarm.winauth's %s script (%s); "
                                    "the host may have gone down or restarted its WinRM service: check it, then run "
                                    "the play again" % (host, script_id, reason))
