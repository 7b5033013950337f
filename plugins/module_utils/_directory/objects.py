# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""Finding directory objects the way administrators name them.

An account (user, computer, managed service account or gMSA) can be named by
sAMAccountName (``cam-svc``, ``SERVER1$``, a gMSA as ``web-gmsa$`` or ``web-gmsa``),
down-level logon name (``CAMTEST\\cam-svc``), UPN (``cam-svc@camtest.local``),
distinguished name or SID string. :func:`parse_identity` is pure;
:func:`find_object` runs one search and refuses ambiguity.
"""

from __future__ import annotations

import re
import typing as t
from dataclasses import dataclass

from ansible_collections.webfarm.winauth.plugins.module_utils._directory.entry import Entry
from ansible_collections.webfarm.winauth.plugins.module_utils._directory.operations import Directory
from ansible_collections.webfarm.winauth.plugins.module_utils._windows.dn import dn_problem, escape_filter_value
from ansible_collections.webfarm.winauth.plugins.module_utils._windows.errors import InvalidInput

_SID_RE = re.compile(r"^S-1-\d+(-\d+)+$", re.IGNORECASE)

# Attributes every lookup returns.
BASE_ATTRIBUTES = ("distinguishedName", "sAMAccountName", "objectClass", "objectSid", "userPrincipalName",
                   "dNSHostName", "userAccountControl")

# Domain functional levels (msDS-Behavior-Version) as administrators know them.
FUNCTIONAL_LEVELS = {0: "2000", 1: "2003_interim", 2: "2003", 3: "2008", 4: "2008R2", 5: "2012", 6: "2012R2",
                     7: "2016"}


@dataclass(frozen=True)
class Identity:
    """How an object was named: ``kind`` is dn, sid, upn, downlevel or sam."""

    kind: str
    value: str
    domain: str | None = None

    def ldap_filter(self) -> str:
        v = escape_filter_value(self.value)
        if self.kind == "sid":
            return "(objectSid=%s)" % v
        if self.kind == "upn":
            return "(userPrincipalName=%s)" % v
        if self.kind == "dn":
            return "(distinguishedName=%s)" % v
        # sam / downlevel: a computer, a managed service account (MSA) or a group managed
        # service account (gMSA) may be named without its trailing $. All three have the
        # objectClass computer (msDS-ManagedServiceAccount and msDS-GroupManagedServiceAccount
        # derive from it); their objectCategory differs, so match on objectClass.
        if not self.value.endswith("$"):
            return "(|(sAMAccountName=%s)(&(objectClass=computer)(sAMAccountName=%s$)))" % (v, v)
        return "(sAMAccountName=%s)" % v


def parse_identity(name: str) -> Identity:
    """Classify how an object is named. Raises InvalidInput for an empty or malformed name."""
    text = (name or "").strip()
    if not text:
        raise InvalidInput("an empty account name was given; use sAMAccountName, DOMAIN\\name, UPN, DN or SID")
    control = sorted({"U+%04X" % ord(c) for c in text if ord(c) < 0x20 or ord(c) == 0x7F})
    if control:
        # Some servers end a string at NUL: 'cam-svc\x00x' must not find cam-svc.
        raise InvalidInput("account %r holds control characters (%s), which no account name holds; remove them"
                           % (name, ", ".join(control)))
    if _SID_RE.match(text):
        return Identity("sid", text.upper())
    if text.upper().startswith(("CN=", "OU=", "DC=")):
        return Identity("dn", text)         # before DOMAIN\name: a DN may hold an escaped comma (CN=a\,b,...)
    if "\\" in text:
        domain, _sep, account = text.partition("\\")
        if not domain or not account or "\\" in account:
            raise InvalidInput("account %r is not of the form DOMAIN\\name" % name)
        return Identity("downlevel", account, domain)
    if "=" in text and "," in text:
        return Identity("dn", text)
    if "@" in text:
        return Identity("upn", text)
    return Identity("sam", text)


def find_object(conn: Directory, name: str, attributes: t.Sequence[str] = (), base: str | None = None,
                parameter: str = "account") -> Entry:
    """Find exactly one object; raise InvalidInput naming ``parameter`` when none or several match."""
    try:
        identity = parse_identity(name)
    except InvalidInput as exc:
        raise InvalidInput("%s: %s" % (parameter, exc)) from None
    attrs = sorted(set(BASE_ATTRIBUTES) | set(attributes))
    if identity.kind == "dn":
        problem = dn_problem(identity.value)
        if problem:
            raise InvalidInput("%s=%s is not a valid distinguished name: %s; give it as CN=name,OU=...,DC=... "
                               "(RFC 4514 escapes), or name the account by sAMAccountName, DOMAIN\\name, UPN or SID"
                               % (parameter, name, problem))
        entry = conn.read(identity.value, attrs)
        if entry is None:
            raise InvalidInput("%s=%s: no object has that distinguished name; check it, or name the account by "
                               "sAMAccountName, DOMAIN\\name, UPN or SID" % (parameter, name))
        return entry
    if identity.kind == "downlevel":
        netbios = netbios_name(conn)
        if netbios and identity.domain and identity.domain.upper() not in (netbios.upper(),
                                                                           conn.info.dns_domain.upper()):
            raise InvalidInput("%s=%s names domain %s, but the connection is bound to %s (%s); connect to a DC of "
                               "that domain" % (parameter, name, identity.domain, netbios, conn.info.dns_domain))
    entries = conn.search(base or conn.info.default_naming_context, identity.ldap_filter(), attrs)
    if not entries:
        raise InvalidInput("%s=%s: no such account in %s (looked up by %s); check the name, or give the DN"
                           % (parameter, name, conn.info.dns_domain, identity.kind))
    if len(entries) > 1:
        raise InvalidInput("%s=%s is ambiguous: %s; give the DN instead"
                           % (parameter, name, "; ".join(e.dn for e in entries)))
    return entries[0]


def netbios_name(conn: Directory) -> str | None:
    """The NetBIOS (down-level) name of the bound domain, from its crossRef in the configuration partition."""
    entries = conn.search("CN=Partitions,%s" % conn.info.configuration_naming_context,
                          "(&(objectClass=crossRef)(nCName=%s))" % escape_filter_value(conn.info.default_naming_context),
                          ["nETBIOSName"], scope="LEVEL")
    return (entries[0].text("nETBIOSName") or None) if entries else None


def netbios_or_guess(conn: Directory) -> str:
    """The NetBIOS name, or the first label of the DNS name upper-cased when the crossRef cannot be read."""
    return netbios_name(conn) or conn.info.dns_domain.split(".")[0].upper()


def accounts_by_sid(conn: Directory, sids: t.Iterable[str]) -> dict[str, Entry]:
    """SID (upper-case) -> the object that has it (sAMAccountName and objectSid read), with one search.

    SIDs no object of the domain has (well-known ones among them) are left out.
    """
    wanted = list(dict.fromkeys(s.upper() for s in sids))
    if not wanted:
        return {}
    terms = "".join("(objectSid=%s)" % escape_filter_value(sid) for sid in wanted)
    found = {}
    for entry in conn.search(conn.info.default_naming_context, "(|%s)" % terms, ["objectSid", "sAMAccountName"]):
        sid = (entry.sid() or "").upper()
        if sid in wanted:
            found[sid] = entry
    return found
