# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""What the gpo, gpo_link and gpo_user_rights modules do, between reading and reporting.

Each ``ensure_*`` function reads the current state (LDAP and SYSVOL), decides
with the pure helpers, writes in a recoverable order unless ``check_mode``, and
returns an :class:`Outcome` (result, diff, warnings). Modules stay thin, and tests
can call these in-process with a connection whose writes fail on purpose.
"""

from __future__ import annotations

import typing as t
import uuid
from dataclasses import dataclass, field

from ansible_collections.webfarm.winauth.plugins.module_utils._ad_connection import ADConnection, ADError
from ansible_collections.webfarm.winauth.plugins.module_utils._gpo_directory import (
    GpoInfo,
    add_entry,
    ambiguous_name_error,
    blocks_inheritance,
    containers_linking,
    delete_subtree,
    display_names,
    find_computer,
    find_gpos,
    get_gpo,
    gpo_dn,
    guid_of,
    names_for_sids,
    read_entry_raw,
    read_link_target,
    read_security_descriptor,
    replace_attribute,
    resolve_account,
    swap_attribute,
)
from ansible_collections.webfarm.winauth.plugins.module_utils._gpo_gplink import (
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
from ansible_collections.webfarm.winauth.plugins.module_utils._gpo_gpt import (
    GPT_INI_NEW,
    PENDING_MARKER_NAME,
    SECURITY_CSE_GUID,
    SECURITY_TOOL_GUID,
    TEMPORARY_NAME,
    describe_version,
    gpt_ini_version,
    gpt_ini_with_version,
    has_extension,
    parse_pending_marker,
    pending_marker,
    plan_versioned_change,
    version_to_directory,
    with_extension,
)
from ansible_collections.webfarm.winauth.plugins.module_utils._gpo_inf import (
    INF_RELATIVE_PATH,
    InfDocument,
    canonical_right,
    compute_holders,
    holder_sid,
)
from ansible_collections.webfarm.winauth.plugins.module_utils._gpo_principals import (
    DEFAULT_BATCH_LOGON_HOLDERS,
    is_sid,
    normalize_sid,
    well_known_name,
)
from ansible_collections.webfarm.winauth.plugins.module_utils._gpo_sd import (
    folder_descriptor_for_container,
    parse_security_descriptor,
    same_folder_acl,
    set_information_flags,
)
from ansible_collections.webfarm.winauth.plugins.module_utils._sysvol import Sysvol, join, split_unc, sysvol_for

GPO_FLAG_MACHINE_DISABLED = 0x2


@dataclass
class Outcome:
    changed: bool = False
    result: dict[str, t.Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    diff: dict[str, str] | None = None


class GpoContext:
    """A directory connection plus the SYSVOL session(s) opened on demand with the same credentials."""

    def __init__(self, conn: ADConnection,
                 open_sysvol: t.Callable[[str], Sysvol] | None = None) -> None:
        self.conn = conn
        self._open_sysvol = open_sysvol or (
            lambda share: sysvol_for(conn.options, conn.info.server, conn.info.dc_hostname, share))
        self._sessions: dict[str, Sysvol] = {}

    def sysvol(self, share: str) -> Sysvol:
        key = share.lower()
        if key not in self._sessions:
            self._sessions[key] = self._open_sysvol(share)
        return self._sessions[key]

    def folder(self, gpo: GpoInfo) -> tuple[Sysvol, str]:
        """The SYSVOL session and the path inside the share of a GPO's folder."""
        _host, share, path = split_unc(gpo.file_sys_path)
        return self.sysvol(share), path

    def close(self) -> None:
        for session in self._sessions.values():
            session.close()
        self._sessions.clear()

    def __enter__(self) -> "GpoContext":
        return self

    def __exit__(self, *exc_info: t.Any) -> None:
        self.close()


# =========================================================================== gpo

def _describe_gpo(gpo: GpoInfo | None, links: list[str] | None = None) -> str:
    if gpo is None:
        return "GPO absent\n"
    text = "GPO %s %s\n  container: %s\n  folder: %s\n  version: %s\n" % (
        gpo.name, gpo.guid, gpo.dn, gpo.file_sys_path, describe_version(gpo.version))
    if links:
        text += "".join("  linked to: %s\n" % dn for dn in links)
    return text


