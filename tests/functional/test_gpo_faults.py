"""Half-way failures of the GPO modules against the lab, and the run after them.

The modules' core functions run in-process with a real connection to the lab;
one write is made to fail on purpose (an SMB connection dropping, the DC refusing
an LDAP modify). Then: versions in GPT.INI and AD never announce a change that
SYSVOL does not hold, and the next run (through Ansible, or in-process) converges.
"""

from __future__ import annotations

import contextlib
import re

import ldap3
import pytest
from smbprotocol.exceptions import SMBConnectionClosed

from ansible_collections.webfarm.winauth.plugins.module_utils._directory.connection import connect
from ansible_collections.webfarm.winauth.plugins.module_utils._directory.explain import ldap_failure
from ansible_collections.webfarm.winauth.plugins.module_utils._directory.operations import Directory
from ansible_collections.webfarm.winauth.plugins.module_utils._directory.options import ConnectionOptions
from ansible_collections.webfarm.winauth.plugins.module_utils._gpo import linking
from ansible_collections.webfarm.winauth.plugins.module_utils._gpo.context import GpoContext
from ansible_collections.webfarm.winauth.plugins.module_utils._gpo.gpt import PENDING_MARKER_NAME, TEMPORARY_MARK
from ansible_collections.webfarm.winauth.plugins.module_utils._gpo.lifecycle import ensure_gpo
from ansible_collections.webfarm.winauth.plugins.module_utils._gpo.linking import ensure_link
from ansible_collections.webfarm.winauth.plugins.module_utils._gpo.rights import ensure_user_rights
from ansible_collections.webfarm.winauth.plugins.module_utils._gpo.sysvol import Sysvol, SysvolError
from ansible_collections.webfarm.winauth.plugins.module_utils._windows.errors import Conflict, InsufficientRights

from harness.ansible import run_tasks, task
from harness.directory import (
    admin_connection,
    create_ou,
    delete_tree,
    domain_dn,
    gplink_of,
    lab,
    ldap_connection,
    new_token,
    samba_tool,
)
from harness.gpo import (
    EDITOR_VERSION,
    EFS_CSE,
    REGISTRY_CSE,
    account_sid,
    directory_version,
    gpo_edited_elsewhere,
    gpo_exists,
    gpo_named,
    gpo_snapshot,
    gpt_ini_version,
    inf_path,
    remove_gpo,
    samba_acl_check,
    sysvol_dir,
)

REFUSED = {"result": 50, "description": "insufficientAccessRights",
           "message": "00002098: SecErr: DSID-03150F94, problem 4003 (INSUFF_ACCESS_RIGHTS), data 0"}


@contextlib.contextmanager
def gpo_context():
    conn = connect(ConnectionOptions(**admin_connection()))
    with conn, GpoContext(conn) as ctx:
        yield ctx


def refuse(attribute: str, monkeypatch) -> None:
    """The DC refuses to write ``attribute`` (insufficient access), as it does for a user without edit rights."""
    real = Directory.swap

    def swap(conn, dn, name, old, new):
        if name == attribute:
            raise ldap_failure(REFUSED, "writing %s of %s" % (name, dn), conn.options)
        return real(conn, dn, name, old, new)

    monkeypatch.setattr(Directory, "swap", swap)


