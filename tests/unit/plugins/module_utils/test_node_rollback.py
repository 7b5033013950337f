"""The way back on one node, planned (plugin_utils/_change_plan/node_rollback.py), checked against the lab twin's
configuration engine: journal entries as the IIS actions write them, one read, the plan, one apply."""

from __future__ import annotations

import typing as t
from pathlib import Path

from ansible_collections.webfarm.winauth.plugins.plugin_utils._change_plan import node_rollback

from _twin import apply, new_node, read

FARMS = "webFarms"
RULES = "system.webServer/rewrite/globalRules"
POOLS = "system.applicationHost/applicationPools"
WA = "system.webServer/security/authentication/windowsAuthentication"
SITE = "Default Web Site"


def entry(kind: str, section: str, location: str, path: list[t.Any], name: str, before: t.Any, after: t.Any,
          **extra: t.Any) -> dict[str, t.Any]:
    return dict({"object": "iis:%s@%s:%s:%s" % (section, location or "server", path, name), "kind": kind,
                 "host": "ARR1", "plane": "node", "before": before, "after": after, "restorable": True,
                 "iis": {"section": section, "location": location, "path": path, "name": name}}, **extra)


def restore(node, entries):
    targets = node_rollback.targets(entries)
    items, plan, refresh = node_rollback.plan(entries, targets, read(node, targets))
    if plan.edits:
        apply(node, plan.edits)
    return {i.entry["object"]: (i.verdict, i.reason) for i in items}, plan, refresh


ARR_EDITS = [
    {"op": "add", "section": FARMS, "location": "", "path": [], "item": {"name": "portal-farm"}},
    {"op": "add", "section": FARMS, "location": "", "path": [{"name": "portal-farm"}], "item": {"address": "c1"}},
    {"op": "add", "section": RULES, "location": "", "path": [], "item": {"name": "ARR_portal", "stopProcessing": True}},
    {"op": "set", "section": RULES, "location": "", "path": [{"name": "ARR_portal"}, "match"], "attribute": "url",
     "value": "*"},
]
ARR_ENTRIES = [
    entry("iis_item", FARMS, "", [{"name": "portal-farm"}], "webFarm", {"exists": False}, {"exists": True}),
    entry("iis_item", FARMS, "", [{"name": "portal-farm"}, {"address": "c1"}], "server", {"exists": False},
          {"exists": True}),
    entry("iis_item", RULES, "", [{"name": "ARR_portal"}], "rule", {"exists": False}, {"exists": True}),
    entry("iis_attribute", RULES, "", [{"name": "ARR_portal"}, "match"], "url", {"value": "", "source": "default"},
          {"value": "*", "source": "local"}),
]


def test_items_the_run_added_go_with_what_is_below_them_and_the_file_comes_back(tmp_path: Path) -> None:
    node = new_node(tmp_path, "ARR1")
    before = node.application_host_config.read_bytes()
    apply(node, ARR_EDITS)
    verdicts, plan, refresh = restore(node, ARR_ENTRIES)
    assert [e["op"] for e in plan.edits] == ["remove", "remove"] and not refresh
    assert verdicts[ARR_ENTRIES[1]["object"]] == ("restore", "goes with %s, which the rollback removes"
                                                  % ARR_ENTRIES[0]["object"])
    assert node.application_host_config.read_bytes().decode() == before.decode()
    verdicts, plan, _refresh = restore(node, ARR_ENTRIES)       # a second rollback: nothing to do
    assert not plan.edits and {v for v, _r in verdicts.values()} == {"ok"}


def test_an_item_whose_content_changed_since_the_run_is_kept_with_why(tmp_path: Path) -> None:
    node = new_node(tmp_path, "ARR1")
    apply(node, ARR_EDITS + [{"op": "set", "section": RULES, "location": "", "path": [{"name": "ARR_portal"}, "match"],
                              "attribute": "url", "value": "/app/*"}])
    verdicts, plan, _refresh = restore(node, ARR_ENTRIES)
    rule = verdicts[ARR_ENTRIES[2]["object"]]
    assert rule[0] == "refuse" and rule[1].startswith("not removed: ") and "url changed since the run: it is now /app/*" \
        in rule[1], rule
    assert [e["op"] for e in plan.edits] == ["remove"] and plan.edits[0]["section"] == FARMS   # the farm still goes


