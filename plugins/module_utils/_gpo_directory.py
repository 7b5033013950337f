# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""The directory half of a GPO: Group Policy Containers, links, and account SIDs (LDAP I/O).

Everything here goes through an :class:`ADConnection` from the one connection
factory and raises :class:`ADError` with one actionable line.
"""

from __future__ import annotations

import re
import typing as t
from dataclasses import dataclass

from ansible_collections.webfarm.winauth.plugins.module_utils._ad_connection import (
    ADConnection,
    ADError,
    escape_filter_value,
    explain_ldap_result,
)
from ansible_collections.webfarm.winauth.plugins.module_utils._ad_objects import find_object, netbios_name
from ansible_collections.webfarm.winauth.plugins.module_utils._gpo_gpt import version_from_directory
from ansible_collections.webfarm.winauth.plugins.module_utils._gpo_principals import (
    is_sid,
    normalize_sid,
    well_known_name,
    well_known_sid,
)

try:
    import ldap3
    from ldap3.protocol.formatters.formatters import format_sid
    from ldap3.protocol.microsoft import security_descriptor_control
except ImportError:  # pragma: no cover - reported by require_libraries()
    ldap3 = None  # type: ignore[assignment]

GPO_ATTRIBUTES = ("displayName", "name", "gPCFileSysPath", "versionNumber", "flags", "gPCMachineExtensionNames",
                  "gPCUserExtensionNames", "gPCFunctionalityVersion")
_GUID_RE = re.compile(r"^\{?([0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})\}?$")
_RESULT_NO_SUCH_ATTRIBUTE = 16
_RESULT_ATTRIBUTE_OR_VALUE_EXISTS = 20
_RESULT_NO_SUCH_OBJECT = 32
_RESULT_ENTRY_ALREADY_EXISTS = 68
_SD_OWNER_GROUP_DACL = 0x07


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


def policies_dn(conn: ADConnection) -> str:
    return "CN=Policies,CN=System,%s" % conn.info.default_naming_context


def guid_of(reference: str) -> str | None:
    """``{6ac1786c-...}`` or ``6AC1786C-...`` -> ``{6AC1786C-...}``; None for a display name."""
    match = _GUID_RE.match((reference or "").strip())
    return "{%s}" % match.group(1).upper() if match else None


def gpo_dn(conn: ADConnection, guid: str) -> str:
    return "CN=%s,%s" % (guid, policies_dn(conn))


def _text(values: t.Any) -> str:
    if isinstance(values, list):
        values = values[0] if values else b""
    if isinstance(values, (bytes, bytearray)):
        return bytes(values).decode("utf-8", "replace")
    return "" if values is None else str(values)


def search_raw(conn: ADConnection, base: str, ldap_filter: str, attributes: t.Sequence[str], scope: str = "SUBTREE",
               controls: t.Any = None) -> list[tuple[str, dict[str, list[bytes]]]]:
    """(dn, raw attribute values) of every entry; [] when ``base`` does not exist."""
    scope_value = {"BASE": ldap3.BASE, "LEVEL": ldap3.LEVEL, "SUBTREE": ldap3.SUBTREE}[scope]
    ok = conn.conn.search(base, ldap_filter, search_scope=scope_value, attributes=list(attributes), controls=controls)
    if not ok and conn.conn.result.get("result") not in (0, _RESULT_NO_SUCH_OBJECT):
        raise ADError(explain_ldap_result(conn.conn.result, "search under %s" % base, conn.options))
    return [(entry["dn"], {name.lower(): list(values) for name, values in entry.get("raw_attributes", {}).items()})
            for entry in conn.conn.response or [] if entry.get("type") == "searchResEntry"]


def _gpo_from_raw(dn: str, raw: dict[str, list[bytes]]) -> GpoInfo:
    name = _text(raw.get("name")) or dn.split(",", 1)[0].split("=", 1)[1]
    flags = _text(raw.get("flags"))
    return GpoInfo(
        dn=dn, guid=name.upper(), name=_text(raw.get("displayname")), file_sys_path=_text(raw.get("gpcfilesyspath")),
        version=version_from_directory(_text(raw.get("versionnumber")) or 0), flags=int(flags) if flags else 0,
        machine_extensions=_text(raw.get("gpcmachineextensionnames")),
        user_extensions=_text(raw.get("gpcuserextensionnames")))


def find_gpos(conn: ADConnection, reference: str) -> list[GpoInfo]:
    """GPOs whose GUID or display name is ``reference`` (display names compare case-insensitively, like AD)."""
    guid = guid_of(reference)
    if guid:
        ldap_filter = "(&(objectClass=groupPolicyContainer)(name=%s))" % escape_filter_value(guid)
    else:
        ldap_filter = "(&(objectClass=groupPolicyContainer)(displayName=%s))" % escape_filter_value(reference)
    return [_gpo_from_raw(dn, raw)
            for dn, raw in search_raw(conn, policies_dn(conn), ldap_filter, GPO_ATTRIBUTES, scope="LEVEL")]


def get_gpo(conn: ADConnection, reference: str, parameter: str = "gpo") -> GpoInfo:
    """Exactly one GPO, or ADError naming ``parameter`` (none found, or a display name shared by several)."""
    found = find_gpos(conn, reference)
    if not found:
        raise ADError("%s=%s: no GPO has that %s in %s; create it first with webfarm.winauth.gpo (state=present)"
                      % (parameter, reference, "GUID" if guid_of(reference) else "display name", conn.info.dns_domain))
    if len(found) > 1:
        raise ambiguous_name_error(parameter, reference, found)
    return found[0]


def ambiguous_name_error(parameter: str, reference: str, found: list[GpoInfo]) -> ADError:
    return ADError("%s=%s: %d GPOs share that display name (%s); GPMC allows this but this module never picks one: "
                   "give the GUID instead, or rename or delete the extra GPOs"
                   % (parameter, reference, len(found), ", ".join(sorted(g.guid for g in found))))


def read_entry_raw(conn: ADConnection, dn: str, attributes: t.Sequence[str],
                   controls: t.Any = None) -> dict[str, list[bytes]] | None:
    found = search_raw(conn, dn, "(objectClass=*)", attributes, scope="BASE", controls=controls)
    return found[0][1] if found else None


def read_security_descriptor(conn: ADConnection, dn: str) -> bytes:
    """Owner, group and DACL of an object (the SD flags control keeps the SACL out, so no extra right is needed)."""
    raw = read_entry_raw(conn, dn, ["nTSecurityDescriptor"],
                         controls=security_descriptor_control(sdflags=_SD_OWNER_GROUP_DACL))
    values = (raw or {}).get("ntsecuritydescriptor")
    if not values:
        raise ADError("cannot read the security descriptor of %s: the bind identity needs read permission on it "
                      "(an account that may edit the GPO has it)" % dn)
    return bytes(values[0])


# --------------------------------------------------------------------------- writes

def add_entry(conn: ADConnection, dn: str, object_class: str, attributes: dict[str, t.Any] | None = None) -> bool:
    """Add an object; False when it already exists."""
    ok = conn.conn.add(dn, object_class, attributes or {})
    if ok:
        return True
    if conn.conn.result.get("result") == _RESULT_ENTRY_ALREADY_EXISTS:
        return False
    raise ADError(explain_ldap_result(conn.conn.result, "creating %s" % dn, conn.options))


def replace_attribute(conn: ADConnection, dn: str, attribute: str, value: t.Any) -> None:
    """Set (or with ``value`` None, clear) one attribute."""
    change = [(ldap3.MODIFY_REPLACE, [] if value is None else [value])]
    if not conn.conn.modify(dn, {attribute: change}):
        raise ADError(explain_ldap_result(conn.conn.result, "writing %s of %s" % (attribute, dn), conn.options))


def swap_attribute(conn: ADConnection, dn: str, attribute: str, old: str | None, new: str | None) -> None:
    """Change a single-valued attribute from ``old`` to ``new`` in one atomic modify.

    The old value is deleted by value, so the DC refuses the change if anyone
    wrote the attribute since we read it: no edit made meanwhile (in GPMC, by
    another run) is silently overwritten.
    """
    if old == new:
        return
    changes: list[tuple[t.Any, list[str]]] = []
    if old not in (None, ""):
        changes.append((ldap3.MODIFY_DELETE, [old]))
    if new not in (None, ""):
        changes.append((ldap3.MODIFY_ADD, [new]))
    if conn.conn.modify(dn, {attribute: changes}):
        return
    if conn.conn.result.get("result") in (_RESULT_NO_SUCH_ATTRIBUTE, _RESULT_ATTRIBUTE_OR_VALUE_EXISTS):
        raise ADError("%s of %s was changed by someone else while this task was working on it; nothing of it was "
                      "overwritten: run the task again" % (attribute, dn))
    raise ADError(explain_ldap_result(conn.conn.result, "writing %s of %s" % (attribute, dn), conn.options))


def delete_subtree(conn: ADConnection, dn: str) -> bool:
    """Delete an object and everything under it, deepest first; False when it did not exist."""
    found = search_raw(conn, dn, "(objectClass=*)", ["objectClass"], scope="SUBTREE")
    if not found:
        return False
    for child_dn, _raw in sorted(found, key=lambda item: item[0].count(","), reverse=True):
        if not conn.conn.delete(child_dn) and conn.conn.result.get("result") != _RESULT_NO_SUCH_OBJECT:
            raise ADError(explain_ldap_result(conn.conn.result, "deleting %s" % child_dn, conn.options))
    return True


# --------------------------------------------------------------------------- links

def containers_linking(conn: ADConnection, guid: str) -> list[tuple[str, str]]:
    """(DN, gPLink) of every OU, domain and site in this forest's reach that links the GPO."""
    ldap_filter = "(gPLink=*%s*)" % escape_filter_value(guid)
    found: list[tuple[str, str]] = []
    for base in (conn.info.default_naming_context, "CN=Sites,%s" % conn.info.configuration_naming_context):
        for dn, raw in search_raw(conn, base, ldap_filter, ["gPLink"]):
            found.append((dn, _text(raw.get("gplink"))))
    return found