def drop_smb_while_writing(part: str, monkeypatch, half: bool = False) -> None:
    """The SMB connection drops while writing a file whose name holds ``part`` (after half of it)."""
    real = Sysvol._write_chunks  # pylint: disable=protected-access

    def write(handle, data):
        if part in handle.file_name:
            if half:
                real(handle, data[:len(data) // 2])
            raise SMBConnectionClosed("injected: the connection was reset by the peer")
        return real(handle, data)

    monkeypatch.setattr(Sysvol, "_write_chunks", staticmethod(write))


def drop_smb_on_remove(suffix: str, monkeypatch) -> None:
    real = Sysvol.remove

    def remove(self, path):
        if path.endswith(suffix):
            raise self._fail("deleting", path, ConnectionResetError("injected: connection reset by peer"))
        return real(self, path)

    monkeypatch.setattr(Sysvol, "remove", remove)


# --------------------------------------------------------------------------- gpo_user_rights

@pytest.fixture(scope="module")
def rights_gpo():
    guid = gpo_edited_elsewhere("winauth-test-faults-%s" % new_token())
    try:
        yield guid
    finally:
        remove_gpo(guid)


def state(guid: str, sid: str) -> tuple[int, int, bool, list[str]]:
    """(AD version, GPT.INI version, SYSVOL's template names the SID, files next to the template).

    Read straight from the DC's database and the bytes on disk (UTF-16 LE, as the template is written).
    """
    text = inf_path(guid).read_bytes()[2:].decode("utf-16-le")
    granted = bool(re.search(r"^SeBatchLogonRight = (.*,)?\*%s(,|\r$)" % re.escape(sid), text, re.MULTILINE))
    return (directory_version(guid), gpt_ini_version(guid), granted,
            sorted(p.name for p in inf_path(guid).parent.iterdir()))


FAULTS = {
    # name: (account to grant, how the run breaks, what the error says)
    "smb_drops_while_writing_the_template": (
        "user1", lambda mp: drop_smb_while_writing("GptTmpl.inf" + TEMPORARY_MARK, mp, half=True), "dropped"),
    "smb_drops_before_gpt_ini": ("alice", lambda mp: drop_smb_while_writing("GPT.INI" + TEMPORARY_MARK, mp),
                                 "dropped"),
    "ldap_refuses_extension_names": ("webops", lambda mp: refuse("gPCMachineExtensionNames", mp),
                                     "insufficient access rights"),
    "ldap_refuses_version_number": ("cam-svc", lambda mp: refuse("versionNumber", mp), "insufficient access rights"),
    "smb_drops_before_removing_the_marker": ("Administrator", lambda mp: drop_smb_on_remove(PENDING_MARKER_NAME, mp),
                                             "dropped"),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_an_interrupted_grant_is_never_announced_early_and_the_next_run_completes_it(
        rights_gpo, fault, monkeypatch) -> None:
    guid = rights_gpo
    account, inject, reason = FAULTS[fault]
    users = "CN=Users,%s" % domain_dn()
    sid = account_sid("CN=%s,%s" % (account, "OU=ServiceAccounts,%s" % domain_dn()
                                    if account in ("user1", "cam-svc") else users))
    base_ad, base_ini, granted, _files = state(guid, sid)
    assert base_ad == base_ini and not granted
    template_before = inf_path(guid).read_bytes()
    if fault == "ldap_refuses_extension_names":  # as another tool left it: without the Security CSE
        with ldap_connection() as conn:
            assert conn.modify("CN=%s,CN=Policies,CN=System,%s" % (guid, domain_dn()), {
                "gPCMachineExtensionNames": [(ldap3.MODIFY_REPLACE, [REGISTRY_CSE + EFS_CSE])]}), conn.result

    inject(monkeypatch)
    with gpo_context() as ctx, pytest.raises((SysvolError, InsufficientRights)) as failure:
        ensure_user_rights(ctx, guid, "SeBatchLogonRight", [account], "add", "present", False, False)
    monkeypatch.undo()
    message = str(failure.value)
    assert reason in message and "\n" not in message and lab("LAB_ADMIN_PASSWORD") not in message

    ad, ini, granted, files = state(guid, sid)
    # Nothing announces a change SYSVOL does not hold.
    if ad > base_ad or ini > base_ini:
        assert granted, "a version went up but the template does not hold the grant"
    assert ad <= ini  # AD, which clients compare first, is written last
    if fault == "smb_drops_while_writing_the_template":
        assert inf_path(guid).read_bytes() == template_before  # the half-written file never replaced it
    assert PENDING_MARKER_NAME in files

    # The next run finishes the job: one version step above the base, the same in AD and GPT.INI.
    with gpo_context() as ctx:
        finished = ensure_user_rights(ctx, guid, "SeBatchLogonRight", [account], "add", "present", False, False)
        again = ensure_user_rights(ctx, guid, "SeBatchLogonRight", [account], "add", "present", False, False)
    assert finished.changed and finished.result["completed_interrupted_change"]
    assert not again.changed and again.result["steps"] == [] and not again.result["completed_interrupted_change"]
    ad, ini, granted, files = state(guid, sid)
    assert granted and ad == ini == base_ad + 1 and (ad >> 16) == (EDITOR_VERSION >> 16)
    assert files == ["GptTmpl.inf"]


# --------------------------------------------------------------------------- gpo

def test_a_gpo_whose_creation_stopped_half_way_is_completed(monkeypatch) -> None:
    name = "winauth-test-half-%s" % new_token()
    guid = None
    try:
        real = Sysvol.set_security

        def set_security(self, path, descriptor, information):
            raise self._fail("setting the ACL of", path, ConnectionResetError("injected: connection reset by peer"))

        monkeypatch.setattr(Sysvol, "set_security", set_security)
        with gpo_context() as ctx, pytest.raises(SysvolError, match="dropped"):
            ensure_gpo(ctx, name, None, "present", False)
        monkeypatch.setattr(Sysvol, "set_security", real)
        [guid] = gpo_named(name)
        assert not (sysvol_dir(guid) / "GPT.INI").exists()

        completed, again = run_tasks([task("gpo", {"name": name}), task("gpo", {"name": name})],
                                     connection=admin_connection())
        assert completed["changed"] and not completed["created"] and completed["guid"] == guid
        assert any("with the container's ACL" in step for step in completed["repaired"])
        assert not again["changed"] and again["acl_consistent"]
        assert (sysvol_dir(guid) / "GPT.INI").read_bytes() == b"[General]\r\nVersion=0\r\n"
        expected_acl, actual_acl = samba_acl_check(guid)
        assert actual_acl == expected_acl
    finally:
        remove_gpo(guid)


def test_a_missing_child_container_is_added_by_the_next_run(monkeypatch) -> None:
    name = "winauth-test-child-%s" % new_token()
    guid = None
    try:
        real = Directory.add

        def add_entry(conn, dn, object_class, attributes=None):
            if dn.startswith("CN=Machine,"):
                raise ldap_failure(REFUSED, "creating %s" % dn, conn.options)
            return real(conn, dn, object_class, attributes)

        monkeypatch.setattr(Directory, "add", add_entry)
        with gpo_context() as ctx, pytest.raises(InsufficientRights, match="insufficient access rights"):
            ensure_gpo(ctx, name, None, "present", False)
        monkeypatch.undo()
        with gpo_context() as ctx:
            outcome = ensure_gpo(ctx, name, None, "present", False)
            guid = outcome.result["guid"]
            assert outcome.changed and outcome.result["repaired"][0].startswith("container CN=Machine,CN=%s" % guid)
            assert not ensure_gpo(ctx, name, None, "present", False).changed
        assert samba_acl_check(guid)[0] == samba_acl_check(guid)[1]
    finally:
        remove_gpo(guid)


def test_a_deletion_stopped_half_way_is_finished_by_the_next_run(monkeypatch) -> None:
    name = "winauth-test-del-%s" % new_token()
    ou = "OU=gpo-del-%s,%s" % (new_token(), domain_dn())
    conn = ldap_connection()
    guid = None
    try:
        with gpo_context() as ctx:
            guid = ensure_gpo(ctx, name, None, "present", False).result["guid"]
        create_ou(conn, ou)
        samba_tool("gpo", "setlink", ou, guid)
        drop_smb_on_remove("GPT.INI", monkeypatch)
        with gpo_context() as ctx, pytest.raises(SysvolError, match="dropped"):
            ensure_gpo(ctx, name, None, "absent", False)
        monkeypatch.undo()
        # Links went first; the container is still there, so the next run can find the GPO and finish.
        assert gplink_of(conn, ou) is None and gpo_exists(guid)
        with gpo_context() as ctx:
            assert ensure_gpo(ctx, name, None, "absent", False).changed
            assert not ensure_gpo(ctx, name, None, "absent", False).changed
        assert not gpo_exists(guid) and not sysvol_dir(guid).exists()
        guid = None
    finally:
        remove_gpo(guid)
        delete_tree(conn, ou)
        conn.unbind()


# --------------------------------------------------------------------------- gpo_link

def test_a_link_edited_by_someone_else_meanwhile_is_not_overwritten(monkeypatch) -> None:
    ou = "OU=gpo-race-%s,%s" % (new_token(), domain_dn())
    conn = ldap_connection()
    ours = theirs = None
    try:
        create_ou(conn, ou)
        with gpo_context() as ctx:
            ours = ensure_gpo(ctx, "winauth-test-race-ours-%s" % new_token(), None, "present", False).result["guid"]
            theirs = ensure_gpo(ctx, "winauth-test-race-theirs-%s" % new_token(), None, "present", False).result["guid"]
        real = linking.read_link_target

        def read_then_someone_else_links(conn_, target):
            found = real(conn_, target)
            samba_tool("gpo", "setlink", ou, theirs)  # another administrator, between our read and our write
            return found

        monkeypatch.setattr(linking, "read_link_target", read_then_someone_else_links)
        with gpo_context() as ctx, pytest.raises(Conflict, match="changed by someone else"):
            ensure_link(ctx, ours, ou, "present", None, None, None, [], False, False)
        monkeypatch.undo()
        assert theirs.lower() in gplink_of(conn, ou).lower() and ours.lower() not in gplink_of(conn, ou).lower()
        with gpo_context() as ctx:
            assert ensure_link(ctx, ours, ou, "present", None, None, None, [], False, False).changed
        value = gplink_of(conn, ou).lower()
        assert theirs.lower() in value and ours.lower() in value
    finally:
        remove_gpo(ours)
        remove_gpo(theirs)
        delete_tree(conn, ou)
        conn.unbind()


# --------------------------------------------------------------------------- check mode, byte for byte

def test_check_mode_writes_nothing_anywhere(rights_gpo) -> None:
    """Each module's core, with a change pending, in check mode: SYSVOL bytes and directory stay as they were."""
    guid = rights_gpo
    ou = "OU=gpo-check-%s,%s" % (new_token(), domain_dn())
    conn = ldap_connection()
    try:
        create_ou(conn, ou)
        samba_tool("gpo", "setlink", ou, guid)
        before = (gpo_snapshot(guid), gplink_of(conn, ou))
        with gpo_context() as ctx:
            granted = ensure_user_rights(ctx, guid, "SeServiceLogonRight", ["CAMTEST\\webops"], "exact", "present",
                                         True, True)
            moved = ensure_link(ctx, guid, ou, "present", False, True, None, [], False, True)
            deleted = ensure_gpo(ctx, None, guid, "absent", True)
            created = ensure_gpo(ctx, "winauth-test-check-%s" % new_token(), None, "present", True)
        assert granted.changed and moved.changed and deleted.changed and created.changed
        assert deleted.result["unlinked"] == [ou]
        assert (gpo_snapshot(guid), gplink_of(conn, ou)) == before
        assert gpo_named(created.result["name"]) == []
    finally:
        delete_tree(conn, ou)
        conn.unbind()
