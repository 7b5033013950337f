# Internal to the webfarm.winauth lab.
"""HTTP authentication of a lab node: Basic, NTLM and Kerberos, per TCP connection.

* Basic: the user name and password are checked against the lab's Active
  Directory with an LDAP simple bind over LDAPS (CA validated). Only the fact
  that the bind succeeded is kept; the password is never stored or logged.
* NTLM (``Negotiate``/``NTLM`` header with an ``NTLMSSP`` token): pyspnego's
  acceptor, with the users listed in the file named by ``NTLM_USER_FILE`` and
  TLS channel binding (``tls-server-end-point``) enforced.
* Kerberos (a GSS token, raw krb5 or SPNEGO): pyspnego/GSSAPI acceptor with
  ``KRB5_KTNAME`` pointing at a keytab of the node's computer account, so a
  ticket for any SPN on that account is accepted (HTTP/<fqdn> reaches HOST/<fqdn>
  through the KDC's sPNMappings). The 200 carries the mutual-auth token.

As on Windows, authentication belongs to the TCP connection: once a connection
is authenticated, requests without an Authorization header are accepted on it.

On the HTTP listener (no certificate: ``certificate_der=None``) there are no channel
bindings and, as a Windows host with ``AllowUnencrypted=false`` does, Basic is
neither offered nor accepted; the completed NTLM or Kerberos context stays on the
connection to unwrap and wrap the messages (``winauth_lab.wsmancrypt``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import ssl
from dataclasses import dataclass, field

import gssapi
import gssapi.raw
import spnego
from spnego.channel_bindings import GssChannelBindings
from spnego.exceptions import SpnegoError

OFFERS = ["Negotiate", "Basic realm=\"WSMAN\""]
HTTP_OFFERS = ["Negotiate", "Kerberos"]
_REPLY_SCHEME = {"negotiate": "Negotiate", "ntlm": "NTLM", "kerberos": "Kerberos"}
_SPNEGO_OID = b"\x06\x06\x2b\x06\x01\x05\x05\x02"   # 1.3.6.1.5.5.2 as it opens a SPNEGO InitialContextToken


@dataclass(frozen=True)
class Identity:
    """Who an authenticated connection belongs to."""

    user: str          # DOMAIN\\user as Windows names it, e.g. CAMTEST\\alice
    mechanism: str     # basic | ntlm | kerberos


@dataclass
class ConnectionAuth:
    """Authentication state of one TCP connection."""

    identity: Identity | None = None
    pending: object | None = None           # an unfinished NTLM/SPNEGO acceptor context
    context: object | None = None           # the completed context (wraps and unwraps WinRM messages over HTTP)
    scheme: str = ""                        # the scheme it authenticated with (negotiate, ntlm, kerberos)
    basic_digest: bytes | None = None       # digest of the Basic header that authenticated, to skip re-binding


@dataclass
class Outcome:
    """The result of looking at a request's Authorization header."""

    identity: Identity | None
    headers: list[str] = field(default_factory=list)   # WWW-Authenticate values to send
    failure: str = ""                                  # why it failed, for the node's process log (no secrets)


def tls_server_end_point(certificate_der: bytes) -> GssChannelBindings:
    """RFC 5929 channel bindings for a certificate signed with SHA-256 (the lab CA's)."""
    return GssChannelBindings(application_data=b"tls-server-end-point:" + hashlib.sha256(certificate_der).digest())


