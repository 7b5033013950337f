# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""The one connection factory of the directory plane.

It implements exactly the options of the ``webfarm.winauth.ad`` doc fragment:
find a DC, open LDAP with the requested TLS mode, bind with the requested
mechanism, read what every module needs from the rootDSE and the domain object,
and turn every failure into one actionable line (:class:`ADError`).
"""

from __future__ import annotations

import importlib.util
import os
import socket
import ssl
import typing as t
from dataclasses import dataclass, field

from ansible.module_utils.basic import env_fallback

from ansible_collections.webfarm.winauth.plugins.module_utils._ad_sasl import (
    SaslBindError,
    run_sasl_exchange,
    tls_channel_bindings,
)

try:
    import ldap3
    from ldap3.core import exceptions as ldap3_exceptions
    from ldap3.operation.bind import bind_operation
    from ldap3.protocol.formatters.formatters import format_sid
    from ldap3.utils.conv import escape_filter_chars
except ImportError:  # pragma: no cover - reported by require_libraries()
    ldap3 = None  # type: ignore[assignment]
    escape_filter_chars = None  # type: ignore[assignment]

AD_AUTH_CHOICES = ("kerberos", "simple", "ntlm")
AD_TLS_CHOICES = ("ldaps", "starttls", "none")

# The argument spec every module of the ``ad`` action group merges into its own.
AD_CONNECTION_ARGSPEC: dict[str, dict[str, t.Any]] = {
    "server": {"type": "str", "fallback": (env_fallback, ["WINAUTH_AD_SERVER"])},
    "port": {"type": "int", "fallback": (env_fallback, ["WINAUTH_AD_PORT"])},
    "domain": {"type": "str", "fallback": (env_fallback, ["WINAUTH_AD_DOMAIN"])},
    "username": {"type": "str", "fallback": (env_fallback, ["WINAUTH_AD_USERNAME"])},
    "password": {"type": "str", "no_log": True, "fallback": (env_fallback, ["WINAUTH_AD_PASSWORD"])},
    "keytab": {"type": "path", "fallback": (env_fallback, ["WINAUTH_AD_KEYTAB"])},
    "auth": {"type": "str", "default": "kerberos", "choices": list(AD_AUTH_CHOICES),
             "fallback": (env_fallback, ["WINAUTH_AD_AUTH"])},
    "tls": {"type": "str", "default": "ldaps", "choices": list(AD_TLS_CHOICES),
            "fallback": (env_fallback, ["WINAUTH_AD_TLS"])},
    "validate_certs": {"type": "bool", "default": True, "fallback": (env_fallback, ["WINAUTH_AD_VALIDATE_CERTS"])},
    "ca_cert": {"type": "path", "fallback": (env_fallback, ["WINAUTH_AD_CA_CERT"])},
    "connect_timeout": {"type": "int", "default": 10, "fallback": (env_fallback, ["WINAUTH_AD_CONNECT_TIMEOUT"])},
}

# LDAP result codes (RFC 4511) the messages below explain.
_RESULT_STRONGER_AUTH_REQUIRED = 8
_RESULT_INVALID_CREDENTIALS = 49
_RESULT_INSUFFICIENT_ACCESS = 50
_RESULT_UNWILLING = 53

# The sub-codes AD puts in "data XXX" of an invalidCredentials bind.
_AD_BIND_SUBCODES = {
    "525": "the user does not exist",
    "52e": "the username or password is wrong",
    "530": "the account may not log on at this time",
    "531": "the account may not log on from this workstation",
    "532": "the password has expired",
    "533": "the account is disabled",
    "701": "the account has expired",
    "773": "the password must be changed before the first logon",
    "775": "the account is locked out",
}


class ADError(Exception):
    """A directory failure explained in one actionable line."""


@dataclass
class ADConnectionOptions:
    """The validated connection options (see the ``ad`` doc fragment)."""

    server: str | None = None
    port: int | None = None
    domain: str | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    keytab: str | None = None
    auth: str = "kerberos"
    tls: str = "ldaps"
    validate_certs: bool = True
    ca_cert: str | None = None
    connect_timeout: int = 10

    @classmethod
    def from_params(cls, params: dict[str, t.Any]) -> "ADConnectionOptions":
        return cls(**{name: params.get(name) for name in AD_CONNECTION_ARGSPEC if params.get(name) is not None})

    def validate(self) -> None:
        """Refuse combinations that cannot work, before any network traffic."""
        if self.auth not in AD_AUTH_CHOICES:
            raise ADError("auth=%r is not one of %s" % (self.auth, ", ".join(AD_AUTH_CHOICES)))
        if self.tls not in AD_TLS_CHOICES:
            raise ADError("tls=%r is not one of %s" % (self.tls, ", ".join(AD_TLS_CHOICES)))
        if self.tls == "none" and self.auth in ("simple", "ntlm"):
            raise ADError("auth=%s with tls=none is refused: it would send the password (simple) or an unsigned, "
                          "unprotected session (ntlm) in clear text; use tls=ldaps or tls=starttls" % self.auth)
        if self.auth in ("simple", "ntlm") and (not self.username or self.password is None):
            raise ADError("auth=%s needs username and password (set them, or WINAUTH_AD_USERNAME and "
                          "WINAUTH_AD_PASSWORD)" % self.auth)
        if self.auth == "ntlm" and "\\" not in self.username and "@" not in self.username:
            raise ADError("auth=ntlm needs username as DOMAIN\\user or user@domain, not %r" % self.username)
        if self.keytab and self.auth != "kerberos":
            raise ADError("keytab=%s only applies to auth=kerberos (auth is %s)" % (self.keytab, self.auth))
        if self.keytab and self.password is not None:
            raise ADError("set either password or keytab for the Kerberos principal, not both")
        if self.keytab and not self.username:
            raise ADError("keytab=%s needs username: the principal whose key the keytab holds" % self.keytab)
        if self.keytab and not os.path.isfile(self.keytab):
            raise ADError("keytab=%s does not exist or is not a file" % self.keytab)
        if self.ca_cert and not os.path.isfile(self.ca_cert):
            raise ADError("ca_cert=%s does not exist or is not a file; give the PEM file of the CA that issued the "
                          "DC certificates" % self.ca_cert)
        if self.port is not None and not 0 < self.port < 65536:
            raise ADError("port=%s is not a TCP port (1-65535)" % self.port)

    @property
    def effective_port(self) -> int:
        return self.port or (636 if self.tls == "ldaps" else 389)

    @property
    def gc_port(self) -> int:
        return 3269 if self.tls == "ldaps" else 3268


@dataclass
class DirectoryInfo:
    """What a module needs to know about the domain it is bound to."""

    dc_hostname: str
    server: str
    port: int
    default_naming_context: str
    configuration_naming_context: str
    schema_naming_context: str
    root_domain_naming_context: str
    dns_domain: str
    domain_functionality: int | None
    forest_functionality: int | None
    dc_functionality: int | None
    global_catalog_ready: bool
    bound_as: str | None = None


def require_libraries() -> str | None:
    """Return the name of a missing Python library, or None when all are present."""
    if ldap3 is None:
        return "ldap3"
    # Only look: importing pyspnego costs time that simple binds never need.
    if importlib.util.find_spec("spnego") is None:
        return "pyspnego"
    return None


def dn_to_dns_domain(dn: str) -> str:
    """``DC=camtest,DC=local`` -> ``camtest.local``."""
    return ".".join(rdn.split("=", 1)[1] for rdn in dn.split(",") if rdn.strip().upper().startswith("DC="))


# --------------------------------------------------------------------------- discovery

def _realm_from_ccache() -> str | None:
    try:
        import gssapi  # pylint: disable=import-outside-toplevel

        name = gssapi.Credentials(usage="initiate").name
        principal = str(name)
    except Exception:  # pylint: disable=broad-except
        return None
    return principal.rsplit("@", 1)[1] if "@" in principal else None


def discovery_domain(options: ADConnectionOptions) -> str | None:
    if options.domain:
        return options.domain
    if options.username and "@" in options.username:
        return options.username.rsplit("@", 1)[1]
    if options.auth == "kerberos":
        return _realm_from_ccache()
    return None


def order_srv_records(records: t.Iterable[tuple[int, int, int, str]]) -> list[tuple[str, int]]:
    """Order SRV answers (priority, weight, port, target) as RFC 2782 clients should.

    Lowest priority first; within a priority, heavier weights first (a
    deterministic stand-in for the weighted random pick, so runs are repeatable).
    """
    ordered = sorted(records, key=lambda r: (r[0], -r[1], r[3]))
    return [(target.rstrip("."), port) for _prio, _weight, port, target in ordered]


def discover_servers(domain: str) -> list[str]:
    """Candidate DCs for a domain: SRV records first, then the domain's own address records."""
    candidates: list[str] = []
    try:
        import dns.resolver  # pylint: disable=import-outside-toplevel

        answers = dns.resolver.resolve("_ldap._tcp.dc._msdcs.%s" % domain, "SRV", lifetime=5)
        candidates = [host for host, _port in order_srv_records(
            (r.priority, r.weight, r.port, str(r.target)) for r in answers)]
    except Exception:  # pylint: disable=broad-except
        candidates = []
    if not candidates:
        try:
            socket.getaddrinfo(domain, None)
            candidates = [domain]
        except socket.gaierror:
            pass
    if not candidates:
        raise ADError("no domain controller found for %s: DNS has neither the SRV record _ldap._tcp.dc._msdcs.%s nor "
                      "an address for %s; set server (or WINAUTH_AD_SERVER) to a DC's name" % (domain, domain, domain))
    return candidates


