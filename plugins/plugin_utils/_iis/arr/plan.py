# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""The ARR front end of seed 000: a web farm, the URL Rewrite global rule that routes to it, the proxy switch.

Three sections of applicationHost.config, all server-wide (``allowDefinition="AppHostOnly"``):

* ``webFarms``: the farm (``<webFarm name=...>``), its servers (one ``<server address=...>`` item
  each, with ``applicationRequestRouting`` weight and ports) and its ``applicationRequestRouting``
  settings (``loadBalancing``, ``healthCheck``, ``affinity``, ``protocol``);
* ``system.webServer/rewrite/globalRules``: the rule IIS Manager's "Create Server Farm" wizard
  writes, ``ARR_<farm>_loadbalance`` (``patternSyntax="Wildcard"``, ``match url="*"``,
  ``action type="Rewrite" url="http://<farm>/{R:0}"``, ``stopProcessing="true"``), plus the
  ``ARR_<farm>_loadbalance_SSL`` rule the wizard adds when SSL offloading is off;
* ``system.webServer/proxy``: ARR's server-wide switch (``enabled``) and the defaults for
  requests rewritten to plain URLs.

And the front door: anonymous authentication on, Windows authentication off on the ARR site,
planned by ``web_auth`` (the same rules as ``webfarm.winauth.web_auth``), so that ARR relays
the clients' ``Authorization`` headers instead of answering the handshake itself.

Validation (``validation``) happens before anything is read or written, with messages that name the
parameter, the value and the fix. The plan is item-level: adding a server to a farm is one
``add`` (plus ``set`` edits for its ports and weight), never a rewrite of the farm.

No I/O here.
"""

from __future__ import annotations

import re
import typing as t

from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis import schema as S
from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis import values as V
from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis.arr.spec import GLOBAL_RULES, PROXY, WEB_FARMS
from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis.arr.validation import (
    FRONT_DOOR_ANONYMOUS,
    FRONT_DOOR_WINDOWS,
    Desired,
    Rule,
)
from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis.config import (
    Element,
    Plan,
    SectionState,
    Target,
    heading,
    item_state,
    plan_attributes,
    render,
)
from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis.web_auth import plan_web_auth, web_auth_targets


# --- reading and planning -------------------------------------------------------------------------------

def arr_targets() -> list[Target]:
    """The three server-wide sections, read whole (webFarms, globalRules, proxy)."""
    return [Target(WEB_FARMS), Target(GLOBAL_RULES), Target(PROXY)]


def targets(desired: Desired) -> list[Target]:
    """Everything the task reads, in one ``read`` call: the ARR sections, then the front door's."""
    if desired.manages_front_door:
        return arr_targets() + web_auth_targets(desired.site, None)
    return arr_targets()


def _fresh(state: SectionState, path: t.Sequence[t.Any]) -> SectionState:
    """A view of an element that is about to be (re-)created: everything at its schema defaults."""
    full = tuple(list(state.path) + list(path))
    return SectionState(state.section, state.location, full, state.override_mode,
                        Element(None, S.resolve_element(state.section, full)), {})


def _new_item(coll: S.Collection, values: dict[str, t.Any]) -> dict[str, t.Any]:
    """An item to add: its key and the attributes that differ from the schema default (as IIS writes them)."""
    item = {}
    for name, value in values.items():
        attr = coll.item.attr(name)
        if attr is None or value is None:
            continue
        value = V.normalize(attr, value)
        if attr.key or not V.values_equal(attr, V.default_value(attr), value):
            item[attr.name] = value
    return item


def _add(plan: Plan, state: SectionState, path: list[t.Any], values: dict[str, t.Any], label: str) -> None:
    coll = state.at(path).schema.collection
    item = _new_item(coll, values)
    plan.show(heading(state, path + [{k: v for k, v in item.items() if coll.item.attr(k).key}]), "(absent)",
              ", ".join("%s = %s" % (k, render(v)) for k, v in item.items()))
    plan.edit(state, "add", path, "add %s %s" % (coll.add, label), item=item)
    plan.record(state, path + [{k: v for k, v in item.items() if coll.item.attr(k).key}], "item", coll.add,
                {"exists": False}, {"exists": True, "values": item})


