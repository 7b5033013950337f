# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""IIS changes in an IIS admin's words, with the risks the collection knows about each.

The IIS actions (web_auth, app_pool, arr_farm) return ``changes`` (one line per edit, the same in
check mode and for real) and, with ``--diff``, a before/after text of ``[section @ location path]``
blocks whose lines pair up one to one. The diff gives before and after and what was already right;
``changes`` alone gives the values after.
"""

from __future__ import annotations

import re
import typing as t
from dataclasses import dataclass

from . import risks as R
from .items import Change, on_off, transition

_CHILDREN = ("providers", "extendedProtection", "extendedProtection spns")
_RUNTIME = re.compile(r"^application pool (?P<pool>.+) \(runtime\)$")
_ITEM = re.compile(r"\[(?:name|address)=(?P<name>[^\]]*)\]")


@dataclass
class Row:
    """One attribute of one block: before (None when not read) and after."""

    head: str
    name: str
    before: str | None
    after: str

    @property
    def same(self) -> bool:
        return self.before is not None and self.before == self.after


def diff_blocks(text: str) -> dict[str, list[str]]:
    blocks: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        if line.startswith("[") and line.endswith("]"):
            current = blocks.setdefault(line[1:-1], [])
        elif line.strip() and current is not None:
            current.append(line)
    return blocks


def _split(line: str) -> tuple[str, str]:
    name, sep, value = line.partition(" = ")
    return (name.strip(), value.strip()) if sep else ("", line.strip())


def rows_from_diff(diff: dict[str, t.Any]) -> list[Row]:
    before, after = diff_blocks(str(diff.get("before", ""))), diff_blocks(str(diff.get("after", "")))
    rows = []
    for head, lines in after.items():
        old = before.get(head, [])
        for index, line in enumerate(lines):
            was = old[index] if index < len(old) else None
            if was == "(absent)":
                rows.append(Row(head, "", "(absent)", line.strip()))
                continue
            name, value = _split(line)
            rows.append(Row(head, name, _split(was)[1] if was is not None else None, value))
    return rows


_SET = re.compile(r"^set (?P<name>\w+)=(?P<value>.*) \((?P<head>[^()]*)\)$")
_SECRET = re.compile(r"^(?P<verb>set|clear) (?P<name>\w+) \(secret\) \((?P<head>[^()]*)\)$")
_OP = re.compile(r"^(?P<op>start|stop|recycle) application pool (?P<pool>.+) \((?P<head>[^()]*)\)$")
_COLL = re.compile(r"^(?P<op>clear|add|remove) (?P<what>\S+)(?: (?P<label>.*))? \((?P<head>[^()]*)\)$")


def rows_from_changes(changes: t.Sequence[str]) -> list[Row]:
    """Rows from ``changes`` alone (no --diff): values after, nothing before."""
    rows: list[Row] = []
    runtime: dict[str, list[str]] = {}
    cleared: Row | None = None          # "clear providers" then "add add Negotiate", ...: one row, the new list
    for line in changes:
        match = _SECRET.match(line)
        if match:
            rows.append(Row(match["head"], match["name"], None,
                            "(secret, %s)" % ("changed" if match["verb"] == "set" else "cleared")))
            continue
        match = _OP.match(line)
        if match:
            runtime.setdefault(match["pool"], []).append(match["op"])
            continue
        match = _SET.match(line)
        if match:
            rows.append(Row(match["head"], match["name"], None, match["value"]))
            continue
        match = _COLL.match(line)
        if match and match["op"] == "clear":
            cleared = Row(match["head"], match["what"], None, "(none)")
            rows.append(cleared)
        elif match and match["op"] == "add" and cleared is not None and cleared.head == match["head"]:
            label = match["label"] or ""
            cleared.after = label if cleared.after == "(none)" else cleared.after + ", " + label
        elif match:
            rows.append(Row(match["head"], "", None, " ".join(p for p in (match["op"], match["label"]) if p)))
        else:
            rows.append(Row("", "", None, line))
    for pool, ops in runtime.items():
        rows.append(Row("application pool %s (runtime)" % pool, "state", None, "(%s)" % ", ".join(ops)))
    return rows


def parse_heading(head: str, location: str = "") -> tuple[str, str, str]:
    """(section, where, path) of a block heading; ``location`` (from the result) resolves spaces in site names."""
    section, sep, rest = head.partition(" @ ")
    if not sep:
        return head, "", ""
    if rest == "server" or rest.startswith("server "):
        return section, "server", rest[len("server "):]
    if location and rest.lower().startswith(location.lower()) and rest[len(location):len(location) + 1] in ("", " "):
        return section, rest[:len(location)], rest[len(location) + 1:]
    if " [" in rest:
        where, _sep, path = rest.partition(" [")
        return section, where, "[" + path
    for child in _CHILDREN:
        if rest.endswith(" " + child):
            return section, rest[:-len(child) - 1], child
    return section, rest, ""


def _short(section: str) -> str:
    return section.rsplit("/", 1)[-1]


def _label(section: str, where: str, path: str, name: str) -> tuple[str, bool]:
    """The words for an attribute, and whether its true/false reads as on/off."""
    short = _short(section)
    at = "" if where in ("", "server") else " at %s" % where
    if short == "windowsAuthentication":
        if path in ("providers",) or name == "providers":
            return "Windows authentication providers%s" % at, False
        if path.startswith("extendedProtection"):
            return "Extended Protection %s%s" % (name if name else "SPNs", at), False
        if name == "enabled":
            return "Windows authentication%s" % at, True
        if name == "useKernelMode":
            return "useKernelMode (kernel-mode authentication)%s" % at, False
        return "%s%s" % (name, at), False
    if short == "anonymousAuthentication":
        if name == "enabled":
            return "Anonymous authentication%s" % at, True
        return "Anonymous authentication %s%s" % ("user" if name == "userName" else name, at), False
    if short == "applicationPools":
        pool = _ITEM.search(path)
        subject = "Pool %s" % pool["name"] if pool else "Application pools"
        rest = path[pool.end():].strip("/").replace("/", " ") if pool else path
        return _words(subject, rest if rest != "processModel" else "", name), False
    if short == "proxy":
        return ("ARR proxy" if name == "enabled" else "ARR proxy %s" % name), name == "enabled"
    if short == "webFarms":
        farm = _ITEM.search(path)
        subject = "ARR farm %s" % farm["name"] if farm else "ARR farms"
        rest = path[farm.end():] if farm else path
        server = _ITEM.search(rest)
        if server:
            subject += " server %s" % server["name"]
            rest = rest[server.end():]
        rest = rest.strip("/").replace("/", " ")
        return _words(subject, rest, name), name == "enabled"
    if short == "globalRules" or "rewrite" in section:
        rule = _ITEM.search(path)
        subject = "URL Rewrite rule %s" % rule["name"] if rule else "URL Rewrite global rules"
        rest = (path[rule.end():] if rule else path).strip("/").replace("/", " ")
        return _words(subject, rest, name) + at, False
    return _words(short + at, path, name), False


def _words(*parts: str) -> str:
    """Parts joined with spaces, a repeated last word dropped ("conditions conditions")."""
    words = [p for p in parts if p]
    if len(words) > 1 and words[-1] == words[-2].rsplit(" ", 1)[-1]:
        words.pop()
    return " ".join(words)


def _value(value: str | None, switch: bool) -> str | None:
    return on_off(value) if switch else value


def _risks(section: str, name: str, after: str) -> list[R.Risk]:
    short, now = _short(section), after.split(" ")[0].lower()
    if short == "windowsAuthentication":
        if name == "useAppPoolCredentials":
            return [R.APP_POOL_CREDENTIALS_ON if now == "true" else R.APP_POOL_CREDENTIALS_OFF]
        if name == "useKernelMode":
            return [R.KERNEL_MODE_ON if now == "true" else R.KERNEL_MODE_OFF]
        if name == "authPersistSingleRequest" and now == "true":
            return [R.PERSIST_SINGLE_REQUEST]
        if name == "providers" and "negotiate" not in after.lower():
            return [R.NO_NEGOTIATE]
    if short == "anonymousAuthentication" and name == "enabled" and now == "false":
        return [R.AUTHENTICATE_ALL]
    if short == "proxy" and name == "enabled":
        return [R.ARR_PROXY]
    return []


def _identity(rows: list[Row]) -> tuple[str | None, str] | None:
    """(before, after) of a pool identity from its identityType and userName rows (None: not in this block)."""
    kind = next((r for r in rows if r.name == "identityType"), None)
    user = next((r for r in rows if r.name == "userName"), None)
    if kind is None and user is None:
        return None

    def who(kind_value: str | None, user_value: str | None) -> str | None:
        if kind_value is None and user_value is None:
            return None
        kind_word = (kind_value or "").split(" (")[0]
        if kind_word == "SpecificUser" or (not kind_word and user_value):
            return (user_value or "").split(" (")[0] or '""'
        return kind_word
    before = who(kind.before if kind else None, user.before if user else None) if (
        (kind is None or kind.before is not None) and (user is None or user.before is not None)) else None
    return before, who(kind.after if kind else None, user.after if user else None) or ""


def _runtime(pool: str, row: Row) -> Change:
    ops = re.search(r"\((?P<ops>[a-z, ]+)\)$", row.after)
    steps = [s.strip() for s in ops["ops"].split(",")] if ops else []
    verb = "restart" if steps == ["stop", "start"] else " and ".join(steps) or "no change"
    was = " (now %s)" % row.before.split(" ")[0] if row.before and row.before != "(new)" else ""
    return Change("pool_runtime", "pool:%s:runtime" % pool, "Pool %s: %s%s" % (pool, verb, was), row.before,
                  row.after, risks=[R.POOL_RESTART] if "stop" in steps or "recycle" in steps else [])


def _created(section: str, where: str, path: str, after: str) -> Change:
    """A collection item the task adds: its words, with the attributes other than its key."""
    what = _label(section, where, path, "")[0]
    keys = [part for part in after.split(", ") if part.split(" = ")[0] not in ("name", "address", "value")]
    verb = "add" if _ITEM.findall(path)[1:] else "create"
    return Change("iis", "iis:%s@%s:%s" % (section, where, path),
                  "%s: %s%s" % (what, verb, " (%s)" % ", ".join(keys) if keys else ""), "(absent)", after)


def view_rows(rows: t.Sequence[Row], location: str = "") -> tuple[list[Change], list[str]]:
    """The changes and the already-right values of an IIS result's rows."""
    changes: list[Change] = []
    right: list[str] = []
    by_head: dict[str, list[Row]] = {}
    for row in rows:
        by_head.setdefault(row.head, []).append(row)
    # Defaults of an item the task creates are not "already right": the item does not exist yet.
    created = [head for head, block in by_head.items() if any(r.before == "(absent)" for r in block)]
    for head, block in by_head.items():
        runtime = _RUNTIME.match(head)
        if runtime:
            for row in block:
                if row.same:
                    right.append("Pool %s: %s" % (runtime["pool"], row.after))
                else:
                    changes.append(_runtime(runtime["pool"], row))
            continue
        section, where, path = parse_heading(head, location)
        identity = _identity(block) if _short(section) == "applicationPools" else None
        if identity is not None:
            pool = _ITEM.search(path)
            label = "Pool %s identity" % (pool["name"] if pool else "?")
            before, after = identity
            if before is not None and before == after:
                right.append("%s: %s" % (label, after))
            else:
                changes.append(Change("pool_identity", "iis:%s@%s:%s:identity" % (section, where, path),
                                      transition(label, before, after), before, after, risks=[R.DOMAIN_IDENTITY]))
            block = [r for r in block if r.name not in ("identityType", "userName")]
        for row in block:
            if not section or not head:
                changes.append(Change("iis", "iis:%s" % row.after, row.after, None, row.after))
                continue
            if row.before == "(absent)":
                changes.append(_created(section, where, path, row.after))
                continue
            label, switch = _label(section, where, path, row.name)
            if row.same and any(head == c or head.startswith(c + "/") for c in created):
                continue
            if row.same:
                right.append("%s: %s" % (label, _value(row.after, switch)))
                continue
            secret = row.after.startswith("(secret")
            if secret and row.after == "(secret, unchanged)":
                right.append("%s: unchanged (a secret: compared on the node, never shown)" % label)
                continue
            after = "the new value (not shown)" if secret else _value(row.after, switch)
            before = None if secret or row.before is None else _value(row.before, switch)
            text = ("%s: set (a secret: compared on the node, never shown)" % label if secret
                    else transition(label, before, after))
            changes.append(Change("iis", "iis:%s@%s:%s:%s" % (section, where, path, row.name), text, before, after,
                                  risks=_risks(section, row.name, row.after), secret=secret))
    return changes, right


def iis_view(result: dict[str, t.Any]) -> tuple[list[Change], list[str]]:
    """Changes and already-right values of a web_auth, app_pool or arr_farm result."""
    diff = result.get("diff")
    location = str(result.get("location") or "")
    if isinstance(diff, dict) and (diff.get("before") or diff.get("after")):
        return view_rows(rows_from_diff(diff), location)
    changes, _right = view_rows(rows_from_changes([str(c) for c in result.get("changes") or []]), location)
    return changes, []