class KerberosAcceptor:
    """A raw krb5 GSS acceptor (what pywinrm's Kerberos sends), with GSSAPI's own error messages.

    The acceptor credential is the default one: every key in KRB5_KTNAME, so any SPN of the
    node's computer account is accepted.
    """

    negotiated_protocol = "kerberos"

    def __init__(self, channel_bindings: GssChannelBindings | None) -> None:
        bindings = gssapi.raw.ChannelBindings(application_data=channel_bindings.application_data) \
            if channel_bindings is not None else None
        self._context = gssapi.SecurityContext(usage="accept", channel_bindings=bindings)

    @property
    def complete(self) -> bool:
        return bool(self._context.complete)

    @property
    def client_principal(self) -> str:
        return str(self._context.initiator_name)

    def step(self, token: bytes) -> bytes | None:
        return self._context.step(token)

    def wrap_winrm(self, data: bytes) -> tuple[bytes, bytes, int]:
        """(header, sealed data, padding length) as pykerberos' authGSSWinRMEncryptMessage and pyspnego make them."""
        iov = gssapi.raw.IOV(gssapi.raw.IOVBufferType.header, data, gssapi.raw.IOVBufferType.padding,
                             std_layout=False)
        gssapi.raw.wrap_iov(self._context, iov, confidential=True)
        padding = iov[2].value or b""
        return iov[0].value or b"", (iov[1].value or b"") + padding, len(padding)

    def unwrap_winrm(self, header: bytes, data: bytes) -> bytes:
        iov = gssapi.raw.IOV((gssapi.raw.IOVBufferType.header, False, header), data, gssapi.raw.IOVBufferType.data,
                             std_layout=False)
        gssapi.raw.unwrap_iov(self._context, iov)
        return iov[1].value or b""