def ensure_gpo(ctx: GpoContext, name: str | None, guid: str | None, state: str, check_mode: bool) -> Outcome:
    conn = ctx.conn
    if guid is not None and guid_of(guid) is None:
        raise ADError("guid=%s is not a GUID; give it as {xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}" % guid)
    found = find_gpos(conn, guid) if guid else find_gpos(conn, name or "")
    if len(found) > 1:
        raise ambiguous_name_error("name", name or "", found)
    gpo = found[0] if found else None
    if state == "absent":
        return _remove_gpo(ctx, gpo, name, check_mode)
    if gpo is None and guid:
        raise ADError("guid=%s: no GPO has that GUID; omit guid to create a new GPO named %s" % (guid, name))
    if not name:
        raise ADError("name is required with state=present: it is the GPO's display name")
    if gpo is None:
        return _create_gpo(ctx, name, check_mode)
    return _repair_gpo(ctx, gpo, name, check_mode)


def _create_gpo(ctx: GpoContext, name: str, check_mode: bool) -> Outcome:
    conn = ctx.conn
    outcome = Outcome(changed=True, diff={"before": _describe_gpo(None), "after": "GPO %s (new GUID)\n" % name})
    if check_mode:
        outcome.result = {"guid": None, "name": name, "dn": None, "path": None, "version": 0, "created": True,
                          "repaired": [], "sysvol_version": None, "acl_consistent": None}
        return outcome
    guid = "{%s}" % str(uuid.uuid4()).upper()
    dn = gpo_dn(conn, guid)
    domain = conn.info.dns_domain
    path = "\\\\%s\\SysVol\\%s\\Policies\\%s" % (domain, domain, guid)
    # The container first, with its display name: if anything below fails, the next run finds the
    # GPO by name and completes it (see _repair_gpo); a folder made first would be orphaned.
    add_entry(conn, dn, "groupPolicyContainer", {
        "displayName": name, "gPCFileSysPath": path, "versionNumber": "0", "flags": "0",
        "gPCFunctionalityVersion": "2"})
    gpo = GpoInfo(dn=dn, guid=guid, name=name, file_sys_path=path, version=0, flags=0, machine_extensions="",
                  user_extensions="")
    _ensure_structure(ctx, gpo, check_mode=False)
    outcome.result = dict(gpo.summary(), created=True, repaired=[], sysvol_version=0,
                          acl_consistent=folder_acl_consistent(ctx, gpo))
    outcome.diff = {"before": _describe_gpo(None), "after": _describe_gpo(gpo)}
    return outcome


def _ensure_structure(ctx: GpoContext, gpo: GpoInfo, check_mode: bool) -> list[str]:
    """Create what a GPO needs and lacks: CN=User/CN=Machine, the folder with its ACL, Machine, User, GPT.INI.

    GPT.INI is written last: a folder without it is an unfinished creation, whose
    ACL is (re)set from the container's. Returns what was (or would be) done.
    """
    conn = ctx.conn
    done: list[str] = []
    for child in ("User", "Machine"):
        child_dn = "CN=%s,%s" % (child, gpo.dn)
        if read_entry_raw(conn, child_dn, ["objectClass"]) is None:
            done.append("container %s" % child_dn)
            if not check_mode:
                add_entry(conn, child_dn, "container")
    sysvol, folder = ctx.folder(gpo)
    gpt = sysvol.read(join(folder, "GPT.INI"))
    if gpt is None:
        done.append("SYSVOL folder %s with the container's ACL" % folder)
        if not check_mode:
            sysvol.makedirs(folder)
            expected = folder_descriptor_for_container(
                parse_security_descriptor(read_security_descriptor(conn, gpo.dn)))
            sysvol.set_security(folder, expected.to_bytes(), set_information_flags(expected))
    for sub in ("Machine", "User"):
        if sysvol.is_dir(join(folder, sub)) is None:
            done.append("folder %s" % join(folder, sub))
            if not check_mode:
                sysvol.mkdir(join(folder, sub))
    if gpt is None:
        done.append("%s (Version=%d)" % (join(folder, "GPT.INI"), gpo.version))
        if not check_mode:
            data = GPT_INI_NEW if gpo.version == 0 else gpt_ini_with_version(None, gpo.version)
            sysvol.write(join(folder, "GPT.INI"), data)
    return done


