# Internal to the webfarm.winauth lab.
"""A lab web node: a WS-Management (WinRM) endpoint over HTTPS, one process per node.

``python -m winauth_lab.node NODE_JSON`` serves ``https://<address>:5986/wsman``
for one node until SIGTERM. NODE_JSON (written by ``winauth_lab.nodes``) names
the node, its address, certificate, node directory and the lab DC; the launcher
sets ``KRB5_CONFIG``, ``KRB5_KTNAME`` (the computer account's keytab) and
``NTLM_USER_FILE`` in the environment.

The protocol (WinRS over WS-Management) and authentication (Basic against the
lab AD, NTLM, Kerberos) are real; the commands are handed to the lab twin
(``winauth_lab.remote.dispatch``), which runs only the collection's own remote
scripts and refuses anything else. Each remote call is logged as one JSON line
in the node's log (no stdin, output or secrets).
"""

from __future__ import annotations

import datetime
import itertools
import json
import os
import signal
import socket
import ssl
import sys
import threading
import time
import traceback
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from . import gpo_policy, hostexec, remote
from .nodeauth import Authenticator, ConnectionAuth, Identity
from .nodeconfig import NodeConfig
from .wsman import Command, ShellHost

MAX_BODY = 64 * 1024 * 1024
IDLE_CONNECTION_TIMEOUT = 120.0        # HTTP.sys keeps an idle connection this long
SOAP_CONTENT_TYPE = "application/soap+xml;charset=UTF-8"
_QUIET_ERRORS = (ssl.SSLError, ConnectionError, TimeoutError, socket.timeout, EOFError)


@dataclass
class Caller:
    """Who sent a command, remembered on the command for the log."""

    identity: Identity
    client: str
    connection: int


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds")


_OWN_FIELDS = ("time", "node", "rc", "duration_ms")


def _twin_fields(records: list, rc: int, stderr: bytes) -> dict:
    """What the twin ran, from the record it appended (script id, version, op, what it touched: names, no
    values), or ``"refused"`` when it refused the command."""
    for record in records:
        if isinstance(record, dict) and record.get("script"):
            fields = {"script": str(record["script"]), "version": record.get("version")}
            fields.update({k: v for k, v in record.items() if k not in fields and k not in _OWN_FIELDS})
            return fields
    if rc != 0 and remote.REFUSAL.encode("utf-8") in stderr:
        return {"script": "refused", "version": None}
    return {"script": "unidentified", "version": None}


