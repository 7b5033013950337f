# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""The engine of webfarm.winauth.gpo_user_rights: a user right in a GPO's GptTmpl.inf, with versions kept right.

The template, GPT.INI, the container's version and its extension list are written in the order of
``gpt.plan_versioned_change``, so that no version announces a change SYSVOL does not hold and an
interrupted change is completed by the next run.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from ansible_collections.webfarm.winauth.plugins.module_utils._directory.outcome import Outcome
from ansible_collections.webfarm.winauth.plugins.module_utils._gpo.container import (
    GpoInfo,
    get_gpo,
    holder_names,
    resolve_account,
)
from ansible_collections.webfarm.winauth.plugins.module_utils._gpo.context import GpoContext
from ansible_collections.webfarm.winauth.plugins.module_utils._gpo.gpt import (
    PENDING_MARKER_NAME,
    SECURITY_CSE_GUID,
    SECURITY_TOOL_GUID,
    TEMPORARY_MARK,
    VersionedChangePlan,
    describe_version,
    gpt_ini_version,
    gpt_ini_with_version,
    has_extension,
    parse_pending_marker,
    pending_marker,
    plan_versioned_change,
    temporary_name,
    version_to_directory,
    with_extension,
)
from ansible_collections.webfarm.winauth.plugins.module_utils._gpo.inf import (
    INF_RELATIVE_PATH,
    InfDocument,
    canonical_right,
    compute_holders,
    holder_sid,
)
from ansible_collections.webfarm.winauth.plugins.module_utils._gpo.lease import GpoLease
from ansible_collections.webfarm.winauth.plugins.module_utils._gpo.lifecycle import version_mismatch
from ansible_collections.webfarm.winauth.plugins.module_utils._gpo.rights_rules import check_rights_edit
from ansible_collections.webfarm.winauth.plugins.module_utils._gpo.sysvol import Sysvol, join
from ansible_collections.webfarm.winauth.plugins.module_utils._windows.errors import (
    Conflict,
    InvalidInput,
    WinauthError,
)
from ansible_collections.webfarm.winauth.plugins.module_utils._windows.principals import (
    DEFAULT_BATCH_LOGON_HOLDERS,
    well_known_name,
)
from ansible_collections.webfarm.winauth.plugins.module_utils._windows.sid import is_sid, normalize_sid


WRITE_ATTEMPTS = 3
LEGACY_TEMPORARY_SUFFIX = ".webfarm-winauth-tmp"  # the one shared name of earlier releases


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


@dataclass
class _RightsEdit:
    """One reading of a GPO's files and container, and the change planned from it."""

    gpo: GpoInfo
    folder: str
    gpt: bytes
    before_doc: InfDocument
    doc: InfDocument
    current: list[str] | None
    new: list[str] | None
    resolved: dict[str, str | None]
    extensions: str
    sysvol_version: int | None
    plan: VersionedChangePlan


def ensure_user_rights(ctx: GpoContext, gpo_ref: str, right: str, accounts: list[str] | None, mode: str, state: str,
                       check_mode: bool, want_diff: bool, allow_no_holders: bool = False,
                       allow_broad_deny: bool = False) -> Outcome:
    conn = ctx.conn
    right = canonical_right(right)
    if state == "absent" and accounts:
        raise InvalidInput("accounts=%s cannot be combined with state=absent, which removes %s from the GPO (Not "
                           "Defined); use mode=remove to take accounts out" % (", ".join(accounts), right))
    if state == "present" and accounts is None:
        raise InvalidInput("accounts is required with state=present: the accounts that %s should (mode=add, exact) or "
                           "should not (mode=remove) list" % right)
    gpo = get_gpo(conn, gpo_ref)
    wanted = [resolve_account(conn, name)[0] for name in accounts or []]
    check_rights_edit(right, mode, state, wanted, allow_no_holders, allow_broad_deny)    # before SYSVOL is read
    edit = _read_edit(ctx, gpo, right, wanted, mode, state)
    if check_mode or not edit.plan.changed:
        return _outcome(ctx, edit, right, want_diff)
    # Another run may be editing the same GPO: take its lease (a compare-and-swap in the directory) before
    # SYSVOL is written, read everything again under it, and start over from a new reading on a conflict
    # (another tool wrote versionNumber or the extension list meanwhile; the pending marker carries over).
    for attempt in range(1, WRITE_ATTEMPTS + 1):
        with GpoLease(conn, gpo.dn, gpo.name) as lease:
            edit = _read_edit(ctx, get_gpo(conn, gpo.guid), right, wanted, mode, state)
            outcome = _outcome(ctx, edit, right, want_diff)
            if lease.took_over:
                outcome.warnings.append(
                    "GPO %s: took over the edit lease of a run that stopped (%s); what it left half-done is completed "
                    "by this change" % (gpo.name, lease.took_over.holder))
            if not edit.plan.changed:
                return outcome
            try:
                _write(ctx, edit)
            except Conflict:
                if attempt == WRITE_ATTEMPTS:
                    raise
                continue
            return outcome
    raise AssertionError("unreachable")  # pragma: no cover


