"""webfarm.winauth.gpo against the lab's Samba AD DC, checked with Samba's own tools."""

from __future__ import annotations

import os

import ldap3

from _gpo_helpers import (
    create_gpo_with_samba_tool,
    create_ou,
    delete_tree,
    domain_dn,
    failed,
    getlink,
    gplink_of,
    ldap_connection,
    ldb_attributes,
    listall,
    remove_gpo,
    run_play,
    samba_acl_check,
    samba_tool,
    snapshot,
    sysvol_dir,
    task,
    token,
)


def policies_folders() -> set[str]:
    return {name.upper() for name in os.listdir(sysvol_dir("x").parent)}


def test_create_then_delete_a_gpo() -> None:
    name = "winauth-test-gpo-%s" % token()
    ou = "OU=gpo-test-%s,%s" % (token(), domain_dn())
    guid = None
    conn = ldap_connection()
    try:
        # Check mode predicts the creation and writes nothing: the real run that follows still creates it,
        # and no SYSVOL folder appears without a container.
        folders_before = policies_folders()
        predicted, created, again = run_play([task("gpo", {"name": name}, check=True, diff=True),
                                              task("gpo", {"name": name}, diff=True),
                                              task("gpo", {"name": name})])
        assert predicted["changed"] and predicted["created"] and predicted["guid"] is None
        assert created["changed"] and created["created"] and not failed(created)
        guid = created["guid"]
        assert not again["changed"] and again["guid"] == guid and again["repaired"] == []
        assert "GPO %s %s" % (name, guid) in created["diff"]["after"]
        assert created["diff"]["before"] == "GPO absent\n"
        everything = listall()
        assert [g for g, record in everything.items() if record["display name"] == name] == [guid]
        assert policies_folders() - folders_before <= set(everything)

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

        # Deleting: check mode changes nothing; then links, folder and container go; then nothing to do.
        create_ou(conn, ou)
        samba_tool("gpo", "setlink", ou, guid)
        assert getlink(ou) == [(guid, "NONE")]
        before = snapshot(guid)
        planned = run_play([task("gpo", {"name": name, "state": "absent"}, check=True, diff=True)])[0]
        assert planned["changed"] and planned["unlinked"] == [ou]
        assert "linked to: %s" % ou in planned["diff"]["before"] and planned["diff"]["after"] == "GPO absent\n"
        assert snapshot(guid) == before and getlink(ou) == [(guid, "NONE")]
        deleted, nothing = run_play([task("gpo", {"name": name, "state": "absent"}),
                                     task("gpo", {"name": name, "state": "absent"})])
        assert deleted["changed"] and deleted["unlinked"] == [ou] and not nothing["changed"]
        assert guid not in listall() and not folder.exists() and gplink_of(conn, ou) is None
        assert ldb_attributes(created["dn"], "objectClass") == {}
        guid = None
    finally:
        remove_gpo(guid)
        delete_tree(conn, ou)
        conn.unbind()


def test_shared_display_names_and_bad_input_are_refused() -> None:
    name = "winauth-test-dup-%s" % token()
    first = create_gpo_with_samba_tool(name)
    second = create_gpo_with_samba_tool(name + "-2")
    conn = ldap_connection()
    try:
        # GPMC allows two GPOs with one name; samba-tool does not, so rename the second behind its back.
        assert conn.modify("CN=%s,CN=Policies,CN=System,%s" % (second, domain_dn()),
                           {"displayName": [(ldap3.MODIFY_REPLACE, [name])]}), conn.result
        before = (snapshot(first), snapshot(second))
        results = run_play([
            task("gpo", {"name": name}),
            task("gpo", {"name": name, "state": "absent"}),
            task("gpo_user_rights", {"gpo": name, "accounts": ["cam-svc"]}),
            task("gpo_link", {"gpo": name, "target": "domain"}),
            task("gpo", {"guid": second, "name": name}),
            task("gpo", {"guid": "not-a-guid"}),
            task("gpo", {"guid": "{00000000-1111-2222-3333-444444444444}", "name": "x"}),
            task("gpo", {"state": "present"}),
        ])
        for result in results[:4]:
            assert failed(result), result
            assert "2 GPOs share that display name" in result["msg"]
            assert first in result["msg"] and second in result["msg"] and "give the GUID" in result["msg"]
        assert not failed(results[4]) and not results[4]["changed"] and results[4]["guid"] == second
        # Bad input is refused naming the parameter and the value.
        assert all(failed(result) for result in results[5:])
        assert "guid=not-a-guid is not a GUID" in results[5]["msg"]
        assert "guid={00000000-1111-2222-3333-444444444444}: no GPO has that GUID" in results[6]["msg"]
        assert "name, guid" in results[7]["msg"]
        assert (snapshot(first), snapshot(second)) == before
    finally:
        remove_gpo(first)
        remove_gpo(second)
        conn.unbind()
