# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""The directory's one chokepoint: the only code of the collection that calls ldap3.

:func:`open_directory` opens LDAP to one DC with the requested TLS mode, binds with the requested
mechanism (simple, or SASL driven by pyspnego: ``sasl``) and reads the rootDSE; the returned
:class:`Directory` is the operations object every directory module works through: reads return
:class:`~._directory.entry.Entry` objects, writes are one LDAP operation each, and every failure is
raised as a typed, explained ``WinauthError`` (``explain``) carrying the DC's answer in
``ldap_result``. Changes are given as ``{attribute: [(operation, [values]), ...]}`` with the
operations ``add``, ``delete`` and ``replace``, so callers need no ldap3 import.
"""

from __future__ import annotations

import socket
import ssl
import typing as t
from dataclasses import dataclass

from ansible_collections.webfarm.winauth.plugins.module_utils._directory.entry import Entry
from ansible_collections.webfarm.winauth.plugins.module_utils._directory.explain import (
    kerberos_failure,
    ldap_failure,
    socket_failure,
    write_failure,
)
from ansible_collections.webfarm.winauth.plugins.module_utils._directory.options import ConnectionOptions
from ansible_collections.webfarm.winauth.plugins.module_utils._directory.sasl import SaslBindError, run_sasl_exchange
from ansible_collections.webfarm.winauth.plugins.module_utils._windows import ldap_codes as codes
from ansible_collections.webfarm.winauth.plugins.module_utils._windows.credentials import (
    cached_principal,
    drop_ntlm_key_exchange,
    spnego_channel_bindings,
)
from ansible_collections.webfarm.winauth.plugins.module_utils._windows.dn import dn_to_dns_domain
from ansible_collections.webfarm.winauth.plugins.module_utils._windows.errors import (
    Conflict,
    DirectoryError,
    WinauthError,
)

try:
    import ldap3
    from ldap3.core import exceptions as ldap3_exceptions
    from ldap3.operation.bind import bind_operation
    from ldap3.protocol.microsoft import security_descriptor_control
except ImportError:  # pragma: no cover - reported by missing_library()
    ldap3 = None  # type: ignore[assignment]

Changes = t.Dict[str, t.List[t.Tuple[str, t.List[t.Any]]]]
_SD_OWNER_GROUP_DACL = 0x07
_ROOT_DSE = ("dnsHostName", "defaultNamingContext", "configurationNamingContext", "schemaNamingContext",
             "rootDomainNamingContext", "domainFunctionality", "forestFunctionality", "domainControllerFunctionality",
             "isGlobalCatalogReady", "supportedSASLMechanisms")


def missing_library() -> str | None:
    """The name of a missing Python library the directory needs, or None when all are present."""
    if ldap3 is None:
        return "ldap3"
    import importlib.util  # pylint: disable=import-outside-toplevel

    # Only look: importing pyspnego costs time that simple binds never need.
    if importlib.util.find_spec("spnego") is None:
        return "pyspnego"
    return None


@dataclass
class DirectoryInfo:
    """What a module needs to know about the domain it is bound to (from the rootDSE)."""

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


class Directory:
    """An authenticated LDAP connection to one DC, what was read about the domain, and every operation on it."""

    def __init__(self, options: ConnectionOptions, conn: t.Any, info: DirectoryInfo) -> None:
        self.options = options
        self._conn = conn
        self.info = info

    def __enter__(self) -> "Directory":
        return self

    def __exit__(self, *exc_info: t.Any) -> None:
        self.close()

    def close(self) -> None:
        try:
            self._conn.unbind()
        except Exception:  # pylint: disable=broad-except  # closing a connection that already broke
            pass

    def _result(self) -> dict[str, t.Any]:
        return dict(self._conn.result or {})

    # -- reads -----------------------------------------------------------------------------------
    def search(self, base: str, ldap_filter: str, attributes: t.Sequence[str], scope: str = "SUBTREE",
               controls: t.Any = None, size_limit: int = 0) -> list[Entry]:
        """Every matching object (paged); [] when ``base`` does not exist."""
        scope_value = {"BASE": ldap3.BASE, "LEVEL": ldap3.LEVEL, "SUBTREE": ldap3.SUBTREE}[scope]
        action = "search under %s" % (base or "the forest root")
        try:
            if scope == "BASE":
                self._conn.search(base, ldap_filter, search_scope=scope_value, attributes=list(attributes),
                                  controls=controls)
                found = list(self._conn.response or [])
            else:
                found = list(self._conn.extend.standard.paged_search(
                    base, ldap_filter, search_scope=scope_value, attributes=list(attributes), controls=controls,
                    paged_size=500, generator=True, size_limit=size_limit))
        except ldap3_exceptions.LDAPException as exc:
            raise DirectoryError("%s failed: %s" % (action, exc)) from exc
        result = self._result()
        if result.get("result") not in (codes.SUCCESS, codes.NO_SUCH_OBJECT, None):
            raise ldap_failure(result, action, self.options)
        return [Entry(item["dn"], {name.lower(): list(values)
                                   for name, values in (item.get("raw_attributes") or {}).items()})
                for item in found if item.get("type") == "searchResEntry"]

    def read(self, dn: str, attributes: t.Sequence[str], controls: t.Any = None) -> Entry | None:
        """One object by DN; None when it does not exist."""
        found = self.search(dn, "(objectClass=*)", attributes, scope="BASE", controls=controls)
        return found[0] if found else None

    def read_security_descriptor(self, dn: str) -> bytes:
        """Owner, group and DACL of an object (the SD flags control keeps the SACL out: no extra right needed)."""
        entry = self.read(dn, ["nTSecurityDescriptor"], controls=security_descriptor_control(
            sdflags=_SD_OWNER_GROUP_DACL))
        value = entry.first("nTSecurityDescriptor") if entry else None
        if not value:
            raise DirectoryError("cannot read the security descriptor of %s: the bind identity needs read permission "
                                 "on it (an account that may edit the GPO has it)" % dn)
        return value

    def domain_sid(self) -> str:
        entry = self.read(self.info.default_naming_context, ["objectSid"])
        sid = entry.sid() if entry else None
        if not sid:
            raise DirectoryError("cannot read the domain object %s" % self.info.default_naming_context)
        return sid

    def global_catalog(self) -> "Directory":
        """A second connection, same credentials, to the Global Catalog port of the same DC."""
        return open_directory(self.options.with_server(self.info.server, self.options.gc_port), self.info.server)

    # -- writes ----------------------------------------------------------------------------------
    def add(self, dn: str, object_class: str, attributes: dict[str, t.Any] | None = None) -> bool:
        """Add an object; False when it already exists."""
        if self._call("creating %s" % dn, self._conn.add, dn, object_class, attributes or {}):
            return True
        if self._result().get("result") == codes.ENTRY_ALREADY_EXISTS:
            return False
        raise ldap_failure(self._result(), "creating %s" % dn, self.options)

    def modify(self, dn: str, changes: Changes) -> None:
        """One modify of one object; a refusal raises the typed error explaining it (``write_failure``)."""
        operations = {"add": ldap3.MODIFY_ADD, "delete": ldap3.MODIFY_DELETE, "replace": ldap3.MODIFY_REPLACE}
        request = {attr: [(operations[op], list(values)) for op, values in ops] for attr, ops in changes.items() if ops}
        if not request:
            return
        if not self._call("writing %s on %s" % (", ".join(request), dn), self._conn.modify, dn, request):
            raise write_failure(self._result(), dn, list(request), self.info.bound_as)

    def replace(self, dn: str, attribute: str, value: t.Any) -> None:
        """Set (or with ``value`` None, clear) one attribute."""
        self.modify(dn, {attribute: [("replace", [] if value is None else [value])]})

    def swap(self, dn: str, attribute: str, old: str | None, new: str | None) -> None:
        """Change a single-valued attribute from ``old`` to ``new`` in one atomic modify.

        The old value is deleted by value, so the DC refuses the change if anyone wrote the
        attribute since we read it: no edit made meanwhile (in GPMC, by another run) is silently
        overwritten.
        """
        if old == new:
            return
        changes: list[tuple[str, list[t.Any]]] = []
        if old not in (None, ""):
            changes.append(("delete", [old]))
        if new not in (None, ""):
            changes.append(("add", [new]))
        try:
            self.modify(dn, {attribute: changes})
        except Conflict as exc:
            raise Conflict("%s of %s was changed by someone else while this task was working on it; nothing of it "
                           "was overwritten: run the task again" % (attribute, dn)) from exc

    def delete(self, dn: str) -> bool:
        """Delete one object; False when it did not exist."""
        if self._call("deleting %s" % dn, self._conn.delete, dn):
            return True
        if self._result().get("result") == codes.NO_SUCH_OBJECT:
            return False
        raise ldap_failure(self._result(), "deleting %s" % dn, self.options)

    def delete_subtree(self, dn: str) -> bool:
        """Delete an object and everything under it, deepest first; False when it did not exist."""
        found = self.search(dn, "(objectClass=*)", ["objectClass"])
        for child in sorted(found, key=lambda entry: entry.dn.count(","), reverse=True):
            self.delete(child.dn)
        return bool(found)

    def _call(self, action: str, operation: t.Callable[..., bool], *args: t.Any) -> bool:
        try:
            return bool(operation(*args))
        except ldap3_exceptions.LDAPException as exc:
            raise DirectoryError("%s failed: %s" % (action, exc)) from exc


# --------------------------------------------------------------------------- opening and binding

class _SpnegoConnection(ldap3.Connection if ldap3 else object):  # type: ignore[misc]
    """An ldap3 Connection whose SASL bind is driven by pyspnego (see ``sasl``)."""

    winauth_context: t.Any = None
    winauth_mechanism: str = "GSSAPI"

    def do_sasl_bind(self, controls):  # noqa: D401 - ldap3 hook
        def send(mechanism: str, payload: bytes) -> dict:
            request = bind_operation(self.version, "SASL", None, None, mechanism, payload)
            response = self.post_send_single_response(self.send("bindRequest", request, controls))
            return self.result if self.strategy.sync else self.get_response(response)[1]

        with self.connection_lock:
            self.sasl_in_progress = True
            try:
                return run_sasl_exchange(send, self.winauth_mechanism, self.winauth_context)
            finally:
                self.sasl_in_progress = False


def _tls_object(options: ConnectionOptions) -> t.Any:
    if options.validate_certs:
        return ldap3.Tls(validate=ssl.CERT_REQUIRED, version=ssl.PROTOCOL_TLS_CLIENT, ca_certs_file=options.ca_cert)
    return ldap3.Tls(validate=ssl.CERT_NONE, version=ssl.PROTOCOL_TLS_CLIENT)


def _sasl_context(options: ConnectionOptions, hostname: str, peer_cert: bytes | None) -> t.Any:
    import spnego  # pylint: disable=import-outside-toplevel

    bindings = spnego_channel_bindings(peer_cert)
    # Inside TLS the DC refuses SASL signing or sealing ("Sign or Seal are not allowed if TLS is used"), so ask
    # for them only on a clear-text connection, where a DC that requires signing will refuse us anyway.
    context_req = spnego.ContextReq.mutual_auth if bindings is not None or options.tls != "none" \
        else spnego.ContextReq.mutual_auth | spnego.ContextReq.integrity
    credential = options.credential()
    if options.auth == "ntlm":
        context = spnego.client(credential.spnego(), hostname=hostname, service="ldap", protocol="ntlm",
                                channel_bindings=bindings,
                                context_req=spnego.ContextReq(context_req & ~spnego.ContextReq.mutual_auth))
        drop_ntlm_key_exchange(context)
        return context
    return spnego.client(credential.spnego(), hostname=hostname, service="ldap", protocol="kerberos",
                         channel_bindings=bindings, context_req=context_req)


def _bound_identity(conn: t.Any, options: ConnectionOptions) -> str | None:
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
    return cached_principal() if options.auth == "kerberos" else None


def _connect(options: ConnectionOptions, server: str, port: int) -> t.Any:
    """An open (not yet bound) ldap3 connection, TLS set up as asked."""
    try:
        socket.getaddrinfo(server, port)
    except socket.gaierror as exc:
        raise socket_failure(exc, server, port, options) from exc
    ldap_server = ldap3.Server(server, port=port, use_ssl=options.tls == "ldaps", tls=_tls_object(options),
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
            raise DirectoryError("StartTLS on %s:%s was refused: %s" % (server, port, conn.result.get("message")))
    except (ldap3_exceptions.LDAPException, OSError, ssl.SSLError) as exc:
        raise socket_failure(exc, server, port, options) from exc
    return conn


def _read_root_dse(conn: t.Any, server: str, port: int, options: ConnectionOptions) -> Entry:
    try:
        ok = conn.search("", "(objectClass=*)", search_scope=ldap3.BASE, attributes=list(_ROOT_DSE))
    except ldap3_exceptions.LDAPException as exc:
        raise socket_failure(exc, server, port, options) from exc
    if not ok:
        raise DirectoryError("%s:%s answered but its rootDSE could not be read (%s); is it an Active Directory DC?"
                             % (server, port, conn.result.get("description")))
    item = conn.response[0]
    return Entry("", {k.lower(): list(v) for k, v in (item.get("raw_attributes") or {}).items()})


def _bind(conn: t.Any, options: ConnectionOptions, server: str, port: int, dc_hostname: str) -> None:
    target = "ldap/%s" % dc_hostname
    if options.auth != "simple":
        peer_cert = None
        if options.tls != "none":
            try:
                peer_cert = conn.socket.getpeercert(binary_form=True)
            except (AttributeError, ValueError):
                peer_cert = None
        try:
            conn.winauth_mechanism = "GSS-SPNEGO" if options.auth == "ntlm" else "GSSAPI"
            conn.winauth_context = _sasl_context(options, dc_hostname, peer_cert)
        except Exception as exc:  # pylint: disable=broad-except  # pyspnego, gssapi and krb5 raise their own types
            raise kerberos_failure(exc, options, target) from exc
    try:
        bound = conn.bind()
    except SaslBindError as exc:
        if exc.result is not None:
            raise ldap_failure(exc.result, "LDAP bind to %s" % dc_hostname, options) from exc
        raise SaslBindError("LDAP bind to %s failed: %s" % (dc_hostname, exc)) from exc
    except ldap3_exceptions.LDAPException as exc:
        raise socket_failure(exc, server, port, options) from exc
    except WinauthError:
        raise
    except Exception as exc:  # pylint: disable=broad-except  # pyspnego/gssapi: no ticket, KDC unreachable, password
        raise kerberos_failure(exc, options, target) from exc
    if not bound:
        raise ldap_failure(conn.result, "LDAP bind to %s" % dc_hostname, options)


def open_directory(options: ConnectionOptions, server: str) -> Directory:
    """Connect to ``server``, bind, read the rootDSE; raise the typed, explained error on any failure."""
    port = options.port or options.effective_port
    conn = _connect(options, server, port)
    root = _read_root_dse(conn, server, port, options)
    dc_hostname = root.text("dnsHostName") or server
    _bind(conn, options, server, port, dc_hostname)
    default_nc = root.text("defaultNamingContext") or ""
    info = DirectoryInfo(
        dc_hostname=dc_hostname, server=server, port=port,
        default_naming_context=default_nc,
        configuration_naming_context=root.text("configurationNamingContext") or "",
        schema_naming_context=root.text("schemaNamingContext") or "",
        root_domain_naming_context=root.text("rootDomainNamingContext") or default_nc,
        dns_domain=dn_to_dns_domain(default_nc),
        domain_functionality=root.integer("domainFunctionality"),
        forest_functionality=root.integer("forestFunctionality"),
        dc_functionality=root.integer("domainControllerFunctionality"),
        global_catalog_ready=(root.text("isGlobalCatalogReady") or "").upper() == "TRUE",
        bound_as=_bound_identity(conn, options),
    )
    return Directory(options, conn, info)
