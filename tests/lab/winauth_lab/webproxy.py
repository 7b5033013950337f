# Internal to the webfarm.winauth lab.
"""ARR on a lab node: a request URL Rewrite sent to ``http(s)://<web farm>/...`` proxied to a server of the farm.

A server per request (weighted round robin, or the one the farm's affinity cookie names), backend
connections from the node's pool per server, headers and the ``Authorization``/``WWW-Authenticate``
exchange passed through untouched, Host preserved or not per the farm (see ``web`` for the pipeline).
"""

from __future__ import annotations

import hashlib
import http.client
import typing as t
from urllib.parse import urlsplit

from . import webconfig
from .webauth import AuthOutcome

ERROR_INTERNET_CANNOT_CONNECT = 12029  # ARR could not reach a farm server (502.3)
HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
              "transfer-encoding", "upgrade", "content-length"}


class ArrProxy:
    """The ARR half of the lab's request handler (a mixin of ``web.WebHandler``)."""

    def _proxy(self, rewrite: webconfig.RewriteResult, body: bytes, outcome: AuthOutcome, site: webconfig.Site,
               host: str, query: str, started: float, record: dict[str, t.Any]) -> None:
        node = self.server.node
        engine = node.engine()
        target = urlsplit(rewrite.url)
        if not webconfig.proxy_enabled(engine):
            record["why"] = "URL Rewrite rewrote to %s but ARR's proxy (system.webServer/proxy) is off" % rewrite.url
            self._iis_response(404, 4, 2, outcome.user, [], site, host, query, started, record, b"Not Found")
            return
        farm = webconfig.farm(engine, target.hostname or "")
        scheme = target.scheme.lower()
        cookie = ""
        if farm is not None:
            server = self._affinity(farm) or node.pick(farm)
            if server is None or not farm.enabled:
                record["why"] = "web farm %s has no enabled server" % farm.name
                self._iis_response(503, 0, 0, outcome.user, [], site, host, query, started, record, b"")
                return
            address, port = server.address, server.https_port if scheme == "https" else server.http_port
            preserve, xff, arr_header, keep = (farm.preserve_host_header, farm.x_forwarded_for,
                                               farm.arr_response_header, farm.keep_alive)
            if farm.use_cookie and self._cookie(farm.cookie_name) != _affinity_value(server.address):
                cookie = "%s=%s;Path=/;Domain=%s" % (farm.cookie_name, _affinity_value(server.address),
                                                     host.split(":")[0])
        else:
            address = target.hostname or ""
            port = target.port or (443 if scheme == "https" else 80)
            preserve, xff, arr_header, keep = False, "X-Forwarded-For", True, True
        path = target.path or "/"
        if target.query:
            path += "?" + target.query
        headers = [(k, v) for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP and k.lower() != "host"]
        headers.append(("Host", host if preserve else (address if port in (80, 443) else "%s:%d" % (address, port))))
        headers.append((xff, "%s:%d" % self.client_address[:2]))
        headers.append(("X-Original-URL", self.path))
        headers.append(("X-ARR-LOG-ID", "lab-%d" % self.conn.id))
        record["backend"] = "%s://%s:%d" % (scheme, address, port)
        try:
            response, payload = self._forward(scheme, address, port, path, headers, body, keep)
        except (OSError, http.client.HTTPException) as exc:
            record["why"] = "ARR could not reach %s:%d: %s" % (address, port, exc)
            self._iis_response(502, 3, ERROR_INTERNET_CANNOT_CONNECT, outcome.user, [], site, host, query, started,
                               record, b"502.3 Bad Gateway")
            return
        relayed = [(k, v) for k, v in response.getheaders() if k.lower() not in HOP_BY_HOP
                   and k.lower() not in ("server", "date")]
        if cookie:
            relayed.append(("Set-Cookie", cookie))
        if arr_header:
            relayed.append(("X-Powered-By", "ARR/3.0"))
        self._send(response.status, payload, relayed, reason=response.reason)
        self._log(site, host, query, response.status, 0, 0, outcome.user, started)
        node.logs.detail(dict(record, status=response.status, served_by=response.getheader("X-Served-By")))

    def _cookie(self, name: str) -> str:
        for header in self.headers.get_all("Cookie") or []:
            for part in header.split(";"):
                key, _sep, value = part.strip().partition("=")
                if key == name:
                    return value
        return ""

    def _affinity(self, farm: webconfig.Farm) -> webconfig.FarmServer | None:
        """The server the client's affinity cookie names, when the farm uses client affinity."""
        if not farm.use_cookie:
            return None
        wanted = self._cookie(farm.cookie_name)
        for server in farm.servers:
            if server.enabled and wanted and _affinity_value(server.address) == wanted:
                return server
        return None

    def _forward(self, scheme: str, address: str, port: int, path: str, headers: list[tuple[str, str]],
                 body: bytes, keep: bool) -> tuple[http.client.HTTPResponse, bytes]:
        node = self.server.node
        for attempt in (1, 2):
            key, connection = node.backend_connection(scheme, address, port)
            try:
                connection.putrequest(self.command, path, skip_host=True, skip_accept_encoding=True)
                for name, value in headers:
                    connection.putheader(name, value)
                connection.putheader("Content-Length", str(len(body)))
                if not keep:
                    connection.putheader("Connection", "close")
                connection.endheaders(body)
                response = connection.getresponse()
                payload = response.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                connection.close()      # a pooled connection the server had closed: try a fresh one
                if attempt == 2:
                    raise
                continue
            except BaseException:
                connection.close()
                raise
            node.release(key, connection, keep and not response.will_close)
            return response, payload
        raise OSError("unreachable")


def _affinity_value(address: str) -> str:
    """ARR's affinity cookie value names the server by a hash."""
    return hashlib.sha256(address.lower().encode("utf-8")).hexdigest()