# --------------------------------------------------------------------------- errors

def explain_ldap_result(result: dict | None, action: str, options: ADConnectionOptions | None = None) -> str:
    """One line for a failed LDAP result (bind, search or modify)."""
    if not result:
        return "%s failed with no answer from the DC" % action
    code = result.get("result")
    message = (result.get("message") or "").strip()
    who = (options.username if options and options.username else "the current Kerberos principal")
    if code == _RESULT_INVALID_CREDENTIALS:
        sub = ""
        lowered = message.lower()
        for key, meaning in _AD_BIND_SUBCODES.items():
            if "data %s" % key in lowered:
                sub = meaning
        return "%s: the DC rejected the credentials of %s (%s); check username and password" % (
            action, who, sub or "invalid credentials")
    if code == _RESULT_STRONGER_AUTH_REQUIRED:
        return ("%s: the DC requires stronger authentication (LDAP signing or TLS): use tls=ldaps or tls=starttls "
                "(with auth=kerberos, simple or ntlm); DC said: %s" % (action, message or "strongerAuthRequired"))
    if code == _RESULT_INSUFFICIENT_ACCESS:
        return "%s: insufficient access rights for %s; grant the right or use another account (DC said: %s)" % (
            action, who, message or "insufficientAccessRights")
    if code == _RESULT_UNWILLING:
        return "%s: the DC is unwilling to perform it: %s" % (action, message or "unwillingToPerform")
    return "%s failed: %s (%s) %s" % (action, result.get("description"), code, message)