def test_attributes_secrets_and_the_pool_recycle(tmp_path: Path) -> None:
    node = new_node(tmp_path)
    pm = [{"name": "DefaultAppPool"}, "processModel"]
    apply(node, [{"op": "set", "section": WA, "location": SITE, "path": [], "attribute": "enabled", "value": True},
                 {"op": "set", "section": POOLS, "location": "", "path": pm, "attribute": "identityType",
                  "value": "SpecificUser"},
                 {"op": "set", "section": POOLS, "location": "", "path": pm, "attribute": "password", "value": "x1!"}])
    entries = [
        entry("iis_attribute", WA, SITE, [], "enabled", {"value": False, "source": "inherited"},
              {"value": True, "source": "local"}),
        entry("iis_attribute", POOLS, "", pm, "identityType", {"value": "ApplicationPoolIdentity", "source": "default"},
              {"value": "SpecificUser", "source": "local"}),
        entry("iis_secret", POOLS, "", pm, "password", {"set": False}, {"set": True, "changed": True},
              restorable=False, reason="a secret is never recorded"),
        entry("iis_runtime", POOLS, "", [{"name": "DefaultAppPool"}], "state", {"state": "Started", "exists": True},
              {"state": "Started"}),
        {"object": "pool:defaultapppool:identity", "kind": "pool_identity", "host": "ARR1", "plane": "node",
         "before": {"identity": "ApplicationPoolIdentity"}, "after": {"identity": "SpecificUser"}},
        {"object": "policy:gpupdate", "kind": "policy_refresh", "host": "ARR1", "plane": "node", "before": None,
         "after": None}]
    verdicts, plan, refresh = restore(node, entries)
    assert [(e["op"], e.get("attribute")) for e in plan.edits] == [
        ("revert", "password"), ("revert", "identityType"), ("revert", "enabled"), ("recycle", None)]
    assert {v for v, _r in verdicts.values()} == {"restore"} and refresh
    state = read(node, node_rollback.targets(entries))
    pool = state[1].at(pm)
    assert pool.value("identityType") == "ApplicationPoolIdentity" and not pool.has_secret("password")
    # a secret that replaced a stored one cannot come back
    entries[2]["before"] = {"set": True}
    apply(node, [{"op": "set", "section": POOLS, "location": "", "path": pm, "attribute": "password", "value": "x2!"}])
    verdicts, _plan, _refresh = restore(node, entries[2:3])
    assert verdicts[entries[2]["object"]] == ("refuse", "a secret is never recorded")


def test_a_collection_comes_back_when_it_was_its_own_and_is_refused_when_it_was_inherited(tmp_path: Path) -> None:
    node = new_node(tmp_path)
    providers = [{"values": {"value": "Negotiate"}, "inherited": False}, {"values": {"value": "NTLM"},
                                                                          "inherited": False}]
    apply(node, [{"op": "clear", "section": WA, "location": "", "path": ["providers"]},
                 {"op": "add", "section": WA, "location": "", "path": ["providers"], "item": {"value": "Negotiate"}}])
    own = entry("iis_collection", WA, "", ["providers"], "providers", {"items": providers},
                {"items": [providers[0]]})
    verdicts, plan, _refresh = restore(node, [own])
    assert verdicts[own["object"]][0] == "restore" and [e["op"] for e in plan.edits] == ["clear", "add", "add"]
    assert restore(node, [own])[0][own["object"]] == ("ok", "already as before the run")
    apply(node, [{"op": "clear", "section": WA, "location": SITE, "path": ["providers"]}])
    inherited = entry("iis_collection", WA, SITE, ["providers"], "providers",
                      {"items": [dict(p, inherited=True) for p in providers]}, {"items": []})
    verdict, why = restore(node, [inherited])[0][inherited["object"]]
    assert verdict == "refuse" and "inherited from the parent path" in why
