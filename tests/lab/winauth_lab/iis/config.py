# Internal to the webfarm.winauth lab.
"""The lab's simulated IIS configuration engine: the ``iis_config`` contract over an applicationHost.config.

What it models, after IIS 10 (see docs/remote-contract.md for the contract itself):

* Sections are declared in ``<configSections>`` (a section the file does not declare is unknown,
  as on a server without the feature); their schema comes from the collection's own table.
* Location paths: ``""`` is the server; ``"Site"``, ``"Site/app"`` are deeper paths whose first
  segment must name an existing site. Settings at a path are the merge, from the server down, of
  the section elements at each level (attributes override, collections merge with
  ``<add>``/``<remove>``/``<clear/>``). Unset attributes of collection items take the values of
  the collection's defaults element (``applicationPoolDefaults``, ``siteDefaults``, ...), then
  the schema default.
* Writes always go to applicationHost.config, under ``<location path="...">`` for deeper paths,
  as ``appcmd ... /commit:apphost`` and ``GetApplicationHostConfiguration()`` do. Section locking
  (``overrideModeDefault="Deny"``, ``<location overrideMode="Deny">``) governs web.config files
  and is reported by ``read``; it does not stop these writes. Sections with
  ``allowDefinition="AppHostOnly"`` can only be set for the whole server. Attribute and item locks
  (``lockAttributes``, ``lockAllAttributesExcept``, ``lockItem``) set at a parent path are enforced.
* Everything not edited stays byte-for-byte (see ``xmldoc``); new elements follow IIS's layout.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field

from . import secrets
from ..collection import iis_schema as S, iis_sections as sections, iis_values as V
from .xmldoc import Node, XmlDocument

_LOCK_ATTRS = ("lockAttributes", "lockAllAttributesExcept", "lockElements", "lockAllElementsExcept", "lockItem")


class RemoteError(Exception):
    """A structured error of the contract (code, message and where it happened)."""

    def __init__(self, code: str, message: str, **context: t.Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.context = {k: v for k, v in context.items() if v is not None}

    def to_json(self) -> dict[str, t.Any]:
        return dict(self.context, code=self.code, message=self.message)


def norm_location(path: t.Any) -> str:
    if not isinstance(path, str):
        raise RemoteError("invalid_request", "location must be a string (\"\" for the whole server)")
    path = path.strip().replace("\\", "/").strip("/")
    return "" if path == "." else path


def parent_location(path: str) -> str:
    return path.rsplit("/", 1)[0] if "/" in path else ""


def levels(path: str) -> list[str]:
    """The paths whose settings apply at ``path``, from the server down."""
    result = [""]
    parts = path.split("/") if path else []
    for i in range(len(parts)):
        result.append("/".join(parts[:i + 1]))
    return result


# --- the merged ("effective") view of a section at a path ---------------------------------------

@dataclass
class View:
    schema: t.Any                                     # S.Element
    attrs: dict[str, tuple[str, str]] = field(default_factory=dict)   # name -> (raw, level)
    children: dict[str, "View"] = field(default_factory=dict)
    items: list["View"] = field(default_factory=list)
    level: str = ""                                   # for items: the path that added it
    lock_item: str | None = None                      # level of a lockItem="true"
    attr_locks: dict[str, str] = field(default_factory=dict)   # attribute -> level of the lock
    lock_all_except: tuple[set[str], str] | None = None

    def child(self, schema: t.Any) -> "View":
        if schema.name not in self.children:
            self.children[schema.name] = View(schema)
        return self.children[schema.name]

    def locked_at(self, name: str) -> str | None:
        if name in self.attr_locks:
            return self.attr_locks[name]
        if self.lock_all_except and name not in self.lock_all_except[0]:
            return self.lock_all_except[1]
        return None


def _schema_attr(element: t.Any, name: str) -> t.Any:
    return element.attr(name)


def values_of(schema: t.Any, raw: dict[str, str]) -> dict[str, t.Any]:
    """Attribute values in JSON form from their stored text (unreadable ones kept as text)."""
    values = {}
    for name, text in raw.items():
        attr = schema.attr(name)
        if attr is None:
            continue
        try:
            values[attr.name] = text if attr.encrypted else V.parse_stored(attr, text)
        except S.SchemaValueError:
            values[attr.name] = text
    return values


def _node_values(schema: t.Any, node: Node) -> dict[str, t.Any]:
    return values_of(schema, {a.name: a.value for a in node.attributes})


def _same_item(coll: t.Any, left: dict[str, t.Any], right: dict[str, t.Any]) -> bool:
    return V.item_identity(coll, left) == V.item_identity(coll, right)


def _duplicate(coll: t.Any, existing: dict[str, t.Any], new: dict[str, t.Any]) -> bool:
    """IIS refuses an item that repeats any unique key, or all parts of a combined key."""
    if coll.unique_keys:
        return any(V.values_equal(a, existing.get(a.name, V.default_value(a)), new.get(a.name, V.default_value(a)))
                   for a in coll.unique_keys if a.name in new)
    return _same_item(coll, existing, new)


def _merge(view: View, node: Node, level: str) -> None:
    for attribute in node.attributes:
        name = attribute.name
        if name in _LOCK_ATTRS:
            names = {n.strip() for n in attribute.value.split(",") if n.strip()}
            if name == "lockAttributes":
                for n in names:
                    view.attr_locks.setdefault(n, level)
            elif name == "lockAllAttributesExcept":
                view.lock_all_except = (names, level)
            elif name == "lockItem" and attribute.value.strip().lower() == "true":
                view.lock_item = level
            continue
        if name.startswith("xmlns") or _schema_attr(view.schema, name) is None:
            continue
        view.attrs[_schema_attr(view.schema, name).name] = (attribute.value, level)
    coll = view.schema.collection
    for child in node.children:
        schema_child = view.schema.child(child.name)
        if schema_child is not None:
            _merge(view.child(schema_child), child, level)
        elif coll is not None and child.name == coll.add:
            item = View(coll.item, level=level)
            _merge(item, child, level)
            mine = _values(item)
            view.items = [i for i in view.items if not _same_item(coll, _values(i), mine)] + [item]
        elif coll is not None and coll.remove and child.name == coll.remove:
            given = {a.name: a.value for a in child.attributes}
            view.items = [i for i in view.items if not V.key_matches(coll, _values(i), given)]
        elif coll is not None and coll.clear and child.name == coll.clear:
            view.items = []


def _raw(view: View) -> dict[str, str]:
    return {n: raw for n, (raw, _lvl) in view.attrs.items()}


def _values(view: View) -> dict[str, t.Any]:
    return values_of(view.schema, _raw(view))


# --- the engine -----------------------------------------------------------------------------

class ConfigEngine:
    """One applicationHost.config, read and edited under the contract's rules."""

    def __init__(self, data: bytes) -> None:
        self.doc = XmlDocument(data)
        self._declared: dict[str, dict[str, str]] | None = None

    # -- declarations and addressing ---------------------------------------------------------

    def declarations(self) -> dict[str, dict[str, str]]:
        """The declared sections (edits never change <configSections>: computed once per engine)."""
        if self._declared is not None:
            return self._declared
        declared: dict[str, dict[str, str]] = {}
        sections = self.doc.root.find("configSections")

        def walk(group: Node, prefix: str) -> None:
            for child in group.children:
                if child.name == "sectionGroup":
                    walk(child, prefix + (child.get("name") or "") + "/")
                elif child.name == "section":
                    declared[(prefix + (child.get("name") or "")).lower()] = {
                        "overrideModeDefault": child.get("overrideModeDefault") or "Allow",
                        "allowDefinition": child.get("allowDefinition") or "Everywhere",
                    }
        if sections is not None:
            walk(sections, "")
        self._declared = declared
        return declared

    def section(self, path: t.Any) -> t.Any:
        if not isinstance(path, str) or not path:
            raise RemoteError("invalid_request", "section must be a section path such as %s"
                              % S.WINDOWS_AUTHENTICATION)
        schema = sections.get_section(path.strip())
        declared = self.declarations().get(path.strip().lower())
        if schema is None or declared is None:
            known = ", ".join(sorted(sections.SECTIONS))
            why = ("it is not declared in applicationHost.config's <configSections> (is the IIS feature that "
                   "provides it installed?)" if schema is not None else
                   "the lab's configuration engine models only: %s" % known)
            raise RemoteError("unknown_section", "unknown configuration section %r: %s" % (path, why), section=path)
        return schema

    def locations(self) -> list[tuple[str, Node]]:
        return [(norm_location(node.get("path") or ""), node) for node in self.doc.root.find_all("location")]

    def containers(self, level: str) -> list[Node]:
        """The elements that hold settings for exactly this path: <configuration> itself and <location>s."""
        found = [self.doc.root] if level == "" else []
        found += [node for path, node in self.locations() if path.lower() == level.lower()]
        return found

    def section_nodes(self, schema: t.Any, level: str) -> list[Node]:
        nodes = []
        for container in self.containers(level):
            current = [container]
            for name in schema.path.split("/"):
                current = [c for node in current for c in node.find_all(name)]
            nodes += current
        return nodes

    def view(self, schema: t.Any, location: str) -> View:
        view = View(schema.root)
        for level in levels(location):
            for node in self.section_nodes(schema, level):
                _merge(view, node, level)
        return view

    def sites(self) -> list[str]:
        schema = sections.get_section(S.SITES)
        if S.SITES.lower() not in self.declarations():
            return []
        return [raw for raw, _lvl in (i.attrs.get("name") for i in self.view(schema, "").items) if raw]

    def canonical_location(self, schema: t.Any, location: t.Any) -> str:
        location = norm_location(location)
        if location == "":
            return ""
        if schema.app_host_only:
            raise RemoteError("section_not_allowed_here", "%s can only be set for the whole server (location \"\"): "
                              "its allowDefinition is %s" % (schema.path, schema.allow_definition),
                              section=schema.path, location=location)
        site, _sep, rest = location.partition("/")
        for name in self.sites():
            if name.lower() == site.lower():
                return name + ("/" + rest if rest else "")
        raise RemoteError("location_not_found", "no site named %r on this server (sites: %s)"
                          % (site, ", ".join(self.sites()) or "none"), section=schema.path, location=location)

    def override_mode(self, schema: t.Any, location: str) -> str:
        mode = self.declarations()[schema.path.lower()]["overrideModeDefault"]
        for level in levels(location):
            for container in self.containers(level):
                if container is self.doc.root:
                    continue
                if not self._contains(container, schema):
                    continue
                explicit = container.get("overrideMode")
                legacy = container.get("allowOverride")
                if explicit in ("Allow", "Deny"):
                    mode = explicit
                elif legacy is not None:
                    mode = "Allow" if legacy.strip().lower() == "true" else "Deny"
        return mode

    def _contains(self, container: Node, schema: t.Any) -> bool:
        current = [container]
        for name in schema.path.split("/"):
            current = [c for node in current for c in node.find_all(name)]
        return bool(current)

    # -- read ----------------------------------------------------------------------------------

    def read(self, request: dict[str, t.Any]) -> dict[str, t.Any]:
        schema = self.section(request.get("section"))
        steps = _steps(request.get("path", []))
        try:
            location = self.canonical_location(schema, request.get("location", ""))
        except RemoteError as exc:
            if exc.code != "location_not_found" or request.get("location_optional") is not True:
                raise
            # 1.1.0: an optional location whose site does not exist reads as absent.
            return {"section": schema.path, "location": norm_location(request.get("location", "")),
                    "override_mode_effective": "", "path": steps, "found": False, "location_found": False,
                    "element": None, "compare": [{"path": _steps(c.get("path", [])) if isinstance(c, dict) else [],
                                                  "attribute": c.get("attribute") if isinstance(c, dict) else None,
                                                  "found": False, "equal": False}
                                                 for c in request.get("compare", []) or []]}
        result = self._read_at(schema, location, steps, request)
        if request.get("each_application") is True:
            if location != "":
                raise RemoteError("invalid_request", "each_application reads every application's path: give "
                                  "location \"\"", section=schema.path, location=location)
            result["applications"] = [self._read_at(schema, self.canonical_location(schema, path), steps, {})
                                      for path in self.application_locations()]
        return result

    def application_locations(self) -> list[str]:
        """The location path of every application of every site (site order, then application order)."""
        sites = self._read_at(sections.get_section(S.SITES), "", [], {})["element"]
        paths = []
        for site in (sites or {}).get("items", []):
            name = site["attributes"]["name"]["value"]
            for app in site.get("items", []):
                path = str(app["attributes"]["path"]["value"]).strip("/")
                paths.append(name + ("/" + path if path else ""))
        return paths

    def _read_at(self, schema: t.Any, location: str, steps: list, request: dict[str, t.Any]) -> dict[str, t.Any]:
        here = self.view(schema, location)
        there = self.view(schema, parent_location(location)) if location else None
        result: dict[str, t.Any] = {
            "section": schema.path, "location": location,
            "override_mode_effective": self.override_mode(schema, location),
            "path": steps,
        }
        found = _descend(here, steps, schema)
        parent = _descend(there, steps, schema)
        result["found"] = found is not None
        result["element"] = _element_json(found, parent, location) if found is not None else None
        compares = request.get("compare", [])
        if not isinstance(compares, list):
            raise RemoteError("invalid_request", "compare must be a list")
        result["compare"] = [self._compare(schema, here, c) for c in compares]
        return result

    def _compare(self, schema: t.Any, here: View, request: t.Any) -> dict[str, t.Any]:
        if not isinstance(request, dict) or not isinstance(request.get("attribute"), str) \
                or not isinstance(request.get("value"), str):
            raise RemoteError("invalid_request", "compare entries need path, attribute and value (a string)")
        steps = _steps(request.get("path", []))
        element = _schema_element(schema, steps)
        attr = element.attr(request["attribute"])
        if attr is None:
            raise RemoteError("unknown_attribute", "%s has no attribute %r" % (element.name, request["attribute"]),
                              section=schema.path, attribute=request["attribute"])
        found = _descend(here, steps, schema)
        answer = {"path": steps, "attribute": attr.name, "found": found is not None, "equal": False}
        if found is not None:
            value = _effective(found.view, found.defaults, attr)[0]
            answer["equal"] = value is not None and value == request["value"]
        return answer

    # -- apply ---------------------------------------------------------------------------------

    def apply(self, edits: t.Any) -> dict[str, t.Any]:
        if not isinstance(edits, list):
            raise RemoteError("invalid_request", "edits must be a list")
        results = []
        touched: list[tuple[t.Any, str]] = []
        for index, edit in enumerate(edits):
            try:
                results.append(dict(self._apply_one(edit, touched), index=index))
            except RemoteError as exc:
                exc.context["edit"] = index
                raise
        for schema, location in touched:
            self._tidy(schema, location)
        changed = any(r["changed"] for r in results)
        return {"changed": changed, "committed": changed, "results": results}

    def _apply_one(self, edit: t.Any, touched: list) -> dict[str, t.Any]:
        if not isinstance(edit, dict):
            raise RemoteError("invalid_request", "each edit must be an object")
        schema = self.section(edit.get("section"))
        location = self.canonical_location(schema, edit.get("location", ""))
        steps = _steps(edit.get("path", []))
        element = _schema_element(schema, steps)
        op = edit.get("op")
        where = {"section": schema.path, "location": location, "path": steps}
        if op == "set":
            result = self._set(schema, location, steps, element, edit, where)
        elif op == "revert":
            result = self._revert(schema, location, steps, element, edit, where)
        elif op in ("add", "remove", "clear"):
            if element.collection is None:
                raise RemoteError("not_a_collection", "%s holds no collection" % element.name, **where)
            result = getattr(self, "_" + op)(schema, location, steps, element.collection, edit, where)
        else:
            raise RemoteError("invalid_request", "unknown edit op %r (set, revert, add, remove, clear)" % (op,), **where)
        if result["changed"] and (schema, location) not in touched:
            touched.append((schema, location))
        return result

    @staticmethod
    def _attribute(element: t.Any, edit: t.Any, where: dict[str, t.Any]) -> t.Any:
        name = edit.get("attribute")
        attr = element.attr(name) if isinstance(name, str) else None
        if attr is None:
            raise RemoteError("unknown_attribute", "%s has no attribute %r" % (element.name, name), **where)
        where["attribute"] = attr.name
        return attr

    def _changeable(self, schema, location, steps, attr, where) -> tuple[t.Any, t.Any]:
        """The element's view at the path and the attribute's effective value, once its lock allows a change here."""
        here = _descend(self.view(schema, location), steps, schema)
        if here is None:
            raise RemoteError("item_not_found", "no item %s in %s" % (_describe(steps), schema.path), **where)
        lock = here.view.locked_at(attr.name)
        if lock is not None and _above(lock, location):
            raise RemoteError("section_locked", "%s is locked at %s (lockAttributes); it cannot be changed at "
                              "this path" % (attr.name, _show(lock)), **where)
        return here, _effective(here.view, here.defaults, attr)[0]

    def _set(self, schema, location, steps, element, edit, where) -> dict[str, t.Any]:
        attr = self._attribute(element, edit, where)
        try:
            value = V.normalize(attr, edit.get("value"))
        except S.SchemaValueError as exc:
            raise RemoteError("invalid_value", str(exc), **where) from None
        _here, before = self._changeable(schema, location, steps, attr, where)
        if before is not None and V.values_equal(attr, before, value):
            return _result(attr, False, before, value)
        node = self._local(schema, location, steps, create=True)
        stored = V.to_stored(attr, value)
        if attr.encrypted:
            provider = secrets.POOL_PROVIDER if schema.path == S.APPLICATION_POOLS else secrets.DEFAULT_PROVIDER
            stored = secrets.protect(value, provider)
        self.doc.set_attribute(node, attr.name, stored)
        return _result(attr, True, before, value)

    def _revert(self, schema, location, steps, element, edit, where) -> dict[str, t.Any]:
        """Delete the attribute at this level (1.5.0): the parent path's value, or the schema default, applies."""
        attr = self._attribute(element, edit, where)
        here, before = self._changeable(schema, location, steps, attr, where)
        node = self._local(schema, location, steps, create=False)
        if node is None or node.attr(attr.name) is None:
            return _result(attr, False, before, before)
        self.doc.remove_attribute(node, attr.name)
        self._drop_emptied(schema, location, steps)
        after, _source = _effective(_descend(self.view(schema, location), steps, schema).view, here.defaults, attr)
        return _result(attr, True, before, after)

    def _drop_emptied(self, schema, location, steps) -> None:
        """IIS writes no element without attributes or children: drop the child elements a revert emptied, and
        close an item left without children as ``<add ... />`` again."""
        steps = list(steps)
        while steps and isinstance(steps[-1], str):
            node = self._local(schema, location, steps, create=False)
            if node is None or not self.doc.is_empty(node):
                return
            self.doc.remove(node)
            steps.pop()
        if steps:
            parent = self._local(schema, location, steps, create=False)
            if parent is not None and not parent.children:
                self.doc.collapse(parent)
            return
        # The section itself, and the section groups above it, when nothing is left in them (server level; the
        # <location> content is tidied after the apply).
        node = self._local_section(schema, location, create=False)
        while location == "" and node is not None and node.parent is not None and node.parent is not self.doc.root \
                and self.doc.is_empty(node) and self.doc.text[node.head_end:node.close_start].strip() == "":
            handle = _handle(node.parent)
            self.doc.remove(node)
            node = _at(self.doc, handle)

    def _add(self, schema, location, steps, coll, edit, where) -> dict[str, t.Any]:
        given = edit.get("item")
        if not isinstance(given, dict) or not given:
            raise RemoteError("invalid_request", "add needs item: the new item's attributes", **where)
        attrs: list[tuple[str, str]] = []
        values: dict[str, t.Any] = {}
        for attr in coll.item.attrs:           # schema order, as IIS writes them
            match = next((k for k in given if k.lower() == attr.name.lower()), None)
            if match is None:
                if attr.required:
                    raise RemoteError("invalid_value", "a new %s needs %s" % (coll.add, attr.name),
                                      attribute=attr.name, **where)
                continue
            try:
                values[attr.name] = V.normalize(attr, given[match])
            except S.SchemaValueError as exc:
                raise RemoteError("invalid_value", str(exc), attribute=attr.name, **where) from None
            stored = V.to_stored(attr, values[attr.name])
            if attr.encrypted:
                stored = secrets.protect(values[attr.name])
            attrs.append((attr.name, stored))
        unknown = [k for k in given if coll.item.attr(k) is None]
        if unknown:
            raise RemoteError("unknown_attribute", "%s has no attribute %r" % (coll.add, unknown[0]),
                              attribute=unknown[0], **where)
        here = _descend(self.view(schema, location), steps, schema)
        if here is None:
            raise RemoteError("item_not_found", "no item %s in %s" % (_describe(steps), schema.path), **where)
        if any(_duplicate(coll, _values(i), values) for i in here.view.items):
            raise RemoteError("duplicate_key", "%s already holds an item with %s" % (
                _describe(steps) or schema.path, _key_text(coll, values)), **where)
        node = self._local(schema, location, steps, create=True)
        self._insert_directive(node, coll, coll.add, attrs, first=False)
        return {"changed": True}

    def _remove(self, schema, location, steps, coll, edit, where) -> dict[str, t.Any]:
        given = edit.get("key")
        if not isinstance(given, dict) or not given:
            raise RemoteError("invalid_request", "remove needs key: the item's key attributes", **where)
        here = _descend(self.view(schema, location), steps, schema)
        item = next((i for i in here.view.items if V.key_matches(coll, _values(i), given)), None) if here else None
        if item is None:
            return {"changed": False}
        if item.lock_item is not None and _above(item.lock_item, location):
            raise RemoteError("section_locked", "the item %s is locked at %s (lockItem)"
                              % (_key_text(coll, given), _show(item.lock_item)), **where)
        node = self._local(schema, location, steps, create=False)
        local = self._local_item(node, coll, given) if node is not None else None
        if local is not None and item.level.lower() == location.lower():
            self.doc.remove(local)
            self._drop_emptied(schema, location, steps)
            return {"changed": True}
        if not coll.remove:
            raise RemoteError("unsupported_operation", "%s items cannot be removed below the level that adds them "
                              "(the collection has no remove element); remove it at %s"
                              % (coll.add, _show(item.level)), **where)
        node = self._local(schema, location, steps, create=True)
        item_values = _values(item)
        attrs = [(a.name, V.to_stored(a, item_values.get(a.name, V.default_value(a))))
                 for a in (coll.unique_keys[:1] or coll.keys)]
        self._insert_directive(node, coll, coll.remove, attrs, first=False)
        return {"changed": True}

    def _clear(self, schema, location, steps, coll, edit, where) -> dict[str, t.Any]:
        del edit
        here = _descend(self.view(schema, location), steps, schema)
        if here is None or not here.view.items:
            return {"changed": False}
        above = _descend(self.view(schema, parent_location(location)), steps, schema) if location else None
        hidden = above.view.items if above is not None else []
        for item in hidden:
            if item.lock_item is not None:
                raise RemoteError("section_locked", "an item of %s is locked at %s (lockItem)"
                                  % (coll.add, _show(item.lock_item)), **where)
        if hidden and not coll.clear:
            raise RemoteError("unsupported_operation", "%s cannot be cleared below the level that adds its "
                              "items (the collection has no clear element)" % coll.add, **where)
        node = self._local(schema, location, steps, create=False)
        while node is not None:
            directives = [c for c in node.children if c.name in (coll.add, coll.remove, coll.clear)]
            if not directives:
                break
            self.doc.remove(directives[0])
            node = self._local(schema, location, steps, create=False)
        if hidden:
            node = self._local(schema, location, steps, create=True)
            self._insert_directive(node, coll, coll.clear, [], first=True)
        return {"changed": True}

    # -- locating and creating the elements of a path ------------------------------------------

    def _local(self, schema: t.Any, location: str, steps: list, create: bool) -> Node | None:
        node = self._local_section(schema, location, create)
        element = schema.root
        for step in steps:
            if node is None:
                return None
            if isinstance(step, str):
                element = element.child(step)
                child = node.find(element.name)
                if child is None and create:
                    handle = _handle(node)
                    self._insert_child(node, element, element.name)
                    node = _at(self.doc, handle)
                    child = node.find(element.name)
                node = child
            else:
                coll = element.collection
                local = self._local_item(node, coll, step)
                if local is None and create:
                    raise RemoteError("unsupported_operation", "the item %s is not defined at this path (it is "
                                      "inherited); remove and add it here instead" % _key_text(coll, step),
                                      section=schema.path, location=location, path=steps)
                node = local
                element = coll.item
        return node

    def _local_item(self, node: Node, coll: t.Any, given: dict[str, t.Any]) -> Node | None:
        found = None
        for child in node.children:
            if child.name == coll.add and V.key_matches(coll, _node_values(coll.item, child), given):
                found = child
            elif child.name == coll.clear:
                found = None
        return found

    def _local_section(self, schema: t.Any, location: str, create: bool) -> Node | None:
        existing = self.section_nodes(schema, location)
        if existing or not create:
            return existing[0] if existing else None
        names = schema.path.split("/")
        if location == "":
            container = self.doc.root
        else:
            candidates = [node for path, node in self.locations() if path.lower() == location.lower()
                          and (node.get("overrideMode") or "Inherit") == "Inherit" and node.get("allowOverride") is None]
            if not candidates:      # IIS appends a new <location path="..."> at the end of the file
                self.doc.append_child(self.doc.root, "location", [("path", location)], _chain(names))
                return self.section_nodes(schema, location)[0]
            container = candidates[0]
        node = container
        for depth, name in enumerate(names):
            child = node.find(name)
            if child is None:
                anchor = self.doc.root.find("location") if node is self.doc.root else None
                if anchor is not None:      # server-level sections stay above the <location> tags
                    self.doc.insert_before(anchor, name, [], _chain(names[depth + 1:]))
                else:
                    self.doc.append_child(node, name, [], _chain(names[depth + 1:]))
                return self.section_nodes(schema, location)[0]
            node = child
        return node

    def _insert_child(self, node: Node, element: t.Any, name: str) -> None:
        """A new child element: after the collection's directives... IIS keeps child elements after items."""
        del element
        self.doc.append_child(node, name, [])

    def _insert_directive(self, node: Node, coll: t.Any, name: str, attrs: list, first: bool) -> None:
        directives = [c for c in node.children if c.name in (coll.add, coll.remove, coll.clear)]
        others = [c for c in node.children if c.name not in (coll.add, coll.remove, coll.clear)]
        if first and node.children:
            self.doc.insert_before(node.children[0], name, attrs)
        elif directives:
            self.doc.insert_after(directives[-1], name, attrs)
        elif others:
            self.doc.insert_before(others[0], name, attrs)
        else:
            self.doc.append_child(node, name, attrs)

    def _tidy(self, schema: t.Any, location: str) -> None:
        """Drop what an edit left empty inside a <location> (IIS does not keep empty location content)."""
        if location == "":
            return
        while True:
            empty = None
            for container in self.containers(location):
                for node in self.doc.iter(container):
                    if node is not container and self.doc.is_empty(node) and _structural(node, schema):
                        empty = node
                        break
                if empty is None and not container.children and container.name == "location" and \
                        [a.name for a in container.attributes] == ["path"]:
                    empty = container
                if empty is not None:
                    break
            if empty is None:
                return
            self.doc.remove(empty)