def _explain_socket_error(exc: Exception, server: str, port: int, options: ADConnectionOptions) -> str:
    text = str(exc)
    lowered = text.lower()
    if "certificate verify failed" in lowered or "certificate_verify_failed" in lowered or \
            "hostname mismatch" in lowered or "doesn't match" in lowered:
        hint = ("pass ca_cert with the PEM file of the CA that issued the DC certificate"
                if not options.ca_cert else "check that ca_cert=%s issued the DC certificate" % options.ca_cert)
        return ("TLS certificate validation failed for %s:%s (%s): %s, connect by the name in the certificate, or "
                "(labs only) set validate_certs=false" % (server, port, _short_tls_reason(text), hint))
    if "name or service not known" in lowered or "nodename nor servname" in lowered or "gaierror" in lowered \
            or "no address associated" in lowered or "temporary failure in name resolution" in lowered:
        return "DNS name not found: %s does not resolve; check server (or WINAUTH_AD_SERVER) or the controller's DNS" % (
            server)
    if "refused" in lowered or "timed out" in lowered or "unreachable" in lowered or "no route" in lowered:
        return ("cannot reach the DC at %s:%s (%s): check server, port and that %s is allowed through firewalls"
                % (server, port, "connection refused" if "refused" in lowered else "no answer", _port_name(port)))
    if "wrong version number" in lowered or "unexpected eof" in lowered or "eof occurred" in lowered:
        return ("TLS handshake with %s:%s failed (%s): is that port speaking LDAPS? use tls=starttls for port 389"
                % (server, port, _short_tls_reason(text)))
    return "cannot open LDAP to %s:%s: %s" % (server, port, text)


