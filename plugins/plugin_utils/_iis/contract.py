# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""The remote contract between the controller and the collection's PowerShell scripts (docs/remote-contract.md).

Each script carries a marker statement ``$WinauthScript = @{ Id = '<id>'; Version = '<x.y.z>' }``;
it reads one JSON request from its input and writes one JSON response on stdout:
``{"ok": true, "script": id, "version": v, "result": {...}}`` or
``{"ok": false, ..., "error": {"code": ..., "message": ..., "section": ..., ...}}`` with rc 1.

One call is one remote command. Its command line is a small stub (``stub()``) that carries the
script's marker; stdin carries the script itself (base64 of its UTF-8 text: the shared prelude, then
the script, as the runner assembles it) and then the request (``payload()``). A script's version
stands for the whole text sent, prelude included. Windows runs WinRS commands through cmd.exe,
whose command line stops at 8191 characters, and ``-EncodedCommand`` inflates a script about 2.7
times: the editor itself would not fit, the stub always does. This is how Ansible runs its own
PowerShell modules.

This module holds what both ends agree on and the controller needs without I/O: the script
catalogue, the marker, the stub and payload, response parsing, and error messages with their
fixes. No I/O here.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import typing as t

from ansible_collections.webfarm.winauth.plugins.module_utils._windows.errors import WinauthError

# Script ids and the versions this collection ships; the marker in each .ps1 must match.
SCRIPTS: dict[str, str] = {
    "iis_config": "1.5.0",
    "gpupdate": "1.2.0",
    "user_rights": "1.2.0",
}

MARKER = re.compile(r"^\s*\$WinauthScript\s*=\s*@\{\s*Id\s*=\s*'([a-z][a-z0-9_]*)'\s*;"
                    r"\s*Version\s*=\s*'(\d+\.\d+\.\d+)'\s*\}\s*$", re.M | re.I)

# What to do about each structured error (the message says what happened; this says how to fix it).
FIXES: dict[str, str] = {
    "invalid_request": "this is a bug in the calling plugin; please report it",
    "unknown_section": "install the IIS feature that provides the section (URL Rewrite for rewrite/*, "
                       "Application Request Routing for webFarms and proxy) or check the section path",
    "location_not_found": "create the site first, or correct the site name",
    "section_not_allowed_here": "set this section for the whole server (location \"\")",
    "section_locked": "remove the lock (lockAttributes/lockItem) at the parent level, or set it there",
    "unknown_attribute": "check the attribute name against the IIS configuration reference",
    "unknown_element": "check the element name against the IIS configuration reference",
    "not_a_collection": "address the element that holds the collection",
    "item_not_found": "create the item first (for example the application pool or web farm)",
    "duplicate_key": "an item with that key exists already; change it instead of adding it",
    "invalid_value": "use a value the IIS schema accepts for this attribute",
    "unsupported_operation": "remove or clear the items at the level that defines them",
    "iis_not_installed": "install the Web-Server role (IIS) with its management tools on the host",
    "secedit_failed": "run the task as a local administrator",
    "runtime_failed": "check the application pool's identity and the Windows event log (WAS), then run the task "
                      "again; when the configuration was committed, a rerun finds it in place and may plan no "
                      "runtime step: then recycle the pool (webfarm.winauth.app_pool with state=restarted)",
    "changed_since_read": "run the task again: it reads the host's configuration again and plans from what it "
                          "finds (another run or an administrator changed it between this task's read and its apply)",
    "internal_error": "see the message; the remote script failed unexpectedly",
}


class RemoteError(WinauthError):
    """A structured error a remote script returned (or a response that breaks the contract).

    ``committed`` in its context (runtime edits only) says whether the request's configuration edits were
    committed before the error: then the host has changed, and the task reports ``changed`` with the failure.
    """

    @property
    def committed(self) -> bool:
        return self.context.get("committed") is True

    def __init__(self, code: str, message: str, context: dict[str, t.Any] | None = None) -> None:
        self.code = code
        self.message = message
        self.context = dict(context or {})
        super().__init__(self.describe())

    def describe(self) -> str:
        """One line: what failed, where, why, and the fix."""
        where = []
        if self.context.get("section"):
            where.append(str(self.context["section"]))
        if self.context.get("location"):
            where.append("location %r" % self.context["location"])
        path = self.context.get("path")
        if path:
            where.append("path %s" % describe_path(path))
        if self.context.get("attribute"):
            where.append("attribute %s" % self.context["attribute"])
        if isinstance(self.context.get("edit"), int):
            where.append("edit #%d" % self.context["edit"])
        text = "IIS configuration error (%s)" % self.code
        if where:
            text += " in " + ", ".join(where)
        text += ": %s" % self.message.rstrip(".")
        if self.context.get("committed") is True:
            text += ", after this request's configuration edits were committed (they stay written)"
        elif self.context.get("committed") is False and self.code == "runtime_failed":
            text += " (no configuration edit was committed)"
        fix = FIXES.get(self.code)
        if fix:
            text += ". Fix: %s" % fix
        return text


