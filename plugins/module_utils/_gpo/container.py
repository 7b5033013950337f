# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""The directory half of a GPO: Group Policy Containers, links, and account SIDs (reads and writes).

Everything goes through the directory's operations object (``_directory.operations``) and raises
its typed, explained errors.
"""

from __future__ import annotations

import re
import time
import typing as t
from dataclasses import dataclass

from ansible_collections.webfarm.winauth.plugins.module_utils._directory.entry import Entry
from ansible_collections.webfarm.winauth.plugins.module_utils._directory.objects import (
    accounts_by_sid,
    find_object,
    netbios_or_guess,
)
from ansible_collections.webfarm.winauth.plugins.module_utils._directory.operations import Directory
from ansible_collections.webfarm.winauth.plugins.module_utils._gpo.gpt import version_from_directory
from ansible_collections.webfarm.winauth.plugins.module_utils._windows.dn import dn_problem, escape_filter_value
from ansible_collections.webfarm.winauth.plugins.module_utils._windows.errors import InvalidInput
from ansible_collections.webfarm.winauth.plugins.module_utils._windows.principals import well_known_name, well_known_sid
from ansible_collections.webfarm.winauth.plugins.module_utils._windows.sid import is_sid, normalize_sid

GPO_ATTRIBUTES = ("displayName", "name", "gPCFileSysPath", "versionNumber", "flags", "gPCMachineExtensionNames",
                  "gPCUserExtensionNames", "gPCFunctionalityVersion")
GPO_FLAG_MACHINE_DISABLED = 0x2
_GUID_RE = re.compile(r"^\{?([0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})\}?$")


@dataclass
class GpoInfo:
    """A Group Policy Container as read from AD."""

    dn: str
    guid: str
    name: str
    file_sys_path: str
    version: int
    flags: int
    machine_extensions: str
    user_extensions: str

    def summary(self) -> dict[str, t.Any]:
        return {"guid": self.guid, "name": self.name, "dn": self.dn, "path": self.file_sys_path,
                "version": self.version}

    def computer_settings_disabled(self) -> str | None:
        """The problem when the GPO's computer configuration is disabled (user rights then apply nowhere)."""
        if not self.flags & GPO_FLAG_MACHINE_DISABLED:
            return None
        return ("GPO %s has its computer configuration disabled (flags=%d): user rights in it apply to no computer"
                % (self.name, self.flags))


def policies_dn(conn: Directory) -> str:
    return "CN=Policies,CN=System,%s" % conn.info.default_naming_context


def guid_of(reference: str) -> str | None:
    """``{6ac1786c-...}`` or ``6AC1786C-...`` -> ``{6AC1786C-...}``; None for a display name."""
    match = _GUID_RE.match((reference or "").strip())
    return "{%s}" % match.group(1).upper() if match else None


# displayName's rangeUpper in the AD schema ([MS-ADA1] Display-Name): what the DC accepts, and GPMC shows.
DISPLAY_NAME_MAX = 256


def check_gpo_name(name: str | None, parameter: str = "name") -> None:
    """A GPO's display name as the directory holds it: InvalidInput naming ``parameter`` otherwise (no I/O)."""
    if name is None or guid_of(name):
        return
    if not name.strip():
        raise InvalidInput("%s=%r is empty: give the GPO's display name, such as IIS-BatchLogon" % (parameter, name))
    if len(name) > DISPLAY_NAME_MAX:
        raise InvalidInput("%s: a GPO display name holds at most %d characters (the directory's limit for "
                           "displayName); this one has %d (%s...): give a shorter name"
                           % (parameter, DISPLAY_NAME_MAX, len(name), name[:40]))
    control = sorted({"U+%04X" % ord(c) for c in name if ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0})
    if control:
        raise InvalidInput("%s=%r holds control characters (%s), which GPMC can neither show nor type: remove them"
                           % (parameter, name, ", ".join(control)))
    if "/" in name or "\\" in name:
        # GPOs live under their GUID, but reports, backups and scripts file them by display name: a name that
        # reads as a path (../../x) is refused rather than handed to them.
        raise InvalidInput("%s=%r holds a path separator (/ or \\), which tools that file GPOs by name would read as "
                           "a path: give a name without / and \\, such as IIS-BatchLogon" % (parameter, name))


def gpo_dn(conn: Directory, guid: str) -> str:
    return "CN=%s,%s" % (guid, policies_dn(conn))


