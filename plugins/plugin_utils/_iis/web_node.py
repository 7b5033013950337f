# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""A web node's whole desired state, planned from one read (pure planning).

On Windows every remote command pays PowerShell's start-up, so a farm role that asks a node four
questions pays it four times. ``webfarm.winauth.web_node`` asks once: the site's Windows and
anonymous authentication (``web_auth``'s targets), the application pool (``app_pool``'s targets)
and who holds the user rights the pool's identity needs, in one ``iis_config`` read (1.4.0). The
planners are those of ``web_auth`` and ``app_pool``, unchanged; this module splits the read between
them, checks that the pool serves the site, matches the rights' holders and decides whether the
pool's restart rides in the apply (only when something changed and the identity holds its rights).

No I/O here.
"""

from __future__ import annotations

import typing as t

from ansible_collections.webfarm.winauth.plugins.module_utils._windows.errors import WinauthError
from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis import schema as S
from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis.app_pool import (
    APP_POOL_SPEC,
    applications_of,
    app_pool_report,
    app_pool_targets,
    check_app_pool,
    plan_app_pool,
)
from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis.config import (
    Plan,
    PlanError,
    SectionState,
    Target,
)
from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis.policy_refresh import check_options, check_wait
from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis.web_auth import (
    ANONYMOUS_AUTH_SPEC,
    WINDOWS_AUTH_SPEC,
    check_location,
    check_web_auth,
    normalize_application,
    plan_web_auth,
    web_auth_location,
    web_auth_targets,
)

WEB_NODE_SPEC: dict[str, t.Any] = {
    "site": {"type": "str", "required": True},
    "application": {"type": "str"},
    "windows": WINDOWS_AUTH_SPEC,
    "anonymous": ANONYMOUS_AUTH_SPEC,
    "behind_proxy": {"type": "bool", "default": False},
    # app_pool's own options for the identity (one spec for both modules), and the check that the pool serves the site.
    "app_pool": {"type": "dict", "options": dict(
        {name: APP_POOL_SPEC[name] for name in ("name", "identity", "username", "password", "update_password")},
        must_serve={"type": "bool", "default": True})},
    "rights": {"type": "list", "elements": "str", "default": []},
    "require": {"type": "dict"},
    "on_missing": {"type": "str", "default": "fail", "choices": ["fail", "warn"]},
    "policy_refresh": {"type": "str", "default": "never", "choices": ["never", "missing", "always"]},
    "refresh_wait": {"type": "int", "default": 600},
    "restart": {"type": "str", "default": "none", "choices": ["none", "recycled", "restarted"]},
}


class RightNotHeld(WinauthError):
    """The pool's identity does not hold a user right it needs on the node; nothing was written."""


def pool_args(args: dict[str, t.Any], state: str = "present") -> dict[str, t.Any]:
    """The ``app_pool`` planner's arguments: this module's ``app_pool`` options, every other setting left alone."""
    pool = args.get("app_pool") or {}
    out: dict[str, t.Any] = {name: None for name in APP_POOL_SPEC}
    out.update({k: v for k, v in pool.items() if k in APP_POOL_SPEC}, state=state)
    out["update_password"] = pool.get("update_password") or "always"
    return out


def rights_of(args: dict[str, t.Any]) -> tuple[list[str], dict[str, list[str]]]:
    """(rights to read, required holders by right), canonically spelled; PlanError-like InvalidInput on bad input."""
    if not args.get("rights") and not args.get("require"):
        return [], {}
    return check_options({"refresh": False, "rights": args.get("rights"), "require": args.get("require"),
                          "wait": args.get("refresh_wait", 600)})


def check_web_node(args: dict[str, t.Any]) -> None:
    """Validate every option before anything is read (the message names the option, the value and the fix)."""
    if not any(args.get(k) for k in ("windows", "anonymous", "app_pool", "rights", "require")):
        raise PlanError("web_node needs something to manage. Fix: give windows, anonymous, app_pool, rights or "
                        "require")
    check_location(args.get("site"), args.get("application"))
    check_web_auth(args.get("windows"), args.get("anonymous"))
    check_wait(args.get("refresh_wait", 600), "refresh_wait")
    if args.get("app_pool"):
        check_app_pool(pool_args(args))
    elif args.get("restart", "none") != "none":
        raise PlanError("restart=%s restarts the application pool, but app_pool is not given. Fix: give app_pool.name, "
                        "or use restart=none" % args["restart"])
    rights_of(args)