class Authenticator:
    """Authenticates requests for one node."""

    def __init__(self, *, realm: str, netbios: str, dc_host: str, ca_cert: str, certificate_der: bytes | None,
                 ldap_timeout: int = 10) -> None:
        self.realm = realm.upper()
        self.netbios = netbios.upper()
        self.dns_domain = realm.lower()
        self.dc_host = dc_host
        self.ca_cert = ca_cert
        self.ldap_timeout = ldap_timeout
        self.channel_bindings = tls_server_end_point(certificate_der) if certificate_der is not None else None
        self.offers = OFFERS if certificate_der is not None else HTTP_OFFERS

    # -- names ----------------------------------------------------------------
    def windows_name(self, principal: str) -> str:
        """``alice@CAMTEST.LOCAL`` or ``camtest.local\\alice`` -> ``CAMTEST\\alice``; foreign names stay as they are."""
        if "\\" in principal:
            domain, user = principal.split("\\", 1)
            if domain.upper() in (self.netbios, self.realm):
                return "%s\\%s" % (self.netbios, user)
            return principal
        user, at, suffix = principal.partition("@")
        if not at:
            return "%s\\%s" % (self.netbios, principal)
        if suffix.upper() == self.realm:
            return "%s\\%s" % (self.netbios, user)
        return principal

    # -- entry point ------------------------------------------------------------
    def authenticate(self, header: str | None, conn: ConnectionAuth) -> Outcome:
        if not header:
            if conn.identity is not None:
                return Outcome(conn.identity)
            return Outcome(None, list(self.offers), "")
        parts = header.strip().split(None, 1)
        scheme, value = parts[0].lower(), parts[1] if len(parts) > 1 else ""
        if scheme == "basic" and self.channel_bindings is None:
            return self._fail(conn, "basic: refused over HTTP (AllowUnencrypted=false), as Windows refuses it")
        if scheme == "basic":
            return self._basic(header, value.strip(), conn)
        if scheme in ("negotiate", "ntlm", "kerberos"):
            return self._token(scheme, value.strip(), conn)
        conn.identity = None
        return Outcome(None, list(self.offers), "unsupported authentication scheme %r" % scheme)

    def _fail(self, conn: ConnectionAuth, why: str) -> Outcome:
        conn.identity = None
        conn.pending = None
        conn.context = None
        conn.basic_digest = None
        return Outcome(None, list(self.offers), why)

    # -- Basic -------------------------------------------------------------------
    def _basic(self, header: str, value: str, conn: ConnectionAuth) -> Outcome:
        digest = hashlib.sha256(header.encode("utf-8", "surrogateescape")).digest()
        if conn.identity is not None and conn.basic_digest == digest:
            return Outcome(conn.identity)
        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, ValueError, UnicodeDecodeError):
            return self._fail(conn, "basic: malformed credentials")
        user, sep, password = decoded.partition(":")
        if not sep or not user or not password:
            # An LDAP simple bind with an empty password is an anonymous bind: never treat it as a login.
            return self._fail(conn, "basic: empty user name or password for %r" % user)
        bind_name = self._bind_name(user)
        if bind_name is None:
            return self._fail(conn, "basic: %r is not an account of the %s domain" % (user, self.netbios))
        error = self._ldap_bind(bind_name, password)
        if error:
            return self._fail(conn, "basic: %s rejected by the directory (%s)" % (bind_name, error))
        conn.identity = Identity(self.windows_name(user), "basic")
        conn.basic_digest = digest
        conn.pending = None
        return Outcome(conn.identity)

    def _bind_name(self, user: str) -> str | None:
        if "\\" in user:
            domain, name = user.split("\\", 1)
            return "%s\\%s" % (self.netbios, name) if domain.upper() in (self.netbios, self.realm) else None
        if "@" in user:
            return user
        return "%s\\%s" % (self.netbios, user)

    def _ldap_bind(self, bind_name: str, password: str) -> str:
        """Simple bind over LDAPS against the lab DC; return '' on success, else the directory's reason."""
        import ldap3  # pylint: disable=import-outside-toplevel  # only Basic needs it

        tls = ldap3.Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=self.ca_cert)
        server = ldap3.Server(self.dc_host, port=636, use_ssl=True, tls=tls, connect_timeout=self.ldap_timeout)
        connection = ldap3.Connection(server, user=bind_name, password=password, authentication=ldap3.SIMPLE,
                                      raise_exceptions=False, receive_timeout=self.ldap_timeout)
        try:
            if connection.bind():
                return ""
            return str(connection.result.get("description") or "bind failed")
        except ldap3.core.exceptions.LDAPException as exc:
            return "the directory could not be reached: %s: %s" % (type(exc).__name__, exc)
        finally:
            connection.unbind()

    # -- NTLM and Kerberos -------------------------------------------------------
    def _token(self, scheme: str, value: str, conn: ConnectionAuth) -> Outcome:
        try:
            token = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            return self._fail(conn, "%s: malformed token" % scheme)
        if not token:
            return self._fail(conn, "%s: empty token" % scheme)
        if token.startswith(b"NTLMSSP\0"):
            message_type = int.from_bytes(token[8:12], "little") if len(token) >= 12 else 0
            if message_type == 1:
                conn.pending = None
            protocol = "ntlm"
        elif token[0] == 0x60 and _SPNEGO_OID in token[:16]:
            protocol = "negotiate"
        elif token[0] == 0x60:
            protocol = "kerberos"
            conn.pending = None
        elif token[0] == 0xA1 and conn.pending is not None:
            protocol = "negotiate"     # a SPNEGO NegTokenResp continuing an exchange
        else:
            return self._fail(conn, "%s: unrecognised token" % scheme)
        context = conn.pending
        try:
            if context is None and protocol == "kerberos":
                context = KerberosAcceptor(self.channel_bindings)
            elif context is None:
                context = spnego.server(protocol=protocol, channel_bindings=self.channel_bindings)
            out = context.step(token)
            # python-gssapi returns an error token and raises the failure on the next access: ask now.
            complete = context.complete
        except (SpnegoError, gssapi.exceptions.GSSError) as exc:
            return self._fail(conn, "%s: %s" % (protocol, exc))
        except Exception as exc:  # pylint: disable=broad-exception-caught  # a bad token must give a 401, not a 500
            return self._fail(conn, "%s: %s: %s" % (protocol, type(exc).__name__, exc))
        reply = ["%s %s" % (_REPLY_SCHEME[scheme], base64.b64encode(out).decode("ascii"))] if out else []
        if not complete:
            conn.pending = context
            conn.identity = None
            return Outcome(None, reply or list(self.offers), "")
        conn.pending = None
        conn.basic_digest = None
        conn.context = context
        conn.scheme = scheme
        mechanism = context.negotiated_protocol or protocol
        conn.identity = Identity(self.windows_name(context.client_principal or "?"), mechanism)
        return Outcome(conn.identity, reply)
