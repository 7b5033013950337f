# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""Desired-state planning for IIS configuration: what to read, what to change, and a diff people can read.

The web-node action plugins read the sections they manage once (``iis_config`` ``read``), then
call the planners here to compare the desired state with what was read. The planners produce the
contract's edit list (applied in one more call, unless in check mode) and a before/after text
where schema defaults and inherited values are marked as such. Secrets are compared on the host
(``read``'s ``compare``); a plan never holds a secret except inside the edit that sets it, and
never shows one. See docs/remote-contract.md.

No I/O here.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field

from ansible_collections.webfarm.winauth.plugins.module_utils._windows.errors import InvalidInput
from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis import schema as S
from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis import sections
from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis import values as V
from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis.contract import describe_path

Path = t.Tuple[t.Any, ...]


class PlanError(InvalidInput):
    """A desired state that cannot be planned (the message names the setting and the fix)."""


@dataclass(frozen=True)
class SecretCheck:
    """Ask the host whether a stored secret equals a value (the value is never shown)."""

    path: Path
    attribute: str
    value: str = field(repr=False)

    def request(self) -> dict[str, t.Any]:
        return {"path": list(self.path), "attribute": self.attribute, "value": self.value}


@dataclass(frozen=True)
class Target:
    """One (section, location[, path]) to read."""

    section: str
    location: str = ""
    path: Path = ()
    secrets: tuple[SecretCheck, ...] = ()
    location_optional: bool = False     # a missing site gives found: false instead of location_not_found (1.1.0)
    state: bool = False                 # also read the runtime state of the item at path (pools, sites; 1.1.0)
    each_application: bool = False      # read the section at every application's path (location ""; 1.1.0)

    def request(self) -> dict[str, t.Any]:
        request: dict[str, t.Any] = {"section": self.section, "location": self.location, "path": list(self.path)}
        if self.secrets:
            request["compare"] = [check.request() for check in self.secrets]
        if self.location_optional:
            request["location_optional"] = True
        if self.state:
            request["state"] = True
        if self.each_application:
            request["each_application"] = True
        return request


def read_request(targets: t.Sequence[Target]) -> dict[str, t.Any]:
    return {"op": "read", "sections": [target.request() for target in targets]}


def expect_request(targets: t.Sequence[Target], states: t.Sequence["SectionState"]) -> list[dict[str, t.Any]]:
    """What an apply must find unchanged (1.3.0): each target read, without its secret comparisons, and its
    fingerprint. The host reads them again before its first edit and refuses the apply when one differs."""
    expect = []
    for target, state in zip(targets, states):
        if state.fingerprint:
            entry = target.request()
            entry.pop("compare", None)
            expect.append(dict(entry, fingerprint=state.fingerprint))
    return expect


class Element:
    """A read-only view of an element of a ``read`` result, with its schema."""

    def __init__(self, data: dict[str, t.Any] | None, schema: S.Element) -> None:
        self.data = data
        self.schema = schema

    @property
    def exists(self) -> bool:
        return self.data is not None

    def _attr(self, name: str) -> dict[str, t.Any]:
        if self.data is None:
            return {}
        attributes = self.data.get("attributes", {})
        for key, value in attributes.items():
            if key.lower() == name.lower():
                return value
        return {}

    def value(self, name: str) -> t.Any:
        """The effective value (the schema default when the element does not exist)."""
        entry = self._attr(name)
        if "value" in entry:
            return entry["value"]
        attr = self.schema.attr(name)
        return V.default_value(attr) if attr is not None else None

    def source(self, name: str) -> str:
        return str(self._attr(name).get("source", "default"))

    def has_secret(self, name: str) -> bool:
        return bool(self._attr(name).get("has_value"))

    def child(self, name: str) -> "Element":
        schema = self.schema.child(name)
        if schema is None:
            raise PlanError("%s has no child element %s" % (self.schema.name, name))
        data = None
        if self.data is not None:
            children = self.data.get("children", {})
            data = next((v for k, v in children.items() if k.lower() == name.lower()), None)
        return Element(data, schema)

    @property
    def items(self) -> list["Element"]:
        if self.schema.collection is None:
            raise PlanError("%s holds no collection" % self.schema.name)
        raw = self.data.get("items", []) if self.data is not None else []
        return [Element(item, self.schema.collection.item) for item in raw]

    def values(self) -> dict[str, t.Any]:
        if self.data is None:
            return {}
        return {k: v.get("value") for k, v in self.data.get("attributes", {}).items()}

    def item(self, key: dict[str, t.Any]) -> "Element | None":
        coll = self.schema.collection
        if coll is None:
            raise PlanError("%s holds no collection" % self.schema.name)
        for item in self.items:
            if V.key_matches(coll, item.values(), key):
                return item
        return None


@dataclass
class SectionState:
    """What ``read`` returned for one target."""

    section: S.Section
    location: str
    path: Path
    override_mode: str
    element: Element
    compares: dict[tuple[str, str], bool]
    location_found: bool = True                 # False: the site of an optional location does not exist
    state: str | None = None                    # runtime state of the item at path (Target.state), None if absent
    applications: list["SectionState"] = field(default_factory=list)   # Target.each_application: one per path
    fingerprint: str | None = None              # what the host saw, checked again by the apply (1.3.0)

    @classmethod
    def from_result(cls, target: Target, result: dict[str, t.Any]) -> "SectionState":
        section = sections.get_section(target.section)
        if section is None:
            raise PlanError("the collection has no schema for %s" % target.section)
        schema = S.resolve_element(section, target.path)
        compares = {(describe_path(c.get("path", [])), str(c.get("attribute")).lower()): bool(c.get("equal"))
                    for c in result.get("compare", [])}
        entries = [entry for entry in result.get("applications", []) or [] if isinstance(entry, dict)]
        applications = [cls(section, str(entry.get("location", "")), tuple(target.path),
                            str(entry.get("override_mode_effective", "")), Element(entry.get("element"), schema), {})
                        for entry in entries]
        state = result.get("state")
        return cls(section, str(result.get("location", target.location)), tuple(target.path),
                   str(result.get("override_mode_effective", "")), Element(result.get("element"), schema), compares,
                   location_found=result.get("location_found", True) is not False,
                   state=str(state) if state is not None else None, applications=applications,
                   fingerprint=str(result["fingerprint"]) if result.get("fingerprint") else None)

    def at(self, path: t.Sequence[t.Any]) -> Element:
        """The element at a path below the one read (items that do not exist give an absent element)."""
        element = self.element
        for step in path:
            if isinstance(step, str):
                element = element.child(step)
            else:
                found = element.item(step) if element.exists else None
                element = found if found is not None else Element(None, element.schema.collection.item)
        return element

    def secret_equal(self, path: t.Sequence[t.Any], attribute: str) -> bool:
        key = (describe_path(list(self.path) + list(path)), attribute.lower())
        if key not in self.compares:
            raise PlanError("no host-side comparison was read for %s %s" % (describe_path(list(path)), attribute))
        return self.compares[key]


def render(value: t.Any) -> str:
    """A value as the diff shows it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None or value == "":
        return '""'
    return str(value)


@dataclass
class Plan:
    """Edits to apply and what the diff shows (each block: a heading and its lines)."""

    edits: list[dict[str, t.Any]] = field(default_factory=list)
    before: dict[str, list[str]] = field(default_factory=dict)
    after: dict[str, list[str]] = field(default_factory=dict)
    summary: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    journal: list[dict[str, t.Any]] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.edits)

    def record(self, state: SectionState, path: t.Sequence[t.Any], kind: str, name: str, before: dict[str, t.Any],
               after: dict[str, t.Any]) -> None:
        """Keep the structured before- and after-state of one changing thing, for the change record's journal.

        ``kind`` is attribute (``before`` holds value and source: local, inherited or default), secret (only
        whether one was set: never a value), collection (the items), item (whether it existed) or runtime.
        """
        full = list(state.path) + list(path)
        where = "server" if state.location == "" else state.location
        self.journal.append({"object": "iis:%s@%s:%s:%s" % (state.section.path, where, describe_path(full), name),
                             "kind": kind, "section": state.section.path, "location": state.location,
                             "path": full, "name": name, "before": before, "after": after})

    def sides(self) -> dict[str, list[dict[str, t.Any]]]:
        """The result keys ``before`` and ``after``: one entry per changing thing, its identity and one side."""
        out: dict[str, list[dict[str, t.Any]]] = {"before": [], "after": []}
        for entry in self.journal:
            ident = {k: entry[k] for k in ("object", "kind", "section", "location", "path", "name")}
            out["before"].append(dict(ident, **entry["before"]))
            out["after"].append(dict(ident, **entry["after"]))
        return out

    def show(self, heading: str, before: str, after: str) -> None:
        self.before.setdefault(heading, []).append(before)
        self.after.setdefault(heading, []).append(after)

    def edit(self, state: SectionState, op: str, path: t.Sequence[t.Any], description: str,
             **fields: t.Any) -> None:
        edit: dict[str, t.Any] = {"op": op, "section": state.section.path, "location": state.location,
                                  "path": list(state.path) + list(path)}
        edit.update(fields)
        self.edits.append(edit)
        self.summary.append("%s (%s)" % (description, heading(state, path)))

    def diff(self) -> dict[str, str]:
        def text(blocks: dict[str, list[str]]) -> str:
            return "".join("[%s]\n%s\n" % (head, "\n".join(lines)) for head, lines in blocks.items())
        return {"before": text(self.before), "after": text(self.after)}


def heading(state: SectionState, path: t.Sequence[t.Any] = ()) -> str:
    where = "server" if state.location == "" else state.location
    full = list(state.path) + list(path)
    return "%s @ %s%s" % (state.section.path, where, (" " + describe_path(full)) if full else "")


def _marked(element: Element, name: str, value: t.Any) -> str:
    source = element.source(name) if element.exists else "default"
    if source in ("default", "inherited"):
        return "%s (%s)" % (render(value), source)
    return render(value)


def plan_attributes(plan: Plan, state: SectionState, path: t.Sequence[t.Any], desired: dict[str, t.Any],
                    label: str = "") -> None:
    """Set the attributes of the element at ``path`` that differ from ``desired`` (None values are ignored)."""
    element = state.at(path)
    for name, wanted in desired.items():
        if wanted is None:
            continue
        attr = element.schema.attr(name)
        if attr is None:
            raise PlanError("%s has no attribute %s" % (element.schema.name, name))
        try:
            value = V.normalize(attr, wanted)
        except S.SchemaValueError as exc:
            raise PlanError("%s%s" % (label + ": " if label else "", exc)) from None
        head = heading(state, path)
        if attr.encrypted:
            equal = state.secret_equal(path, attr.name) if element.exists else False
            before = "%s = (secret, %s)" % (attr.name, "set" if element.has_secret(attr.name) else "not set")
            plan.show(head, before, "%s = (secret, %s)" % (attr.name, "unchanged" if equal else "changed"))
            if not equal:
                plan.edit(state, "set", path, "set %s (secret)" % attr.name, attribute=attr.name, value=value)
                plan.record(state, path, "secret", attr.name, {"set": element.has_secret(attr.name)},
                            {"set": True, "changed": True})
            continue
        current = element.value(attr.name)
        if V.values_equal(attr, current, value):
            plan.show(head, "%s = %s" % (attr.name, _marked(element, attr.name, current)),
                      "%s = %s" % (attr.name, _marked(element, attr.name, current)))
            continue
        plan.show(head, "%s = %s" % (attr.name, _marked(element, attr.name, current)),
                  "%s = %s" % (attr.name, render(value)))
        plan.edit(state, "set", path, "set %s=%s" % (attr.name, render(value)), attribute=attr.name, value=value)
        plan.record(state, path, "attribute", attr.name,
                    {"value": current, "source": element.source(attr.name) if element.exists else "default"},
                    {"value": value, "source": "local"})


def _item_label(coll: S.Collection, values: dict[str, t.Any]) -> str:
    parts = [render(values.get(a.name, V.default_value(a))) for a in (coll.unique_keys[:1] or coll.keys)]
    return ", ".join(parts)


def item_state(items: t.Sequence[Element]) -> list[dict[str, t.Any]]:
    """Collection items as a journal keeps them: the values each item sets itself, and whether it is inherited."""
    return [{"values": {k: v.get("value") for k, v in (i.data or {}).get("attributes", {}).items()
                        if v.get("source") != "default"}, "inherited": bool(i.data and i.data.get("inherited"))}
            for i in items]


def _normalized_item(coll: S.Collection, item: dict[str, t.Any]) -> dict[str, t.Any]:
    normalized = {}
    for name, value in item.items():
        attr = coll.item.attr(name)
        if attr is None:
            raise PlanError("%s items have no attribute %s" % (coll.add, name))
        try:
            normalized[attr.name] = V.normalize(attr, value)
        except S.SchemaValueError as exc:
            raise PlanError(str(exc)) from None
    missing = [a.name for a in (coll.unique_keys[:1] or coll.keys) if a.name not in normalized]
    if missing:
        raise PlanError("a %s item needs %s" % (coll.add, ", ".join(missing)))
    return normalized


def plan_collection(plan: Plan, state: SectionState, path: t.Sequence[t.Any], desired: t.Sequence[dict[str, t.Any]],
                    mode: str = "exact", label: str = "") -> None:
    """Make the collection at ``path`` hold ``desired`` items.

    ``exact``: exactly these items in this order (when it differs: ``clear`` then ``add`` each);
    ``present``: add the missing ones; ``absent``: remove the ones present. Items compare on the
    attributes given in ``desired`` (keys and any others).
    """
    element = state.at(path)
    coll = element.schema.collection
    if coll is None:
        raise PlanError("%s holds no collection" % element.schema.name)
    wanted = [_normalized_item(coll, item) for item in desired]
    current = element.items
    name = label or (element.schema.name if path else state.section.root.name)
    head = heading(state, path)
    shown_before = ", ".join(_item_label(coll, i.values()) for i in current) or "(none)"
    inherited = current and all(i.data and i.data.get("inherited") for i in current) and state.location != ""
    if inherited:
        shown_before += " (inherited)"
    if mode == "exact":
        same = len(current) == len(wanted) and all(
            all(V.values_equal(coll.item.attr(k), have.values().get(k, V.default_value(coll.item.attr(k))), v)
                for k, v in want.items())
            for have, want in zip(current, wanted))
        plan.show(head, "%s = %s" % (name, shown_before), "%s = %s" % (
            name, shown_before if same else ", ".join(_item_label(coll, w) for w in wanted) or "(none)"))
        if not same:
            plan.record(state, path, "collection", name, {"items": item_state(current)},
                        {"items": [{"values": w, "inherited": False} for w in wanted]})
            plan.edit(state, "clear", path, "clear %s" % name)
            for want in wanted:
                plan.edit(state, "add", path, "add %s %s" % (coll.add, _item_label(coll, want)), item=want)
        return
    if mode not in ("present", "absent"):
        raise PlanError("unknown collection mode %s" % mode)
    after = [i.values() for i in current]
    changed = False
    for want in wanted:
        found = element.item(want)
        if mode == "present" and found is None:
            plan.edit(state, "add", path, "add %s %s" % (coll.add, _item_label(coll, want)), item=want)
            after.append(want)
            changed = True
        elif mode == "absent" and found is not None:
            key = {a.name: want[a.name] for a in coll.keys if a.name in want}
            plan.edit(state, "remove", path, "remove %s %s" % (coll.add, _item_label(coll, want)), key=key)
            after = [v for v in after if not V.key_matches(coll, v, key)]
            changed = True
    plan.show(head, "%s = %s" % (name, shown_before), "%s = %s" % (
        name, ", ".join(_item_label(coll, v) for v in after) or "(none)" if changed else shown_before))
    if changed:
        plan.record(state, path, "collection", name, {"items": item_state(current)},
                    {"items": [{"values": v, "inherited": False} for v in after]})


def plan_item(plan: Plan, state: SectionState, path: t.Sequence[t.Any], key: dict[str, t.Any],
              attributes: dict[str, t.Any] | None = None,
              children: dict[str, dict[str, t.Any]] | None = None) -> None:
    """Make a collection item exist, with these attributes and child-element attributes.

    ``children`` maps child element names (or deeper paths such as ``"recycling/periodicRestart"``)
    to the attributes wanted there.

    A missing item is added with its key and attributes (one ``add``), then its child elements are
    set; an existing one gets ``set`` edits for what differs. Values left None are not managed.
    """
    element = state.at(path)
    coll = element.schema.collection
    if coll is None:
        raise PlanError("%s holds no collection" % element.schema.name)
    attributes = {k: v for k, v in (attributes or {}).items() if v is not None}
    item_path = list(path) + [dict(key)]
    if element.item(key) is None:
        secret = [n for n in attributes if coll.item.attr(n) is not None and coll.item.attr(n).encrypted]
        if secret:
            raise PlanError("set %s through children or a set edit, not on add" % ", ".join(secret))
        new = _normalized_item(coll, dict(key, **attributes))
        head = heading(state, item_path)
        plan.show(head, "(absent)", ", ".join("%s = %s" % (k, render(v)) for k, v in new.items()))
        plan.edit(state, "add", path, "add %s %s" % (coll.add, _item_label(coll, new)), item=new)
        plan.record(state, item_path, "item", coll.add, {"exists": False}, {"exists": True, "values": new})
        for child, values in (children or {}).items():
            plan_attributes(plan, _absent_item_state(state, item_path, child), [], values)
        return
    plan_attributes(plan, state, item_path, attributes)
    for child, values in (children or {}).items():
        plan_attributes(plan, state, item_path + child.split("/"), values)


def _absent_item_state(state: SectionState, item_path: list[t.Any], child: str) -> SectionState:
    """A state for a child of an item that is about to be added: everything at its defaults.

    ``child`` may name a deeper element as ``"recycling/periodicRestart"``.
    """
    steps = list(state.path) + item_path + child.split("/")
    schema = S.resolve_element(state.section, steps)
    return SectionState(state.section, state.location, tuple(steps), state.override_mode, Element(None, schema), {})