def _short_tls_reason(text: str) -> str:
    for marker in ("certificate verify failed: ", "CERTIFICATE_VERIFY_FAILED] "):
        if marker in text:
            return text.split(marker, 1)[1].split(")", 1)[0].split("'", 1)[0].strip()
    return text.split(" - ")[-1][:160]


def _port_name(port: int) -> str:
    return {636: "LDAPS (636/tcp)", 389: "LDAP (389/tcp)", 3268: "Global Catalog (3268/tcp)",
            3269: "Global Catalog over TLS (3269/tcp)"}.get(port, "%d/tcp" % port)


def _explain_kerberos_error(exc: Exception, options: ADConnectionOptions, target: str) -> str:
    text = str(exc)
    lowered = text.lower()
    who = options.username or "the principal in the credential cache"
    if "preauthentication failed" in lowered or "password incorrect" in lowered or "decrypt integrity" in lowered:
        return "Kerberos: the KDC rejected the password of %s; check username and password" % who
    if "client not found" in lowered or "not found in kerberos database" in lowered and "client" in lowered:
        return "Kerberos: the KDC does not know the principal %s; check username (user@REALM)" % who
    if "server not found" in lowered:
        return ("Kerberos: the KDC has no service principal %s: connect to the DC by its DNS name, or check the "
                "realm mapping in krb5.conf" % target)
    if "no credentials" in lowered or "credentials cache" in lowered and ("not found" in lowered or
                                                                          "no such file" in lowered):
        return ("Kerberos: no credentials: run kinit (or set KRB5CCNAME), or give username with password or keytab")
    if "cannot find kdc" in lowered or "cannot contact any kdc" in lowered or "unable to reach any kdc" in lowered:
        return "Kerberos: cannot reach a KDC for the realm of %s; check krb5.conf (KRB5_CONFIG) and DNS" % who
    if "clock skew" in lowered:
        return "Kerberos: the controller's clock differs from the DC's by more than the allowed skew; fix NTP"
    if "expired" in lowered:
        return "Kerberos: the ticket in the credential cache has expired; run kinit again"
    return "Kerberos authentication for %s failed: %s" % (target, text.splitlines()[0] if text else type(exc).__name__)


# --------------------------------------------------------------------------- the connection

class _SpnegoConnection(ldap3.Connection if ldap3 else object):  # type: ignore[misc]
    """An ldap3 Connection whose SASL bind is driven by pyspnego (see _ad_sasl)."""

    winauth_context: t.Any = None
    winauth_mechanism: str = "GSSAPI"

    def do_sasl_bind(self, controls):  # noqa: D401 - ldap3 hook
        def send(mechanism: str, payload: bytes) -> dict:
            request = bind_operation(self.version, "SASL", None, None, mechanism, payload)
            response = self.post_send_single_response(self.send("bindRequest", request, controls))
            result = self.result if self.strategy.sync else self.get_response(response)[1]
            return result

        with self.connection_lock:
            self.sasl_in_progress = True
            try:
                return run_sasl_exchange(send, self.winauth_mechanism, self.winauth_context)
            finally:
                self.sasl_in_progress = False