def _gpo_from_entry(entry: Entry) -> GpoInfo:
    name = entry.text("name") or entry.dn.split(",", 1)[0].split("=", 1)[1]
    return GpoInfo(
        dn=entry.dn, guid=name.upper(), name=entry.text("displayName") or "",
        file_sys_path=entry.text("gPCFileSysPath") or "",
        version=version_from_directory(entry.text("versionNumber") or 0), flags=entry.integer("flags") or 0,
        machine_extensions=entry.text("gPCMachineExtensionNames") or "",
        user_extensions=entry.text("gPCUserExtensionNames") or "")


def find_gpos(conn: Directory, reference: str) -> list[GpoInfo]:
    """GPOs whose GUID or display name is ``reference`` (display names compare case-insensitively, like AD)."""
    guid = guid_of(reference)
    if guid:
        ldap_filter = "(&(objectClass=groupPolicyContainer)(name=%s))" % escape_filter_value(guid)
    else:
        ldap_filter = "(&(objectClass=groupPolicyContainer)(displayName=%s))" % escape_filter_value(reference)
    return [_gpo_from_entry(entry) for entry in conn.search(policies_dn(conn), ldap_filter, GPO_ATTRIBUTES,
                                                            scope="LEVEL")]


# A run that creates a GPO adds its container, then (when another run created one of the same name at the
# same moment) deletes it again: for that instant two GPOs share the name. How long such a duplicate may
# live, and how often to look again, before several GPOs of one name are taken as the administrator's.
SETTLE_SECONDS = 8.0
_SETTLE_POLL = 0.25


def _in_flight(gpo: GpoInfo) -> bool:
    """A container another run is creating or about to delete: nothing written to it yet."""
    return gpo.version == 0 and not gpo.machine_extensions and not gpo.user_extensions


def settle(conn: Directory, reference: str, found: list[GpoInfo],
           sleep: t.Callable[[float], None] = time.sleep) -> list[GpoInfo]:
    """``found`` again after the duplicates of a concurrent create are gone (see SETTLE_SECONDS).

    Several GPOs of one display name, all but one of them still empty, is what racing creates leave for
    a moment (lifecycle._create_gpo keeps the one the DC created first and deletes the others); the
    name is read again until one is left or the wait is over. Anything else is returned at once, for
    the caller to refuse as ambiguous.
    """
    deadline = time.monotonic() + SETTLE_SECONDS
    while len(found) > 1 and sum(1 for gpo in found if not _in_flight(gpo)) <= 1 and time.monotonic() < deadline:
        sleep(_SETTLE_POLL)
        found = find_gpos(conn, reference)
    return found


def get_gpo(conn: Directory, reference: str, parameter: str = "gpo") -> GpoInfo:
    """Exactly one GPO, or InvalidInput naming ``parameter`` (none found, or a display name shared by several)."""
    found = settle(conn, reference, find_gpos(conn, reference))
    if not found:
        raise InvalidInput("%s=%s: no GPO has that %s in %s; create it first with webfarm.winauth.gpo "
                           "(state=present)" % (parameter, reference, "GUID" if guid_of(reference) else "display name",
                                                conn.info.dns_domain))
    if len(found) > 1:
        raise ambiguous_name_error(parameter, reference, found)
    return found[0]


def ambiguous_name_error(parameter: str, reference: str, found: list[GpoInfo]) -> InvalidInput:
    return InvalidInput("%s=%s: %d GPOs share that display name (%s); GPMC allows this but this module never picks "
                        "one: give the GUID instead, or rename or delete the extra GPOs"
                        % (parameter, reference, len(found), ", ".join(sorted(g.guid for g in found))))


# --------------------------------------------------------------------------- links

def containers_linking(conn: Directory, guid: str) -> list[tuple[str, str]]:
    """(DN, gPLink) of every OU, domain and site in this forest's reach that links the GPO."""
    ldap_filter = "(gPLink=*%s*)" % escape_filter_value(guid)
    found: list[tuple[str, str]] = []
    for base in (conn.info.default_naming_context, "CN=Sites,%s" % conn.info.configuration_naming_context):
        for entry in conn.search(base, ldap_filter, ["gPLink"]):
            found.append((entry.dn, entry.text("gPLink") or ""))
    return found