def _remove(plan: Plan, state: SectionState, path: list[t.Any], key: dict[str, t.Any], label: str) -> None:
    coll = state.at(path).schema.collection
    plan.show(heading(state, path + [key]), "%s %s" % (coll.add, label), "(absent)")
    plan.edit(state, "remove", path, "remove %s %s" % (coll.add, label), key=key)
    was, = item_state([state.at(path + [key])])
    plan.record(state, path + [key], "item", coll.add, {"exists": True, "values": was["values"]}, {"exists": False})


def _managed(values: dict[str, t.Any]) -> dict[str, t.Any]:
    return {k: v for k, v in values.items() if v is not None}


def plan_farm(plan: Plan, state: SectionState, desired: Desired) -> None:
    """The webFarm item, its ARR settings and its servers (item-level)."""
    key = {"name": desired.name}
    farm = state.element.item(key)
    if desired.state == "absent":
        if farm is not None:
            _remove(plan, state, [], key, desired.name)
        return
    if farm is None:
        _add(plan, state, [], {"name": desired.name, "enabled": desired.enabled}, desired.name)
    else:
        plan_attributes(plan, state, [key], {"enabled": desired.enabled})
    arr = [key, "applicationRequestRouting"]
    for child, values in (("loadBalancing", desired.load_balancing), ("healthCheck", desired.health_check),
                          ("affinity", desired.affinity), ("protocol", desired.protocol)):
        plan_attributes(plan, state, arr + [child], _managed(values))
    if desired.servers is None:
        return
    current = farm.items if farm is not None else []
    names = ", ".join(s.value("address") for s in current) or "(none)"
    wanted = {s["address"].lower() for s in desired.servers}
    kept = [s.value("address") for s in current if s.value("address").lower() in wanted or not desired.purge_servers]
    added = [s["address"] for s in desired.servers
             if farm is None or farm.item({"address": s["address"]}) is None]
    plan.show(heading(state, [key]), "servers = %s" % names, "servers = %s" % (", ".join(kept + added) or "(none)"))
    for server in desired.servers:
        server_key = {"address": server["address"]}
        if server["address"] in added:
            _add(plan, state, [key], {"address": server["address"], "enabled": server["enabled"]}, server["address"])
            plan_attributes(plan, _fresh(state, [key, server_key, "applicationRequestRouting"]), [],
                            _managed(server["arr"]))
        else:
            plan_attributes(plan, state, [key, server_key], {"enabled": server["enabled"]})
            plan_attributes(plan, state, [key, server_key, "applicationRequestRouting"], _managed(server["arr"]))
    if desired.purge_servers:
        for server in current:
            address = server.value("address")
            if address.lower() not in wanted:
                _remove(plan, state, [key], {"address": address}, address)


def _conditions_equal(have: Element, want: list[dict[str, t.Any]]) -> bool:
    items = have.items if have.exists else []
    if len(items) != len(want):
        return False
    coll = have.schema.collection
    for item, wanted in zip(items, want):
        for name in ("input", "matchType", "pattern", "ignoreCase", "negate"):
            attr = coll.item.attr(name)
            value = V.normalize(attr, wanted[name]) if name in wanted else V.default_value(attr)
            if not V.values_equal(attr, item.value(name), value):
                return False
    return True