class ADConnection:
    """An authenticated LDAP connection to one DC plus what was read about the domain."""

    def __init__(self, options: ADConnectionOptions, conn: t.Any, info: DirectoryInfo) -> None:
        self.options = options
        self.conn = conn
        self.info = info

    # -- context manager -------------------------------------------------
    def __enter__(self) -> "ADConnection":
        return self

    def __exit__(self, *exc_info: t.Any) -> None:
        self.close()

    def close(self) -> None:
        try:
            self.conn.unbind()
        except Exception:  # pylint: disable=broad-except
            pass

    # -- reads -----------------------------------------------------------
    def search(self, base: str, ldap_filter: str, attributes: t.Sequence[str], scope: str = "SUBTREE",
               controls: t.Any = None, size_limit: int = 0) -> list[dict[str, t.Any]]:
        """Search and return ``[{'dn': ..., 'attributes': {...}}]``; raise ADError on failure."""
        scope_value = {"BASE": ldap3.BASE, "LEVEL": ldap3.LEVEL, "SUBTREE": ldap3.SUBTREE}[scope]
        try:
            entries = list(self.conn.extend.standard.paged_search(
                base, ldap_filter, search_scope=scope_value, attributes=list(attributes), controls=controls,
                paged_size=500, generator=True, size_limit=size_limit))
        except ldap3_exceptions.LDAPNoSuchObjectResult as exc:
            raise ADError("search under %s failed: the object does not exist (%s)" % (base, exc)) from exc
        except ldap3_exceptions.LDAPOperationResult as exc:
            raise ADError(explain_ldap_result(exc.__dict__ if hasattr(exc, "result") else None,
                                              "search under %s" % base, self.options)) from exc
        if self.conn.result and self.conn.result.get("result") not in (0, None) \
                and self.conn.result.get("result") != 32:
            raise ADError(explain_ldap_result(self.conn.result, "search under %s" % base, self.options))
        return [{"dn": e["dn"], "attributes": dict(e.get("attributes", {}))}
                for e in entries if e.get("type") == "searchResEntry"]

    def read_entry(self, dn: str, attributes: t.Sequence[str]) -> dict[str, t.Any] | None:
        """Read one object by DN; None when it does not exist."""
        ok = self.conn.search(dn, "(objectClass=*)", search_scope=ldap3.BASE, attributes=list(attributes))
        if not ok:
            if self.conn.result.get("result") == 32:
                return None
            raise ADError(explain_ldap_result(self.conn.result, "reading %s" % dn, self.options))
        entry = self.conn.response[0]
        return {"dn": entry["dn"], "attributes": dict(entry["attributes"])}

    def global_catalog(self) -> "ADConnection":
        """A second connection, same credentials, to the Global Catalog port of the same DC."""
        gc_options = ADConnectionOptions(**{**self.options.__dict__, "server": self.info.server,
                                            "port": self.options.gc_port})
        return _open(gc_options, self.info.server)

    def domain_sid(self) -> str:
        entry = self.read_entry(self.info.default_naming_context, ["objectSid"])
        if not entry:
            raise ADError("cannot read the domain object %s" % self.info.default_naming_context)
        return _sid_string(entry["attributes"]["objectSid"])


def _sid_string(value: t.Any) -> str:
    value = _first(value)
    if isinstance(value, (bytes, bytearray)):
        return format_sid(bytes(value))
    return str(value)


def _tls_object(options: ADConnectionOptions) -> t.Any:
    if options.validate_certs:
        return ldap3.Tls(validate=ssl.CERT_REQUIRED, version=ssl.PROTOCOL_TLS_CLIENT, ca_certs_file=options.ca_cert)
    return ldap3.Tls(validate=ssl.CERT_NONE, version=ssl.PROTOCOL_TLS_CLIENT)


def _read_root_dse(conn: t.Any, server: str, port: int, options: ADConnectionOptions) -> dict[str, t.Any]:
    attrs = ["dnsHostName", "defaultNamingContext", "configurationNamingContext", "schemaNamingContext",
             "rootDomainNamingContext", "domainFunctionality", "forestFunctionality",
             "domainControllerFunctionality", "isGlobalCatalogReady", "supportedSASLMechanisms"]
    if not conn.search("", "(objectClass=*)", search_scope=ldap3.BASE, attributes=attrs):
        raise ADError("%s:%s answered but its rootDSE could not be read (%s); is it an Active Directory DC?"
                      % (server, port, conn.result.get("description")))
    return dict(conn.response[0]["attributes"])


def _first(value: t.Any) -> t.Any:
    if isinstance(value, list):
        return value[0] if value else None
    return value


