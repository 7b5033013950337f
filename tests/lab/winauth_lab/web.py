# Internal to the webfarm.winauth lab.
"""A lab node's web endpoint: the sites of its applicationHost.config over HTTP (80) and HTTPS (443).

``python -m winauth_lab.web WEB_JSON`` serves one node until SIGTERM; ``winauth_lab.webfleet``
starts it beside the node's WinRM process. For every request it does what IIS does with the
node's configuration as the twin reads it (``winauth_lab.webconfig``):

* HTTP.sys picks the site by binding (protocol, address, port, host name); no binding: 400
  "Invalid Hostname"; a stopped site: 404; a stopped application pool: 503 (HTTPERR log).
* URL Rewrite's global rules run first; a rewrite to ``http(s)://<web farm>/...`` with ARR's proxy
  enabled is proxied to a server of that farm, as ARR does it: a server per request (weighted
  round robin, or the server named by the farm's affinity cookie when client affinity is on, the
  cookie set on the response), backend connections from a pool per server (reused in turn, closed
  after each response when the farm's keepAlive is off; no tie between a client's connection and
  a backend connection), headers and the ``Authorization``/``WWW-Authenticate`` exchange passed
  through untouched, Host preserved or not per the farm's ``preserveHostHeader``.
* The worker process of the request's pool must start: a domain identity needs its password (an
  LDAP bind against the lab DC) and the batch-logon right as the node holds it after its last
  gpupdate (the twin's ``user_rights``: the applied domain policy over local policy), held by the
  account or a domain group it is in (built-in identities start without it). Otherwise 503, and WAS event 5021 in the node's events.log. A started
  worker keeps its logon until the pool is recycled or its identity changes, as on Windows.
* Authentication at the request's location path: anonymous if enabled; else Windows
  authentication with the providers in order (``Negotiate`` offers Kerberos and falls back to
  NTLM; ``Negotiate:Kerberos`` refuses NTLM; ``NTLM`` is offered as such). A Kerberos ticket is
  decrypted with the keys of the computer account (kernel mode without useAppPoolCredentials) or
  of the pool identity (keytabs exported from the lab AD); a ticket it cannot decrypt gets a 401
  carrying the KRB-ERROR, as Windows sends it.
* A W3C log (``u_ex.log``) with sub-status and Win32 status codes as IIS writes them (401 2 5 for
  the challenge, 401 1 2148074254 for NTLM's challenge leg, 401 1 2148074252 for a logon that
  failed, 200 0 0), an HTTPERR log for what HTTP.sys answers itself, and ``web.log``: one JSON line
  per request with what IIS does not log (the mechanism, whose keys, why it failed).

Every response IIS produces carries ``X-Served-By: <NODE>``: the lab's stand-in for the
customHeaders entry administrators add on each node of a farm, so a client can tell which
backend answered. HTTP.sys's own answers (400, 404, 503) do not carry it.
"""

from __future__ import annotations

import http.client
import itertools
import os
import signal
import socket
import ssl
import sys
import threading
import time
import traceback
import typing as t
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from . import webconfig
from .iis import runtime
from .iis.config import ConfigEngine
from .webauth import Authenticator, ConnState
from .webnode import Logs, WebConfig, utc_now
from .webproxy import ArrProxy
from .webworkers import Keys, Workers

IDLE_TIMEOUT = 120.0
MAX_BODY = 4 * 1024 * 1024
_QUIET = (ssl.SSLError, ConnectionError, TimeoutError, socket.timeout, EOFError)


# --- the server ----------------------------------------------------------------------------------