def _plan_rule(plan: Plan, state: SectionState, rule: Rule, exists: bool) -> None:
    key = {"name": rule.name}
    target = state if exists else _fresh(state, [key])
    prefix: list[t.Any] = [key] if exists else []
    if exists:
        plan_attributes(plan, state, [key], rule.attributes)
    else:
        _add(plan, state, [], dict(key, **rule.attributes), rule.name)
    plan_attributes(plan, target, prefix + ["match"], rule.match)
    conditions = (state.at([key, "conditions"]) if exists
                  else Element(None, S.resolve_element(state.section, list(state.path) + [key, "conditions"])))
    plan_attributes(plan, target, prefix + ["conditions"], {"logicalGrouping": "MatchAll"})
    head = heading(state, [key, "conditions"])
    shown = ", ".join("%s ~ %s" % (c.value("input"), c.value("pattern")) for c in (
        conditions.items if conditions.exists else [])) or "(none)"
    wanted = ", ".join("%s ~ %s" % (c["input"], c["pattern"]) for c in rule.conditions) or "(none)"
    if _conditions_equal(conditions, rule.conditions):
        plan.show(head, "conditions = %s" % shown, "conditions = %s" % shown)
    else:
        plan.show(head, "conditions = %s" % shown, "conditions = %s" % wanted)
        plan.record(state, [key, "conditions"], "collection", "conditions",
                    {"items": item_state(conditions.items if conditions.exists else [])},
                    {"items": [{"values": dict(c), "inherited": False} for c in rule.conditions]})
        if conditions.exists and conditions.items:
            plan.edit(state, "clear", [key, "conditions"], "clear conditions")
        for condition in rule.conditions:
            plan.edit(state, "add", [key, "conditions"], "add condition %s" % condition["input"], item=dict(condition))
    plan_attributes(plan, target, prefix + ["action"], rule.action)


def plan_rules(plan: Plan, state: SectionState, desired: Desired) -> None:
    """The routing rules, in order: missing ones added, changed ones edited, unwanted ones of ours removed.

    A rule that must come before one that exists (the ..._SSL rule before the plain one) is added
    ahead of it by removing and re-adding the plain rule, since an ``add`` appends.
    """
    existing = [item.value("name") for item in state.element.items]
    position = {n.lower(): i for i, n in enumerate(existing)}
    wanted = [] if desired.state == "absent" else desired.rules
    wanted_names = {r.name.lower() for r in wanted}
    for name in desired.rule_names:
        if name.lower() in position and name.lower() not in wanted_names:
            _remove(plan, state, [], {"name": existing[position[name.lower()]]}, name)
    indexes = [position.get(r.name.lower()) for r in wanted]
    present = [index for index in indexes if index is not None]
    missing_first = any(indexes[i] is None and any(j is not None for j in indexes[i + 1:]) for i in range(len(indexes)))
    reorder = present != sorted(present) or missing_first
    for rule, index in zip(wanted, indexes):
        if reorder and index is not None:
            _remove(plan, state, [], {"name": existing[index]}, rule.name + " (to put the rules in order)")
    for rule, index in zip(wanted, indexes):
        _plan_rule(plan, state, rule, index is not None and not reorder)
    if desired.state == "absent":
        for item in state.element.items:
            url = item.child("action").value("url") or ""
            name = item.value("name")
            if name.lower() not in {n.lower() for n in desired.rule_names} and re.match(
                    r"^https?://%s(/|$)" % re.escape(desired.name), url, re.IGNORECASE):
                plan.warnings.append("global rule %r still rewrites to %s, which names the removed farm %s; "
                                     "remove or change that rule" % (name, url, desired.name))


def plan_proxy(plan: Plan, state: SectionState, desired: Desired) -> None:
    plan_attributes(plan, state, [], _managed(desired.proxy))


def plan_arr(plan: Plan, states: t.Sequence[SectionState], desired: Desired) -> None:
    """Plan the farm, its rules and the proxy switch from the states read for ``arr_targets()``."""
    farms, rules, proxy = states[:3]
    plan_farm(plan, farms, desired)
    plan_rules(plan, rules, desired)
    plan_proxy(plan, proxy, desired)
    if desired.manages_front_door:
        plan_web_auth(plan, states[3:], desired.site, None, FRONT_DOOR_WINDOWS, FRONT_DOOR_ANONYMOUS)
    plan.warnings.extend(desired.warnings)
    if desired.state == "present":
        farm = farms.element.item({"name": desired.name})
        keep_alive = desired.protocol.get("keepAlive")
        if keep_alive is None and farm is not None:
            keep_alive = farm.child("applicationRequestRouting").child("protocol").value("keepAlive")
        if desired.servers == [] or (desired.servers is None and (farm is None or not farm.items)):
            plan.warnings.append("farm %s has no servers: ARR answers the requests the rule routes to it with an "
                                 "error (502) until servers are added" % desired.name)
        if keep_alive is False:
            plan.warnings.append("keep_alive is false: ARR closes each backend connection after one response, and "
                                 "NTLM, whose challenge and answer must travel on one connection, cannot "
                                 "authenticate through the farm (Kerberos can); see docs/arr-farm.md")