class NodeServer(ThreadingHTTPServer):
    """HTTPS WS-Management server of one node; a thread per connection."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, config: NodeConfig) -> None:
        self.config = config
        self.ssl_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ssl_context.minimum_version = ssl.TLSVersion.TLSv1_2
        self.ssl_context.load_cert_chain(config.cert, config.key)
        certificate_der = ssl.PEM_cert_to_DER_cert(Path(config.cert).read_text())
        self.authenticator = Authenticator(realm=config.realm, netbios=config.netbios, dc_host=config.dc_host,
                                           ca_cert=config.ca_cert, certificate_der=certificate_der)
        self.shells = ShellHost(config.fqdn, self._start_command)
        self.endpoint = "https://%s:%d/wsman" % (config.fqdn, config.port)
        self.connections = itertools.count(1)
        self._log_lock = threading.Lock()
        # gpupdate's source of domain policy: the GPOs the lab AD links above this node's computer account.
        self.domain_policy = gpo_policy.for_node(config)
        super().__init__((config.address, config.port), NodeRequestHandler)

    # -- running commands ---------------------------------------------------
    def _start_command(self, command: Command, shell_id: str) -> None:
        thread = threading.Thread(target=self._run_command, args=(command, shell_id),
                                  name="command-%s" % command.command_id[:8], daemon=True)
        thread.start()

    def _run_command(self, command: Command, shell_id: str) -> None:
        started = time.monotonic()
        context = remote.NodeContext(name=self.config.name, node_dir=self.config.directory,
                                     domain_policy=self.domain_policy)
        stdin = bytes(command.stdin)
        try:
            if self.config.delay:
                time.sleep(self.config.delay)
            # The twin serialises its own commits to applicationHost.config.
            ran = hostexec.run_winrs(command.command_line, stdin,
                                     lambda script, text: remote.dispatch(script, text, context))
            rc, stdout, stderr, processes = ran.rc, ran.stdout, ran.stderr, ran.processes
        except Exception as exc:  # pylint: disable=broad-exception-caught  # a twin bug must not kill the node
            traceback.print_exc()
            rc, stdout, stderr = 1, b"", ("lab node: the twin failed: %s: %s" % (type(exc).__name__, exc)).encode()
            processes = 0
        command.result = (rc, stdout, stderr)
        caller = command.caller if isinstance(command.caller, Caller) else None
        record = {
            "time": _now(),
            "node": self.config.name,
            "shell_id": shell_id,
            "command_id": command.command_id,
            "client": caller.client if caller else None,
            "connection": caller.connection if caller else None,
            "auth": caller.identity.mechanism if caller else None,
            "user": caller.identity.user if caller else None,
            "script": None,
            "version": None,
            "rc": rc,
            "duration_ms": round((time.monotonic() - started) * 1000, 1),
            "stdin_bytes": len(stdin),
            "stdout_bytes": len(stdout),
            "stderr_bytes": len(stderr),
            "processes": processes,
        }
        record.update(_twin_fields(context.log, rc, stderr))
        self.log_call(record)
        command.done.set()

    def log_call(self, record: dict) -> None:
        line = json.dumps(record, sort_keys=False) + "\n"
        with self._log_lock, open(self.config.log_path, "a", encoding="utf-8") as handle:
            handle.write(line)

    # -- errors -------------------------------------------------------------
    def handle_error(self, request, client_address) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, _QUIET_ERRORS):
            return      # a client that went away, or refused our certificate: not the node's problem
        print("%s connection from %s failed:" % (_now(), client_address[0]), file=sys.stderr)
        traceback.print_exc()


class NodeRequestHandler(BaseHTTPRequestHandler):
    """One TCP connection: TLS, then HTTP/1.1 keep-alive requests authenticated per connection."""

    server: NodeServer
    protocol_version = "HTTP/1.1"
    server_version = "Microsoft-HTTPAPI/2.0"
    sys_version = ""
    disable_nagle_algorithm = True       # without it every request stalls ~40 ms (Nagle + delayed ACK)
    timeout = IDLE_CONNECTION_TIMEOUT

    def setup(self) -> None:
        self.request.settimeout(self.timeout)
        self.request = self.server.ssl_context.wrap_socket(self.request, server_side=True)
        self.auth = ConnectionAuth()
        self.connection_id = next(self.server.connections)
        super().setup()

    def log_message(self, format, *args) -> None:  # pylint: disable=redefined-builtin
        """Requests are not logged one by one; remote calls go to the node log."""

    def _send(self, status: int, body: bytes = b"", headers: list[tuple[str, str]] | None = None,
              content_type: str | None = SOAP_CONTENT_TYPE) -> None:
        self.send_response(status)
        for name, value in headers or []:
            self.send_header(name, value)
        if body and content_type:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def _plain(self, status: int, text: str, close: bool = False) -> None:
        headers = [("Connection", "close")] if close else []
        if close:
            self.close_connection = True
        self._send(status, text.encode("utf-8"), headers, "text/plain; charset=utf-8")

    def _read_body(self) -> bytes | None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self._plain(411, "the lab node needs a Content-Length", close=True)
            return None
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self._plain(400, "bad Content-Length", close=True)
            return None
        if length < 0 or length > MAX_BODY:
            self._plain(413, "request body too large", close=True)
            return None
        return self.rfile.read(length) if length else b""

    def do_POST(self) -> None:  # pylint: disable=invalid-name
        body = self._read_body()
        if body is None:
            return
        try:
            self._post(body)
        except _QUIET_ERRORS:
            raise
        except Exception:  # pylint: disable=broad-exception-caught  # answer, rather than leave the client hanging
            print("%s request from %s failed:" % (_now(), self.client_address[0]), file=sys.stderr)
            traceback.print_exc()
            self._plain(500, "lab node internal error; see the node's process.log", close=True)

    def _post(self, body: bytes) -> None:
        if self.path.split("?", 1)[0].rstrip("/").lower() != "/wsman":
            self._plain(404, "not found: the WS-Management endpoint is /wsman")
            return
        outcome = self.server.authenticator.authenticate(self.headers.get("Authorization"), self.auth)
        if outcome.identity is None:
            if outcome.failure:
                print("%s %s: authentication failed: %s" % (_now(), self.client_address[0], outcome.failure),
                      file=sys.stderr, flush=True)
            self._send(401, headers=[("WWW-Authenticate", value) for value in outcome.headers])
            return
        mutual = [("WWW-Authenticate", value) for value in outcome.headers]
        if not body:
            # An empty POST only authenticates the connection (pywinrm sends one before message encryption).
            self._send(200, b"", mutual)
            return
        if "multipart/encrypted" in self.headers.get("Content-Type", "").lower():
            self._send(415, b"the lab node serves WinRM over HTTPS only and does not implement WinRM message "
                       b"encryption; use ansible_winrm_message_encryption: auto (the default) or never",
                       mutual, "text/plain; charset=utf-8")
            return
        caller = Caller(outcome.identity, self.client_address[0], self.connection_id)
        status, response = self.server.shells.handle(body, outcome.identity.user, self.server.endpoint, caller)
        self._send(status, response, mutual)

    def _not_allowed(self) -> None:
        if self.command != "HEAD":
            self._read_body()
        self._send(405, headers=[("Allow", "POST")])

    do_GET = do_PUT = do_DELETE = do_HEAD = do_OPTIONS = _not_allowed


def serve(config_path: Path) -> int:
    config = NodeConfig.load(config_path)
    try:
        server = NodeServer(config)
    except OSError as exc:
        print("lab node %s: cannot listen on %s:%d: %s" % (config.name, config.address, config.port, exc),
              file=sys.stderr)
        return 2
    config.pid_path.write_text("%d\n" % os.getpid())
    config.log_path.touch()    # LAB_NODE_LOGS names it from the start, before the first remote call

    def stop(_signum, _frame) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print("%s lab node %s listening on https://%s:%d/wsman (%s)"
          % (_now(), config.name, config.address, config.port, config.fqdn), flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
        try:
            if config.pid_path.read_text().strip() == str(os.getpid()):
                config.pid_path.unlink()
        except OSError:
            pass
    print("%s lab node %s stopped" % (_now(), config.name), flush=True)
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print("usage: python -m winauth_lab.node NODE_JSON", file=sys.stderr)
        sys.exit(2)
    sys.exit(serve(Path(sys.argv[1])))
