# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""The way back on one node, planned: from a record's journal and one read of the node, the edits that put IIS back.

Pure: no I/O. ``webfarm.winauth.node_restore`` reads the sections the node's entries name (one ``iis_config`` read),
hands the states here and applies the plan in one call, as every IIS action of the collection does. Each entry is
compared with what the node holds now: as the run left it (the journal's ``after``): restored; as before: ``ok``;
anything else: someone changed it since the run, so it is refused with what differs, and the rest is restored.

* An attribute the run set where none was set before is reverted (``revert``: the parent's value or the default
  applies again); one that was set before gets its value back.
* A secret the run set where none was stored is reverted too; one that replaced a stored secret is refused (the
  journal never holds a secret).
* An item the run added is removed, with everything below it (the entries below it say so); when one of those
  changed since the run, the item is refused with it, so nobody's later edit is deleted.
* A collection the run rewrote gets its items back when they were its own (``clear``, then ``add`` each); one that
  was inherited is refused (no edit of this release deletes a collection's local items and nothing else).
* A pool whose configuration was put back is recycled (its worker processes start with the identity before),
  or started or stopped as it was.
"""

from __future__ import annotations

import dataclasses
import json
import typing as t

from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis import values as V
from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis.config import (
    Plan,
    SectionState,
    Target,
    heading,
    item_state,
    render,
)

IIS_KINDS = ("iis_attribute", "iis_secret", "iis_item", "iis_collection", "iis_runtime")
POOLS = "system.applicationHost/applicationPools"


@dataclasses.dataclass
class NodeItem:
    """One node entry of the journal on the way back: the verdict, why, and the edits (if any) that restore it."""

    entry: dict[str, t.Any]
    verdict: str = "ok"          # restore, ok or refuse
    reason: str = ""
    edits: list[tuple[str, list[t.Any], dict[str, t.Any]]] = dataclasses.field(default_factory=list)

    @property
    def iis(self) -> dict[str, t.Any]:
        return self.entry.get("iis") or {}

    @property
    def path(self) -> list[t.Any]:
        return list(self.iis.get("path") or [])

    def report(self) -> dict[str, t.Any]:
        status = {"restore": "restored", "ok": "ok", "refuse": "refused"}[self.verdict]
        return {"object": self.entry.get("object"), "kind": self.entry.get("kind"), "status": status,
                "reason": self.reason}


def entries_for(journal: dict[str, t.Any], host: str) -> list[dict[str, t.Any]]:
    """The node-plane entries the journal holds for this inventory host, in the order the run changed them."""
    return [e for e in journal.get("entries") or [] if isinstance(e, dict) and e.get("plane") == "node"
            and str(e.get("host", "")).lower() == host.lower()]


def _key(section: str, location: str, path: t.Sequence[t.Any] = (), state: bool = False) -> str:
    return json.dumps([section.lower(), location.lower(), list(path), state], sort_keys=True)


def _target_of(e: dict[str, t.Any]) -> Target:
    """The read an entry needs: its section at its location, or (runtime state) the pool or site itself."""
    iis = e["iis"]
    section, location = str(iis["section"]), str(iis.get("location") or "")
    if e["kind"] == "iis_runtime":
        return Target(section, location, tuple(iis.get("path") or []), state=True)
    return Target(section, location, location_optional=location != "")


def _target_key(target: Target) -> str:
    return _key(target.section, target.location, target.path if target.state else (), target.state)


def targets(entries: t.Sequence[dict[str, t.Any]]) -> list[Target]:
    """What to read: each (section, location) once, and each pool or site whose runtime state the run touched."""
    out: dict[str, Target] = {}
    for e in entries:
        if e.get("kind") in IIS_KINDS and (e.get("iis") or {}).get("section"):
            target = _target_of(e)
            out.setdefault(_target_key(target), target)
    return list(out.values())


def _state_of(states: dict[str, SectionState], e: dict[str, t.Any]) -> SectionState:
    return states[_target_key(_target_of(e))]


def _changed_since(item: NodeItem, now: str, after: str, before: str) -> str:
    return ("%s changed since the run: it is now %s, the run left %s and it was %s before; someone else changed it in "
            "between: decide what it must be and set it with the collection's module, then roll back again to restore "
            "the rest" % (item.entry.get("object"), now, after, before))


def _attribute(item: NodeItem, state: SectionState) -> None:
    name = str(item.iis.get("name"))
    element = state.at(item.path)
    attr = element.schema.attr(name)
    if attr is None:
        item.verdict, item.reason = "refuse", "%s has no attribute %s in this release's schema" % (
            element.schema.name, name)
        return
    before, after = item.entry.get("before") or {}, item.entry.get("after") or {}
    value = element.value(attr.name)
    source = element.source(attr.name) if element.exists else "default"
    local = source == "local"
    if V.values_equal(attr, value, before.get("value")) and local == (before.get("source") == "local"):
        item.reason = "already as before the run"
    elif V.values_equal(attr, value, after.get("value")) and local:
        item.verdict, item.reason = "restore", "as the run left it"
        if before.get("source") == "local":
            item.edits.append(("set", item.path, {"attribute": attr.name, "value": before.get("value")}))
        else:
            item.edits.append(("revert", item.path, {"attribute": attr.name}))
    else:
        item.verdict, item.reason = "refuse", _changed_since(
            item, "%s (%s)" % (render(value), source), render(after.get("value")),
            "%s (%s)" % (render(before.get("value")), before.get("source")))


def _secret(item: NodeItem, state: SectionState) -> None:
    name = str(item.iis.get("name"))
    if (item.entry.get("before") or {}).get("set"):
        item.verdict = "refuse"
        item.reason = str(item.entry.get("reason") or "a secret is never recorded, so it cannot be put back")
        return
    if not state.at(item.path).has_secret(name):
        item.reason = "already as before the run: no secret stored"
        return
    item.verdict, item.reason = "restore", "no secret was stored before the run: the one it stored is removed"
    item.edits.append(("revert", item.path, {"attribute": name}))


def _item(item: NodeItem, state: SectionState) -> None:
    if (item.entry.get("before") or {}).get("exists"):
        item.reason = "the item existed before the run: its attributes are restored one by one"
        return
    path = item.path
    if not path or not isinstance(path[-1], dict):
        item.verdict, item.reason = "refuse", "the journal does not address an item here"
        return
    if not state.at(path).exists:
        item.reason = "already as before the run: the item is not there"
        return
    item.verdict, item.reason = "restore", "the run added it: it is removed"
    item.edits.append(("remove", path[:-1], {"key": path[-1]}))


def _comparable(items: t.Any) -> list[tuple[t.Any, ...]]:
    return [(sorted((k.lower(), str(v).lower()) for k, v in (i.get("values") or {}).items()), bool(i.get("inherited")))
            for i in items or []]


def _collection(item: NodeItem, state: SectionState) -> None:
    now = _comparable(item_state(state.at(item.path).items))
    before = (item.entry.get("before") or {}).get("items") or []
    after = (item.entry.get("after") or {}).get("items") or []
    if now == _comparable(before):
        item.reason = "already as before the run"
    elif now != _comparable(after):
        item.verdict, item.reason = "refuse", _changed_since(item, "%d item(s)" % len(now), "%d" % len(after),
                                                             "%d" % len(before))
    elif any(i.get("inherited") for i in before):
        item.verdict, item.reason = "refuse", (
            "%s was inherited from the parent path before the run; this release does not delete a collection's local "
            "items alone: set it again with the module that manages it (web_auth providers=...)"
            % item.entry.get("object"))
    else:
        item.verdict, item.reason = "restore", "as the run left it"
        item.edits.append(("clear", item.path, {}))
        item.edits += [("add", item.path, {"item": dict(i.get("values") or {})}) for i in before]


def _below(path: list[t.Any], item_path: list[t.Any]) -> bool:
    return len(path) > len(item_path) and path[:len(item_path)] == item_path


def _same_place(a: NodeItem, b: NodeItem) -> bool:
    return (str(a.iis.get("section")).lower(), str(a.iis.get("location") or "").lower()) == \
        (str(b.iis.get("section")).lower(), str(b.iis.get("location") or "").lower())


def _fold_removed_items(items: list[NodeItem]) -> None:
    """An item the rollback removes takes what lies below it: those entries restore with it, or hold it back."""
    removed = [i for i in items if i.entry.get("kind") == "iis_item" and i.verdict == "restore"]
    for parent in removed:
        below = [i for i in items if i is not parent and i.entry.get("kind") != "iis_runtime"
                 and _same_place(i, parent) and _below(i.path, parent.path)]
        refused = [i for i in below if i.verdict == "refuse"]
        if refused:
            parent.verdict, parent.edits = "refuse", []
            parent.reason = ("not removed: %s below it changed since the run (%s)"
                             % (refused[0].entry.get("object"), refused[0].reason))
            continue
        for child in below:
            child.edits = []
            child.reason = "goes with %s, which the rollback removes" % parent.entry.get("object")
            child.verdict = "restore"


def _pool_name(item: NodeItem) -> str | None:
    path = item.path
    if str(item.iis.get("section", "")).lower() != POOLS.lower() or not path or not isinstance(path[0], dict):
        return None
    return str(path[0].get("name", "")).lower() or None


def _runtime(item: NodeItem, state: SectionState, items: list[NodeItem]) -> None:
    before = (item.entry.get("before") or {})
    if not before.get("exists", True):
        item.reason = "the run created it: it goes with its configuration"
        return
    wanted, now = before.get("state"), state.state
    pool = _pool_name(item)
    touched = pool is not None and any(_pool_name(i) == pool and i.edits for i in items if i is not item)
    if wanted in ("Started", "Stopped") and now not in (wanted, wanted[:-2] + "ing"):
        item.verdict, item.reason = "restore", "it was %s before the run" % wanted.lower()
        item.edits.append(("start" if wanted == "Started" else "stop", [], {}))
    elif touched and now in ("Started", "Starting"):
        item.verdict, item.reason = "restore", "recycled, so its worker processes run with the configuration before"
        item.edits.append(("recycle", [], {}))
    else:
        item.reason = "already as before the run (%s)" % (now or "absent")


def _identity(item: NodeItem, items: list[NodeItem]) -> None:
    """The pool identity is put back by its processModel attributes: this entry reports what they did."""
    pool = str(item.entry.get("object", "")).split(":")[1] if ":" in str(item.entry.get("object", "")) else ""
    related = [i for i in items if _pool_name(i) == pool and i.entry.get("kind") == "iis_attribute"]
    if any(i.verdict == "refuse" for i in related):
        item.verdict, item.reason = "refuse", "its processModel attributes were refused (see them)"
    elif any(i.verdict == "restore" for i in related):
        item.verdict, item.reason = "restore", "put back by its processModel attributes: %s" % (
            (item.entry.get("before") or {}).get("identity"))
    else:
        item.reason = "already as before the run"


def plan(entries: t.Sequence[dict[str, t.Any]], targets_read: t.Sequence[Target],
         states: t.Sequence[SectionState]) -> tuple[list[NodeItem], Plan, bool]:
    """Verdicts for each entry, the plan of edits (with the diff), and whether policy must be refreshed again."""
    by_key = {_target_key(target): state for target, state in zip(targets_read, states)}
    items = [NodeItem(dict(e)) for e in entries]
    for item in items:
        kind = item.entry.get("kind")
        if not item.entry.get("restorable", True) and kind != "iis_secret":
            item.verdict, item.reason = "refuse", str(item.entry.get("reason") or "the journal marks it not restorable")
        elif kind in ("iis_attribute", "iis_secret", "iis_item", "iis_collection"):
            state = _state_of(by_key, item.entry)
            if not state.location_found:
                item.verdict, item.reason = "refuse", "the site of %s no longer exists on this node" % item.iis.get(
                    "location")
                continue
            {"iis_attribute": _attribute, "iis_secret": _secret, "iis_item": _item,
             "iis_collection": _collection}[kind](item, state)
    _fold_removed_items(items)
    for item in items:
        if item.entry.get("kind") == "iis_runtime":
            _runtime(item, _state_of(by_key, item.entry), items)
        elif item.entry.get("kind") == "pool_identity":
            _identity(item, items)
    refresh = False
    for item in items:
        if item.entry.get("kind") == "policy_refresh":
            item.verdict, item.reason = "restore", "policy is refreshed again, so the node applies the GPO as it is now"
            refresh = True
    return items, _edits(items, by_key), refresh


def _edits(items: list[NodeItem], by_key: dict[str, SectionState]) -> Plan:
    """The edits in reverse journal order (the last change undone first), runtime ones last; the diff per object."""
    out = Plan()
    ordered = [i for i in reversed(items) if i.entry.get("kind") != "iis_runtime"]
    ordered += [i for i in items if i.entry.get("kind") == "iis_runtime"]
    for item in ordered:
        if not item.edits:
            continue
        state = _state_of(by_key, item.entry)
        head = heading(state, [])
        for op, path, fields in item.edits:
            out.edit(state, op, path, "%s %s (rollback)" % (op, item.iis.get("name") or ""), **fields)
        before, after = item.entry.get("before") or {}, item.entry.get("after") or {}
        out.show(head, "%s: %s" % (item.entry.get("object"), _side(item, after)),
                 "%s: %s" % (item.entry.get("object"), _side(item, before)))
    return out


def _side(item: NodeItem, side: dict[str, t.Any]) -> str:
    kind = item.entry.get("kind")
    if kind == "iis_attribute":
        return "%s%s" % (render(side.get("value")), "" if side.get("source") == "local" else " (%s)" % side.get(
            "source"))
    if kind == "iis_secret":
        return "(secret, %s)" % ("set" if side.get("set") else "not set")
    if kind == "iis_item":
        return "present" if side.get("exists") else "absent"
    if kind == "iis_collection":
        return ", ".join(",".join("%s=%s" % kv for kv in (i.get("values") or {}).items())
                         for i in side.get("items") or []) or "(none)"
    return str(side.get("state") or "")