def farm_summary(states: t.Sequence[SectionState], desired: Desired) -> dict[str, t.Any] | None:
    """The farm as the task leaves it (or would, in check mode): None when absent."""
    if desired.state == "absent":
        return None
    farm = states[0].element.item({"name": desired.name})
    schema = S.resolve_element(states[0].section, [{"name": desired.name}])

    def value(element: Element | None, path: list[str], name: str, wanted: t.Any) -> t.Any:
        if wanted is not None:
            return wanted
        node = element if element is not None else Element(None, schema)
        for step in path:
            node = node.child(step)
        return node.value(name)

    servers = []
    current = farm.items if farm is not None else []
    listed = {s["address"].lower(): s for s in desired.servers or []}
    for server in current:
        if desired.servers is not None and desired.purge_servers and server.value("address").lower() not in listed:
            continue
        want = listed.pop(server.value("address").lower(), {"enabled": None, "arr": {}})
        arr = server.child("applicationRequestRouting")
        servers.append({"address": server.value("address"),
                        "enabled": want["enabled"] if want["enabled"] is not None else server.value("enabled"),
                        "weight": want["arr"].get("weight") or arr.value("weight"),
                        "http_port": want["arr"].get("httpPort") or arr.value("httpPort"),
                        "https_port": want["arr"].get("httpsPort") or arr.value("httpsPort")})
    server_schema = schema.collection.item.child("applicationRequestRouting")
    for want in listed.values():
        servers.append({"address": want["address"], "enabled": want["enabled"],
                        "weight": want["arr"].get("weight") or V.default_value(server_schema.attr("weight")),
                        "http_port": want["arr"].get("httpPort") or V.default_value(server_schema.attr("httpPort")),
                        "https_port": want["arr"].get("httpsPort") or V.default_value(server_schema.attr("httpsPort"))})
    arr = ["applicationRequestRouting"]
    lb, health, aff, proto = (desired.load_balancing, desired.health_check, desired.affinity, desired.protocol)
    return {
        "name": farm.value("name") if farm is not None else desired.name,
        "enabled": desired.enabled,
        "servers": servers,
        "algorithm": value(farm, arr + ["loadBalancing"], "algorithm", lb.get("algorithm")),
        "hash_server_variable": value(farm, arr + ["loadBalancing"], "hashServerVariable",
                                      lb.get("hashServerVariable")),
        "hash_query_string": [n for n in value(farm, arr + ["loadBalancing"], "queryStringNames",
                                               lb.get("queryStringNames")).split(",") if n],
        "health_check": {
            "url": value(farm, arr + ["healthCheck"], "url", health.get("url")),
            "interval": int(V.timespan_seconds(value(farm, arr + ["healthCheck"], "interval", health.get("interval")))),
            "timeout": int(V.timespan_seconds(value(farm, arr + ["healthCheck"], "timeout", health.get("timeout")))),
            "status_codes": value(farm, arr + ["healthCheck"], "statusCodeMatch", health.get("statusCodeMatch")),
            "response_match": value(farm, arr + ["healthCheck"], "responseMatch", health.get("responseMatch")),
        },
        "client_affinity": value(farm, arr + ["affinity"], "useCookie", aff.get("useCookie")),
        "affinity_cookie_name": value(farm, arr + ["affinity"], "cookieName", aff.get("cookieName")),
        "preserve_host_header": value(farm, arr + ["protocol"], "preserveHostHeader", proto.get("preserveHostHeader")),
        "keep_alive": value(farm, arr + ["protocol"], "keepAlive", proto.get("keepAlive")),
        "timeout": int(V.timespan_seconds(value(farm, arr + ["protocol"], "timeout", proto.get("timeout")))),
    }