def folder_acl_consistent(ctx: GpoContext, gpo: GpoInfo) -> bool | None:
    """Whether the SYSVOL folder's ACL matches the container's (what samba-tool gpo aclcheck checks)."""
    sysvol, folder = ctx.folder(gpo)
    if sysvol.is_dir(folder) is None:
        return None
    expected = folder_descriptor_for_container(parse_security_descriptor(read_security_descriptor(ctx.conn, gpo.dn)))
    actual = parse_security_descriptor(sysvol.get_security(folder))
    return same_folder_acl(actual, expected)


def _repair_gpo(ctx: GpoContext, gpo: GpoInfo, name: str, check_mode: bool) -> Outcome:
    outcome = Outcome()
    before = _describe_gpo(gpo)
    if gpo.name != name:
        outcome.changed = True
        if not check_mode:
            replace_attribute(ctx.conn, gpo.dn, "displayName", name)
        gpo = GpoInfo(**dict(gpo.__dict__, name=name))
    repairs = _ensure_structure(ctx, gpo, check_mode)
    outcome.changed = outcome.changed or bool(repairs)
    sysvol, folder = ctx.folder(gpo)
    sysvol_version = gpt_ini_version(sysvol.read(join(folder, "GPT.INI")))
    consistent = folder_acl_consistent(ctx, gpo)
    if consistent is False:
        outcome.warnings.append(
            "the ACL of the SYSVOL folder of GPO %s %s does not match its container's (as samba-tool gpo aclcheck and "
            "GPMC's 'SYSVOL permissions are inconsistent' report); this module only sets it on folders it creates" %
            (gpo.name, gpo.guid))
    if sysvol_version is not None and sysvol_version != gpo.version:
        outcome.warnings.append(_version_mismatch(gpo, sysvol_version))
    outcome.result = dict(gpo.summary(), created=False, repaired=repairs, sysvol_version=sysvol_version,
                          acl_consistent=consistent)
    outcome.diff = {"before": before, "after": _describe_gpo(gpo) + "".join("  + %s\n" % r for r in repairs)}
    return outcome


def _version_mismatch(gpo: GpoInfo, sysvol_version: int) -> str:
    return ("GPO %s %s: versionNumber in AD is %s but GPT.INI in SYSVOL says %s; SYSVOL replication may be in progress, "
            "or an edit was interrupted (the next change made by webfarm.winauth.gpo_user_rights sets both)"
            % (gpo.name, gpo.guid, describe_version(gpo.version), describe_version(sysvol_version)))


def _remove_gpo(ctx: GpoContext, gpo: GpoInfo | None, name: str | None, check_mode: bool) -> Outcome:
    conn = ctx.conn
    if gpo is None:
        return Outcome(result={"guid": None, "name": name, "dn": None, "path": None, "version": None,
                               "unlinked": []},
                       diff={"before": _describe_gpo(None), "after": _describe_gpo(None)})
    if name and gpo.name != name:
        raise ADError("guid=%s belongs to GPO %r, not name=%r; refusing to delete it" % (gpo.guid, gpo.name, name))
    links = containers_linking(conn, gpo.guid)
    outcome = Outcome(changed=True, diff={"before": _describe_gpo(gpo, [dn for dn, _v in links]),
                                          "after": _describe_gpo(None)})
    outcome.result = dict(gpo.summary(), unlinked=[dn for dn, _v in links])
    if check_mode:
        return outcome
    # Links first (clients stop applying it), then the folder, and the container last: it is
    # how the next run finds the GPO again if anything here fails half-way.
    for dn, value in links:
        change = apply_link(parse_gplink(value), gpo.guid, "", state="absent")
        if change.changed:
            swap_attribute(conn, dn, "gPLink", value, format_gplink(change.tokens))
    sysvol, folder = ctx.folder(gpo)
    sysvol.rmtree(folder)
    delete_subtree(conn, gpo.dn)
    return outcome


# =========================================================================== gpo_link

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
            raise ADError("target is required (the DN of an OU, the domain or a site), unless expect_computers is "
                          "given: the GPO is then linked to the OU that holds those computers")
        target = common_parent(list(computers.values()))
        if target is None:
            raise ADError("expect_computers %s share no OU or domain; give target" % ", ".join(computers))
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
            raise ADError("strict: the link would not do its job, nothing was changed: " + " | ".join(problems))
        outcome.warnings.extend(problems)
    outcome.result = {"gpo": {"guid": gpo.guid, "name": gpo.name}, "target": target_dn, "target_kind": kind,
                      "link_order": change.order, "links": _link_summary(after_links, names), "scope": findings}
    if change.changed and not check_mode:
        swap_attribute(conn, target_dn, "gPLink", gplink or None, format_gplink(change.tokens))
    return outcome


