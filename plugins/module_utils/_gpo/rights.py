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
from ansible_collections.webfarm.winauth.plugins.module_utils._gpo.inf import (
    INF_RELATIVE_PATH,
    InfDocument,
    canonical_right,
    compute_holders,
    holder_sid,
)
from ansible_collections.webfarm.winauth.plugins.module_utils._gpo.lifecycle import version_mismatch
from ansible_collections.webfarm.winauth.plugins.module_utils._gpo.sysvol import join
from ansible_collections.webfarm.winauth.plugins.module_utils._windows.errors import InvalidInput, WinauthError
from ansible_collections.webfarm.winauth.plugins.module_utils._windows.principals import (
    DEFAULT_BATCH_LOGON_HOLDERS,
    well_known_name,
)
from ansible_collections.webfarm.winauth.plugins.module_utils._windows.sid import is_sid, normalize_sid


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
        raise InvalidInput("accounts=%s cannot be combined with state=absent, which removes %s from the GPO (Not "
                           "Defined); use mode=remove to take accounts out" % (", ".join(accounts), right))
    if state == "present" and accounts is None:
        raise InvalidInput("accounts is required with state=present: the accounts that %s should (mode=add, exact) or "
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
        raise InvalidInput("GPO %s %s has no GPT.INI in SYSVOL (%s): its folder is missing or unfinished; run "
                           "webfarm.winauth.gpo with state=present to repair it"
                           % (gpo.name, gpo.guid, gpo.file_sys_path))
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
    holder_sids = [s for s in (holder_sid(e, resolved) for e in (new or []) + (current or [])) if s]
    if want_diff:  # names for every holder of every right in the file, for reading
        resolved.update(_resolve_name_entries(ctx, [e for _k, holders in before_doc.privileges() for e in holders
                                                    if e not in resolved]))
        holder_sids += _all_sids(before_doc, resolved)
    names = holder_names(conn, holder_sids)
    outcome.result = {
        "gpo": {"guid": gpo.guid, "name": gpo.name}, "right": right, "defined": new is not None,
        "holders": [{"entry": e, "sid": holder_sid(e, resolved), "name": names.get(holder_sid(e, resolved) or "")}
                    for e in new or []],
        "version": plan.target_version, "steps": list(plan.steps),
        "completed_interrupted_change": plan.completes_interrupted_change,
        # the before-state a rollback writes back (the version is raised again then, never written back)
        "defined_before": current is not None,
        "holders_before": [{"entry": e, "sid": holder_sid(e, resolved),
                            "name": names.get(holder_sid(e, resolved) or "")} for e in current or []],
        "machine_extensions_before": gpo.machine_extensions or "", "version_before": gpo.version,
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
            conn.swap(gpo.dn, "gPCMachineExtensionNames", gpo.machine_extensions or None, extensions)
        elif step == "gpt_ini":
            sysvol.replace(gpt_path, gpt_ini_with_version(gpt, plan.target_version), gpt_path + ".webfarm-winauth-tmp")
        elif step == "container":
            conn.swap(gpo.dn, "versionNumber", str(version_to_directory(gpo.version)),
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
