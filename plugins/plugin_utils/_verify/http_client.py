# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""An HTTP Negotiate client for the controller (negotiate_probe): one TCP connection per attempt.

It behaves like a domain-joined browser: an anonymous request first; on a 401 that offers
``Negotiate``, a Kerberos service ticket for ``HTTP/<host>`` inside SPNEGO (mutual authentication
requested, TLS channel bindings sent over HTTPS), falling back to NTLM (sent as ``Negotiate
<NTLMSSP>``, as Windows does) only when the KDC gives no ticket and a password is available; on
a 401 that offers only ``NTLM``, NTLM. Each leg's tokens are kept as parsed summaries
(``tokens.parse_token``); the tokens themselves are never kept or returned.

Credentials come from the collection's one factory (``_windows.credentials``): the controller's
credential cache (``KRB5CCNAME`` or ``ccache``), a keytab with ``principal``, or
``username``/``password`` (a ticket is requested into memory; nothing is written to disk).
Needs ``gssapi`` (Kerberos) and ``pyspnego`` (NTLM).
"""

from __future__ import annotations

import base64
import http.client
import socket
import ssl
import time
import typing as t
from dataclasses import dataclass

from ansible_collections.webfarm.winauth.plugins.module_utils._windows.credentials import (
    Credential,
    CredentialError,
    tls_server_end_point,
)
from ansible_collections.webfarm.winauth.plugins.module_utils._windows.errors import InvalidInput
from ansible_collections.webfarm.winauth.plugins.plugin_utils._verify.negotiate import Exchange, spn_for
from ansible_collections.webfarm.winauth.plugins.plugin_utils._verify.tokens import (
    Token,
    TokenError,
    parse_challenges,
    parse_token,
)

try:
    import gssapi
    import gssapi.raw
    HAS_GSSAPI = True
except ImportError:  # pragma: no cover - reported by the action plugin
    HAS_GSSAPI = False

try:
    import spnego
    HAS_SPNEGO = True
except ImportError:  # pragma: no cover
    HAS_SPNEGO = False

SPNEGO_OID = "1.3.6.1.5.5.2"
MAX_LEGS = 4


class ProbeError(InvalidInput):
    """A problem with the probe's own setup (credentials, options): the task fails with this message."""


def probe_credential(username: str | None = None, password: str | None = None, principal: str | None = None,
                     keytab: str | None = None, ccache: str | None = None) -> Credential:
    """The probe's credential: a password (Kerberos, with NTLM to fall back to), a keytab, or a credential cache."""
    if password is not None:
        return Credential("kerberos", username=username, password=password)
    if keytab:
        if not principal:
            raise ProbeError("keytab needs principal: the client principal whose key the keytab holds")
        return Credential("kerberos", username=principal, keytab=keytab)
    return Credential("kerberos", username=principal, ccache=ccache)


def kerberos_credentials(credential: Credential) -> t.Any:
    """GSSAPI initiator credentials of the probe's credential, acquired once; ProbeError with a readable reason."""
    if not HAS_GSSAPI:
        raise ProbeError("the Python package gssapi is needed for Kerberos (pip install gssapi)")
    try:
        return credential.gssapi()
    except CredentialError as exc:
        raise ProbeError("cannot get a Kerberos ticket for %s: %s" % (credential.username, exc)) from None
    except gssapi.exceptions.GSSError as exc:
        raise ProbeError("cannot get Kerberos credentials for %s: %s" % (
            credential.username or "the credential cache", gss_message(exc))) from None


def gss_message(exc: Exception) -> str:
    """The minor (mechanism) message of a GSSAPI error, which names the real problem."""
    try:
        text = exc.gen_message()  # type: ignore[attr-defined]
    except Exception:  # pylint: disable=broad-except
        text = str(exc)
    text = " ".join(str(text).split())
    if "Minor (" in text:
        minor = text.split("Minor (", 1)[1].split("):", 1)[-1].strip()
        if minor:
            return minor
    return text


@dataclass
class Target:
    url: str
    scheme: str
    host: str
    port: int
    path: str
    connect_host: str
    connect_port: int


@dataclass
class ProbeOptions:
    target: Target
    credential: Credential
    method: str = "GET"
    service: str = "HTTP"
    spn: str | None = None
    include_port: bool = False
    mechanisms: tuple[str, ...] = ("kerberos", "ntlm")
    validate_certs: bool = True
    ca_path: str | None = None
    timeout: float = 10.0
    backend_header: str = "X-Served-By"
    channel_binding: bool = True
    user_agent: str = "webfarm.winauth negotiate_probe"


