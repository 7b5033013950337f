# Internal to the webfarm.winauth lab.
"""What a lab node runs when a WinRM command arrives (the lab twin of the remote scripts).

Contract between the WinRM lab node (``winauth_lab.node``) and the twin:

``dispatch(script: str, stdin: bytes, node: NodeContext) -> tuple[int, bytes, bytes]``

* ``script`` is the PowerShell the client sent, already decoded from
  ``-EncodedCommand`` (UTF-16LE base64) or taken from the raw command line.
* ``stdin`` is everything the client sent on the stdin stream. For the collection's
  calls, the command is a small stub carrying the script's marker, and stdin holds the
  script (base64) and then the JSON request (``_remote_contract.stub``/``payload``).
* Returns ``(rc, stdout, stderr)``. A script that is not one of the collection's
  remote scripts (recognised by its id and version marker) is refused with a
  non-zero rc and a clear "this lab node runs only webfarm.winauth remote
  scripts" message on stderr.

A recognised script gets the same JSON response its PowerShell gives on Windows
(docs/remote-contract.md): rc 0 with ``{"ok": true, ...}``, or rc 1 with
``{"ok": false, "error": {...}}`` for a structured error.

Each call appends one record to ``node.log`` (a dict: time, node, script, version,
op, sections or edits touched, rc, changed, error code, duration): names and
paths only, never values, so no secret reaches a log. ``log_line(record)`` is its
JSON-lines form for the node's log file.

Other entry points for the node: ``winauth_lab.iis.initial_config(node_name)`` is
the applicationHost.config a new node starts from (the twin also writes it when
the file is missing).
"""

from __future__ import annotations

import fcntl
import json
import threading
import time
import traceback
import typing as t
from dataclasses import dataclass, field
from pathlib import Path

from .collection import remote_contract
from .iis.config import RemoteError
from .iis.scripts import HANDLERS

REFUSAL = ("this lab node runs only webfarm.winauth remote scripts (it simulates IIS's configuration engine "
           "and nothing else); the command was not recognised")

# The user-rights policy the domain assigns to a node, as gpupdate would apply it:
# {"SeBatchLogonRight": [{"sid": "S-1-5-21-...", "name": "CAMTEST\\cam-svc"}, ...]}.
DomainPolicy = t.Callable[[], dict[str, list[dict[str, str]]]]


@dataclass
class NodeContext:
    """What the twin needs to know about the node it runs on."""

    name: str                       # e.g. SERVER1
    node_dir: Path                  # the node's own directory (applicationHost.config lives here)
    log: list = field(default_factory=list)  # the twin appends one record per remote call (no secrets)
    domain_policy: DomainPolicy | None = None  # gpupdate's source of domain policy; None: nothing to apply

    @property
    def application_host_config(self) -> Path:
        return self.node_dir / "applicationHost.config"


_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


def _node_lock(node: NodeContext) -> threading.Lock:
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(str(Path(node.node_dir).resolve()), threading.Lock())


def log_line(record: dict[str, t.Any]) -> str:
    """One log record as a line of JSON (for the node's log file)."""
    return json.dumps(record, sort_keys=True, ensure_ascii=True)


def _response(script_id: str, version: str, **fields: t.Any) -> bytes:
    body = {"script": script_id, "version": version}
    body.update(fields)
    return (json.dumps(body, ensure_ascii=True, separators=(",", ":")) + "\r\n").encode("ascii")


def dispatch(script: str, stdin: bytes, node: NodeContext) -> tuple[int, bytes, bytes]:
    """Run the twin of a recognised remote script; refuse anything else."""
    marker = remote_contract.parse_marker(script or "")
    if marker is None or marker[0] not in HANDLERS:
        return 1, b"", (REFUSAL + "\r\n").encode("utf-8")
    script_id, version = marker
    supported = remote_contract.SCRIPTS[script_id]
    if version != supported:
        message = "%s; the script %s is version %s, this lab runs version %s" % (REFUSAL, script_id, version, supported)
        return 1, b"", (message + "\r\n").encode("utf-8")
    try:
        payload_script, text = remote_contract.split_payload(stdin or b"")
    except ValueError:
        # What the stub answers when stdin does not hold the script and the request.
        return 1, (json.dumps({"ok": False, "error": {"code": "invalid_request", "message": "expected the script "
                                                      "and the request on stdin"}}) + "\r\n").encode("ascii"), b""
    if remote_contract.parse_marker(payload_script) != marker:
        return 1, b"", ("%s; the script on stdin is not the one the command line names (%s %s)\r\n"
                        % (REFUSAL, script_id, version)).encode("utf-8")
    started = time.monotonic()
    record: dict[str, t.Any] = {"time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "node": node.name,
                                "script": script_id, "version": version}
    stderr = b""
    try:
        if not text:
            raise RemoteError("invalid_request", "no request on stdin")
        try:
            request = json.loads(text)
        except ValueError as exc:
            raise RemoteError("invalid_request", "the request is not JSON: %s" % exc) from None
        if not isinstance(request, dict):
            raise RemoteError("invalid_request", "the request must be a JSON object")
        node.node_dir.mkdir(parents=True, exist_ok=True)
        with _node_lock(node), open(node.node_dir / ".twin.lock", "a", encoding="utf-8") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            result = HANDLERS[script_id](request, node, record)
        rc, stdout = 0, _response(script_id, version, ok=True, result=result)
    except RemoteError as exc:
        record["error"] = exc.code
        rc, stdout = 1, _response(script_id, version, ok=False, error=exc.to_json())
    except Exception as exc:  # pylint: disable=broad-except  # a twin bug must still answer as the script would
        record["error"] = "internal_error"
        rc = 1
        stdout = _response(script_id, version, ok=False,
                           error={"code": "internal_error", "message": "%s: %s" % (type(exc).__name__, exc)})
        stderr = traceback.format_exc().encode("utf-8", "replace")
    record["rc"] = rc
    record["duration_ms"] = round((time.monotonic() - started) * 1000, 1)
    node.log.append(record)
    return rc, stdout, stderr