class NodeWeb:
    """State shared by the node's listeners."""

    def __init__(self, config: WebConfig) -> None:
        self.config = config
        config.web_dir.mkdir(parents=True, exist_ok=True)
        self.logs = Logs(config.web_dir, config.name)
        self.keys = Keys(config)
        self.workers = Workers(config, self.logs)
        self.auth = Authenticator(config, self.keys)
        self.connections = itertools.count(1)
        self._engine: tuple[tuple, ConfigEngine] | None = None
        self._engine_lock = threading.Lock()
        self._rr: dict[str, list[int]] = {}
        self._rr_lock = threading.Lock()
        self._pool: dict[str, list[http.client.HTTPConnection]] = {}
        self._pool_lock = threading.Lock()

    def backend_connection(self, scheme: str, address: str, port: int) -> tuple[str, http.client.HTTPConnection]:
        """An idle pooled connection to a farm server, or a new one (ARR's connection pool)."""
        key = "%s://%s:%d" % (scheme, address.lower(), port)
        with self._pool_lock:
            idle = self._pool.get(key) or []
            if idle:
                return key, idle.pop()
        if scheme == "https":
            context = ssl.create_default_context(cafile=self.config.ca_cert)
            return key, http.client.HTTPSConnection(address, port, timeout=30, context=context)
        return key, http.client.HTTPConnection(address, port, timeout=30)

    def release(self, key: str, connection: http.client.HTTPConnection, keep: bool) -> None:
        if not keep:
            connection.close()
            return
        with self._pool_lock:
            self._pool.setdefault(key, []).append(connection)

    @property
    def config_path(self) -> Path:
        return Path(self.config.node_dir) / "applicationHost.config"

    def engine(self) -> ConfigEngine:
        stat = self.config_path.stat()
        key = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        with self._engine_lock:
            if self._engine is None or self._engine[0] != key:
                self._engine = (key, ConfigEngine(self.config_path.read_bytes()))
            return self._engine[1]

    def pick(self, farm: webconfig.Farm) -> webconfig.FarmServer | None:
        """Weighted round robin (smooth), as ARR's WeightedRoundRobin with equal weights is plain round robin."""
        servers = [s for s in farm.servers if s.enabled]
        if not servers:
            return None
        with self._rr_lock:
            state = self._rr.setdefault(farm.name.lower(), [0] * len(servers))
            if len(state) != len(servers):
                state[:] = [0] * len(servers)
            total = sum(s.weight for s in servers)
            for index, server in enumerate(servers):
                state[index] += server.weight
            best = max(range(len(servers)), key=lambda i: state[i])
            state[best] -= total
            return servers[best]


class WebServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, node: NodeWeb, port: int, tls: ssl.SSLContext | None) -> None:
        self.node = node
        self.tls = tls
        self.scheme = "https" if tls else "http"
        super().__init__((node.config.address, port), WebHandler)

    def handle_error(self, request, client_address) -> None:
        if isinstance(sys.exc_info()[1], _QUIET):
            return
        print("%s %s connection from %s failed:" % (utc_now().isoformat(), self.scheme, client_address[0]),
              file=sys.stderr)
        traceback.print_exc()