def _chain(names: list[str]) -> list:
    """Nested empty elements for render(): a, b, c -> <a><b><c /></b></a>."""
    chain: list = []
    for name in reversed(names):
        chain = [(name, [], chain)]
    return chain


def _structural(node: Node, schema: t.Any) -> bool:
    """True for section groups, the section and its child elements; False for collection directives."""
    chain = []
    current: Node | None = node
    while current is not None and current.name != "location":
        chain.append(current.name)
        current = current.parent
    if current is None:
        return False
    chain.reverse()
    names = schema.path.split("/")
    if len(chain) <= len(names):
        return chain == names[:len(chain)]
    if chain[:len(names)] != names:
        return False
    element = schema.root
    for name in chain[len(names):]:
        child = element.child(name)
        if child is not None:
            element = child
        else:               # a collection item or directive, or anything inside one
            return False
    return True


def _handle(node: Node) -> tuple[int, ...]:
    path = []
    while node.parent is not None:
        path.append(node.parent.children.index(node))
        node = node.parent
    return tuple(reversed(path))


def _at(doc: XmlDocument, handle: tuple[int, ...]) -> Node:
    node = doc.root
    for index in handle:
        node = node.children[index]
    return node


def _above(lock_level: str, location: str) -> bool:
    return lock_level.lower() != location.lower()