class Attempt:
    """One TCP connection: an anonymous request, then the Negotiate/NTLM legs."""

    def __init__(self, options: ProbeOptions) -> None:
        self.options = options
        self.exchange = Exchange()
        self.connection: http.client.HTTPConnection | None = None
        self.peer_certificate: bytes | None = None
        self.cookies: dict[str, str] = {}      # kept for the attempt, as a browser would (ARR's affinity cookie)

    def _connect(self) -> http.client.HTTPConnection:
        target = self.options.target
        if target.scheme == "https":
            if self.options.validate_certs:
                context = ssl.create_default_context(cafile=self.options.ca_path)
            else:
                context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            connection: http.client.HTTPConnection = _SniHTTPSConnection(
                target.connect_host, target.connect_port, target.host, timeout=self.options.timeout, context=context)
        else:
            connection = http.client.HTTPConnection(target.connect_host, target.connect_port,
                                                    timeout=self.options.timeout)
        connection.connect()
        sock = connection.sock
        if isinstance(sock, ssl.SSLSocket):
            self.peer_certificate = sock.getpeercert(binary_form=True)
        return connection

    def _request(self, authorization: str | None) -> http.client.HTTPResponse:
        connection = self.connection
        if connection is None:
            raise ProbeError("not connected")
        target = self.options.target
        host = target.host if target.port in (80, 443) else "%s:%d" % (target.host, target.port)
        headers = {"Host": host, "User-Agent": self.options.user_agent, "Accept": "*/*"}
        if authorization:
            headers["Authorization"] = authorization
        if self.cookies:
            headers["Cookie"] = "; ".join("%s=%s" % item for item in self.cookies.items())
        connection.request(self.options.method, target.path, headers=headers)
        response = connection.getresponse()
        response.read()
        for value in response.headers.get_all("Set-Cookie") or []:
            name, sep, rest = value.split(";", 1)[0].strip().partition("=")
            if sep and name:
                self.cookies[name] = rest
        self.exchange.statuses.append(response.status)
        self.exchange.backend = response.getheader(self.options.backend_header) or self.exchange.backend
        self.exchange.server = response.getheader("Server") or self.exchange.server
        return response

    def run(self) -> Exchange:
        try:
            self.connection = self._connect()
            response = self._request(None)
            if response.status == 401:
                self._authenticate(response)
        except ProbeError:
            raise
        except ssl.SSLCertVerificationError as exc:
            self.exchange.error = "TLS: the server's certificate is not trusted (%s); give ca_path or fix the " \
                                  "certificate" % exc.verify_message
        except (OSError, http.client.HTTPException) as exc:
            self.exchange.error = "%s: %s" % (type(exc).__name__, exc)
        finally:
            if self.connection is not None:
                self.connection.close()
        return self.exchange

    # -- authentication ---------------------------------------------------------------------------------
    def _offers(self, response: http.client.HTTPResponse) -> list[tuple[str, str]]:
        return parse_challenges(response.headers.get_all("WWW-Authenticate") or [])

    def _authenticate(self, response: http.client.HTTPResponse) -> None:
        offers = self._offers(response)
        self.exchange.offered = [scheme for scheme, _data in offers]
        schemes = {scheme.lower() for scheme, _data in offers}
        options = self.options
        target = options.target
        self.exchange.spn = options.spn or spn_for(target.host, options.service,
                                                   target.port if options.include_port else None)
        if "negotiate" in schemes and "kerberos" in options.mechanisms:
            started = self._kerberos_context()
            if started is not None:
                self._kerberos_legs(*started)
                return
            if "ntlm" in options.mechanisms and self._can_ntlm():
                self._ntlm_legs("Negotiate")
            return
        if "ntlm" in options.mechanisms and ("ntlm" in schemes or "negotiate" in schemes):
            if self._can_ntlm():
                self._ntlm_legs("NTLM" if "ntlm" in schemes else "Negotiate")

    def _can_ntlm(self) -> bool:
        return bool(self.options.credential.username and self.options.credential.password)

    def _channel_bindings(self) -> bytes | None:
        if not self.options.channel_binding:
            return None
        return tls_server_end_point(self.peer_certificate)

    def _kerberos_context(self) -> tuple[t.Any, bytes] | None:
        """A Kerberos-in-SPNEGO initiator for the SPN and its first token, or None (the reason: kerberos_error)."""
        try:
            creds = kerberos_credentials(self.options.credential)
            service, _sep, host = self.exchange.spn.partition("/")
            name = gssapi.Name("%s@%s" % (service, host), gssapi.NameType.hostbased_service)
            bindings = self._channel_bindings()
            kwargs: dict[str, t.Any] = {}
            if bindings is not None:
                kwargs["channel_bindings"] = gssapi.raw.ChannelBindings(application_data=bindings)
            context = gssapi.SecurityContext(
                name=name, creds=creds, usage="initiate", mech=gssapi.OID.from_int_seq(SPNEGO_OID),
                flags=gssapi.RequirementFlag.mutual_authentication | gssapi.RequirementFlag.out_of_sequence_detection,
                **kwargs)
            return context, context.step()
        except ProbeError:
            raise
        except gssapi.exceptions.GSSError as exc:
            self.exchange.kerberos_error = gss_message(exc)
            return None

    def _send(self, scheme: str, token: bytes) -> http.client.HTTPResponse:
        self.exchange.scheme = scheme
        self.exchange.client_tokens.append(_parsed(token))
        return self._request("%s %s" % (scheme, base64.b64encode(token).decode("ascii")))

    def _server_token(self, response: http.client.HTTPResponse, scheme: str) -> bytes | None:
        for offered, data in self._offers(response):
            if offered.lower() == scheme.lower() and data:
                try:
                    token = base64.b64decode(data, validate=True)
                except ValueError:
                    continue
                self.exchange.server_tokens.append(_parsed(token))
                return token
        return None

    def _kerberos_legs(self, context: t.Any, token: bytes) -> None:
        for _leg in range(MAX_LEGS):
            response = self._send("Negotiate", token)
            reply = self._server_token(response, "Negotiate")
            if response.status == 401 and reply is None:
                return
            if reply is None:
                self.exchange.mutual = False if response.status < 400 else None
                return
            try:
                token = context.step(reply)
                complete = context.complete      # python-gssapi raises a failed step's error here
            except gssapi.exceptions.GSSError:
                # A KRB-ERROR from the server (kept, parsed, in server_tokens) or a mutual authentication failure.
                if response.status < 400:
                    self.exchange.mutual = False
                return
            if complete:
                self.exchange.mutual = response.status < 400
                if response.status == 401 and token:
                    continue
                return
            if response.status != 401 or not token:
                return

    def _ntlm_legs(self, scheme: str) -> None:
        if not HAS_SPNEGO:
            raise ProbeError("the Python package pyspnego is needed for NTLM (pip install pyspnego)")
        credential = self.options.credential
        bindings = self._channel_bindings()
        kwargs: dict[str, t.Any] = {}
        if bindings is not None:
            from spnego.channel_bindings import GssChannelBindings  # pylint: disable=import-outside-toplevel
            kwargs["channel_bindings"] = GssChannelBindings(application_data=bindings)
        context = spnego.client(credential.spnego("ntlm"), hostname=self.options.target.host,
                                service=self.options.service, protocol="ntlm", **kwargs)
        token = context.step()
        for _leg in range(MAX_LEGS):
            response = self._send(scheme, token)
            reply = self._server_token(response, scheme)
            if response.status != 401 or reply is None:
                return
            token = context.step(reply)
            if not token:
                return


def _parsed(token: bytes) -> t.Any:
    try:
        return parse_token(token)
    except TokenError as exc:
        return Token("unknown", error_text=str(exc))


class _SniHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to connect_host:port, with the URL's host name for SNI and certificate checks (like curl --resolve)."""

    def __init__(self, host: str, port: int, server_name: str, **kwargs: t.Any) -> None:
        super().__init__(host, port, **kwargs)
        self._server_name = server_name

    def connect(self) -> None:
        sock = socket.create_connection((self.host, self.port), self.timeout, self.source_address)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = self._context.wrap_socket(sock, server_hostname=self._server_name)  # type: ignore[attr-defined]


def probe(options: ProbeOptions, count: int = 1, pause: float = 0.0) -> list[tuple[Exchange, float]]:
    """``count`` attempts, each on a new TCP connection: (exchange, seconds) for each."""
    results = []
    for index in range(count):
        started = time.monotonic()
        exchange = Attempt(options).run()
        results.append((exchange, time.monotonic() - started))
        if pause and index + 1 < count:
            time.sleep(pause)
    return results