def _gpo_to_unlink(conn: ADConnection, gpo_ref: str) -> GpoInfo:
    """The GPO whose link is to go. A GPO already deleted has nothing linked by its name, but a GUID
    still removes a link left dangling (as GPMC shows "Inaccessible" links)."""
    found = find_gpos(conn, gpo_ref)
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
    if gpo.flags & GPO_FLAG_MACHINE_DISABLED:
        problems.append("GPO %s has its computer configuration disabled (flags=%d): user rights in it apply to no "
                        "computer" % (gpo.name, gpo.flags))
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


# =========================================================================== gpo_user_rights

def _holder_text(entry: str, names: dict[str, str], resolved: dict[str, str | None]) -> str:
    sid = holder_sid(entry, resolved)
    name = names.get(sid) if sid else None
    if sid and name and entry.startswith("*"):
        return "%s (%s)" % (entry, name)
    if sid and not entry.startswith("*"):
        return "%s (%s)" % (entry, sid)
    return entry


def _describe_rights(doc: InfDocument, names: dict[str, str], resolved: dict[str, str | None],
                     version: int, extensions: str) -> str:
    lines = ["GptTmpl.inf [Privilege Rights] (account names added for reading):"]
    rights = doc.privileges()
    if not rights:
        lines.append("  (no user rights defined)")
    for key, holders in rights:
        lines.append("  %s = %s" % (key, ", ".join(_holder_text(h, names, resolved) for h in holders))
                     if holders else "  %s = (defined, no holder)" % key)
    lines.append("version (GPT.INI and versionNumber): %s" % describe_version(version))
    lines.append("gPCMachineExtensionNames: %s" % (extensions or "(none)"))
    return "\n".join(lines) + "\n"


def ensure_user_rights(ctx: GpoContext, gpo_ref: str, right: str, accounts: list[str] | None, mode: str, state: str,
                       check_mode: bool, want_diff: bool) -> Outcome:
    conn = ctx.conn
    right = canonical_right(right)
    if state == "absent" and accounts:
        raise ADError("accounts=%s cannot be combined with state=absent, which removes %s from the GPO (Not Defined); "
                      "use mode=remove to take accounts out" % (", ".join(accounts), right))
    if state == "present" and accounts is None:
        raise ADError("accounts is required with state=present: the accounts that %s should (mode=add, exact) or "
                      "should not (mode=remove) list" % right)
    gpo = get_gpo(conn, gpo_ref)
    wanted = [resolve_account(conn, name)[0] for name in accounts or []]

    sysvol, folder = ctx.folder(gpo)
    gpt_path = join(folder, "GPT.INI")
    inf_path = join(folder, INF_RELATIVE_PATH)
    secedit = inf_path.rsplit("\\", 1)[0]
    marker_path = join(secedit, PENDING_MARKER_NAME)
    gpt = sysvol.read(gpt_path)
    if gpt is None:
        raise ADError("GPO %s %s has no GPT.INI in SYSVOL (%s): its folder is missing or unfinished; run "
                      "webfarm.winauth.gpo with state=present to repair it" % (gpo.name, gpo.guid, gpo.file_sys_path))
    inf_bytes = sysvol.read(inf_path)
    doc = InfDocument.parse(inf_bytes) if inf_bytes else InfDocument.new()
    before_doc = InfDocument(list(doc.lines))
    current = doc.privilege(right)
    resolved = _resolve_name_entries(ctx, current)
    new = None if state == "absent" else compute_holders(current, wanted, mode, resolved)
    template_changes = new != current
    if template_changes:
        doc.set_privilege(right, new)
    extensions = gpo.machine_extensions
    if new is not None and not has_extension(extensions, SECURITY_CSE_GUID, SECURITY_TOOL_GUID):
        extensions = with_extension(extensions, SECURITY_CSE_GUID, SECURITY_TOOL_GUID)
    marker_base = parse_pending_marker(sysvol.read(marker_path))
    sysvol_version = gpt_ini_version(gpt)
    plan = plan_versioned_change(template_changes, extensions != gpo.machine_extensions, gpo.version,
                                 sysvol_version, marker_base)

    outcome = Outcome(changed=plan.changed)
    outcome.warnings.extend(_rights_warnings(gpo, right, current, new, plan.changed, sysvol_version))
    holder_sids = [s for s in (holder_sid(e, resolved) for e in new or []) if s]
    if want_diff:  # names for every holder of every right in the file, for reading
        resolved.update(_resolve_name_entries(ctx, [e for _k, holders in before_doc.privileges() for e in holders
                                                    if e not in resolved]))
        holder_sids += _all_sids(before_doc, resolved)
    names = names_for_sids(conn, holder_sids)
    outcome.result = {
        "gpo": {"guid": gpo.guid, "name": gpo.name}, "right": right, "defined": new is not None,
        "holders": [{"entry": e, "sid": holder_sid(e, resolved), "name": names.get(holder_sid(e, resolved) or "")}
                    for e in new or []],
        "version": plan.target_version, "steps": list(plan.steps),
        "completed_interrupted_change": plan.completes_interrupted_change,
    }
    if want_diff:
        outcome.diff = {"before": _describe_rights(before_doc, names, resolved, gpo.version, gpo.machine_extensions),
                        "after": _describe_rights(doc, names, resolved, plan.target_version, extensions)}
    if check_mode or not plan.changed:
        return outcome

    new_bytes = doc.to_bytes()
    for step in plan.steps:
        if step == "marker":
            sysvol.makedirs(secedit)
            sysvol.write(marker_path, pending_marker(plan.announced_version))
        elif step == "template":
            sysvol.makedirs(secedit)
            sysvol.replace(inf_path, new_bytes, join(secedit, TEMPORARY_NAME))
        elif step == "extensions":
            swap_attribute(conn, gpo.dn, "gPCMachineExtensionNames", gpo.machine_extensions or None, extensions)
        elif step == "gpt_ini":
            sysvol.replace(gpt_path, gpt_ini_with_version(gpt, plan.target_version), gpt_path + ".webfarm-winauth-tmp")
        elif step == "container":
            swap_attribute(conn, gpo.dn, "versionNumber", str(version_to_directory(gpo.version)),
                           str(version_to_directory(plan.target_version)))
        elif step == "clear_marker":
            sysvol.remove(marker_path)
    return outcome


