"""The directory modules' before-state keys against the lab's Samba AD DC, without --diff (what the journal reads).

An account and a computer of the test's own (the computer holds the SPN the account takes over), an OU with a link
made by samba-tool, and a GPO the test creates, links and deletes; every value before is compared with what the
DC (ldbsearch, raw gPLink reads) held before the task.
"""

from __future__ import annotations

from harness.ansible import run_tasks, task
from harness.directory import (
    connection_env,
    create_computer,
    create_ou,
    create_user,
    delete_computer,
    delete_tree,
    delete_user,
    domain_dn,
    gplink_of,
    ldap_connection,
    new_token,
    sid_of,
    spns_of,
)
from harness.gpo import gpo_named, remove_gpo


def test_directory_modules_return_what_was_there_before(lab) -> None:
    env = connection_env(lab)
    token = new_token()
    user, computer = "bs-%s" % token, "BS%s" % token[:6].upper()
    spn = "HTTP/bs-%s.camtest.local" % token
    gpo = "winauth-test-before-%s" % token
    conn = ldap_connection()
    ou = "OU=before-%s,%s" % (token, domain_dn())
    try:
        create_user(user, "User-%s-Pa55!" % token, spns=["HTTP/own-%s" % token])
        create_computer(computer, "Comp-%s-Pa55!" % token, spns=[spn])
        create_ou(conn, ou)
        computer_spns = spns_of(computer + "$")
        results = run_tasks([
            task("spn", {"account": user, "spns": [spn], "on_conflict": "move"}, check=True),
            task("spn", {"account": user, "spns": [spn], "on_conflict": "move"}),
            task("delegation", {"account": user, "allowed_to_delegate_to": [spn], "protocol_transition": True}),
            task("gpo", {"name": gpo}),
            task("gpo_user_rights", {"gpo": gpo, "right": "SeBatchLogonRight", "accounts": ["CAMTEST\\%s" % user]}),
            task("gpo_user_rights", {"gpo": gpo, "right": "SeBatchLogonRight", "accounts": ["CAMTEST\\cam-svc"]}),
            task("gpo_link", {"gpo": gpo, "target": ou}),
            task("gpo_link", {"gpo": gpo, "target": ou, "enforced": True}),
        ], env)
        for result in results:
            assert not result.failed, result.msg
        predicted, moved, delegation, created, granted, regranted, linked, enforced = results

        # spn: the same keys in check mode and for real, the SID and GUID that name the account, each holder's SPNs
        for result in (predicted, moved):
            assert result["spns_before"] == ["HTTP/own-%s" % token]
            assert result["object_sid"] == sid_of(user) and len(result["object_guid"]) == 36
            holder, = result["holders_before"]
            assert holder["sam_account_name"] == computer + "$" and holder["object_sid"] == sid_of(computer + "$")
            assert sorted(holder["spns_before"]) == sorted(computer_spns)
        assert spn not in spns_of(computer + "$") and spn in spns_of(user)

        # delegation: the settings as read before the task, whatever the task manages
        assert delegation.changed and delegation["before"]["allowed_to_delegate_to"] == []
        assert delegation["before"]["protocol_transition"] is False and delegation["before"]["rbcd_sids"] == []
        assert delegation["before"]["user_account_control"] & 0x1000000 == 0
        assert delegation["user_account_control"] & 0x1000000

        # gpo: created by this task; the rights not defined before, then what the first grant left
        assert created["created"] and created["before"] == {"existed": False, "name": None}
        assert created["repairs"] == [] and gpo_named(gpo) == [created["guid"]]
        assert granted["defined_before"] is False and granted["holders_before"] == []
        assert granted["machine_extensions_before"] == "" and granted["version_before"] == 0
        assert regranted["defined_before"] is True and regranted["version_before"] == granted["version"]
        assert [h["sid"] for h in regranted["holders_before"]] == [sid_of(user)]
        assert regranted["machine_extensions_before"] != ""

        # gpo_link: the gPLink as stored before (samba-tool's order and spelling kept), and who created the link
        assert linked["link_created"] is True and linked["links_before"] == [] and linked["gplink_before"] == ""
        assert enforced["link_created"] is False
        assert [link["guid"] for link in enforced["links_before"]] == [created["guid"]]
        assert enforced["links_before"][0]["enforced"] is False

        before_delete = gplink_of(conn, ou)
        assert before_delete and created["guid"].lower() in before_delete.lower()
        deleted, = run_tasks([task("gpo", {"name": gpo, "state": "absent"})], env)
        assert deleted.changed and deleted["before"]["existed"] is True and deleted["before"]["restorable"] is False
        assert [(e["dn"].lower(), e["gplink_before"]) for e in deleted["before"]["links_before"]] == [
            (ou.lower(), before_delete)]
    finally:
        for guid in gpo_named(gpo):
            remove_gpo(guid)
        delete_tree(conn, ou)
        conn.unbind()
        delete_user(user)
        delete_computer(computer)