class WebHandler(ArrProxy, BaseHTTPRequestHandler):
    server: WebServer
    protocol_version = "HTTP/1.1"
    server_version = "Microsoft-IIS/10.0"
    sys_version = ""
    disable_nagle_algorithm = True
    timeout = IDLE_TIMEOUT

    def setup(self) -> None:
        self.request.settimeout(self.timeout)
        if self.server.tls is not None:
            self.request = self.server.tls.wrap_socket(self.request, server_side=True)
        self.conn = ConnState(next(self.server.node.connections))
        super().setup()

    def log_message(self, format, *args) -> None:  # pylint: disable=redefined-builtin
        """Requests go to the node's W3C log."""

    # -- plumbing -------------------------------------------------------------------------------------
    def _body(self) -> bytes:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = 0
        return self.rfile.read(min(length, MAX_BODY)) if length > 0 else b""

    def _send(self, status: int, body: bytes, headers: list[tuple[str, str]], server_header: str | None = None,
              reason: str | None = None) -> None:
        self.send_response_only(status, reason)
        self.send_header("Server", server_header or self.server_version)
        self.send_header("Date", self.date_time_string())
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)

    def _httpsys(self, status: int, reason: str, text: str, site_id: str, log_reason: str, queue: str = "-") -> None:
        """What HTTP.sys answers itself: no IIS headers, logged to HTTPERR only."""
        body = ("<HTML><BODY><h2>%s</h2><hr><p>HTTP Error %d. %s</p></BODY></HTML>" % (reason, status, text)).encode()
        self._send(status, body, [("Content-Type", "text/html; charset=us-ascii"), ("Connection", "close")],
                   server_header="Microsoft-HTTPAPI/2.0", reason=reason)
        self.close_connection = True
        local = self.connection.getsockname()
        self.server.node.logs.httperr(self.client_address, local, self.command, self.path, status, site_id,
                                      log_reason, queue)

    def do_GET(self) -> None:  # pylint: disable=invalid-name
        started = time.monotonic()
        body = self._body()
        try:
            self._handle(body, started)
        except _QUIET:
            raise
        except Exception:  # pylint: disable=broad-except
            traceback.print_exc()
            self._send(500, b"lab web endpoint internal error; see its process.log", [("Connection", "close")])
            self.close_connection = True

    do_POST = do_HEAD = do_PUT = do_DELETE = do_OPTIONS = do_GET

    # -- the request ------------------------------------------------------------------------------------
    def _handle(self, body: bytes, started: float) -> None:
        node = self.server.node
        config = node.config
        local_ip, local_port = self.connection.getsockname()[:2]
        host = self.headers.get("Host") or local_ip
        path, _sep, query = self.path.partition("?")
        if "://" in path:
            path = "/" + path.split("://", 1)[1].partition("/")[2]
        engine = node.engine()
        site = webconfig.match_site(engine, self.server.scheme, local_ip, local_port, host)
        if site is None:
            self._httpsys(400, "Bad Request - Invalid Hostname", "The request hostname is invalid.", "-", "Hostname")
            return
        store = runtime.load(Path(config.node_dir))
        site_kind = ("sites", "serverAutoStart", "site")
        if runtime.state_of(engine, store, site_kind, site.name) == "Stopped":
            self._httpsys(404, "Not Found", "The requested resource is not found.", str(site.id), "NotFound")
            return
        record: dict[str, t.Any] = {"connection": self.conn.id, "site": site.name, "method": self.command,
                                    "url": self.path, "host": host, "scheme": self.server.scheme}
        rewrite = webconfig.rewrite(engine, path, query, self._variables(host, query, local_port))
        if rewrite is not None:
            record["rewrite"] = {"rule": rewrite.rule, "action": rewrite.action, "url": rewrite.url}
            if rewrite.action == "Rewrite" and not rewrite.url.startswith("/"):
                pass      # proxied below, after the front end's own pool and authentication
            elif rewrite.action == "Rewrite":
                path = rewrite.url
                rewrite = None
            else:
                self._rewrite_answer(rewrite, site, host, query, started, record)
                return
        location = webconfig.location_of(site.name, path)
        app_path, pool_name = webconfig.application_for(site, path)
        app_pool = webconfig.pool(engine, pool_name) if pool_name else None
        record.update(location=location, application=app_path, pool=pool_name)
        pool_kind = ("applicationPools", "autoStart", "application pool")
        if app_pool is None or runtime.state_of(engine, store, pool_kind, app_pool.name) != "Started":
            record["why"] = "application pool %s is %s" % (pool_name or "(none)", "missing" if app_pool is None
                                                           else "stopped")
            node.logs.detail(dict(record, status=503))
            self._httpsys(503, "Service Unavailable", "The service is unavailable.", str(site.id), "AppOffline",
                          pool_name or "-")
            return
        worker = node.workers.ensure(app_pool)
        if not worker.ok:
            record["why"] = worker.reason
            node.logs.detail(dict(record, status=503))
            self._httpsys(503, "Service Unavailable", "The service is unavailable.", str(site.id), "AppOffline",
                          app_pool.name)
            return
        settings = webconfig.auth_settings(engine, location)
        key_source = webconfig.acceptor_account(settings, app_pool, config.name)
        worker_key = (app_pool.name.lower(), worker.started)
        if self.conn.worker and self.conn.worker != worker_key:
            self.conn.identity = None        # the worker that authenticated this connection is gone
        outcome = node.auth.authenticate(self.headers.get("Authorization"), self.conn, settings, key_source,
                                         worker_key)
        record.update(outcome.detail)
        record.update(providers=settings.providers, anonymous=settings.anonymous, windows=settings.windows,
                      identity=app_pool.display())
        if not outcome.ok:
            self._iis_response(outcome.status, outcome.substatus, outcome.win32, "", outcome.headers, site,
                               host, query, started, record, _unauthorized(outcome.substatus))
            return
        if rewrite is not None:
            self._proxy(rewrite, body, outcome, site, host, query, started, record)
            return
        user = outcome.user or ""
        page = ("webfarm.winauth lab node %s\nsite: %s\npath: %s\napplication: %s (pool %s, identity %s)\n"
                "user: %s\nauthentication: %s\n" % (
                    config.name, site.name, path, app_path, app_pool.name, app_pool.display(),
                    user or "(anonymous)", outcome.mechanism))
        self._iis_response(200, 0, 0, user, outcome.headers, site, host, query, started,
                           dict(record, user=user, mechanism=outcome.mechanism), page.encode("utf-8"),
                           content_type="text/plain; charset=utf-8")

    def _variables(self, host: str, query: str, port: int) -> t.Callable[[str], str]:
        secure = self.server.scheme == "https"

        def lookup(name: str) -> str:
            upper = name.upper()
            fixed = {"HTTP_HOST": host, "HTTPS": "on" if secure else "off", "SERVER_PORT": str(port),
                     "SERVER_PORT_SECURE": "1" if secure else "0", "QUERY_STRING": query,
                     "REQUEST_URI": self.path, "URL": self.path.split("?", 1)[0], "REQUEST_METHOD": self.command,
                     "REMOTE_ADDR": self.client_address[0], "CACHE_URL": "%s://%s%s" % (
                         self.server.scheme, host, self.path)}
            if upper in fixed:
                return fixed[upper]
            if upper.startswith("HTTP_"):
                return self.headers.get(upper[5:].replace("_", "-")) or ""
            return ""
        return lookup

    def _iis_response(self, status: int, substatus: int, win32: int, user: str, auth_headers: list[str],
                      site: webconfig.Site, host: str, query: str, started: float, record: dict[str, t.Any],
                      body: bytes, content_type: str = "text/html", extra: list[tuple[str, str]] | None = None,
                      reason: str | None = None) -> None:
        node = self.server.node
        headers = [("Content-Type", content_type)]
        headers += [("WWW-Authenticate", value) for value in auth_headers]
        headers += extra or []
        headers += [("X-Powered-By", "ASP.NET"), ("X-Served-By", node.config.name)]
        self._send(status, body, headers, reason=reason)
        self._log(site, host, query, status, substatus, win32, user, started)
        node.logs.detail(dict(record, status=status, substatus=substatus, win32=win32))

    def _log(self, site: webconfig.Site, host: str, query: str, status: int, substatus: int, win32: int, user: str,
             started: float) -> None:
        node = self.server.node
        local_ip, local_port = self.connection.getsockname()[:2]
        node.logs.request({
            "site": site.name, "computer": node.config.name, "s_ip": local_ip, "method": self.command,
            "uri_stem": self.path.split("?", 1)[0], "uri_query": query, "s_port": local_port, "username": user,
            "c_ip": self.client_address[0], "user_agent": self.headers.get("User-Agent"),
            "referer": self.headers.get("Referer"), "host": host, "status": status, "substatus": substatus,
            "win32": win32, "time_taken": int((time.monotonic() - started) * 1000)})

    def _rewrite_answer(self, rewrite: webconfig.RewriteResult, site: webconfig.Site, host: str, query: str,
                        started: float, record: dict[str, t.Any]) -> None:
        if rewrite.action == "AbortRequest":
            self.close_connection = True
            self.server.node.logs.detail(dict(record, status=0, why="aborted by rule %s" % rewrite.rule))
            return
        if rewrite.action == "Redirect":
            self._iis_response(rewrite.status, 0, 0, "", [], site, host, query, started, record, b"",
                               extra=[("Location", rewrite.url)])
            return
        self._iis_response(rewrite.status or 200, rewrite.substatus, 0, "", [], site, host, query, started, record,
                           rewrite.reason.encode("utf-8"), reason=rewrite.reason or None)

    # -- ARR ----------------------------------------------------------------------------------------------


