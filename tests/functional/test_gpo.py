"""webfarm.winauth.gpo against the lab's Samba AD DC, checked with Samba's own tools."""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import ldap3

from harness.ansible import failed, run_tasks, task
from harness.directory import (
    admin_connection,
    create_ou,
    delete_tree,
    domain_dn,
    gplink_of,
    lab,
    ldap_connection,
    ldb_attributes,
    new_token,
    samba_tool,
)
from harness.gpo import (
    create_gpo_with_samba_tool,
    getlink,
    gpo_exists,
    gpo_snapshot,
    listall,
    remove_gpo,
    samba_acl_check,
    sysvol_dir,
)


def policies_folders() -> set[str]:
    return {name.upper() for name in os.listdir(sysvol_dir("x").parent)}


def bare_container(conn: ldap3.Connection, name: str) -> str:
    """A Group Policy Container alone, added over LDAP (enough for the display-name lookups)."""
    guid = "{%s}" % str(uuid.uuid4()).upper()
    domain = os.environ["LAB_DNS_DOMAIN"]
    assert conn.add("CN=%s,CN=Policies,CN=System,%s" % (guid, domain_dn()), "groupPolicyContainer",
                    {"displayName": name, "versionNumber": "0", "flags": "0",
                     "gPCFileSysPath": "\\\\%s\\SysVol\\%s\\Policies\\%s" % (domain, domain, guid)}), conn.result
    return guid


def test_create_then_delete_a_gpo_and_refuse_what_is_ambiguous_or_wrong() -> None:
    name = "winauth-test-gpo-%s" % new_token()
    shared = "winauth-test-dup-%s" % new_token()
    ou = "OU=gpo-test-%s,%s" % (new_token(), domain_dn())
    guid = None
    conn = ldap_connection()
    # GPMC lets two GPOs share a display name (samba-tool does not): two containers with one name.
    first, second = bare_container(conn, shared), bare_container(conn, shared)
    try:
        folders_before = policies_folders()
        results = run_tasks([
            task("gpo", {"name": name}, check=True, diff=True),
            task("gpo", {"name": name}, diff=True),
            task("gpo", {"name": name}),
            task("gpo", {"name": shared}),
            task("gpo", {"name": shared, "state": "absent"}),
            task("gpo_user_rights", {"gpo": shared, "accounts": ["cam-svc"]}),
            task("gpo", {"guid": second, "name": shared, "state": "absent"}, check=True),
            task("gpo", {"guid": "not-a-guid"}),
            task("gpo", {"state": "present"}),
            task("gpo", {"guid": second.lower().strip("{}"), "name": shared + "-renamed"}, diff=True),
        ], connection=admin_connection())
        predicted, created, again = results[:3]
        # Check mode predicted the creation and wrote nothing: the real run still created it,
        # from the same starting point, and no SYSVOL folder appeared without a container.
        assert predicted["changed"] and predicted["created"] and predicted["guid"] is None
        assert created["changed"] and created["created"] and not failed(created)
        assert created["diff"]["before"] == predicted["diff"]["before"] == "GPO absent\n"
        guid = created["guid"]
        assert not again["changed"] and again["guid"] == guid and again["repaired"] == []
        assert "GPO %s %s" % (name, guid) in created["diff"]["after"]
        everything = listall()
        assert [g for g, record in everything.items() if record["display name"] == name] == [guid]
        assert policies_folders() - folders_before <= set(everything)

        # A display name shared by two GPOs is refused by every module; the GUID picks one.
        for result in results[3:6]:
            assert failed(result), result
            assert "2 GPOs share that display name" in result["msg"]
            assert first in result["msg"] and second in result["msg"] and "give the GUID" in result["msg"]
        assert not failed(results[6]) and results[6]["changed"] and results[6]["guid"] == second
        assert gpo_exists(first) and gpo_exists(second)
        # Bad input is refused naming the parameter and the value.
        assert failed(results[7]) and "guid=not-a-guid is not a GUID" in results[7]["msg"]
        assert failed(results[8]) and "name, guid" in results[8]["msg"]
        # With its GUID, a GPO is renamed (the GUID is accepted without braces, in any case).
        renamed = results[9]
        assert renamed["changed"] and renamed["guid"] == second and renamed["name"] == shared + "-renamed"
        assert ldb_attributes("CN=%s,CN=Policies,CN=System,%s" % (second, domain_dn()), "displayName") == \
            {"displayName": [shared + "-renamed"]}

        # samba-tool sees it; the folder, its files and its ACL are what samba-tool gpo create makes.
        record = everything[guid]
        assert record["display name"] == name and record["version"] == "0" and record["flags"] == "NONE"
        assert record["path"].lower() == ("\\\\%s\\sysvol\\%s\\policies\\%s" % (
            os.environ["LAB_DNS_DOMAIN"], os.environ["LAB_DNS_DOMAIN"], guid)).lower()
        assert created["path"] == record["path"] and created["dn"] == record["dn"]
        folder = sysvol_dir(guid)
        assert (folder / "GPT.INI").read_bytes() == b"[General]\r\nVersion=0\r\n"
        assert (folder / "Machine").is_dir() and (folder / "User").is_dir()
        expected_acl, actual_acl = samba_acl_check(guid)
        assert actual_acl == expected_acl and created["acl_consistent"] is True
        aclcheck = samba_tool("gpo", "aclcheck", check=False)
        assert guid.lower() not in (aclcheck.stdout + aclcheck.stderr).lower()
        container = ldb_attributes(created["dn"], "versionNumber", "flags", "gPCFunctionalityVersion")
        assert container == {"versionNumber": ["0"], "flags": ["0"], "gPCFunctionalityVersion": ["2"]}
        for child in ("User", "Machine"):
            assert ldb_attributes("CN=%s,%s" % (child, created["dn"]), "objectClass")

        # Deleting: check mode, then links, folder and container go, then nothing is left to do.
        create_ou(conn, ou)
        samba_tool("gpo", "setlink", ou, guid)
        assert getlink(ou) == [(guid, "NONE")]
        planned, deleted, nothing = run_tasks([task("gpo", {"name": name, "state": "absent"}, check=True, diff=True),
                                              task("gpo", {"name": name, "state": "absent"}, diff=True),
                                              task("gpo", {"name": name, "state": "absent"})],
                                              connection=admin_connection())
        assert planned["changed"] and planned["unlinked"] == [ou]
        assert "linked to: %s" % ou in planned["diff"]["before"] and planned["diff"]["after"] == "GPO absent\n"
        assert deleted["diff"] == planned["diff"]  # check mode left everything for the real run to remove
        assert deleted["changed"] and deleted["unlinked"] == [ou] and not nothing["changed"]
        assert guid not in listall() and not folder.exists() and gplink_of(conn, ou) is None
        assert ldb_attributes(created["dn"], "objectClass") == {}
        guid = None
    finally:
        remove_gpo(guid)
        remove_gpo(first)
        remove_gpo(second)
        delete_tree(conn, ou)
        conn.unbind()