def _show(level: str) -> str:
    return "the server level" if level == "" else "location %r" % level


def _steps(path: t.Any) -> list:
    if not isinstance(path, list) or not all(isinstance(s, (str, dict)) and s for s in path):
        raise RemoteError("invalid_request", "path must be a list of element names and item keys "
                          "(objects such as {\"name\": \"DefaultAppPool\"})")
    return path


def _schema_element(schema: t.Any, steps: list) -> t.Any:
    element = schema.root
    for step in steps:
        if isinstance(step, str):
            child = element.child(step)
            if child is None:
                raise RemoteError("unknown_element", "%s has no child element %r" % (element.name, step),
                                  section=schema.path, path=steps)
            element = child
        else:
            if element.collection is None:
                raise RemoteError("not_a_collection", "%s holds no collection" % element.name,
                                  section=schema.path, path=steps)
            unknown = [k for k in step if element.collection.item.attr(k) is None]
            if unknown:
                raise RemoteError("unknown_attribute", "%s has no attribute %r" % (
                    element.collection.add, unknown[0]), section=schema.path, path=steps)
            element = element.collection.item
    return element


@dataclass
class Found:
    """An element's view, the defaults elements its unset attributes fall back to, and its ancestors."""

    view: View
    defaults: list[View]
    chain: list[View]


