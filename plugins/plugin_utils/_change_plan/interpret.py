# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""What one observed task result says, whatever ran it: a module, an action, a task of the roles."""

from __future__ import annotations

import re
import typing as t

from . import risks as R
from .directory_words import VIEWS, right_words
from .iis_words import iis_view
from .items import Change, View
from .results import Observation, short_task

CHECK_MODE_PREFIX = "Check mode: "


def _missing_risks(missing: t.Any) -> list[R.Risk]:
    risks = []
    for right, accounts in (missing or {}).items() if isinstance(missing, dict) else ():
        if accounts:
            risks.append(R.RIGHT_NOT_EFFECTIVE.of(accounts=", ".join(str(a) for a in accounts),
                                                  verb="does" if len(accounts) == 1 else "do",
                                                  right=right_words(str(right))))
    return risks


def _holders(rights: t.Any) -> list[str]:
    lines = []
    for right, holders in (rights or {}).items() if isinstance(rights, dict) else ():
        names = [str(h.get("name") or h.get("sid")) if isinstance(h, dict) else str(h) for h in holders or []]
        lines.append("%s on the node: %s" % (right_words(str(right)), ", ".join(names) or "nobody"))
    return lines


def policy_view(obs: Observation) -> View:
    return _policy_part(obs.result, obs.changed)


def _policy_part(result: dict[str, t.Any], refreshed: bool) -> View:
    """The rights a node task read and, when policy was (or would be) refreshed, the gpupdate."""
    view = View(risks=_missing_risks(result.get("missing")))
    if refreshed:
        missing = result.get("missing") or {}
        rights = list(result.get("rights") or {}) + [r for r in missing if r not in (result.get("rights") or {})]
        checked = ", ".join(right_words(str(r)) for r in rights)
        text = "Domain policy: gpupdate /force on the node" + (", then %s checked" % checked if checked else "")
        if result.get("refreshed") and isinstance(result.get("gpupdate"), dict):
            text += " (gpupdate %s)" % ("succeeded" if result["gpupdate"].get("succeeded") else "FAILED")
        view.changes.append(Change("policy", "policy:gpupdate", text, None, "refreshed" if not missing else
                                   "refreshed, right still missing", risks=[R.GPUPDATE]))
    if not view.risks:
        view.right.extend(_holders(result.get("rights")))
    return view


def _pool_serves(pool: dict[str, t.Any]) -> str:
    return "Pool %s serves %s" % (pool.get("name"), ", ".join(pool["applications"]) or "nothing")


def web_node_view(obs: Observation) -> View:
    """web_node: the IIS edits of its authentication and pool, then its rights and any refresh."""
    result = obs.result
    changes, right = iis_view(result)
    view = View(changes=changes if obs.changed else [], right=right,
                edits=[str(c) for c in result.get("changes") or []])
    pool = result.get("app_pool") if isinstance(result.get("app_pool"), dict) else {}
    if not pool.get("changed") and pool.get("applications") is not None:
        view.right.append(_pool_serves(pool))
    policy = _policy_part(result, bool(result.get("refresh")) and obs.changed)
    view.changes += policy.changes
    view.risks += policy.risks
    view.right += policy.right
    return view


_STEP_RIGHT = re.compile(r"then (?P<right>Se\w+) defined in it")
_STEP_LINK = re.compile(r"would be linked to (?P<target>.+?)\.?$")


def _step_risks(text: str) -> list[R.Risk]:
    """The risks of a step the roles announce in check mode (the rights and link of a GPO not created yet)."""
    found = []
    right, link = _STEP_RIGHT.search(text), _STEP_LINK.search(text.strip())
    if right:
        found.append(R.RIGHT_REPLACES.of(right=right_words(right["right"])))
    if link:
        found.append(R.GPO_LINK.of(target=link["target"]))
    return found


def _role_task(obs: Observation) -> View:
    """assert, debug and the like in the collection's roles: checks passed, planned steps, the change record."""
    result, name = obs.result, short_task(obs.task)
    short = obs.action.rsplit(".", 1)[-1]
    if short == "assert":
        return View(right=["%s: passed" % name]) if obs.status in ("ok", "changed") else View()
    if short == "debug":
        msg = result.get("msg")
        if isinstance(msg, list):
            return View(summary=[str(line) for line in msg])
        if obs.changed and isinstance(msg, str):
            text = msg[len(CHECK_MODE_PREFIX):] if msg.startswith(CHECK_MODE_PREFIX) else msg
            return View(changes=[Change("step", "step:%s" % name.lower(), text.strip(), risks=_step_risks(text))],
                        edits=None)
    return View()


def view_of(obs: Observation) -> View:
    """Changes, already-right values, warnings, risks, a failure: what the result of ``obs`` says."""
    result = obs.result
    if obs.status == "skipped":
        return View()
    if result.get("censored"):
        view = View(changes=[Change("hidden", "hidden:%s" % obs.task.lower(), "%s: changed (output hidden by no_log)"
                                    % short_task(obs.task))] if obs.changed else [])
    elif obs.module in VIEWS:
        view = VIEWS[obs.module](result)
    elif obs.module in ("web_auth", "app_pool", "arr_farm"):
        changes, right = iis_view(result)
        edits = [str(c) for c in result.get("changes") or []]
        view = View(changes=changes if obs.changed else [], right=right, edits=edits)
        if not obs.changed and not right and obs.module == "app_pool" and result.get("applications") is not None:
            view.right.append(_pool_serves(result))
    elif obs.module == "policy_refresh":
        view = policy_view(obs)
    elif obs.module == "web_node":
        view = web_node_view(obs)
    elif obs.module:
        view = View(changes=[Change("other", "%s:%s" % (obs.module, obs.task.lower()), "%s: %s" % (
            short_task(obs.task), "; ".join(str(c) for c in result.get("changes") or []) or "changed"))]
            if obs.changed else [])
    else:
        view = _role_task(obs)
    view.warnings.extend(str(w) for w in result.get("warnings") or [])
    if obs.status in ("failed", "unreachable"):
        view.failure = str(result.get("msg") or "failed without a message")
        view.changes = []
    if not obs.changed and obs.module:
        view.changes = []
    return view


def edits_of(obs: Observation, view: View) -> list[str] | None:
    """What the record compares with the plan for this task (None: the plan cannot know the edits)."""
    if not obs.changed:
        return []
    return view.edits


def as_dict(view: View) -> dict[str, t.Any]:
    return {"changes": [c.to_dict() for c in view.changes], "right": list(view.right),
            "warnings": list(view.warnings), "risks": [{"title": r.title, "text": r.text} for r in view.risks],
            "failure": view.failure}