def tree_of(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() if p.is_file() else b"<dir>" for p in sorted(folder.rglob("*"))}


def test_a_planted_gpc_file_sys_path_is_refused_before_any_smb_read_write_or_delete() -> None:
    """A GPO editor points gPCFileSysPath at another GPO's folder, or at a folder without GPT.INI: every module
    refuses, naming the attribute and its value, and nothing there (or in the directory) is written or deleted."""
    name = "winauth-test-planted-%s" % new_token()
    domain = lab("LAB_DNS_DOMAIN")
    victim = create_gpo_with_samba_tool("winauth-test-victim-%s" % new_token())
    scratch_name = "winauth-test-scratch-%s" % new_token()
    scratch = Path(lab("LAB_SYSVOL")) / domain / scratch_name
    scratch.mkdir()
    (scratch / "keep.txt").write_bytes(b"not a GPO\r\n")
    guid = None
    conn = ldap_connection()
    try:
        created = run_tasks([task("gpo", {"name": name})], connection=admin_connection())[0]
        assert not failed(created), created
        guid = created["guid"]
        dn = created["dn"]
        plants = {
            "another GPO's folder": "\\\\%s\\SysVol\\%s\\Policies\\%s" % (domain, domain, victim),
            "a folder without GPT.INI": "\\\\%s\\sysvol\\%s\\%s" % (domain, domain, scratch_name),
        }
        for what, planted in plants.items():
            assert conn.modify(dn, {"gPCFileSysPath": [(ldap3.MODIFY_REPLACE, [planted])]}), conn.result
            victim_before, scratch_before = gpo_snapshot(victim), tree_of(scratch)
            usn_before = ldb_attributes(dn, "uSNChanged")
            results = run_tasks([
                task("gpo", {"name": name, "state": "absent"}),
                task("gpo", {"name": name}),
                task("gpo_user_rights", {"gpo": name, "accounts": ["cam-svc"]}),
            ], connection=admin_connection())
            for result in results:
                assert failed(result), (what, result)
                assert "gPCFileSysPath of GPO %s %s is" % (name, guid) in result["msg"], result["msg"]
                assert planted.replace("\\", "\\\\") in result["msg"] or planted in result["msg"]
                assert "set gPCFileSysPath of %s back to" % guid in result["msg"]
            assert gpo_snapshot(victim) == victim_before, what
            assert tree_of(scratch) == scratch_before, what
            assert ldb_attributes(dn, "uSNChanged") == usn_before, what  # not unlinked, renamed or deleted
            assert gpo_exists(guid) and gpo_exists(victim)
        # Put back, the GPO is its own again and is deleted normally (its own folder only).
        assert conn.modify(dn, {"gPCFileSysPath": [(ldap3.MODIFY_REPLACE, [created["path"]])]}), conn.result
        deleted = run_tasks([task("gpo", {"name": name, "state": "absent"})], connection=admin_connection())[0]
        assert deleted["changed"] and not failed(deleted) and not gpo_exists(guid)
        assert not sysvol_dir(guid).exists() and sysvol_dir(victim).is_dir()
        guid = None
    finally:
        remove_gpo(guid)
        remove_gpo(victim)
        shutil.rmtree(scratch, ignore_errors=True)
        conn.unbind()


def test_the_default_domain_policies_are_never_deleted() -> None:
    default, controllers = "{31B2F340-016D-11D2-945F-00C04FB984F9}", "{6AC1786C-016F-11D2-945F-00C04FB984F9}"
    before = {guid: ldb_attributes("CN=%s,CN=Policies,CN=System,%s" % (guid, domain_dn()), "uSNChanged")
              for guid in (default, controllers)}
    results = run_tasks([
        task("gpo", {"name": "Default Domain Policy", "state": "absent"}, check=True),
        task("gpo", {"name": "Default Domain Policy", "state": "absent"}),
        task("gpo", {"guid": controllers, "state": "absent"}),
    ], connection=admin_connection())
    for result in results:
        assert failed(result), result
        assert "webfarm.winauth never deletes it" in result["msg"], result["msg"]
    assert "Default Domain Policy {31B2F340" in results[1]["msg"]
    assert "Default Domain Controllers Policy {6AC1786C" in results[2]["msg"]
    for guid in (default, controllers):
        assert gpo_exists(guid) and sysvol_dir(guid).is_dir()
        assert ldb_attributes("CN=%s,CN=Policies,CN=System,%s" % (guid, domain_dn()), "uSNChanged") == before[guid]
