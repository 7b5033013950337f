# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""Whether the host's connection protects what a task sends, read from the connection plugin's own options.

WinRM and PSRP over HTTPS are protected by TLS; over HTTP only by message encryption, which pywinrm
and pypsrp apply with the NTLM, Kerberos or CredSSP session keys (``message_encryption: auto``,
the default) and cannot apply to Basic (or, for WinRM, a plain-text transport). ssh encrypts
everything. A task that carries a password must not go over the rest: the check runs before the
first remote command and names the inventory variables that decide it. The rules mirror the
connection plugins' own defaults (scheme or protocol from the port, WinRM's transport from the user).
"""

from __future__ import annotations

import typing as t

from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis.runner import connection_kind

_CLEAR_WINRM = ("basic", "plaintext")
_CLEAR_PSRP = ("basic", "certificate")


def _option(connection: t.Any, name: str) -> t.Any:
    try:
        return connection.get_option(name)
    except KeyError:
        return None


def _winrm(connection: t.Any) -> str | None:
    port = _option(connection, "port")
    scheme = _option(connection, "scheme") or ("http" if port is not None and int(port) == 5985 else "https")
    if scheme != "http":
        return None
    extras = _option(connection, "_extras") or {}
    if str(extras.get("ansible_winrm_message_encryption", "auto")).lower() == "never":
        return "WinRM over HTTP with ansible_winrm_message_encryption=never"
    transports = _option(connection, "transport") or []
    if not transports or transports[0] is None:
        user = _option(connection, "remote_user") or ""
        transports = ["kerberos"] if "@" in user else ["plaintext"]
    clear = [name for name in transports if str(name).lower() in _CLEAR_WINRM]
    if clear:
        return "WinRM over HTTP with ansible_winrm_transport=%s, which pywinrm cannot encrypt" % ",".join(clear)
    return None


def _psrp(connection: t.Any) -> str | None:
    port = _option(connection, "port")
    protocol = _option(connection, "protocol")
    if protocol is None:
        protocol = "http" if port is not None and int(port) == 5985 else "https"
    if protocol != "http":
        return None
    if str(_option(connection, "message_encryption") or "auto").lower() == "never":
        return "PSRP over HTTP with ansible_psrp_message_encryption=never"
    auth = str(_option(connection, "auth") or "negotiate").lower()
    if auth in _CLEAR_PSRP:
        return "PSRP over HTTP with ansible_psrp_auth=%s, which pypsrp cannot encrypt" % auth
    return None


def unprotected(connection: t.Any) -> str | None:
    """Why the connection would send a task's request readable on the network, or None when it protects it."""
    kind = connection_kind(connection)
    if kind == "winrm":
        return _winrm(connection)
    if kind == "psrp":
        return _psrp(connection)
    return None


def set_secrets(spec: dict[str, t.Any], args: dict[str, t.Any], prefix: str = "") -> list[str]:
    """The no_log options of ``spec`` that ``args`` sets (``anonymous.password``), in spec order."""
    found = []
    for name, option in spec.items():
        value = args.get(name) if isinstance(args, dict) else None
        if value is None:
            continue
        if option.get("no_log"):
            found.append(prefix + name)
        elif option.get("type") == "dict" and option.get("options") and isinstance(value, dict):
            found += set_secrets(option["options"], value, prefix + name + ".")
    return found
