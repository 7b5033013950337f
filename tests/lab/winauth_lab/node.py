# Internal to the webfarm.winauth lab.
"""A lab web node: a WS-Management (WinRM) endpoint over HTTPS and HTTP, one process per node.

``python -m winauth_lab.node NODE_JSON`` serves ``https://<address>:5986/wsman``
and ``http://<address>:5985/wsman`` (every message encrypted with the NTLM or
Kerberos session, ``winauth_lab.wsmancrypt``) for one node until SIGTERM. NODE_JSON (written by
``winauth_lab.nodes``) names the node, its address, certificate, node directory and the lab DC; the launcher
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
import subprocess
import sys
import threading
import time
import traceback
import typing
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from . import gpo_policy, hostexec, psrp, remote, sshd, wsmancrypt
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
    listener: str = "https"       # https (TLS) or http (message encryption)
    encrypted: bool = False       # the request arrived as multipart/encrypted


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
    """One WS-Management listener of one node (HTTPS, or HTTP with message encryption); a thread per connection.

    The HTTP listener (``peer`` given) shares the HTTPS one's shells, log and policy: one node, two ports.
    """

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, config: NodeConfig, peer: "NodeServer | None" = None) -> None:
        self.config = config
        self.secure = peer is None
        port = config.port if self.secure else config.http_port
        certificate_der = None
        self.ssl_context: ssl.SSLContext | None = None
        if self.secure:
            self.ssl_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.ssl_context.minimum_version = ssl.TLSVersion.TLSv1_2
            self.ssl_context.load_cert_chain(config.cert, config.key)
            certificate_der = ssl.PEM_cert_to_DER_cert(Path(config.cert).read_text())
        self.authenticator = Authenticator(realm=config.realm, netbios=config.netbios, dc_host=config.dc_host,
                                           ca_cert=config.ca_cert, certificate_der=certificate_der)
        self.endpoint = "%s://%s:%d/wsman" % ("https" if self.secure else "http", config.fqdn, port)
        if peer is None:
            self.shells = ShellHost(config.fqdn, self._start_command)
            self.shells.resources[psrp.RESOURCE_URI.lower()] = psrp.PsrpHost(self._run_pipeline).handle
            self.connections = itertools.count(1)
            self._log_lock = threading.Lock()
            # gpupdate's source of domain policy: the GPOs the lab AD links above this node's computer account.
            self.domain_policy = gpo_policy.for_node(config)
        else:
            self.shells, self.connections = peer.shells, peer.connections
            self._log_lock, self.domain_policy = peer._log_lock, peer.domain_policy
        super().__init__((config.address, port), NodeRequestHandler)

    # -- running commands ---------------------------------------------------
    def _start_command(self, command: Command, shell_id: str) -> None:
        thread = threading.Thread(target=self._run_command, args=(command, shell_id),
                                  name="command-%s" % command.command_id[:8], daemon=True)
        thread.start()

    def _run_command(self, command: Command, shell_id: str) -> None:
        stdin = bytes(command.stdin)
        caller = command.caller if isinstance(command.caller, Caller) else None
        ran = self.execute(lambda twin: hostexec.run_winrs(command.command_line, stdin, twin), caller,
                           {"protocol": "winrs", "shell_id": shell_id, "command_id": command.command_id}, len(stdin))
        command.result = (ran.rc, ran.stdout, ran.stderr)
        command.done.set()

    def execute(self, run: typing.Callable[[hostexec.Twin], hostexec.Result], caller: Caller | None,
                ids: dict, stdin_bytes: int | list[int]) -> hostexec.Result:
        """Run one remote command (WinRS, SSH or a PSRP pipeline) against the twin, and log it.

        ``stdin_bytes``: a number, or a list that holds it once the command has read its stdin (SSH).
        """
        started = time.monotonic()
        context = remote.NodeContext(name=self.config.name, node_dir=self.config.directory,
                                     domain_policy=self.domain_policy)
        try:
            if self.config.delay:
                time.sleep(self.config.delay)
            # The twin serialises its own commits to applicationHost.config.
            ran = run(lambda script, text: remote.dispatch(script, text, context))
        except Exception as exc:  # pylint: disable=broad-exception-caught  # a twin bug must not kill the node
            traceback.print_exc()
            ran = hostexec.Result(1, b"", ("lab node: the twin failed: %s: %s" % (type(exc).__name__, exc)).encode())
        record = {
            "time": _now(),
            "node": self.config.name,
            **ids,
            "client": caller.client if caller else None,
            "connection": caller.connection if caller else None,
            "auth": caller.identity.mechanism if caller else None,
            "listener": caller.listener if caller else None,
            "encrypted": caller.encrypted if caller else None,
            "user": caller.identity.user if caller else None,
            "script": None,
            "version": None,
            "rc": ran.rc,
            "duration_ms": round((time.monotonic() - started) * 1000, 1),
            "stdin_bytes": stdin_bytes if isinstance(stdin_bytes, int) else sum(stdin_bytes),
            "stdout_bytes": len(ran.stdout),
            "stderr_bytes": len(ran.stderr),
            "processes": ran.processes,
        }
        record.update(_twin_fields(context.log, ran.rc, ran.stderr))
        self.log_call(record)
        return ran

    def _run_pipeline(self, script: str, inputs: list, pipeline: psrp.Pipeline) -> hostexec.Result:
        caller = pipeline.caller if isinstance(pipeline.caller, Caller) else None
        return self.execute(lambda twin: hostexec.run_pipeline(script, inputs, twin), caller,
                            {"protocol": "psrp", "pipeline_id": pipeline.pipeline_id}, pipeline.input_bytes)

    def run_ssh(self, header: dict, read_stdin: typing.Callable[[], bytes]) -> tuple[int, bytes, bytes]:
        """One SSH exec request, as sshd's forced command hands it over (``winauth_lab.sshfront``).

        stdin is read from the session only when the command reads it (``hostexec``).
        """
        identity = Identity(self.authenticator.windows_name(str(header.get("user") or "?")),
                            str(header.get("auth") or "unknown"))
        caller = Caller(identity, str(header.get("client") or ""), next(self.connections), "ssh", True)
        received: list[int] = []

        def stdin() -> bytes:
            data = read_stdin()
            received[:] = [len(data)]
            return data

        ran = self.execute(lambda twin: hostexec.run_ssh(str(header.get("command", "")), stdin, twin), caller,
                           {"protocol": "ssh"}, received)
        return ran.rc, ran.stdout, ran.stderr

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
        if self.server.ssl_context is not None:
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
        content_type = self.headers.get("Content-Type", "")
        encrypted = wsmancrypt.is_encrypted(content_type)
        protocol = ""
        if encrypted:
            try:
                body, protocol = wsmancrypt.unwrap(body, content_type, self.auth.context)
            except wsmancrypt.EncryptionError as exc:
                self._refuse_message("an encrypted message was refused: %s" % exc, mutual)
                return
        elif not self.server.secure:
            self._refuse_message("an unencrypted message was refused on the HTTP listener (AllowUnencrypted=false)",
                                 mutual)
            return
        caller = Caller(outcome.identity, self.client_address[0], self.connection_id,
                        "https" if self.server.secure else "http", encrypted)
        status, response = self.server.shells.handle(body, outcome.identity.user, self.server.endpoint, caller)
        if encrypted:
            response, content_type = wsmancrypt.wrap(response, self.auth.context, protocol)
            self._send(status, response, mutual, content_type)
        else:
            self._send(status, response, mutual)

    def _refuse_message(self, why: str, headers: list[tuple[str, str]]) -> None:
        """What Windows does with a message it will not read: HTTP 500, the reason in its event log (process.log)."""
        print("%s %s: %s" % (_now(), self.client_address[0], why), file=sys.stderr, flush=True)
        self._send(500, b"", headers)

    def _not_allowed(self) -> None:
        if self.command != "HEAD":
            self._read_body()
        self._send(405, headers=[("Allow", "POST")])

    do_GET = do_PUT = do_DELETE = do_HEAD = do_OPTIONS = _not_allowed


def _start_ssh(config: NodeConfig, config_path: Path, server: NodeServer):
    """The node's sshd on its own address (when the machine has OpenSSH and nss_wrapper) and its Unix socket."""
    if not config.ssh_port or not config.lab_ssh_dir or not sshd.available():
        return None
    front = sshd.FrontServer(config.directory / "ssh.sock", server.run_ssh)
    threading.Thread(target=front.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True).start()
    sshd_config = sshd.write_config(config.directory, config.address, Path(config.lab_ssh_dir), config_path.resolve(),
                                    realm=config.realm, netbios=config.netbios,
                                    krb5_conf=os.environ.get("KRB5_CONFIG", ""), port=config.ssh_port)
    process = sshd.launch(sshd_config, config.directory / "sshd.log", dict(os.environ))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and process.poll() is None:
        try:
            socket.create_connection((config.address, config.ssh_port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    if process.poll() is not None:
        print("%s lab node %s: sshd exited (%s); see sshd.log" % (_now(), config.name, process.returncode),
              file=sys.stderr, flush=True)
    return front, process


def _stop_ssh(front, process) -> None:
    """Stop sshd and the sessions it left (a client's ControlPersist master, say)."""
    front.shutdown()
    front.server_close()
    process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
    for pid in sshd.session_processes(Path(process.args[-1]).parent):
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass


def serve(config_path: Path) -> int:
    config = NodeConfig.load(config_path)
    try:
        server = NodeServer(config)
        http_server = NodeServer(config, peer=server)
    except OSError as exc:
        print("lab node %s: cannot listen on %s:%d/%d: %s"
              % (config.name, config.address, config.port, config.http_port, exc), file=sys.stderr)
        return 2
    ssh = _start_ssh(config, config_path, server)
    config.pid_path.write_text("%d\n" % os.getpid())
    config.log_path.touch()    # LAB_NODE_LOGS names it from the start, before the first remote call

    def stop(_signum, _frame) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()
        threading.Thread(target=http_server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    http_thread = threading.Thread(target=http_server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
    http_thread.start()
    print("%s lab node %s listening on https://%s:%d/wsman and http://%s:%d/wsman (%s)"
          % (_now(), config.name, config.address, config.port, config.address, config.http_port, config.fqdn),
          flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        http_server.shutdown()
        server.server_close()
        http_server.server_close()
        if ssh is not None:
            _stop_ssh(*ssh)
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
