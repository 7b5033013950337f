# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""The farm the audit looks at: its description (the ``farm`` option), the names and SPNs that matter. Pure."""

from __future__ import annotations

import typing as t

from ansible_collections.webfarm.winauth.plugins.module_utils._windows.errors import InvalidInput
from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis.web_auth import web_auth_location
from ansible_collections.webfarm.winauth.plugins.plugin_utils._verify import acceptor

ROLES = ("node", "front_end", "content")
MODES = ("kerberos", "ntlm")
KINDS = ("lb", "arr")


class AuditError(InvalidInput):
    """Invalid audit input (the message names the option and the fix)."""


FARM_OPTIONS: dict[str, t.Any] = {
    "name": {"type": "str", "required": True},
    "kind": {"type": "str", "choices": list(KINDS), "default": "lb"},
    "names": {"type": "list", "elements": "str", "required": True},
    "mode": {"type": "str", "choices": list(MODES), "default": "kerberos"},
    "identity": {"type": "str"},
    "site": {"type": "str"},
    "application": {"type": "str"},
    "batch_logon_gpo": {"type": "str"},
    "tls_offload": {"type": "bool", "default": False},
}


def farm_spec(farm: dict[str, t.Any]) -> dict[str, t.Any]:
    """The farm description, checked and normalized (names lower case, no trailing dots)."""
    names = []
    for name in farm.get("names") or []:
        text = str(name).strip().rstrip(".").lower()
        if not text or "/" in text or " " in text:
            raise AuditError("farm.names: %r is not a host name. Fix: list the names clients browse to, such as "
                             "sso.example.com and sso" % name)
        if text not in names:
            names.append(text)
    if not names:
        raise AuditError("farm.names is empty. Fix: list the names clients use to reach the farm (the virtual name "
                         "of an L4 farm, the ARR front end's name)")
    spec = dict(farm)
    spec["names"] = names
    spec["kind"] = farm.get("kind") or "lb"
    spec["mode"] = farm.get("mode") or "kerberos"
    application = farm.get("application")
    spec["location"] = web_auth_location(farm["site"], application) if farm.get("site") else None
    return spec


def pool_is_domain(pool: dict[str, t.Any]) -> bool:
    """A snapshot's pool runs as an account of its own (see ``acceptor.is_domain_identity``)."""
    return acceptor.is_domain_identity(pool.get("identity_type"), pool.get("username"))


def account_key(user: str) -> str:
    """``CAMTEST\\cam-svc`` / ``cam-svc@camtest.local`` -> ``cam-svc``: the audit's key for an account (lower case)."""
    return acceptor.account_name(user).lower()


def account_label(directory: dict[str, t.Any], account: dict[str, t.Any]) -> str:
    """``CAMTEST\\cam-svc``: an account of the directory view as the findings name it."""
    if directory.get("netbios"):
        return "%s\\%s" % (directory["netbios"], account.get("sam"))
    return str(account.get("sam"))


def spns_of(names: t.Iterable[str], service: str = "HTTP") -> list[str]:
    return ["%s/%s" % (service, name) for name in names]


def farm_applications(farm: dict[str, t.Any], node: dict[str, t.Any]) -> list[dict[str, t.Any]]:
    """The applications of a node that serve the farm: the farm's location, else those with Windows auth on."""
    apps = node.get("applications", [])
    if farm.get("location"):
        return [a for a in apps if a["location"].lower() == farm["location"].lower()]
    windows = [a for a in apps if a["windows"]["enabled"]]
    return windows or apps[:1]


def own_names(node: dict[str, t.Any], directory: dict[str, t.Any]) -> list[str]:
    """A node's own host names: its computer name and the dNSHostName of its computer account."""
    names = [node["computer"].lower()]
    dns = (directory.get("computers", {}).get(node["computer"].upper()) or {}).get("dns_host_name")
    if dns and dns.lower() not in names:
        names.append(dns.lower())
    return names


def interesting_spns(farm: dict[str, t.Any], nodes: t.Sequence[dict[str, t.Any]],
                     directory: dict[str, t.Any]) -> list[str]:
    """The SPNs the audit looks at: HTTP and HOST for the farm's names, HTTP for each node's own names."""
    canonical = [c for c in (farm.get("canonical_names") or {}).values() if c]
    spns = spns_of(farm["names"]) + spns_of(farm["names"], "HOST") + spns_of(canonical)
    for node in nodes:
        spns += ["HTTP/%s" % name for name in own_names(node, directory)]
    unique: list[str] = []
    for spn in spns:
        if spn.lower() not in [u.lower() for u in unique]:
            unique.append(spn)
    return unique
