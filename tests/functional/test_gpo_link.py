"""webfarm.winauth.gpo_link against the lab's Samba AD DC, checked with samba-tool gpo getlink and raw gPLink reads."""

from __future__ import annotations

import re
import uuid

import ldap3
import pytest

from harness.ansible import failed, run_tasks, task
from harness.directory import (
    admin_connection,
    create_computer_in,
    create_ou,
    delete_tree,
    domain_dn,
    gplink_of,
    ldap_connection,
    new_token,
    samba_tool,
)
from harness.gpo import getlink

DISABLED, ENFORCED = "GPLINK_OPT_DISABLE", "GPLINK_OPT_ENFORCE"


def entry_of(gplink: str, guid: str) -> str:
    """The exact ``[LDAP://...;n]`` text of one GPO's entry in a gPLink value."""
    found = [entry for entry in re.findall(r"\[[^\]]*\]", gplink) if guid.lower() in entry.lower()]
    assert len(found) == 1, (guid, gplink)
    return found[0]


@pytest.fixture(scope="module")
def link_lab():
    """OUs of our own with computers in them, and GPO containers to link.

    Linking needs only the Group Policy Container (SYSVOL plays no part), so the
    GPOs here are bare containers, added over LDAP.
    """
    tag = new_token()
    conn = ldap_connection()
    top = "OU=gpo-link-%s,%s" % (tag, domain_dn())
    lab = {"conn": conn, "top": top, "order": "OU=Order,%s" % top, "farm": "OU=Farm,%s" % top,
           "blocked": "OU=Blocked,%s" % top, "ours_name": "winauth-test-link-ours-%s" % tag,
           "web_a": "GL%sA" % tag[:6].upper(), "web_b": "GL%sB" % tag[:6].upper(),
           "web_c": "GL%sC" % tag[:6].upper(), "gpos": {}}
    try:
        create_ou(conn, top)
        for key in ("order", "farm"):
            create_ou(conn, lab[key])
        create_ou(conn, lab["blocked"], block_inheritance=True)
        create_computer_in(conn, lab["web_a"], lab["farm"])
        create_computer_in(conn, lab["web_b"], lab["farm"])
        create_computer_in(conn, lab["web_c"], lab["blocked"])
        for key in ("a", "b", "ours"):
            guid = "{%s}" % str(uuid.uuid4()).upper()
            dn = "CN=%s,CN=Policies,CN=System,%s" % (guid, domain_dn())
            name = "winauth-test-link-%s-%s" % (key, tag)
            assert conn.add(dn, "groupPolicyContainer", {"displayName": name, "versionNumber": "0", "flags": "0",
                                                         "gPCFileSysPath": "\\\\unused\\SysVol\\x"}), conn.result
            lab["gpos"][key] = guid
        yield lab
    finally:
        for guid in lab["gpos"].values():
            delete_tree(conn, "CN=%s,CN=Policies,CN=System,%s" % (guid, domain_dn()))
        delete_tree(conn, top)
        conn.unbind()


