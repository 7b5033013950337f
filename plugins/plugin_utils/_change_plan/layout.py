# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""The words and the order of a plan or record page, once for Markdown and HTML alike.

``blocks(doc)`` turns the JSON document into a list of neutral blocks (title, banner, heading,
paragraph, list, table, preformatted text); the two renderers only format them.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field


@dataclass
class Block:
    kind: str                         # title | meta | banner | h2 | h3 | p | list | table | pre
    text: str = ""
    items: list[dict[str, str]] = field(default_factory=list)        # list: {"text", "note", "tag"}
    rows: list[list[str]] = field(default_factory=list)              # table rows, the first is the header
    level: str = ""                                                  # banner: ok | warn | stop


def _hosts(hosts: t.Sequence[str]) -> str:
    return ", ".join(hosts)


def _count(n: int, one: str, many: str = "") -> str:
    return "%d %s" % (n, one if n == 1 else (many or one + "s"))


def _where(where: t.Sequence[str]) -> str:
    places = [w for w in where if w in ("Active Directory", "the run")]
    hosts = [w for w in where if w not in places]
    words = ["in " + p if p == "Active Directory" else "for the whole run" for p in places]
    return ", ".join(words + (["on " + _hosts(hosts)] if hosts else []))


def _header(doc: dict[str, t.Any]) -> list[Block]:
    plan = doc["kind"] == "plan"
    name = doc.get("name") or "run"
    mode = doc.get("mode", {})
    title = ("Change plan: %s" % name) if plan else ("Change record: %s" % name)
    what = ("a --check run: nothing was written; every change below is a prediction" if plan
            else "a real run: the changes below were made")
    meta = ["%s, %s" % (doc.get("created", ""), what),
            "ansible-core %s, webfarm.winauth %s, --diff %s" % (
                doc.get("ansible_version", "?"), doc.get("collection_version", "?"),
                "on" if mode.get("diff") else "off"),
            "%s id %s; inputs fingerprint %s" % ("plan" if plan else "record", doc.get("id", ""),
                                                 doc.get("inputs", {}).get("fingerprint", ""))]
    out = [Block("title", title), Block("meta", items=[{"text": line} for line in meta])]
    if doc.get("note"):
        out.append(Block("p", str(doc["note"])))
    if not mode.get("diff"):
        out.append(Block("banner", "Made without --diff: the values before each change were not read, so the "
                         "changes show only the new values. Run with --check --diff for a plan to review.",
                         level="warn"))
    counts = doc["counts"]
    summary = "%s in Active Directory and %s on %d of %s; %s; %s." % (
        _count(counts["directory_changes"], "change"), _count(counts["node_changes"], "change"),
        counts["nodes_changing"], _count(counts["nodes"], "node"), _count(counts["risks"], "known risk"),
        _count(counts["warnings"], "warning"))
    stopped = "Up to where it stopped, this run " if doc["failures"] else "This run "
    out.append(Block("p", stopped + ("would make " if plan else "made ") + summary))
    if doc["failures"]:
        first = doc["failures"][0]
        out.append(Block("banner", "The run stopped: %s on %s - %s%s" % (
            first["task"], first["host"], first["message"],
            (" (and %s more, see below)" % (len(doc["failures"]) - 1)) if len(doc["failures"]) > 1 else ""),
            level="stop"))
    return out


def _link(doc: dict[str, t.Any]) -> list[Block]:
    link = doc.get("link")
    if not link:
        return []
    out = [Block("h2", "Plan and record")]
    if not link["found"]:
        out.append(Block("banner", "No plan found at %s: run the same playbook with --check --diff (and this callback) "
                         "before the change, and keep the plan." % link["plan_file"], level="warn"))
        return out
    plan = link["plan"]
    out.append(Block("list", items=[
        {"text": "Plan: %s (id %s, made %s, sha256 %s)" % (link["plan_file"], plan["id"], plan["created"],
                                                           plan["sha256"])},
        {"text": "Same inputs as the plan: %s" % (
            "yes" if link["same_inputs"] else "NO - differs in " + ", ".join(link["inputs_differ"]))},
        {"text": "Did what the plan said: %s" % ("yes" if link["as_planned"] else "NO")}]))
    if link["differences"]:
        out.append(Block("banner", "%s between the plan and the real run, flagged below." % _count(
            len(link["differences"]), "difference"), level="stop"))
        rows = [["Host", "Task", "Difference", "Plan said", "Real run"]]
        rows += [[d["host"], d["task"], d["text"], d["planned"], d["done"]] for d in link["differences"]]
        out.append(Block("table", rows=rows))
    elif link["as_planned"]:
        out.append(Block("banner", "The real run did what the plan said.", level="ok"))
    return out