def _read_edit(ctx: GpoContext, gpo: GpoInfo, right: str, wanted: list[str], mode: str, state: str) -> _RightsEdit:
    sysvol, folder = ctx.folder(gpo)
    gpt = sysvol.read(join(folder, "GPT.INI"))
    if gpt is None:
        raise InvalidInput("GPO %s %s has no GPT.INI in SYSVOL (%s): its folder is missing or unfinished; run "
                           "webfarm.winauth.gpo with state=present to repair it"
                           % (gpo.name, gpo.guid, gpo.file_sys_path))
    inf_bytes = sysvol.read(join(folder, INF_RELATIVE_PATH))
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
    marker_base = parse_pending_marker(sysvol.read(join(_secedit(folder), PENDING_MARKER_NAME)))
    sysvol_version = gpt_ini_version(gpt)
    plan = plan_versioned_change(template_changes, extensions != gpo.machine_extensions, gpo.version,
                                 sysvol_version, marker_base)
    return _RightsEdit(gpo, folder, gpt, before_doc, doc, current, new, resolved, extensions, sysvol_version, plan)


def _secedit(folder: str) -> str:
    return join(folder, INF_RELATIVE_PATH).rsplit("\\", 1)[0]


def _outcome(ctx: GpoContext, edit: _RightsEdit, right: str, want_diff: bool) -> Outcome:
    gpo, plan, new, resolved = edit.gpo, edit.plan, edit.new, edit.resolved
    outcome = Outcome(changed=plan.changed)
    outcome.warnings.extend(_rights_warnings(gpo, right, edit.current, new, plan.changed, edit.sysvol_version))
    holder_sids = [s for s in (holder_sid(e, resolved) for e in (new or []) + (edit.current or [])) if s]
    if want_diff:  # names for every holder of every right in the file, for reading
        resolved.update(_resolve_name_entries(ctx, [e for _k, holders in edit.before_doc.privileges() for e in holders
                                                    if e not in resolved]))
        holder_sids += _all_sids(edit.before_doc, resolved)
    names = holder_names(ctx.conn, holder_sids)
    outcome.result = {
        "gpo": {"guid": gpo.guid, "name": gpo.name}, "right": right, "defined": new is not None,
        "holders": [{"entry": e, "sid": holder_sid(e, resolved), "name": names.get(holder_sid(e, resolved) or "")}
                    for e in new or []],
        "version": plan.target_version, "steps": list(plan.steps),
        "completed_interrupted_change": plan.completes_interrupted_change,
        # the before-state a rollback writes back (the version is raised again then, never written back)
        "defined_before": edit.current is not None,
        "holders_before": [{"entry": e, "sid": holder_sid(e, resolved),
                            "name": names.get(holder_sid(e, resolved) or "")} for e in edit.current or []],
        "machine_extensions_before": gpo.machine_extensions or "", "version_before": gpo.version,
    }
    if want_diff:
        outcome.diff = {"before": _describe_rights(edit.before_doc, names, resolved, gpo.version,
                                                   gpo.machine_extensions),
                        "after": _describe_rights(edit.doc, names, resolved, plan.target_version, edit.extensions)}
    return outcome


def _write(ctx: GpoContext, edit: _RightsEdit) -> None:
    """The plan's steps in order; temporary files are named per run, so two writers never share one."""
    conn, gpo, plan = ctx.conn, edit.gpo, edit.plan
    sysvol, folder = ctx.folder(gpo)
    secedit = _secedit(folder)
    gpt_path, inf_path = join(folder, "GPT.INI"), join(folder, INF_RELATIVE_PATH)
    marker_path = join(secedit, PENDING_MARKER_NAME)
    suffix = uuid.uuid4().hex[:12]
    _remove_leftovers(sysvol, folder, secedit)
    for step in plan.steps:
        if step == "marker":
            sysvol.makedirs(secedit)
            sysvol.write(marker_path, pending_marker(plan.announced_version))
        elif step == "template":
            sysvol.makedirs(secedit)
            sysvol.replace(inf_path, edit.doc.to_bytes(), join(secedit, temporary_name("GptTmpl.inf", suffix)))
        elif step == "extensions":
            conn.swap(gpo.dn, "gPCMachineExtensionNames", gpo.machine_extensions or None, edit.extensions)
        elif step == "gpt_ini":
            sysvol.replace(gpt_path, gpt_ini_with_version(edit.gpt, plan.target_version),
                           join(folder, temporary_name("GPT.INI", suffix)))
        elif step == "container":
            conn.swap(gpo.dn, "versionNumber", str(version_to_directory(gpo.version)),
                      str(version_to_directory(plan.target_version)))
        elif step == "clear_marker":
            sysvol.remove(marker_path)


def _remove_leftovers(sysvol: Sysvol, *folders: str) -> None:
    """Temporary files of runs that stopped before their rename (safe: this run holds the GPO's lease)."""
    for folder in folders:
        if not sysvol.is_dir(folder):
            continue
        for name, is_folder in sysvol.listdir(folder):
            if not is_folder and (TEMPORARY_MARK in name or name.endswith(LEGACY_TEMPORARY_SUFFIX)):
                sysvol.remove(join(folder, name))


def _resolve_name_entries(ctx: GpoContext, entries: list[str] | None) -> dict[str, str | None]:
    """Holders written as names (``Guest``) rather than ``*SID``, resolved where the directory knows them."""
    resolved: dict[str, str | None] = {}
    for entry in entries or []:
        if entry.startswith("*") or is_sid(entry):
            continue
        try:
            resolved[entry] = resolve_account(ctx.conn, entry)[0]
        except WinauthError:
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
    if gpo.computer_settings_disabled():
        warnings.append(gpo.computer_settings_disabled())
    if not changing and sysvol_version is not None and sysvol_version != gpo.version:
        warnings.append(version_mismatch(gpo, sysvol_version))
    return warnings


def sid_entry_missing(sid: str, holders: list[str]) -> bool:
    return all(not (entry.startswith("*") and normalize_sid(entry) == sid) for entry in holders)