def test_link_order_and_flags_leave_the_other_links_byte_for_byte(link_lab) -> None:
    target, gpos, conn = link_lab["order"], link_lab["gpos"], link_lab["conn"]
    a, b, ours = gpos["a"], gpos["b"], gpos["ours"]
    # Two links made by another tool: A disabled, then B enforced. samba-tool, like GPMC, gives a new
    # link the lowest precedence (prepends it), and writes the DN as CN=...,CN=Policies,CN=System.
    samba_tool("gpo", "setlink", target, a, "--disable")
    samba_tool("gpo", "setlink", target, b, "--enforce")
    before = gplink_of(conn, target)
    entry_a, entry_b = entry_of(before, a), entry_of(before, b)
    assert before == entry_b + entry_a  # string order: A is link order 1

    wanted = {"gpo": link_lab["ours_name"], "target": target, "order": 2, "enabled": False, "enforced": True}
    predicted, linked, again = run_tasks([task("gpo_link", wanted, check=True, diff=True),
                                         task("gpo_link", wanted, diff=True), task("gpo_link", wanted)],
                                         connection=admin_connection())
    assert predicted["changed"] and predicted["link_order"] == 2
    assert [link["guid"] for link in predicted["links"]] == [a, ours, b]
    # Check mode wrote nothing: the real run started from the same links and made the predicted change.
    assert linked["diff"] == predicted["diff"] and linked["links"] == predicted["links"]
    assert linked["changed"] and not again["changed"] and again["link_order"] == 2
    assert linked["links"][1] == {"order": 2, "guid": ours, "name": link_lab["ours_name"], "enabled": False,
                                  "enforced": True}
    diff = linked["diff"]
    assert "  1. winauth-test-link-a-" in diff["before"] and "%s [disabled]\n  2." % a in diff["before"]
    assert "  2. winauth-test-link-b-" in diff["before"] and "%s [enabled, enforced]\n" % b in diff["before"]
    assert "  2. %s %s [disabled, enforced]" % (link_lab["ours_name"], ours) in diff["after"]
    assert "  3. winauth-test-link-b-" in diff["after"]

    # samba-tool lists gPLink in string order, the reverse of the link order.
    assert getlink(target) == [(b, ENFORCED), (ours, "%s %s" % (DISABLED, ENFORCED)), (a, DISABLED)]
    after = gplink_of(conn, target)
    assert after == entry_b + "[LDAP://cn=%s,cn=policies,cn=system,%s;3]" % (ours, domain_dn()) + entry_a

    moved, still, unlinked, gone = run_tasks([
        task("gpo_link", {"gpo": ours, "target": target, "order": 1, "enabled": True}),
        task("gpo_link", {"gpo": ours, "target": target, "order": 1, "enabled": True}),
        task("gpo_link", {"gpo": ours, "target": target, "state": "absent"}, diff=True),
        task("gpo_link", {"gpo": ours, "target": target, "state": "absent"}),
    ], connection=admin_connection())
    assert moved["changed"] and moved["link_order"] == 1 and not still["changed"]
    assert [link["guid"] for link in moved["links"]] == [ours, a, b]
    assert moved["links"][0]["enforced"] and moved["links"][0]["enabled"]
    assert unlinked["changed"] and not gone["changed"] and unlinked["link_order"] is None
    assert "1. %s %s [enabled, enforced]" % (link_lab["ours_name"], ours) in unlinked["diff"]["before"]
    assert gplink_of(conn, target) == before


def remove_entry(conn, dn: str, guid: str) -> None:
    """Clean-up only: take one GPO's entry out of a gPLink with plain LDAP."""
    value = gplink_of(conn, dn)
    if value and guid.lower() in value.lower():
        kept = value.replace(entry_of(value, guid), "")
        conn.modify(dn, {"gPLink": [(ldap3.MODIFY_REPLACE, [kept] if kept.strip() else [])]})