def _descend(view: View | None, steps: list, schema: t.Any) -> Found | None:
    if view is None:
        return None
    chain: list[View] = [view]
    defaults: list[View] = []
    for step in steps:
        if isinstance(step, str):
            schema_child = view.schema.child(step)
            view = _child(view, schema_child)
            defaults = _child_defaults(defaults, schema_child)
        else:
            coll = view.schema.collection
            item = next((i for i in view.items if V.key_matches(coll, _values(i), step)), None)
            if item is None:
                return None
            defaults = _defaults_for(chain, coll)
            view = item
        chain.append(view)
    return Found(view, defaults, chain)


def _child(view: View, schema_child: t.Any) -> View:
    return view.children.get(schema_child.name) or View(schema_child)


def _child_defaults(defaults: list[View], schema_child: t.Any) -> list[View]:
    return [_child(d, schema_child) for d in defaults if d.schema.child(schema_child.name) is not None]


def _defaults_for(chain: list[View], coll: t.Any) -> list[View]:
    """The *Defaults elements for a collection's items: the owner's first, then its ancestors'."""
    if not coll.default_element:
        return []
    found = []
    for owner in reversed(chain):
        schema_child = owner.schema.child(coll.default_element)
        if schema_child is not None:
            found.append(_child(owner, schema_child))
    return found


