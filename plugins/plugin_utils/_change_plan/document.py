# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""One plan (a --check run) or record (a real run) as a JSON document, and the record's link to its plan.

The document is what the Markdown and HTML pages show and what tools read. Sections, in the order a
reviewer reads them: ``directory`` (Active Directory), ``nodes`` (grouped: nodes whose changes are
identical appear once), ``risks``, ``already_right``; then ``warnings``, ``failures``, the roles'
per-node ``summaries``, and ``tasks``, the per-task facts a record is compared on. ``inputs`` and
its ``fingerprint`` tie a record to the plan made with the same inputs. A record's ``journal`` holds
the before-state a rollback needs (see ``journal``), keyed on each change's ``object``; a plan's is null.
"""

from __future__ import annotations

import hashlib
import json
import re
import typing as t

from . import journal
from .interpret import as_dict, edits_of, view_of
from .items import View
from .risks import Risk
from .results import MASK, Observation, secret_name

SCHEMA = "webfarm.winauth.change_plan/1"


def _natural(name: str) -> list[t.Any]:
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


def sort_hosts(hosts: t.Iterable[str]) -> list[str]:
    return sorted(set(hosts), key=_natural)


def masked_extra_vars(extra_vars: dict[str, t.Any], secret_patterns: t.Sequence[str],
                      secret_keys: t.Iterable[str] = ()) -> dict[str, t.Any]:
    """Extra vars as the plan shows and fingerprints them: names always, values unless secret."""
    forced = {k.lower() for k in secret_keys}
    return {name: MASK if secret_name(name, secret_patterns) or name.lower() in forced else value
            for name, value in sorted(extra_vars.items())}


def fingerprint(inputs: dict[str, t.Any]) -> str:
    """sha256 of the inputs (playbooks and their digests, hosts, limit, tags, extra vars without secrets)."""
    text = json.dumps({k: v for k, v in inputs.items() if k != "fingerprint"}, sort_keys=True, separators=(",", ":"),
                      default=str)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def _group(per_host: dict[str, list[t.Any]], key: t.Callable[[t.Any], t.Any]) -> list[dict[str, t.Any]]:
    """Hosts with identical lists, once each: [{"hosts": [...], "items": [...]}] in first-seen order."""
    groups: dict[tuple[t.Any, ...], dict[str, t.Any]] = {}
    for host in per_host:           # the run's order: a farm's front end before its content servers
        items = per_host[host]
        if not items:
            continue
        signature = tuple(key(item) for item in items)
        groups.setdefault(signature, {"hosts": [], "items": items})["hosts"].append(host)
    return [dict(group, hosts=sort_hosts(group["hosts"])) for group in groups.values()]


def _where(where: list[str]) -> list[str]:
    """Active Directory and the run first, then the hosts in natural order."""
    first = [w for w in ("Active Directory", "the run") if w in where]
    return first + sort_hosts(w for w in where if w not in first)


def _dedupe(items: t.Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for item in items:
        seen.setdefault(item, None)
    return list(seen)


class _Collector:
    """Walks the observations once, in run order, and fills each section."""

    def __init__(self) -> None:
        self.directory: list[dict[str, t.Any]] = []
        self.directory_right: list[str] = []
        self.node_changes: dict[str, list[dict[str, t.Any]]] = {}
        self.node_right: dict[str, list[str]] = {}
        self.risks: dict[str, dict[str, t.Any]] = {}
        self.warnings: dict[str, dict[str, t.Any]] = {}
        self.failures: list[dict[str, t.Any]] = []
        self.summaries: dict[str, list[str]] = {}
        self.run_right: list[str] = []
        self.rights_risks: dict[str, list[Risk]] = {}
        self.tasks: list[dict[str, t.Any]] = []
        self._seen: dict[tuple[str, str], int] = {}

    def add_risk(self, risk: Risk, where: str) -> None:
        self._risk(risk, where, "")

    def _risk(self, risk: Risk, where: str, because: str) -> None:
        entry = self.risks.setdefault(risk.title + "\n" + risk.text,
                                      {"title": risk.title, "text": risk.text, "where": [], "because": []})
        if where not in entry["where"]:
            entry["where"].append(where)
        if because and because not in entry["because"]:
            entry["because"].append(because)

    def add(self, obs: Observation) -> None:
        view = view_of(obs)
        plane = obs.plane
        where = {"directory": "Active Directory", "run": "the run"}.get(plane, obs.host)
        said = view.changes or view.right or view.warnings or view.risks or view.failure or view.summary
        if plane == "node" and (said or obs.module):      # a set_fact of a role does not make a host a node
            self.node_changes.setdefault(obs.host, [])
            self.node_right.setdefault(obs.host, [])
        for change in view.changes:
            item = dict(change.to_dict(), task=obs.task)
            (self.node_changes[obs.host] if plane == "node" else self.directory).append(item)
            for risk in change.risks:
                self._risk(risk, where, change.text)
        if obs.module in ("policy_refresh", "web_node"):
            self.rights_risks[obs.host] = view.risks      # the last read of the node's rights is the one that counts
        else:
            for risk in view.risks:
                self._risk(risk, where, "")
        {"directory": self.directory_right, "run": self.run_right}.get(plane, self.node_right.setdefault(
            obs.host, [])).extend(view.right)
        for warning in view.warnings:
            # The same warning about each node, with the node's name in it, is listed once.
            entry = self.warnings.setdefault(warning.replace(obs.host, "\0"), {"text": warning, "where": []})
            if where not in entry["where"]:
                entry["where"].append(where)
        if view.failure:
            self.failures.append({"host": obs.host, "task": obs.task, "status": obs.status, "message": view.failure})
        if view.summary:
            self.summaries[obs.host] = view.summary
        self._task(obs, view)

    def _task(self, obs: Observation, view: View) -> None:
        if obs.status == "skipped" and not obs.module:
            return
        index = self._seen.get((obs.host, obs.task), 0)
        self._seen[(obs.host, obs.task)] = index + 1
        self.tasks.append({"key": "%s|%s|%d" % (obs.host, obs.task, index), "host": obs.host, "task": obs.task,
                           "action": obs.action, "handler": obs.handler, "status": obs.status,
                           "changed": obs.changed, "edits": edits_of(obs, view), "view": as_dict(view)})


def build(kind: str, observations: t.Iterable[Observation], meta: dict[str, t.Any]) -> dict[str, t.Any]:
    """The plan (``kind`` "plan") or record ("record") of one run; ``meta`` holds id, created, mode, inputs."""
    observations = list(observations)
    collector = _Collector()
    for obs in observations:
        collector.add(obs)
    for host, found in collector.rights_risks.items():
        for risk in found:
            collector.add_risk(risk, host)
    node_groups = _group(collector.node_changes, key=lambda c: c["text"])
    right_groups = _group({h: _dedupe(r) for h, r in collector.node_right.items()}, key=lambda r: r)
    nodes = sort_hosts(collector.node_changes)
    counts = {"directory_changes": len(collector.directory),
              "nodes": len(nodes),
              "nodes_changing": sum(len(g["hosts"]) for g in node_groups),
              "node_changes": sum(len(c) for c in collector.node_changes.values()),
              "risks": len(collector.risks), "warnings": len(collector.warnings),
              "failures": len(collector.failures)}
    return {
        "schema": SCHEMA,
        "kind": kind,
        **meta,
        "counts": counts,
        "directory": {"changes": collector.directory},
        "nodes": {"hosts": nodes,
                  "groups": [{"hosts": g["hosts"], "changes": g["items"]} for g in node_groups],
                  "unchanged": [h for h in nodes if not collector.node_changes[h]]},
        "risks": [dict(r, where=_where(r["where"])) for r in collector.risks.values()],
        "already_right": {"directory": _dedupe(collector.directory_right), "run": _dedupe(collector.run_right),
                          "nodes": [{"hosts": g["hosts"], "items": g["items"]} for g in right_groups]},
        "warnings": [dict(w, where=_where(w["where"])) for w in collector.warnings.values()],
        "failures": collector.failures,
        "summaries": {h: collector.summaries[h] for h in sort_hosts(collector.summaries)},
        "tasks": collector.tasks,
        "journal": journal.build(observations) if kind == "record" else None,
    }


def _difference(task: dict[str, t.Any], text: str, planned: str, done: str) -> dict[str, t.Any]:
    return {"host": task["host"], "task": task["task"], "text": text, "planned": planned, "done": done}


def _edits_text(edits: list[str] | None) -> str:
    return "; ".join(edits) if edits else "no edit"


def compare_tasks(planned: list[dict[str, t.Any]], done: list[dict[str, t.Any]]) -> list[dict[str, t.Any]]:
    """Where the real run did not do what the plan said, task by task (host, task name, occurrence)."""
    plan_by_key = {task["key"]: task for task in planned}
    # The order of the edits is not compared: a role may pass the same servers in another order.
    done_by_key = {task["key"]: task for task in done}
    keys = _dedupe([task["key"] for task in done] + [task["key"] for task in planned])
    differences = []
    for key in keys:
        plan, real = plan_by_key.get(key), done_by_key.get(key)
        if plan is not None and real is not None:
            if real["status"] in ("failed", "unreachable") and plan["status"] not in ("failed", "unreachable"):
                differences.append(_difference(real, "failed in the real run: %s" % real["view"]["failure"],
                                               "changed" if plan["changed"] else "no change", real["status"]))
            elif plan["changed"] and not real["changed"]:
                differences.append(_difference(real, "the plan said this would change; the real run found nothing "
                                               "to change (changed since the plan?)", _edits_text(plan["edits"]),
                                               "no change"))
            elif real["changed"] and not plan["changed"]:
                differences.append(_difference(real, "changed, though the plan said it would not",
                                               "no change", _edits_text(real["edits"])))
            elif plan["changed"] and plan["edits"] is not None and real["edits"] is not None \
                    and sorted(plan["edits"]) != sorted(real["edits"]):
                differences.append(_difference(real, "different edits from the plan's", _edits_text(plan["edits"]),
                                               _edits_text(real["edits"])))
        elif plan is not None and plan["changed"]:
            differences.append(_difference(plan, "planned, but the real run did not do it",
                                           _edits_text(plan["edits"]), "not run"))
        elif real is not None and real["changed"]:
            differences.append(_difference(real, "changed, but not in the plan", "not in the plan",
                                           _edits_text(real["edits"])))
        elif real is not None and real["status"] in ("failed", "unreachable"):
            differences.append(_difference(real, "failed in the real run: %s" % real["view"]["failure"],
                                           "not in the plan", real["status"]))
    return differences


def link(plan: dict[str, t.Any] | None, record: dict[str, t.Any], plan_file: str, plan_sha256: str) -> dict[str, t.Any]:
    """The record's link to its plan: same inputs?, did the real run do what the plan said?"""
    if plan is None:
        return {"plan": None, "plan_file": plan_file, "found": False, "same_inputs": False, "inputs_differ": [],
                "as_planned": False, "differences": []}
    mine, theirs = record.get("inputs", {}), plan.get("inputs", {})
    differ = [k for k in sorted(set(mine) | set(theirs)) if k != "fingerprint" and mine.get(k) != theirs.get(k)]
    same = mine.get("fingerprint") == theirs.get("fingerprint")
    differences = compare_tasks(plan.get("tasks", []), record.get("tasks", []))
    return {"plan": {"id": plan.get("id"), "created": plan.get("created"), "sha256": plan_sha256,
                     "fingerprint": theirs.get("fingerprint")},
            "plan_file": plan_file, "found": True, "same_inputs": same, "inputs_differ": differ,
            "as_planned": same and not differences, "differences": differences}
