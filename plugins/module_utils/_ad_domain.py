# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""Read-only facts about the bound domain (webfarm.winauth.domain_info)."""

from __future__ import annotations

import typing as t

from ansible_collections.webfarm.winauth.plugins.module_utils._ad_connection import ADConnection, ADError
from ansible_collections.webfarm.winauth.plugins.module_utils._ad_objects import (
    FUNCTIONAL_LEVELS,
    find_object,
    most_specific_class,
    netbios_name,
)


def functional_level_name(level: int | None) -> str | None:
    if level is None:
        return None
    return FUNCTIONAL_LEVELS.get(level, str(level))


def describe_domain(conn: ADConnection) -> dict[str, t.Any]:
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


def probe_global_catalog(conn: ADConnection) -> dict[str, t.Any]:
    """Bind to the Global Catalog port of the same DC and search the forest root once."""
    report: dict[str, t.Any] = {"advertised": conn.info.global_catalog_ready, "reachable": False,
                                "port": conn.options.gc_port}
    try:
        with conn.global_catalog() as gc:
            gc.search("", "(objectClass=domainDNS)", ["distinguishedName"], size_limit=1)
        report["reachable"] = True
    except ADError as exc:
        report["error"] = str(exc)
    return report


def _allowed_effective(conn: ADConnection, dn: str) -> tuple[set[str], set[str]]:
    """(attributes the bind identity may write, attributes the object's classes may hold), lower-cased."""
    entry = conn.read_entry(dn, ["allowedAttributesEffective", "allowedAttributes"])
    if entry is None:
        raise ADError("object %s disappeared while checking write access" % dn)
    attrs = entry["attributes"]
    return ({a.lower() for a in attrs.get("allowedAttributesEffective") or []},
            {a.lower() for a in attrs.get("allowedAttributes") or []})


def check_write_access(conn: ADConnection, name: str, attributes: list[str]) -> dict[str, t.Any]:
    if name.strip().lower() == "domain":
        dn = conn.info.default_naming_context
        entry = conn.read_entry(dn, ["objectClass"])
        object_class = most_specific_class(entry) if entry else "domainDNS"
    else:
        entry = find_object(conn, name, parameter="check_write")
        dn = entry["dn"]
        object_class = most_specific_class(entry)
    writable, possible = _allowed_effective(conn, dn)
    return {
        "name": name,
        "dn": dn,
        "object_class": object_class,
        "attributes": {attr: (attr.lower() in writable) if attr.lower() in possible else None for attr in attributes},
    }