def read_link_target(conn: Directory, target: str) -> tuple[str, str, str, int]:
    """(DN, kind, gPLink, gPOptions) of a link target: ``domain``, an OU or a site, named by DN."""
    dn = conn.info.default_naming_context if target.strip().lower() == "domain" else target.strip()
    problem = dn_problem(dn)
    if problem:
        raise InvalidInput("target=%s is not a valid distinguished name: %s; give the DN of an OU, the domain (or the "
                           "word domain), or a site" % (target, problem))
    entry = conn.read(dn, ["objectClass", "gPLink", "gPOptions"])
    if entry is None:
        raise InvalidInput("target=%s: no such object; give the DN of an OU, the domain (or the word domain), or a "
                           "site" % target)
    classes = {c.lower() for c in entry.object_classes}
    if "organizationalunit" in classes:
        kind = "ou"
    elif "domaindns" in classes or "domain" in classes:
        kind = "domain"
    elif "site" in classes:
        kind = "site"
    else:
        raise InvalidInput("target=%s is a %s, where GPOs cannot be linked: link to an OU, the domain or a site "
                           "(computers in a container such as CN=Computers only get domain-linked GPOs; move them to "
                           "an OU)" % (dn, sorted(classes - {"top"})[-1] if classes - {"top"} else "object"))
    return dn, kind, entry.text("gPLink") or "", entry.integer("gPOptions") or 0


def blocks_inheritance(conn: Directory, dns: list[str]) -> dict[str, bool]:
    """gPOptions "block inheritance" (bit 1) of each OU or domain DN."""
    result = {}
    for dn in dns:
        entry = conn.read(dn, ["gPOptions"])
        result[dn] = bool(((entry.integer("gPOptions") if entry else None) or 0) & 1)
    return result


def display_names(conn: Directory, guids: list[str]) -> dict[str, str]:
    """GUID -> display name of GPOs (those not found are left out)."""
    wanted = sorted({g.upper() for g in guids if g})
    if not wanted:
        return {}
    ldap_filter = "(&(objectClass=groupPolicyContainer)(|%s))" % "".join(
        "(name=%s)" % escape_filter_value(g) for g in wanted)
    return {(entry.text("name") or "").upper(): entry.text("displayName") or ""
            for entry in conn.search(policies_dn(conn), ldap_filter, ["name", "displayName"], scope="LEVEL")}


def find_computer(conn: Directory, name: str) -> str:
    """DN of a computer account named as SERVER1, SERVER1$, DOMAIN\\SERVER1$ or by DN."""
    entry = find_object(conn, name, parameter="expect_computers")
    classes = [c.lower() for c in entry.object_classes]
    if "computer" not in classes:
        raise InvalidInput("expect_computers=%s is a %s, not a computer account: list the web servers' computer "
                           "accounts (user rights are computer policy)" % (name, classes[-1] if classes else "object"))
    return entry.dn


# --------------------------------------------------------------------------- accounts

def resolve_account(conn: Directory, name: str, parameter: str = "accounts") -> tuple[str, str]:
    """(SID, display name) for an account named by SID, well-known name, sAMAccountName, DOMAIN\\name, UPN or DN."""
    text = (name or "").strip()
    if is_sid(text):
        sid = normalize_sid(text)
        return sid, well_known_name(sid) or sid
    known = well_known_sid(text)
    if known:
        return known, well_known_name(known) or text
    entry = find_object(conn, text, ["objectSid", "sAMAccountName"], parameter=parameter)
    sid = entry.sid()
    if not sid:
        raise InvalidInput("%s=%s (%s) has no SID: only users, groups and computers can hold user rights"
                           % (parameter, name, entry.dn))
    return sid, "%s\\%s" % (netbios_or_guess(conn), entry.text("sAMAccountName") or "")


def holder_names(conn: Directory, sids: t.Iterable[str]) -> dict[str, str]:
    """SID -> ``DOMAIN\\name`` (or the well-known name) for display; unknown SIDs are left out."""
    names: dict[str, str] = {}
    lookup = []
    for sid in {s.upper() for s in sids}:
        known = well_known_name(sid)
        if known:
            names[sid] = known
        else:
            lookup.append(sid)
    accounts = accounts_by_sid(conn, lookup)
    if accounts:
        netbios = netbios_or_guess(conn)
        names.update({sid: "%s\\%s" % (netbios, entry.text("sAMAccountName") or "")
                      for sid, entry in accounts.items()})
    return names