def read_link_target(conn: ADConnection, target: str) -> tuple[str, str, str, int]:
    """(DN, kind, gPLink, gPOptions) of a link target: ``domain``, an OU or a site, named by DN."""
    dn = conn.info.default_naming_context if target.strip().lower() == "domain" else target.strip()
    raw = read_entry_raw(conn, dn, ["objectClass", "gPLink", "gPOptions"])
    if raw is None:
        raise ADError("target=%s: no such object; give the DN of an OU, the domain (or the word domain), or a site"
                      % target)
    classes = {_text([value]).lower() for value in raw.get("objectclass", [])}
    if "organizationalunit" in classes:
        kind = "ou"
    elif "domaindns" in classes or "domain" in classes:
        kind = "domain"
    elif "site" in classes:
        kind = "site"
    else:
        raise ADError("target=%s is a %s, where GPOs cannot be linked: link to an OU, the domain or a site (computers "
                      "in a container such as CN=Computers only get domain-linked GPOs; move them to an OU)"
                      % (dn, sorted(classes - {"top"})[-1] if classes - {"top"} else "object"))
    options = _text(raw.get("gpoptions"))
    return dn, kind, _text(raw.get("gplink")), int(options) if options.strip().lstrip("-").isdigit() else 0


def blocks_inheritance(conn: ADConnection, dns: list[str]) -> dict[str, bool]:
    """gPOptions "block inheritance" (bit 1) of each OU or domain DN."""
    result = {}
    for dn in dns:
        raw = read_entry_raw(conn, dn, ["gPOptions"]) or {}
        value = _text(raw.get("gpoptions"))
        result[dn] = bool(int(value) & 1) if value.strip().lstrip("-").isdigit() else False
    return result