def web_node_targets(args: dict[str, t.Any]) -> tuple[list[Target], int]:
    """The targets of the one read (authentication first, then the pool) and where the pool's begin."""
    auth: list[Target] = []
    if args.get("windows") or args.get("anonymous"):
        auth = web_auth_targets(args["site"], args.get("application"), args.get("anonymous"))
    pool = app_pool_targets(pool_args(args)) if args.get("app_pool") else []
    return auth + pool, len(auth)


def wants_refresh(args: dict[str, t.Any], missing: dict[str, list[str]]) -> bool:
    """Whether gpupdate /force runs before the plan: always, or when a required right is missing."""
    mode = args.get("policy_refresh", "never")
    return mode == "always" or (mode == "missing" and bool(missing))


def _check_serves(args: dict[str, t.Any], pool_states: t.Sequence[SectionState]) -> None:
    pool = args["app_pool"]
    if not pool.get("must_serve", True):
        return
    sites = next(s for s in pool_states if s.section.path == S.SITES)
    pools = next(s for s in pool_states if s.section.path == S.APPLICATION_POOLS and not s.path)
    location = web_auth_location(args["site"], args.get("application"))
    served = applications_of(sites, pool["name"])
    if location.lower() in [path.lower() for path in served]:
        return
    exists = pools.element.item({"name": pool["name"]}) is not None
    found = ("that pool serves %s" % ", ".join(served) if exists and served
             else "that pool serves nothing" if exists else "there is no such pool")
    raise PlanError("app_pool.name=%s: %s does not run in that application pool (%s), so its identity would not be "
                    "the one that decrypts the site's tickets; nothing was written. Fix: set app_pool.name to the pool "
                    "that serves %s, or assign the application to %s in IIS first (app_pool.must_serve=false skips "
                    "this check)" % (pool["name"], location, found, location, pool["name"]))


def plan_web_node(args: dict[str, t.Any], states: t.Sequence[SectionState], split: int,
                  refresh: bool, held: bool = True) -> Plan:
    """The plan: authentication edits, pool edits, then the pool's restart when it rides along.

    ``refresh``: gpupdate ran (or, in check mode, would run) before this plan; the pool then restarts so that a
    right that has just arrived reaches its worker process. ``held``: the identity holds its required rights;
    if not, the pool is not restarted (a worker process that cannot log on as a batch job stops the pool: 503).
    """
    auth_states, pool_states = list(states[:split]), list(states[split:])
    plan = Plan()
    if auth_states:
        plan_web_auth(plan, auth_states, args["site"], args.get("application"), args.get("windows"),
                      args.get("anonymous"), behind_proxy=bool(args.get("behind_proxy")))
    if pool_states:
        _check_serves(args, pool_states)
        pool_plan = plan_app_pool(pool_args(args), pool_states)
        restart = args.get("restart", "none")
        if restart != "none" and held and (plan.edits or pool_plan.edits or refresh):
            pool_plan = plan_app_pool(pool_args(args, restart), pool_states)
        extend(plan, pool_plan)
    return plan


def extend(plan: Plan, other: Plan) -> None:
    """Append another plan's edits, diff blocks, summary, warnings and journal to ``plan``."""
    plan.edits += other.edits
    for heading, lines in other.before.items():
        plan.before.setdefault(heading, []).extend(lines)
    for heading, lines in other.after.items():
        plan.after.setdefault(heading, []).extend(lines)
    plan.summary += other.summary
    plan.warnings += [w for w in other.warnings if w not in plan.warnings]
    plan.journal += other.journal


def node_report(args: dict[str, t.Any], states: t.Sequence[SectionState], split: int, plan: Plan) -> dict[str, t.Any]:
    """Result keys: the authentication's location and whether it changed, the pool as found and as it will be."""
    location = web_auth_location(args["site"], args.get("application"))
    canonical = next((s.location for s in states[:split] if s.location.lower() == location.lower()), location)
    pool_edits = [e for e in plan.edits if e["section"] == S.APPLICATION_POOLS]
    report: dict[str, t.Any] = {"location": canonical, "application": normalize_application(args.get("application")),
                                "authentication": {"managed": split > 0,
                                                   "changed": len(pool_edits) < len(plan.edits)}}
    pool_states = list(states[split:])
    if pool_states:
        pool = app_pool_report(pool_args(args), pool_states, plan)
        pool["changed"] = any(e["op"] not in ("start", "stop", "recycle") for e in pool_edits)
        pool["restarted"] = any(e["op"] in ("start", "stop", "recycle") for e in pool_edits)
        report["app_pool"] = pool
    return report