def _changes(doc: dict[str, t.Any]) -> list[Block]:
    plan = doc["kind"] == "plan"
    out = [Block("h2", "1. Active Directory: what %s" % ("would change" if plan else "was changed"))]
    changes = doc["directory"]["changes"]
    if changes:
        out.append(Block("list", items=[{"text": c["text"], "tag": "secret" if c["secret"] else ""} for c in changes]))
    else:
        out.append(Block("p", "No change in Active Directory."))
    out.append(Block("h2", "2. Nodes: what %s" % ("would change" if plan else "was changed")))
    nodes = doc["nodes"]
    if not nodes["hosts"]:
        out.append(Block("p", "No node was reached by a task of the collection."))
    for group in nodes["groups"]:
        hosts = group["hosts"]
        out.append(Block("h3", "%s (%s%s)" % (_hosts(hosts), _count(len(hosts), "node"),
                                              ", identical changes" if len(hosts) > 1 else "")))
        out.append(Block("list", items=[{"text": c["text"]} for c in group["changes"]]))
    if nodes["unchanged"]:
        out.append(Block("p", "No change on %s." % _hosts(nodes["unchanged"])))
    return out


def _risks(doc: dict[str, t.Any]) -> list[Block]:
    out = [Block("h2", "3. Risks the collection knows about these changes")]
    if not doc["risks"]:
        out.append(Block("p", "None: nothing in this run restarts a pool, moves an SPN or changes how tickets are "
                         "decrypted."))
        return out
    out.append(Block("list", items=[{"title": r["title"], "text": r["text"], "note": "%s%s" % (
        _where(r["where"]), (" - because of: " + "; ".join(r["because"])) if r["because"] else "")}
        for r in doc["risks"]]))
    return out


def _right(doc: dict[str, t.Any]) -> list[Block]:
    out = [Block("h2", "4. Read and found already right")]
    right = doc["already_right"]
    if right["directory"]:
        out += [Block("h3", "Active Directory"), Block("list", items=[{"text": r} for r in right["directory"]])]
    if right.get("run"):
        out += [Block("h3", "Checks of the whole run"), Block("list", items=[{"text": r} for r in right["run"]])]
    for group in right["nodes"]:
        out += [Block("h3", _hosts(group["hosts"])), Block("list", items=[{"text": r} for r in group["items"]])]
    if not right["directory"] and not right.get("run") and not right["nodes"]:
        out.append(Block("p", "Nothing was found already right (or nothing was read)."))
    return out


def _notes(doc: dict[str, t.Any]) -> list[Block]:
    out = [Block("h2", "5. Warnings")]
    if doc["warnings"]:
        out.append(Block("list", items=[{"text": w["text"], "note": _where(w["where"]) + (
            " (the same warning for each, with its name)" if len(w["where"]) > 1 else "")} for w in doc["warnings"]]))
    else:
        out.append(Block("p", "No warning."))
    if doc["failures"]:
        out.append(Block("h2", "6. Stopped"))
        out.append(Block("list", items=[{"text": f["message"], "note": "%s on %s (%s)" % (f["task"], f["host"],
                                                                                          f["status"])}
                                        for f in doc["failures"]]))
    if doc["summaries"]:
        out.append(Block("h2", "The roles' change record, per node"))
        for host, lines in doc["summaries"].items():
            out += [Block("h3", host), Block("pre", "\n".join(lines))]
    return out


def _inputs(doc: dict[str, t.Any]) -> list[Block]:
    inputs = doc.get("inputs", {})
    extra = inputs.get("extra_vars") or {}
    items = [{"text": "Playbooks: %s" % ", ".join("%s (sha256 %s)" % (p.get("name"), str(p.get("sha256"))[:16])
                                                  for p in inputs.get("playbooks", []))},
             {"text": "Hosts: %s" % (_hosts(inputs.get("hosts", [])) or "(none)")},
             {"text": "Limit: %s; tags: %s; skip tags: %s" % (inputs.get("limit") or "(none)",
                                                              ", ".join(inputs.get("tags") or []) or "(all)",
                                                              ", ".join(inputs.get("skip_tags") or []) or "(none)")},
             {"text": "Extra vars: %s" % (", ".join("%s=%s" % (k, v) for k, v in extra.items()) or "(none)")},
             {"text": "Fingerprint: %s" % inputs.get("fingerprint", "")}]
    return [Block("h2", "Inputs"), Block("list", items=items),
            Block("p", "The fingerprint covers the playbooks' contents, the hosts, limit, tags and the extra vars "
                  "(secret ones by name only). Secrets never appear on this page.")]


def blocks(doc: dict[str, t.Any]) -> list[Block]:
    """The page, in the order a reviewer reads it."""
    return (_header(doc) + _link(doc) + _changes(doc) + _risks(doc) + _right(doc) + _notes(doc) + _inputs(doc))