def display_names(conn: ADConnection, guids: list[str]) -> dict[str, str]:
    """GUID -> display name of GPOs (those not found are left out)."""
    wanted = sorted({g.upper() for g in guids if g})
    if not wanted:
        return {}
    ldap_filter = "(&(objectClass=groupPolicyContainer)(|%s))" % "".join(
        "(name=%s)" % escape_filter_value(g) for g in wanted)
    return {_text(raw.get("name")).upper(): _text(raw.get("displayname"))
            for _dn, raw in search_raw(conn, policies_dn(conn), ldap_filter, ["name", "displayName"], scope="LEVEL")}


def find_computer(conn: ADConnection, name: str) -> str:
    """DN of a computer account named as SERVER1, SERVER1$, DOMAIN\\SERVER1$ or by DN."""
    entry = find_object(conn, name, parameter="expect_computers")
    classes = [str(c).lower() for c in entry["attributes"].get("objectClass") or []]
    if "computer" not in classes:
        raise ADError("expect_computers=%s is a %s, not a computer account: list the web servers' computer accounts "
                      "(user rights are computer policy)" % (name, classes[-1] if classes else "object"))
    return entry["dn"]


# --------------------------------------------------------------------------- accounts

def resolve_account(conn: ADConnection, name: str, parameter: str = "accounts") -> tuple[str, str]:
    """(SID, display name) for an account named by SID, well-known name, sAMAccountName, DOMAIN\\name, UPN or DN."""
    text = (name or "").strip()
    if is_sid(text):
        sid = normalize_sid(text)
        return sid, well_known_name(sid) or sid
    known = well_known_sid(text)
    if known:
        return known, well_known_name(known) or text
    entry = find_object(conn, text, parameter=parameter)
    raw = read_entry_raw(conn, entry["dn"], ["objectSid", "sAMAccountName"]) or {}
    sid_values = raw.get("objectsid")
    if not sid_values:
        raise ADError("%s=%s (%s) has no SID: only users, groups and computers can hold user rights"
                      % (parameter, name, entry["dn"]))
    sid = format_sid(bytes(sid_values[0]))
    netbios = netbios_name(conn) or conn.info.dns_domain.split(".")[0].upper()
    return sid, "%s\\%s" % (netbios, _text(raw.get("samaccountname")))


def names_for_sids(conn: ADConnection, sids: t.Iterable[str]) -> dict[str, str]:
    """SID -> ``DOMAIN\\name`` (or the well-known name) for display; unknown SIDs are left out."""
    names: dict[str, str] = {}
    lookup = []
    for sid in {s.upper() for s in sids}:
        known = well_known_name(sid)
        if known:
            names[sid] = known
        else:
            lookup.append(sid)
    if not lookup:
        return names
    netbios = netbios_name(conn) or conn.info.dns_domain.split(".")[0].upper()
    ldap_filter = "(|%s)" % "".join("(objectSid=%s)" % escape_filter_value(sid) for sid in lookup)
    for _dn, raw in search_raw(conn, conn.info.default_naming_context, ldap_filter, ["objectSid", "sAMAccountName"]):
        if raw.get("objectsid"):
            names[format_sid(bytes(raw["objectsid"][0])).upper()] = "%s\\%s" % (netbios,
                                                                                _text(raw.get("samaccountname")))
    return names