def test_scope_check_inheritance_default_target_and_bad_input(link_lab) -> None:
    """Seed 001 links the batch-logon GPO to OU=ServiceAccounts; SERVER1 and SERVER2 are in OU=WebServers."""
    conn, ours = link_lab["conn"], link_lab["gpos"]["ours"]
    top, farm, blocked = link_lab["top"], link_lab["farm"], link_lab["blocked"]
    web_a, web_b, web_c = link_lab["web_a"], link_lab["web_b"], link_lab["web_c"]
    service_accounts = "OU=ServiceAccounts,%s" % domain_dn()
    web_servers = "OU=WebServers,%s" % domain_dn()
    before = gplink_of(conn, service_accounts)
    seed = {"gpo": ours, "target": service_accounts, "expect_computers": ["SERVER1", "SERVER2"]}
    try:
        results = run_tasks([
            task("gpo_link", dict(seed, strict=True)),
            task("gpo_link", seed, diff=True),
            task("gpo_link", {"gpo": ours, "target": top, "expect_computers": [web_a, web_c]}),
            task("gpo_link", {"gpo": ours, "target": top, "enforced": True, "expect_computers": [web_a, web_c],
                              "strict": True}),
            task("gpo_link", {"gpo": ours, "expect_computers": [web_a, "%s$" % web_b]}),
            # Bad input: refused naming the parameter, before any write.
            task("gpo_link", {"gpo": ours, "target": "CN=Computers,%s" % domain_dn()}),
            task("gpo_link", {"gpo": ours, "target": blocked, "order": 0}),
            task("gpo_link", {"gpo": ours, "target": blocked, "expect_computers": ["cam-svc"]}),
            task("gpo_link", {"gpo": ours}),
            # Unlinking a GPO that no longer exists is not an error: nothing to do.
            task("gpo_link", {"gpo": "no-such-gpo-%s" % link_lab["web_a"], "target": farm, "state": "absent"}),
        ], connection=admin_connection())
    finally:
        remove_entry(conn, service_accounts, ours)
    assert gplink_of(conn, service_accounts) == before
    strict, linked, plain, enforced, default = results[:5]

    # The seed's link on the service accounts' OU reaches neither web server: warn, or fail with strict.
    assert failed(strict) and not strict.get("changed")
    assert "SERVER1 is not in the scope of a link on %s: it is in %s" % (service_accounts, web_servers) in strict["msg"]
    assert "link the GPO to %s" % web_servers in strict["msg"]
    # strict failed before writing: the next task found the links as they were, and added ours.
    assert ours not in linked["diff"]["before"] and ours in linked["diff"]["after"]
    assert linked["changed"] and not failed(linked)
    assert [finding["in_scope"] for finding in linked["scope"]] == [False, False]
    assert linked["scope"][0]["dn"] == "CN=SERVER1,%s" % web_servers
    assert len(linked["warnings"]) == 2
    for computer, warning in zip(("SERVER1", "SERVER2"), linked["warnings"]):
        assert warning.startswith("%s is not in the scope of a link on %s: it is in %s" % (
            computer, service_accounts, web_servers))
        assert "computer policy" in warning and "not to the OU of the service account" in warning

    # An OU that blocks inheritance stops a link from above, unless the link is enforced.
    assert plain["changed"] and [f["in_scope"] for f in plain["scope"]] == [True, False]
    assert plain["scope"][1]["blocked_at"] == [blocked]
    assert plain["warnings"] == ["%s is under %s but inheritance is blocked at %s, so the link does not reach it: "
                                 "set enforced=true, or link the GPO to %s" % (web_c, top, blocked, blocked)]
    assert enforced["changed"] and not failed(enforced) and not enforced.get("warnings")
    assert [f["in_scope"] for f in enforced["scope"]] == [True, True]
    # Without target, the GPO goes to the OU that holds the farm's computers.
    assert default["changed"] and default["target"] == farm and not default.get("warnings")
    assert getlink(top) == [(ours, ENFORCED)] and getlink(farm) == [(ours, "NONE")]

    bad, gone = results[5:9], results[9]
    assert not failed(gone) and not gone["changed"] and gone["links"] == default["links"]
    assert all(failed(result) for result in bad)
    assert "target=CN=Computers,%s is a container, where GPOs cannot be linked" % domain_dn() in bad[0]["msg"]
    assert "order=0: link order starts at 1" in bad[1]["msg"]
    assert "expect_computers=cam-svc is a user, not a computer account" in bad[2]["msg"]
    assert "target is required" in bad[3]["msg"]
    assert gplink_of(conn, blocked) is None


def highest_committed_usn() -> int:
    with ldap_connection() as conn:
        conn.search("", "(objectClass=*)", search_scope=ldap3.BASE, attributes=["*"])  # the rootDSE
        return int(conn.response[0]["raw_attributes"]["highestCommittedUSN"][0])


def test_a_malformed_dn_in_account_or_target_is_refused_naming_the_parameter_and_nothing_is_written() -> None:
    before = highest_committed_usn()
    results = run_tasks([
        task("gpo_link", {"gpo": "Default Domain Policy", "target": "OU=WebServers,,%s" % domain_dn()}),
        task("gpo_link", {"gpo": "Default Domain Policy", "target": "OU=Web+CN=x,%s" % domain_dn()}),
        task("spn", {"account": "CN=cam-svc,OU=ServiceAccounts,DC=", "spns": ["HTTP/malformed.camtest.local"]}),
        task("gpo_user_rights", {"gpo": "Default Domain Policy", "accounts": ["CN=web;ops,CN=Users,%s" % domain_dn()]}),
    ], connection=admin_connection())
    for result, parameter in zip(results, ["target", "target", "account", "accounts"]):
        assert failed(result), result
        assert result["msg"].startswith("%s=" % parameter) and "is not a valid distinguished name" in result["msg"], \
            result["msg"]
    assert highest_committed_usn() == before  # nothing at all was written to the directory
