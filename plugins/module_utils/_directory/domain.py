# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""Read-only facts about the bound domain: the engine of webfarm.winauth.domain_info."""

from __future__ import annotations

import typing as t

from ansible_collections.webfarm.winauth.plugins.module_utils._directory.objects import (
    FUNCTIONAL_LEVELS,
    find_object,
    netbios_name,
)
from ansible_collections.webfarm.winauth.plugins.module_utils._directory.operations import Directory
from ansible_collections.webfarm.winauth.plugins.module_utils._directory.outcome import Outcome
from ansible_collections.webfarm.winauth.plugins.module_utils._windows.errors import DirectoryError, WinauthError


def functional_level_name(level: int | None) -> str | None:
    if level is None:
        return None
    return FUNCTIONAL_LEVELS.get(level, str(level))


def describe_domain(conn: Directory) -> dict[str, t.Any]:
    info = conn.info
    return {
        "domain": {
            "dns_name": info.dns_domain,
            "netbios_name": netbios_name(conn),
            "dn": info.default_naming_context,
            "sid": conn.domain_sid(),
            "forest_root_dn": info.root_domain_naming_context,
            "configuration_dn": info.configuration_naming_context,
            "schema_dn": info.schema_naming_context,
            "domain_functional_level": functional_level_name(info.domain_functionality),
            "forest_functional_level": functional_level_name(info.forest_functionality),
        },
        "dc": {
            "hostname": info.dc_hostname,
            "server": info.server,
            "port": info.port,
            "functional_level": functional_level_name(info.dc_functionality),
        },
        "bind": {"identity": info.bound_as, "auth": conn.options.auth, "tls": conn.options.tls},
    }


def probe_global_catalog(conn: Directory) -> dict[str, t.Any]:
    """Bind to the Global Catalog port of the same DC and search the forest root once."""
    report: dict[str, t.Any] = {"advertised": conn.info.global_catalog_ready, "reachable": False,
                                "port": conn.options.gc_port}
    try:
        with conn.global_catalog() as gc:
            gc.search("", "(objectClass=domainDNS)", ["distinguishedName"], size_limit=1)
        report["reachable"] = True
    except WinauthError as exc:
        report["error"] = str(exc)
    return report


def check_write_access(conn: Directory, name: str, attributes: list[str]) -> dict[str, t.Any]:
    """For each attribute: True when the bind identity may write it on the object, False when not, None when the
    object's classes have no such attribute (from the constructed allowedAttributes[Effective])."""
    if name.strip().lower() == "domain":
        dn = conn.info.default_naming_context
        entry = conn.read(dn, ["objectClass"])
        object_class = entry.most_specific_class if entry else "domainDNS"
    else:
        entry = find_object(conn, name, parameter="check_write")
        dn, object_class = entry.dn, entry.most_specific_class
    allowed = conn.read(dn, ["allowedAttributesEffective", "allowedAttributes"])
    if allowed is None:
        raise DirectoryError("object %s disappeared while checking write access" % dn)
    writable = {a.lower() for a in allowed.texts("allowedAttributesEffective")}
    possible = {a.lower() for a in allowed.texts("allowedAttributes")}
    return {"name": name, "dn": dn, "object_class": object_class,
            "attributes": {attr: (attr.lower() in writable) if attr.lower() in possible else None
                           for attr in attributes}}


def domain_facts(conn: Directory, check_write: t.Sequence[str], check_attributes: list[str]) -> Outcome:
    """What domain_info returns: the domain, the DC, the bind, the Global Catalog, and the write checks asked for."""
    result = describe_domain(conn)
    result["global_catalog"] = probe_global_catalog(conn)
    result["write_access"] = [check_write_access(conn, name, check_attributes) for name in check_write]
    return Outcome(result=result)