def _resolve_name_entries(ctx: GpoContext, entries: list[str] | None) -> dict[str, str | None]:
    """Holders written as names (``Guest``) rather than ``*SID``, resolved where the directory knows them."""
    resolved: dict[str, str | None] = {}
    for entry in entries or []:
        if entry.startswith("*") or is_sid(entry):
            continue
        try:
            resolved[entry] = resolve_account(ctx.conn, entry)[0]
        except ADError:
            resolved[entry] = None
    return resolved


def _all_sids(doc: InfDocument, resolved: dict[str, str | None]) -> list[str]:
    sids = []
    for _key, holders in doc.privileges():
        for entry in holders:
            sid = holder_sid(entry, resolved)
            if sid:
                sids.append(sid)
    return sids


def _rights_warnings(gpo: GpoInfo, right: str, current: list[str] | None, new: list[str] | None, changing: bool,
                     sysvol_version: int | None) -> list[str]:
    warnings = []
    if current is None and new is not None:
        text = ("%s becomes defined by GPO %s: on every computer it applies to, this list replaces the local holders "
                "of the right" % (right, gpo.name))
        if right == "SeBatchLogonRight":
            missing = [well_known_name(sid) for sid in DEFAULT_BATCH_LOGON_HOLDERS
                       if sid_entry_missing(sid, new)]
            if missing:
                text += (" (on an IIS server by default %s); add them to accounts if they still need it"
                         % ", ".join(n for n in missing if n))
        warnings.append(text)
    if new == [] and current != []:
        warnings.append("%s is now defined by GPO %s with no holder: on the computers it applies to, nobody has it"
                        % (right, gpo.name))
    if gpo.flags & GPO_FLAG_MACHINE_DISABLED:
        warnings.append("GPO %s has its computer configuration disabled (flags=%d): user rights in it apply to no "
                        "computer" % (gpo.name, gpo.flags))
    if not changing and sysvol_version is not None and sysvol_version != gpo.version:
        warnings.append(_version_mismatch(gpo, sysvol_version))
    return warnings


def sid_entry_missing(sid: str, holders: list[str]) -> bool:
    return all(not (entry.startswith("*") and normalize_sid(entry) == sid) for entry in holders)