def _int_or_none(value: t.Any) -> int | None:
    value = _first(value)
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _spnego_context(options: ADConnectionOptions, hostname: str, channel_bindings: t.Any) -> t.Any:
    import spnego  # pylint: disable=import-outside-toplevel

    # Inside TLS the DC refuses SASL signing or sealing ("Sign or Seal are not
    # allowed if TLS is used"), so ask for them only on a clear-text connection,
    # where a DC that requires signing will refuse us anyway (strongerAuthRequired).
    context_req = spnego.ContextReq.mutual_auth if channel_bindings is not None or options.tls != "none" \
        else spnego.ContextReq.mutual_auth | spnego.ContextReq.integrity
    if options.auth == "ntlm":
        context = spnego.client(options.username, options.password, hostname=hostname, service="ldap",
                                protocol="ntlm", channel_bindings=channel_bindings,
                                context_req=spnego.ContextReq(context_req & ~spnego.ContextReq.mutual_auth))
        _drop_ntlm_key_exchange(context)
        return context
    if options.keytab:
        credential: t.Any = spnego.KerberosKeytab(keytab=options.keytab, principal=options.username)
    elif options.password is not None:
        credential = spnego.Password(options.username, options.password)
    else:
        credential = spnego.KerberosCCache(ccache=_default_ccache_name(), principal=options.username) \
            if options.username else None
    kwargs: dict[str, t.Any] = {"hostname": hostname, "service": "ldap", "protocol": "kerberos",
                                "channel_bindings": channel_bindings,
                                "context_req": context_req}
    if credential is not None:
        return spnego.client(credential, **kwargs)
    return spnego.client(**kwargs)


def _default_ccache_name() -> str:
    """KRB5CCNAME, or the default cache that krb5.conf names (what kinit wrote to)."""
    if os.environ.get("KRB5CCNAME"):
        return os.environ["KRB5CCNAME"]
    try:
        import krb5  # pylint: disable=import-outside-toplevel

        return krb5.cc_default_name(krb5.init_context()).decode()
    except Exception:  # pylint: disable=broad-except
        return "FILE:/tmp/krb5cc_%d" % os.getuid()


def _drop_ntlm_key_exchange(context: t.Any) -> None:
    """Do not offer NTLMSSP_NEGOTIATE_KEY_EXCH when neither signing nor sealing is wanted.

    Without sign/seal pyspnego still offers KEY_EXCH and then sends a one-byte
    EncryptedRandomSessionKey, which Samba DCs reject ("KEY_EXCH session key was
    of invalid length"). Without the flag the session key is the KeyExchangeKey
    (MS-NLMP 3.1.5.1.2), which every DC accepts.
    """
    from spnego._ntlm_raw.messages import NegotiateFlags  # pylint: disable=import-outside-toplevel

    requested = getattr(context, "_context_req", None)
    if isinstance(requested, int) and not requested & (NegotiateFlags.sign | NegotiateFlags.seal):
        context._context_req = requested & ~NegotiateFlags.key_exch  # pylint: disable=protected-access


def _bound_identity(conn: t.Any, options: ADConnectionOptions) -> str | None:
    """The identity the DC authenticated: "Who am I?" (RFC 4532) where supported, else the name we bound with."""
    try:
        whoami = conn.extend.standard.who_am_i()
    except ldap3_exceptions.LDAPException:
        whoami = None
    if isinstance(whoami, str) and whoami:
        for prefix in ("u:", "dn:"):
            if whoami.startswith(prefix):
                return whoami[len(prefix):]
        return whoami
    if options.username:
        return options.username
    if options.auth == "kerberos":
        try:
            import gssapi  # pylint: disable=import-outside-toplevel

            return str(gssapi.Credentials(usage="initiate").name)
        except Exception:  # pylint: disable=broad-except
            return None
    return None