def _unauthorized(substatus: int) -> bytes:
    text = {1: "401.1 - Logon failed.", 2: "401.2 - Logon failed due to server configuration."}.get(
        substatus, "401 - Unauthorized")
    return ("<html><head><title>401 - Unauthorized: Access is denied due to invalid credentials.</title></head>"
            "<body><h1>Server Error</h1><h2>%s</h2></body></html>" % text).encode("utf-8")


def serve(config_path: Path) -> int:
    config = WebConfig.load(config_path)
    node = NodeWeb(config)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.minimum_version = ssl.TLSVersion.TLSv1_2
    tls.load_cert_chain(config.cert, config.key)
    try:
        servers = [WebServer(node, config.http_port, None), WebServer(node, config.https_port, tls)]
    except OSError as exc:
        print("lab web %s: cannot listen on %s: %s" % (config.name, config.address, exc), file=sys.stderr)
        return 2
    (config.web_dir / "web.pid").write_text("%d\n" % os.getpid())
    threads = [threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True) for s in servers]
    stopping = threading.Event()

    def stop(_signum, _frame) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for thread in threads:
        thread.start()
    print("%s lab web %s listening on http://%s:%d and https://%s:%d" % (
        utc_now().isoformat(), config.name, config.address, config.http_port, config.address, config.https_port),
        flush=True)
    stopping.wait()
    for server in servers:
        server.shutdown()
        server.server_close()
    try:
        if (config.web_dir / "web.pid").read_text().strip() == str(os.getpid()):
            (config.web_dir / "web.pid").unlink()
    except OSError:
        pass
    print("%s lab web %s stopped" % (utc_now().isoformat(), config.name), flush=True)
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print("usage: python -m winauth_lab.web WEB_JSON", file=sys.stderr)
        sys.exit(2)
    sys.exit(serve(Path(sys.argv[1])))
