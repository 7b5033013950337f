# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""A node as the audit sees it: one ``iis_config`` read and the node's batch-logon holders, as plain data.

The snapshot is a JSON-friendly dict (it travels through Ansible results from the node pass to the
farm pass): applications with their location, pool, bindings, Windows and anonymous authentication;
pools and their identities; for an ARR front end, its web farms, global rules and proxy switch. No
secrets: pool passwords are never read. Pure logic, no I/O.
"""

from __future__ import annotations

import typing as t

from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis import schema as S
from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis.config import SectionState, Target
from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis.web_auth import web_auth_location


def snapshot_targets(role: str) -> list[Target]:
    """What the audit reads on a node, in one ``iis_config`` read."""
    targets = [
        Target(S.SITES),
        Target(S.APPLICATION_POOLS),
        Target(S.WINDOWS_AUTHENTICATION, "", each_application=True),
        Target(S.ANONYMOUS_AUTHENTICATION, "", each_application=True),
    ]
    if role == "front_end":
        targets += [Target(S.WEB_FARMS), Target(S.GLOBAL_RULES), Target(S.PROXY)]
    return targets


def _state(states: t.Sequence[SectionState], section: str) -> SectionState | None:
    return next((s for s in states if s.section.path == section), None)


def _extended_protection(win: t.Any) -> dict[str, t.Any]:
    """tokenChecking, its flags and the service names (SPNs) it accepts, as IIS has them at the application."""
    if win is None:
        return {"token_checking": "None", "flags": [], "spns": []}
    element = win.child("extendedProtection")
    flags = str(element.value("flags") or "None")
    return {"token_checking": str(element.value("tokenChecking") or "None"),
            "flags": [f.strip() for f in flags.split(",") if f.strip() and f.strip() != "None"],
            "spns": [str(i.value("name")) for i in element.items]}


def node_snapshot(host: str, computer: str, role: str, states: t.Sequence[SectionState],
                  batch_logon: list[dict[str, t.Any]] | None) -> dict[str, t.Any]:
    """A node as the audit sees it (JSON-friendly; no secrets: pool passwords are never read)."""
    sites = _state(states, S.SITES)
    pools = _state(states, S.APPLICATION_POOLS)
    windows = _state(states, S.WINDOWS_AUTHENTICATION)
    anonymous = _state(states, S.ANONYMOUS_AUTHENTICATION)
    win_at = {a.location.lower(): a.element for a in (windows.applications if windows else [])}
    anon_at = {a.location.lower(): a.element for a in (anonymous.applications if anonymous else [])}
    applications = []
    for site in sites.element.items if sites and sites.element.exists else []:
        name = str(site.value("name"))
        bindings = ["%s %s" % (b.value("protocol"), b.value("bindingInformation"))
                    for b in site.child("bindings").items]
        for app in site.items:
            path = "/" + str(app.value("path") or "/").strip("/")
            location = web_auth_location(name, path)
            win = win_at.get(location.lower())
            anon = anon_at.get(location.lower())
            applications.append({
                "site": name, "path": path, "location": location, "pool": str(app.value("applicationPool") or ""),
                "bindings": bindings,
                "windows": {
                    "enabled": bool(win.value("enabled")) if win is not None else False,
                    "providers": [str(p.value("value")) for p in win.child("providers").items] if win is not None
                    else [],
                    "use_kernel_mode": bool(win.value("useKernelMode")) if win is not None else True,
                    "use_app_pool_credentials": bool(win.value("useAppPoolCredentials")) if win is not None
                    else False,
                    "auth_persist_single_request": bool(win.value("authPersistSingleRequest")) if win is not None
                    else False,
                    "auth_persist_non_ntlm": bool(win.value("authPersistNonNTLM")) if win is not None else False,
                    "extended_protection": _extended_protection(win),
                },
                "anonymous": {"enabled": bool(anon.value("enabled")) if anon is not None else True},
            })
    pool_map = {}
    for item in pools.element.items if pools and pools.element.exists else []:
        model = item.child("processModel")
        pool_map[str(item.value("name"))] = {"identity_type": str(model.value("identityType")),
                                             "username": str(model.value("userName") or "")}
    snapshot: dict[str, t.Any] = {"host": host, "computer": computer.upper(), "role": role,
                                  "applications": applications, "pools": pool_map, "batch_logon": batch_logon}
    if role == "front_end":
        farms_state = _state(states, S.WEB_FARMS)
        rules_state = _state(states, S.GLOBAL_RULES)
        proxy_state = _state(states, S.PROXY)
        farms = []
        for farm in farms_state.element.items if farms_state and farms_state.element.exists else []:
            farms.append({"name": str(farm.value("name")), "enabled": bool(farm.value("enabled")),
                          "servers": [str(s.value("address")) for s in farm.items if s.value("enabled")]})
        rules = []
        for rule in rules_state.element.items if rules_state and rules_state.element.exists else []:
            action = rule.child("action")
            rules.append({"name": str(rule.value("name")), "enabled": bool(rule.value("enabled")),
                          "action": str(action.value("type")), "url": str(action.value("url") or "")})
        snapshot["arr"] = {"proxy_enabled": bool(proxy_state.element.value("enabled")) if proxy_state else False,
                           "farms": farms, "rules": rules}
    return snapshot
