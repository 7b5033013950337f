# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""Directory failures explained in one actionable line, and typed (``_windows.errors``). Pure logic, no I/O.

The ``explain_*`` functions word a failure (the DC's LDAP result, a socket or TLS error, a
Kerberos error); :func:`ldap_failure`, :func:`write_failure`, :func:`socket_failure` and
:func:`kerberos_failure` return the typed error that carries the words.
"""

from __future__ import annotations

import typing as t

from ansible_collections.webfarm.winauth.plugins.module_utils._directory.options import ConnectionOptions
from ansible_collections.webfarm.winauth.plugins.module_utils._windows import ldap_codes as codes
from ansible_collections.webfarm.winauth.plugins.module_utils._windows.errors import (
    BindRefused,
    Conflict,
    DirectoryError,
    InsufficientRights,
    Unreachable,
    WinauthError,
)

# The type of error each LDAP result code stands for (any other code: DirectoryError).
_TYPES: dict[int, type[WinauthError]] = {
    codes.INVALID_CREDENTIALS: BindRefused,
    codes.INSUFFICIENT_ACCESS: InsufficientRights,
    codes.NO_SUCH_ATTRIBUTE: Conflict,
    codes.ATTRIBUTE_OR_VALUE_EXISTS: Conflict,
    codes.ENTRY_ALREADY_EXISTS: Conflict,
}


def error_type(result: dict[str, t.Any] | None) -> type[WinauthError]:
    """The error class of a failed LDAP result; a duplicate SPN refusal is a Conflict too."""
    if codes.is_duplicate_spn_refusal(result):
        return Conflict
    return _TYPES.get(codes.code_of(result) or -1, DirectoryError)


def explain_ldap_result(result: dict | None, action: str, options: ConnectionOptions | None = None) -> str:
    """One line for a failed LDAP result (bind, search or modify)."""
    if not result:
        return "%s failed with no answer from the DC" % action
    code = result.get("result")
    message = (result.get("message") or "").strip()
    who = (options.username if options and options.username else "the current Kerberos principal")
    if code == codes.INVALID_CREDENTIALS:
        sub = ""
        lowered = message.lower()
        for key, meaning in codes.AD_BIND_SUBCODES.items():
            if "data %s" % key in lowered:
                sub = meaning
        return "%s: the DC rejected the credentials of %s (%s); check username and password" % (
            action, who, sub or "invalid credentials")
    if code == codes.STRONGER_AUTH_REQUIRED:
        return ("%s: the DC requires stronger authentication (LDAP signing or TLS): use tls=ldaps or tls=starttls "
                "(with auth=kerberos, simple or ntlm); DC said: %s" % (action, message or "strongerAuthRequired"))
    if code == codes.INSUFFICIENT_ACCESS:
        return "%s: insufficient access rights for %s; grant the right or use another account (DC said: %s)" % (
            action, who, message or "insufficientAccessRights")
    if code == codes.UNWILLING_TO_PERFORM:
        return "%s: the DC is unwilling to perform it: %s" % (action, message or "unwillingToPerform")
    return "%s failed: %s (%s) %s" % (action, result.get("description"), code, message)


def ldap_failure(result: dict | None, action: str, options: ConnectionOptions | None = None) -> WinauthError:
    """The typed error of a failed LDAP operation, explained; ``result`` keeps the DC's answer."""
    error = error_type(result)(explain_ldap_result(result, action, options))
    error.ldap_result = dict(result or {})  # type: ignore[attr-defined]
    return error


def explain_write_failure(result: dict[str, t.Any] | None, dn: str, attributes: t.Sequence[str],
                          bound_as: str | None) -> str:
    """One line for a refused modify: the object, the attributes, the bind identity and the fix."""
    what = ", ".join(attributes)
    who = bound_as or "the bind identity"
    code = codes.code_of(result)
    said = str((result or {}).get("message") or (result or {}).get("description") or "").strip()
    if code == codes.INSUFFICIENT_ACCESS:
        return ("cannot write %s on %s: %s has no right to change it (DC said: %s). Grant that identity write "
                "access to %s on the object (delegate control, or a group such as Domain Admins), or bind as an "
                "account that has it" % (what, dn, who, said or "insufficientAccessRights", what))
    if code == codes.NO_SUCH_ATTRIBUTE:
        return ("cannot write %s on %s: a value to remove is no longer there, so someone changed the object "
                "meanwhile (DC said: %s); run the task again" % (what, dn, said or "noSuchAttribute"))
    if code == codes.ATTRIBUTE_OR_VALUE_EXISTS:
        return ("cannot write %s on %s: a value to add is already there, so someone changed the object meanwhile "
                "(DC said: %s); run the task again" % (what, dn, said or "attributeOrValueExists"))
    if code == codes.REFERRAL:
        return ("cannot write %s on %s: the DC answered with a referral, so the object lives in another domain; "
                "connect to a DC of that domain (server=...)" % (what, dn))
    return explain_ldap_result(result, "writing %s on %s" % (what, dn))


