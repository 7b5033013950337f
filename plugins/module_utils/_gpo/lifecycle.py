# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""The engine of webfarm.winauth.gpo: create, repair or delete a GPO (container, folder, ACL, GPT.INI).

It reads the current state (LDAP and SYSVOL), decides with the pure helpers, writes in a recoverable
order unless ``check_mode``, and returns an :class:`Outcome`: a failure half-way leaves what the next
run finds and completes.
"""

from __future__ import annotations

import uuid

from ansible_collections.webfarm.winauth.plugins.module_utils._directory.operations import Directory
from ansible_collections.webfarm.winauth.plugins.module_utils._directory.outcome import Outcome
from ansible_collections.webfarm.winauth.plugins.module_utils._gpo.container import (
    GpoInfo,
    ambiguous_name_error,
    containers_linking,
    find_gpos,
    gpo_dn,
    guid_of,
    policies_dn,
    settle,
)
from ansible_collections.webfarm.winauth.plugins.module_utils._gpo.context import GpoContext
from ansible_collections.webfarm.winauth.plugins.module_utils._gpo.folder_acl import (
    folder_descriptor_for_container,
    same_folder_acl,
    set_information_flags,
)
from ansible_collections.webfarm.winauth.plugins.module_utils._gpo.gplink import apply_link, format_gplink, parse_gplink
from ansible_collections.webfarm.winauth.plugins.module_utils._gpo.gpt import (
    GPT_INI_NEW,
    describe_version,
    gpt_ini_version,
    gpt_ini_with_version,
    temporary_name,
)
from ansible_collections.webfarm.winauth.plugins.module_utils._gpo.sysvol import join
from ansible_collections.webfarm.winauth.plugins.module_utils._windows.dn import escape_filter_value
from ansible_collections.webfarm.winauth.plugins.module_utils._windows.errors import InvalidInput
from ansible_collections.webfarm.winauth.plugins.module_utils._windows.security_descriptor import parse_descriptor


# The two GPOs every domain is created with, by their fixed GUIDs ([MS-GPOL] 2.3): never deleted.
DEFAULT_GPOS = {
    "{31B2F340-016D-11D2-945F-00C04FB984F9}": ("Default Domain Policy",
                                               "the domain's password, lockout and Kerberos policy"),
    "{6AC1786C-016F-11D2-945F-00C04FB984F9}": ("Default Domain Controllers Policy",
                                               "the domain controllers' user rights and audit policy"),
}


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
        raise InvalidInput("guid=%s is not a GUID; give it as {xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}" % guid)
    found = find_gpos(conn, guid) if guid else settle(conn, name or "", find_gpos(conn, name or ""))
    if len(found) > 1:
        raise ambiguous_name_error("name", name or "", found)
    gpo = found[0] if found else None
    if state == "absent":
        return _remove_gpo(ctx, gpo, name, check_mode)
    if gpo is None and guid:
        raise InvalidInput("guid=%s: no GPO has that GUID; omit guid to create a new GPO named %s" % (guid, name))
    if not name:
        raise InvalidInput("name is required with state=present: it is the GPO's display name")
    if gpo is None:
        return _create_gpo(ctx, name, check_mode)
    return _repair_gpo(ctx, gpo, name, check_mode)


def _create_gpo(ctx: GpoContext, name: str, check_mode: bool) -> Outcome:
    conn = ctx.conn
    outcome = Outcome(changed=True, diff={"before": _describe_gpo(None), "after": "GPO %s (new GUID)\n" % name})
    if check_mode:
        outcome.result = {"guid": None, "name": name, "dn": None, "path": None, "version": 0, "created": True,
                          "repaired": [], "repairs": [], "sysvol_version": None, "acl_consistent": None,
                          "before": {"existed": False, "name": None}}
        return outcome
    guid = "{%s}" % str(uuid.uuid4()).upper()
    dn = gpo_dn(conn, guid)
    domain = conn.info.dns_domain
    path = "\\\\%s\\SysVol\\%s\\Policies\\%s" % (domain, domain, guid)
    # The container first, with its display name: if anything below fails, the next run finds the
    # GPO by name and completes it (see _repair_gpo); a folder made first would be orphaned.
    conn.add(dn, "groupPolicyContainer", {
        "displayName": name, "gPCFileSysPath": path, "versionNumber": "0", "flags": "0",
        "gPCFunctionalityVersion": "2"})
    first = _first_named(conn, name)
    if first is not None and first.guid != guid:
        # Another run created a GPO of this name at the same time: the one the DC created first (lowest
        # uSNCreated; every run bound to this DC sees the same order) stays. Ours has nothing but its
        # container yet: remove it and complete the other one, so that exactly one GPO has the name.
        conn.delete_subtree(dn)
        converged = _repair_gpo(ctx, first, name, check_mode=False)
        converged.changed = True
        converged.warnings.append(
            "another run created GPO %s (%s) at the same time as this one; this run removed its own duplicate "
            "container (%s) and completed that GPO instead" % (name, first.guid, guid))
        return converged
    gpo = GpoInfo(dn=dn, guid=guid, name=name, file_sys_path=path, version=0, flags=0, machine_extensions="",
                  user_extensions="")
    _ensure_structure(ctx, gpo, check_mode=False)
    outcome.result = dict(gpo.summary(), created=True, repaired=[], repairs=[], sysvol_version=0,
                          acl_consistent=folder_acl_consistent(ctx, gpo), before={"existed": False, "name": None})
    outcome.diff = {"before": _describe_gpo(None), "after": _describe_gpo(gpo)}
    return outcome


def _first_named(conn: Directory, name: str) -> GpoInfo | None:
    """Of the GPOs named ``name``, the one the DC created first (lowest uSNCreated)."""
    entries = conn.search(policies_dn(conn), "(&(objectClass=groupPolicyContainer)(displayName=%s))"
                          % escape_filter_value(name), ["name", "uSNCreated"], scope="LEVEL")
    if not entries:
        return None
    first = min(entries, key=lambda entry: (entry.integer("uSNCreated") or 0, entry.dn.lower()))
    found = find_gpos(conn, first.text("name") or "")
    return found[0] if found else None


def _ensure_structure(ctx: GpoContext, gpo: GpoInfo, check_mode: bool) -> list[dict[str, str]]:
    """Create what a GPO needs and lacks: CN=User/CN=Machine, the folder with its ACL, Machine, User, GPT.INI.

    GPT.INI is written last: a folder without it is an unfinished creation, whose
    ACL is (re)set from the container's. Returns what was (or would be) done: each repair's
    ``kind`` (container, sysvol_folder, folder, gpt_ini), ``target`` (a DN or a SYSVOL path) and ``text``.
    """
    conn = ctx.conn
    done: list[dict[str, str]] = []
    for child in ("User", "Machine"):
        child_dn = "CN=%s,%s" % (child, gpo.dn)
        if conn.read(child_dn, ["objectClass"]) is None:
            done.append(_repair("container", child_dn, "container %s" % child_dn))
            if not check_mode:
                conn.add(child_dn, "container")
    sysvol, folder = ctx.folder(gpo)
    gpt = sysvol.read(join(folder, "GPT.INI"))
    if gpt is None:
        done.append(_repair("sysvol_folder", folder, "SYSVOL folder %s with the container's ACL" % folder))
        if not check_mode:
            sysvol.makedirs(folder)
            expected = folder_descriptor_for_container(
                parse_descriptor(conn.read_security_descriptor(gpo.dn)))
            sysvol.set_security(folder, expected.encode(), set_information_flags(expected))
    for sub in ("Machine", "User"):
        if sysvol.is_dir(join(folder, sub)) is None:
            done.append(_repair("folder", join(folder, sub), "folder %s" % join(folder, sub)))
            if not check_mode:
                sysvol.mkdir(join(folder, sub))
    if gpt is None:
        gpt_ini = join(folder, "GPT.INI")
        data = GPT_INI_NEW if gpo.version == 0 else gpt_ini_with_version(None, gpo.version)
        # Never over a GPT.INI a racing run (or GPMC) wrote meanwhile: theirs is as new as this one.
        if check_mode or sysvol.create(gpt_ini, data, join(folder, temporary_name("GPT.INI", uuid.uuid4().hex[:12]))):
            done.append(_repair("gpt_ini", gpt_ini, "%s (Version=%d)" % (gpt_ini, gpo.version)))
    return done


def _repair(kind: str, target: str, text: str) -> dict[str, str]:
    return {"kind": kind, "target": target, "text": text}


def folder_acl_consistent(ctx: GpoContext, gpo: GpoInfo) -> bool | None:
    """Whether the SYSVOL folder's ACL matches the container's (what samba-tool gpo aclcheck checks)."""
    sysvol, folder = ctx.folder(gpo)
    if sysvol.is_dir(folder) is None:
        return None
    expected = folder_descriptor_for_container(parse_descriptor(ctx.conn.read_security_descriptor(gpo.dn)))
    actual = parse_descriptor(sysvol.get_security(folder))
    return same_folder_acl(actual, expected)


def _repair_gpo(ctx: GpoContext, gpo: GpoInfo, name: str, check_mode: bool) -> Outcome:
    outcome = Outcome()
    before = _describe_gpo(gpo)
    ctx.folder(gpo)  # its gPCFileSysPath checked before anything is written
    name_before = gpo.name
    if gpo.name != name:
        outcome.changed = True
        if not check_mode:
            ctx.conn.replace(gpo.dn, "displayName", name)
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
        outcome.warnings.append(version_mismatch(gpo, sysvol_version))
    outcome.result = dict(gpo.summary(), created=False, repaired=[r["text"] for r in repairs], repairs=repairs,
                          sysvol_version=sysvol_version, acl_consistent=consistent,
                          before={"existed": True, "name": name_before})
    outcome.diff = {"before": before, "after": _describe_gpo(gpo) + "".join("  + %s\n" % r["text"] for r in repairs)}
    return outcome


def version_mismatch(gpo: GpoInfo, sysvol_version: int) -> str:
    return ("GPO %s %s: versionNumber in AD is %s but GPT.INI in SYSVOL says %s; SYSVOL replication may be in progress, "
            "or an edit was interrupted (the next change made by webfarm.winauth.gpo_user_rights sets both)"
            % (gpo.name, gpo.guid, describe_version(gpo.version), describe_version(sysvol_version)))


def _remove_gpo(ctx: GpoContext, gpo: GpoInfo | None, name: str | None, check_mode: bool) -> Outcome:
    conn = ctx.conn
    if gpo is None:
        return Outcome(result={"guid": None, "name": name, "dn": None, "path": None, "version": None,
                               "unlinked": [], "before": {"existed": False, "name": None}},
                       diff={"before": _describe_gpo(None), "after": _describe_gpo(None)})
    if name and gpo.name != name:
        raise InvalidInput("guid=%s belongs to GPO %r, not name=%r; refusing to delete it" % (gpo.guid, gpo.name, name))
    if gpo.guid in DEFAULT_GPOS:
        raise InvalidInput("name=%s is the %s %s, which every domain needs (%s); webfarm.winauth never deletes it: "
                           "remove the task, or give the name of the GPO it created for the web farm"
                           % (name or gpo.name, DEFAULT_GPOS[gpo.guid][0], gpo.guid, DEFAULT_GPOS[gpo.guid][1]))
    sysvol, folder = ctx.folder(gpo)  # its gPCFileSysPath checked before anything is unlinked or deleted
    links = containers_linking(conn, gpo.guid)
    outcome = Outcome(changed=True, diff={"before": _describe_gpo(gpo, [dn for dn, _v in links]),
                                          "after": _describe_gpo(None)})
    # A deleted GPO cannot be rolled back (its SYSVOL files and ACLs go with it): the journal says so.
    outcome.result = dict(gpo.summary(), unlinked=[dn for dn, _v in links],
                          before={"existed": True, "name": gpo.name, "restorable": False,
                                  "links_before": [{"dn": dn, "gplink_before": v} for dn, v in links]})
    if check_mode:
        return outcome
    # Links first (clients stop applying it), then the folder, and the container last: it is
    # how the next run finds the GPO again if anything here fails half-way.
    for dn, value in links:
        change = apply_link(parse_gplink(value), gpo.guid, "", state="absent")
        if change.changed:
            conn.swap(dn, "gPLink", value, format_gplink(change.tokens))
    sysvol.rmtree(folder)
    conn.delete_subtree(gpo.dn)
    return outcome