def _open(options: ADConnectionOptions, server: str) -> ADConnection:
    port = options.port or options.effective_port
    use_ssl = options.tls == "ldaps"
    try:
        socket.getaddrinfo(server, port)
    except socket.gaierror as exc:
        raise ADError(_explain_socket_error(exc, server, port, options)) from exc
    ldap_server = ldap3.Server(server, port=port, use_ssl=use_ssl, tls=_tls_object(options),
                               get_info=ldap3.NONE, connect_timeout=options.connect_timeout)
    if options.auth == "simple":
        conn_cls: t.Any = ldap3.Connection
        kwargs: dict[str, t.Any] = {"user": options.username, "password": options.password,
                                    "authentication": ldap3.SIMPLE}
    else:
        conn_cls = _SpnegoConnection
        kwargs = {"authentication": ldap3.SASL, "sasl_mechanism": ldap3.GSSAPI}
    conn = conn_cls(ldap_server, auto_bind=ldap3.AUTO_BIND_NONE, receive_timeout=options.connect_timeout,
                    raise_exceptions=False, read_only=False, auto_referrals=False, **kwargs)
    try:
        conn.open()
        if options.tls == "starttls" and not conn.start_tls():
            raise ADError("StartTLS on %s:%s was refused: %s" % (server, port, conn.result.get("message")))
    except ldap3_exceptions.LDAPException as exc:
        raise ADError(_explain_socket_error(exc, server, port, options)) from exc
    except (OSError, ssl.SSLError) as exc:
        raise ADError(_explain_socket_error(exc, server, port, options)) from exc

    try:
        root = _read_root_dse(conn, server, port, options)
    except ldap3_exceptions.LDAPException as exc:
        raise ADError(_explain_socket_error(exc, server, port, options)) from exc
    dc_hostname = str(_first(root.get("dnsHostName")) or server)

    if options.auth != "simple":
        peer_cert = None
        if options.tls != "none":
            try:
                peer_cert = conn.socket.getpeercert(binary_form=True)
            except (AttributeError, ValueError):
                peer_cert = None
        try:
            conn.winauth_mechanism = "GSS-SPNEGO" if options.auth == "ntlm" else "GSSAPI"
            conn.winauth_context = _spnego_context(options, dc_hostname, tls_channel_bindings(peer_cert))
        except Exception as exc:  # pylint: disable=broad-except
            raise ADError(_explain_kerberos_error(exc, options, "ldap/%s" % dc_hostname)) from exc
    try:
        bound = conn.bind()
    except SaslBindError as exc:
        if exc.result is not None:
            raise ADError(explain_ldap_result(exc.result, "LDAP bind to %s" % dc_hostname, options)) from exc
        raise ADError("LDAP bind to %s failed: %s" % (dc_hostname, exc)) from exc
    except ldap3_exceptions.LDAPException as exc:
        raise ADError(_explain_socket_error(exc, server, port, options)) from exc
    except Exception as exc:  # pylint: disable=broad-except
        # pyspnego / gssapi failures (no ticket, KDC unreachable, wrong password).
        raise ADError(_explain_kerberos_error(exc, options, "ldap/%s" % dc_hostname)) from exc
    if not bound:
        raise ADError(explain_ldap_result(conn.result, "LDAP bind to %s" % dc_hostname, options))

    whoami = _bound_identity(conn, options)
    default_nc = str(_first(root.get("defaultNamingContext")) or "")
    info = DirectoryInfo(
        dc_hostname=dc_hostname, server=server, port=port,
        default_naming_context=default_nc,
        configuration_naming_context=str(_first(root.get("configurationNamingContext")) or ""),
        schema_naming_context=str(_first(root.get("schemaNamingContext")) or ""),
        root_domain_naming_context=str(_first(root.get("rootDomainNamingContext")) or default_nc),
        dns_domain=dn_to_dns_domain(default_nc),
        domain_functionality=_int_or_none(root.get("domainFunctionality")),
        forest_functionality=_int_or_none(root.get("forestFunctionality")),
        dc_functionality=_int_or_none(root.get("domainControllerFunctionality")),
        global_catalog_ready=str(_first(root.get("isGlobalCatalogReady"))).upper() == "TRUE",
        bound_as=whoami,
    )
    return ADConnection(options, conn, info)


def connect(options: ADConnectionOptions) -> ADConnection:
    """Validate the options, find a DC, connect, bind; raise :class:`ADError` on any failure."""
    missing = require_libraries()
    if missing:
        raise ADError("the Python library %s is required on the host that runs this task (the controller, usually); "
                      "install the collection's requirements.txt into that interpreter" % missing)
    options.validate()
    if options.server:
        candidates = [options.server]
    else:
        domain = discovery_domain(options)
        if not domain:
            raise ADError("no server given and no domain to discover one from: set server, or domain (or a username "
                          "like user@domain, or kinit first for auth=kerberos)")
        candidates = discover_servers(domain)
    last_error: ADError | None = None
    for candidate in candidates:
        try:
            return _open(options, candidate)
        except ADError as exc:
            # Only an unreachable DC makes us try the next one; a refused bind would fail on every DC.
            if not str(exc).startswith(("cannot reach", "DNS name not found")):
                raise
            last_error = exc
    raise last_error or ADError("no domain controller candidate to connect to")


def escape_filter_value(value: str) -> str:
    """Escape a value for an LDAP filter (RFC 4515)."""
    return escape_filter_chars(value)