def write_failure(result: dict[str, t.Any] | None, dn: str, attributes: t.Sequence[str],
                  bound_as: str | None) -> WinauthError:
    """The typed error of a refused modify (see :func:`explain_write_failure`); ``ldap_result`` keeps the answer."""
    error = error_type(result)(explain_write_failure(result, dn, attributes, bound_as))
    error.ldap_result = dict(result or {})  # type: ignore[attr-defined]
    return error


def _short_tls_reason(text: str) -> str:
    for marker in ("certificate verify failed: ", "CERTIFICATE_VERIFY_FAILED] "):
        if marker in text:
            return text.split(marker, 1)[1].split(")", 1)[0].split("'", 1)[0].strip()
    return text.split(" - ")[-1][:160]


def _port_name(port: int) -> str:
    return {636: "LDAPS (636/tcp)", 389: "LDAP (389/tcp)", 3268: "Global Catalog (3268/tcp)",
            3269: "Global Catalog over TLS (3269/tcp)"}.get(port, "%d/tcp" % port)


def socket_failure(exc: Exception, server: str, port: int, options: ConnectionOptions) -> WinauthError:
    """A failure to open LDAP (DNS, TCP, TLS), explained; Unreachable when another DC may answer."""
    text = str(exc)
    lowered = text.lower()
    if "certificate verify failed" in lowered or "certificate_verify_failed" in lowered or \
            "hostname mismatch" in lowered or "doesn't match" in lowered:
        hint = ("pass ca_cert with the PEM file of the CA that issued the DC certificate"
                if not options.ca_cert else "check that ca_cert=%s issued the DC certificate" % options.ca_cert)
        return DirectoryError("TLS certificate validation failed for %s:%s (%s): %s, connect by the name in the "
                              "certificate, or (labs only) set validate_certs=false"
                              % (server, port, _short_tls_reason(text), hint))
    if "name or service not known" in lowered or "nodename nor servname" in lowered or "gaierror" in lowered \
            or "no address associated" in lowered or "temporary failure in name resolution" in lowered:
        return Unreachable("DNS name not found: %s does not resolve; check server (or WINAUTH_AD_SERVER) or the "
                           "controller's DNS" % server)
    if "refused" in lowered or "timed out" in lowered or "unreachable" in lowered or "no route" in lowered:
        return Unreachable("cannot reach the DC at %s:%s (%s): check server, port and that %s is allowed through "
                           "firewalls" % (server, port, "connection refused" if "refused" in lowered else "no answer",
                                          _port_name(port)))
    if "wrong version number" in lowered or "unexpected eof" in lowered or "eof occurred" in lowered:
        return DirectoryError("TLS handshake with %s:%s failed (%s): is that port speaking LDAPS? use tls=starttls "
                              "for port 389" % (server, port, _short_tls_reason(text)))
    return DirectoryError("cannot open LDAP to %s:%s: %s" % (server, port, text))


def explain_kerberos_error(exc: Exception, options: ConnectionOptions, target: str) -> str:
    """One line for a Kerberos failure of the bind (pyspnego, gssapi or krb5 text)."""
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
        return "Kerberos: no credentials: run kinit (or set KRB5CCNAME), or give username with password or keytab"
    if "cannot find kdc" in lowered or "cannot contact any kdc" in lowered or "unable to reach any kdc" in lowered:
        return "Kerberos: cannot reach a KDC for the realm of %s; check krb5.conf (KRB5_CONFIG) and DNS" % who
    if "clock skew" in lowered:
        return "Kerberos: the controller's clock differs from the DC's by more than the allowed skew; fix NTP"
    if "expired" in lowered:
        return "Kerberos: the ticket in the credential cache has expired; run kinit again"
    return "Kerberos authentication for %s failed: %s" % (target, text.splitlines()[0] if text else type(exc).__name__)


def kerberos_failure(exc: Exception, options: ConnectionOptions, target: str) -> WinauthError:
    """A Kerberos failure of the bind, explained. BindRefused: it would fail the same way on every DC."""
    return BindRefused(explain_kerberos_error(exc, options, target))