def _effective(view: View, defaults: list[View], attr: t.Any) -> tuple[t.Any, str]:
    """(value, "set"|"default"); secrets come back in clear (None when unreadable) for host-side use only."""
    for source, candidate in [("set", view)] + [("default", d) for d in defaults]:
        if attr.name in candidate.attrs:
            raw = candidate.attrs[attr.name][0]
            if attr.encrypted:
                return secrets.unprotect(raw), source
            try:
                return V.parse_stored(attr, raw), source
            except S.SchemaValueError:
                return raw, source
    if attr.encrypted:
        return "", "default"
    return V.default_value(attr), "default"


def _element_json(here: Found, parent: Found | None, location: str) -> dict[str, t.Any]:
    """The contract's JSON for an element; ``parent`` is the same element at the parent path, if any."""
    view = here.view
    attributes = {}
    for attr in view.schema.attrs:
        value, source = _effective(view, here.defaults, attr)
        if source == "set":
            source = "local"
            if location:
                pvalue = _effective(parent.view, parent.defaults, attr)[0] if parent else V.default_value(attr)
                if pvalue == value:
                    source = "inherited"
        entry: dict[str, t.Any] = {"value": value, "source": source}
        if view.locked_at(attr.name) is not None:
            entry["locked"] = True
        if attr.encrypted:
            entry.update(value=None, secret=True, has_value=value is None or value != "")
        attributes[attr.name] = entry
    result: dict[str, t.Any] = {"attributes": attributes, "children": {}}
    for schema_child in view.schema.children:
        child = _child(view, schema_child)
        found = Found(child, _child_defaults(here.defaults, schema_child), here.chain + [child])
        pfound = None
        if parent is not None:
            pchild = _child(parent.view, schema_child)
            pfound = Found(pchild, _child_defaults(parent.defaults, schema_child), parent.chain + [pchild])
        result["children"][schema_child.name] = _element_json(found, pfound, location)
    coll = view.schema.collection
    if coll is not None:
        defaults = _defaults_for(here.chain, coll)
        pdefaults = _defaults_for(parent.chain, coll) if parent is not None else []
        items = []
        for item in view.items:
            mine = _values(item)
            pitem = next((i for i in parent.view.items if _same_item(coll, _values(i), mine)), None) \
                if parent is not None else None
            pfound = Found(pitem, pdefaults, parent.chain + [pitem]) if pitem is not None else None
            entry = _element_json(Found(item, defaults, here.chain + [item]), pfound,
                                  location if pitem is not None else "")
            entry["inherited"] = pitem is not None
            items.append(entry)
        result["items"] = items
    return result


def _result(attr: t.Any, changed: bool, before: t.Any, after: t.Any) -> dict[str, t.Any]:
    if attr.encrypted:
        return {"changed": changed, "secret": True}
    return {"changed": changed, "before": before, "after": after}


def _describe(steps: list) -> str:
    return "/".join(s if isinstance(s, str) else "[%s]" % ",".join("%s=%s" % kv for kv in s.items()) for s in steps)


def _key_text(coll: t.Any, values: dict[str, t.Any]) -> str:
    return ", ".join("%s=%r" % (a.name, values[k]) for a in coll.keys for k in values if k.lower() == a.name.lower())