class RemoteProtocolError(WinauthError):
    """The host did not answer with the contract's JSON (the script did not run, or crashed)."""


def parse_marker(script: str) -> tuple[str, str] | None:
    """(id, version) from a script's marker statement, wherever it sits in the script."""
    match = MARKER.search(script)
    return (match.group(1).lower(), match.group(2)) if match else None


# The command line of every call, after the marker line: read stdin (the script, then the request) and run the
# script with the request as its input. $input holds the lines of stdin (winrm, ssh, psrp from ansible-core 2.19)
# or one string with all of it (psrp before 2.19): joined and split again, both give the two lines. Written for
# Set-StrictMode -Version Latest, which Ansible may prepend, and for Ansible's encoding, which trims every line.
_STUB = """\
$WinauthStdin = @((@($input) -join "`n") -split "`r?`n" | Where-Object { $_ -ne '' })
if ($WinauthStdin.Count -lt 2) {
Write-Output '{"ok":false,"error":{"code":"invalid_request","message":"expected the script and the request on stdin"}}'
exit 1
}
$WinauthCode = [Text.Encoding]::UTF8.GetString([Convert]::FromBase64String($WinauthStdin[0]))
$WinauthStdin[1] | & ([ScriptBlock]::Create($WinauthCode))
"""


def marker(script_id: str, version: str) -> str:
    return "$WinauthScript = @{ Id = '%s'; Version = '%s' }" % (script_id, version)


def stub(script_id: str, version: str) -> str:
    """The PowerShell sent on the command line (-EncodedCommand) for a call of a script."""
    return marker(script_id, version) + "\n" + _STUB


def encode_request(request: dict[str, t.Any]) -> bytes:
    """The request: one line of ASCII JSON (non-ASCII escaped, so no code page can mangle it)."""
    return json.dumps(request, ensure_ascii=True, separators=(",", ":")).encode("ascii") + b"\n"


def payload(script: str, request: dict[str, t.Any]) -> bytes:
    """What a call sends on stdin: the script as one base64 line (ASCII), then the request."""
    return base64.b64encode(script.encode("utf-8")) + b"\n" + encode_request(request)


def split_payload(stdin: bytes) -> tuple[str, str]:
    """(script, request text) from a call's stdin; ValueError when it is not a payload."""
    first, _sep, rest = stdin.partition(b"\n")
    if not first.strip():
        raise ValueError("nothing on stdin")
    try:
        script = base64.b64decode(first.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise ValueError("the first line of stdin is not a base64 script: %s" % exc) from None
    return script, rest.decode("utf-8", errors="replace").strip()


def parse_response(rc: int, stdout: str, stderr: str, script_id: str) -> dict[str, t.Any]:
    """The result of a call, or RemoteError (structured) / RemoteProtocolError (anything else)."""
    response = None
    for line in reversed(stdout.splitlines()):
        line = line.strip()
        if line.startswith("{") and line.endswith("}"):
            try:
                response = json.loads(line)
            except ValueError:
                continue
            break
    if not isinstance(response, dict) or "ok" not in response:
        detail = (stderr or "").strip() or (stdout or "").strip() or "no output"
        raise RemoteProtocolError("the remote script %s did not return its JSON response (rc %s): %s"
                                  % (script_id, rc, detail[-2000:]))
    if response.get("script") not in (None, script_id):
        raise RemoteProtocolError("expected a response from %s, got one from %s" % (script_id, response.get("script")))
    if not response["ok"]:
        error = response.get("error") if isinstance(response.get("error"), dict) else {}
        context = {k: v for k, v in error.items() if k not in ("code", "message")}
        raise RemoteError(str(error.get("code", "internal_error")), str(error.get("message", "no message")), context)
    result = response.get("result")
    if not isinstance(result, dict):
        raise RemoteProtocolError("the remote script %s returned no result" % script_id)
    return result


def describe_path(path: t.Sequence[t.Any]) -> str:
    """A contract path for people: processModel, [name=DefaultAppPool]/processModel."""
    parts = []
    for step in path:
        if isinstance(step, dict):
            parts.append("[%s]" % ",".join("%s=%s" % (k, v) for k, v in step.items()))
        else:
            parts.append(str(step))
    return "/".join(parts)
