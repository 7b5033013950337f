# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""The engine of webfarm.winauth.gpo_link: a GPO's link on an OU, the domain or a site, and the scope check."""

from __future__ import annotations

import typing as t

from ansible_collections.webfarm.winauth.plugins.module_utils._directory.operations import Directory
from ansible_collections.webfarm.winauth.plugins.module_utils._directory.outcome import Outcome
from ansible_collections.webfarm.winauth.plugins.module_utils._gpo.container import (
    GpoInfo,
    ambiguous_name_error,
    blocks_inheritance,
    display_names,
    find_computer,
    find_gpos,
    get_gpo,
    gpo_dn,
    guid_of,
    read_link_target,
    settle,
)
from ansible_collections.webfarm.winauth.plugins.module_utils._gpo.context import GpoContext
from ansible_collections.webfarm.winauth.plugins.module_utils._gpo.gplink import (
    LinkEntry,
    apply_link,
    common_parent,
    evaluate_scope,
    format_gplink,
    in_link_order,
    link_dn,
    parse_gplink,
    soms_between,
)
from ansible_collections.webfarm.winauth.plugins.module_utils._windows.errors import InvalidInput


def _describe_links(target_dn: str, links: list[LinkEntry], names: dict[str, str]) -> str:
    lines = ["%s gPLink (link order, 1 = highest precedence):" % target_dn]
    if not links:
        lines.append("  (no links)")
    for order, entry in enumerate(links, start=1):
        flags = ["enabled" if entry.enabled else "disabled"]
        if entry.enforced:
            flags.append("enforced")
        guid = entry.guid or "?"
        lines.append("  %d. %s %s [%s]" % (order, names.get(guid, "(unknown GPO)"), guid, ", ".join(flags)))
    return "\n".join(lines) + "\n"


def _link_summary(links: list[LinkEntry], names: dict[str, str]) -> list[dict[str, t.Any]]:
    return [{"order": order, "guid": entry.guid, "name": names.get(entry.guid or ""), "enabled": entry.enabled,
             "enforced": entry.enforced} for order, entry in enumerate(links, start=1)]


def ensure_link(ctx: GpoContext, gpo_ref: str, target: str | None, state: str, enabled: bool | None,
                enforced: bool | None, order: int | None, expect_computers: list[str], strict: bool,
                check_mode: bool) -> Outcome:
    conn = ctx.conn
    gpo = _gpo_to_unlink(conn, gpo_ref) if state == "absent" else get_gpo(conn, gpo_ref)
    computers = {name: find_computer(conn, name) for name in expect_computers}
    if target is None:
        if not computers:
            raise InvalidInput("target is required (the DN of an OU, the domain or a site), unless expect_computers is "
                               "given: the GPO is then linked to the OU that holds those computers")
        target = common_parent(list(computers.values()))
        if target is None:
            raise InvalidInput("expect_computers %s share no OU or domain; give target" % ", ".join(computers))
    target_dn, kind, gplink, _options = read_link_target(conn, target)
    tokens = parse_gplink(gplink)
    change = apply_link(tokens, gpo.guid, link_dn(gpo.guid, conn.info.default_naming_context), state, enabled,
                        enforced, order)
    before_links, after_links = in_link_order(tokens), in_link_order(change.tokens)
    names = display_names(conn, [entry.guid or "" for entry in before_links + after_links])
    outcome = Outcome(changed=change.changed,
                      diff={"before": _describe_links(target_dn, before_links, names),
                            "after": _describe_links(target_dn, after_links, names)})
    mine = next((entry for entry in after_links if entry.guid == gpo.guid), None)
    findings: list[dict[str, t.Any]] = []
    if state == "present" and mine is not None:
        problems = _scope_problems(ctx, gpo, target_dn, kind, mine, computers, findings)
        if problems and strict:
            raise InvalidInput("strict: the link would not do its job, nothing was changed: " + " | ".join(problems))
        outcome.warnings.extend(problems)
    outcome.result = {"gpo": {"guid": gpo.guid, "name": gpo.name}, "target": target_dn, "target_kind": kind,
                      "link_order": change.order, "links": _link_summary(after_links, names), "scope": findings,
                      "links_before": _link_summary(before_links, names), "gplink_before": gplink or "",
                      "link_created": mine is not None and not any(e.guid == gpo.guid for e in before_links)}
    if change.changed and not check_mode:
        conn.swap(target_dn, "gPLink", gplink or None, format_gplink(change.tokens))
    return outcome


def _gpo_to_unlink(conn: Directory, gpo_ref: str) -> GpoInfo:
    """The GPO whose link is to go. A GPO already deleted has nothing linked by its name, but a GUID
    still removes a link left dangling (as GPMC shows "Inaccessible" links)."""
    found = settle(conn, gpo_ref, find_gpos(conn, gpo_ref))
    if len(found) > 1:
        raise ambiguous_name_error("gpo", gpo_ref, found)
    if found:
        return found[0]
    guid = guid_of(gpo_ref) or "{00000000-0000-0000-0000-000000000000}"
    return GpoInfo(dn=gpo_dn(conn, guid), guid=guid, name=gpo_ref, file_sys_path="", version=0, flags=0,
                   machine_extensions="", user_extensions="")


def _scope_problems(ctx: GpoContext, gpo: GpoInfo, target_dn: str, kind: str, link: LinkEntry,
                    computers: dict[str, str], findings: list[dict[str, t.Any]]) -> list[str]:
    problems = []
    if not link.enabled:
        problems.append("the link of GPO %s on %s is disabled: it applies to no computer" % (gpo.name, target_dn))
    if gpo.computer_settings_disabled():
        problems.append(gpo.computer_settings_disabled())
    if not computers:
        return problems
    if kind == "site":
        problems.append("the scope of a site link depends on the computers' IP subnets, which this module does not "
                        "evaluate; expect_computers was not checked")
        return problems
    soms: list[str] = []
    for dn in computers.values():
        soms.extend(som for som in soms_between(target_dn, dn) if som not in soms)
    for finding in evaluate_scope(target_dn, link.enforced, computers, blocks_inheritance(ctx.conn, soms)):
        findings.append({"computer": finding.computer, "dn": finding.dn, "in_scope": finding.in_scope,
                         "blocked_at": finding.blocked_at})
        if finding.message:
            problems.append(finding.message)
    return problems
