"""Unit tests of the pure SPN logic: parsing, expansion, filters, planning, warnings, diff."""

from __future__ import annotations

import pytest

from ansible_collections.webfarm.winauth.plugins.module_utils._directory.spn_names import (
    SpnError,
    build_desired,
    expand_hosts,
    forest_filter,
    parse_spn,
    pattern_filter,
    pattern_matches,
    validate_pattern,
)
from ansible_collections.webfarm.winauth.plugins.module_utils._directory.spn_rules import (
    Account,
    host_owners,
    plan_spns,
    purge_classes_for,
    render_spn_lists,
    spn_warnings,
)
from ansible_collections.webfarm.winauth.plugins.module_utils._windows.dn import escape_filter_value

CAM_SVC = "CN=cam-svc,OU=ServiceAccounts,DC=camtest,DC=local"
SERVER1 = "CN=SERVER1,OU=WebServers,DC=camtest,DC=local"
SERVER2 = "CN=SERVER2,OU=WebServers,DC=camtest,DC=local"
USER_CLASSES = ("top", "person", "organizationalPerson", "user")
COMPUTER_CLASSES = USER_CLASSES + ("computer",)


def user(spns=(), dn=CAM_SVC, sam="cam-svc"):
    return Account(dn=dn, sam_account_name=sam, object_classes=USER_CLASSES, spns=list(spns))


def computer(name, dn, spns=None):
    host = name.lower() + ".camtest.local"
    if spns is None:
        spns = ["HOST/%s" % name, "HOST/%s" % host]
    return Account(dn=dn, sam_account_name=name + "$", object_classes=COMPUTER_CLASSES, dns_host_name=host,
                   spns=list(spns))


# --------------------------------------------------------------------------- parsing

@pytest.mark.parametrize("text, expected", [
    ("HTTP/sso.camtest.local", ("HTTP", "sso.camtest.local", None, None, None)),
    ("HTTP/sso", ("HTTP", "sso", None, None, None)),
    ("http/SSO.camtest.local:8443", ("http", "SSO.camtest.local", 8443, None, None)),
    ("ldap/dc1.camtest.local/camtest.local", ("ldap", "dc1.camtest.local", None, None, "camtest.local")),
    ("MSSQLSvc/sql1.camtest.local:1433", ("MSSQLSvc", "sql1.camtest.local", 1433, None, None)),
    ("MSSQLSvc/sql1.camtest.local:SQLEXPRESS", ("MSSQLSvc", "sql1.camtest.local", None, "SQLEXPRESS", None)),
    ("HTTP/10.0.0.5", ("HTTP", "10.0.0.5", None, None, None)),
    ("HTTP/sso.camtest.local:1", ("HTTP", "sso.camtest.local", 1, None, None)),
    ("HTTP/sso.camtest.local:65535", ("HTTP", "sso.camtest.local", 65535, None, None)),
    ("RestrictedKrbHost/web_01", ("RestrictedKrbHost", "web_01", None, None, None)),
])
def test_parse_valid(text, expected):
    spn = parse_spn(text)
    assert (spn.service_class, spn.host, spn.port, spn.instance, spn.service_name) == expected
    assert spn.value == text
    assert spn.key == text.lower()


@pytest.mark.parametrize("text, fragment", [
    ("", "is empty"),
    ("HTTP", "has no service class"),
    ("/sso.camtest.local", "empty service class"),
    ("HTTP/", "empty host"),
    ("HTTP//sso.camtest.local", "double slash"),
    ("HTTP/sso.camtest.local//x", "double slash"),
    ("HTTP/sso camtest.local", "whitespace"),
    (" HTTP/sso.camtest.local", "whitespace"),
    ("HTTP/sso.camtest.local\t", "whitespace"),
    ("HTTP/sso.camtest.local:0", "outside 1-65535"),
    ("HTTP/sso.camtest.local:65536", "outside 1-65535"),
    ("HTTP/sso.camtest.local:", "empty port"),
    ("HTTP/sso.camtest.local:http", "where a port belongs"),
    ("HTTP/sso.camtest.local:-1", "where a port belongs"),
    ("HTTP/:80", "empty host"),
    ("HTTP/sso.camtest.local/", "empty service name"),
    ("HTTP/a/b/c", "more than three parts"),
    ("HTTP/sso.camtest.local@CAMTEST.LOCAL", "'@'"),
    ("HT:TP/sso", "invalid service class"),
    ("HTTP/sso..camtest.local", "empty label"),
    ("HTTP/sso.camtest.local.", "ending with a dot"),
    ("HTTP/sso!.camtest.local", "'!'"),
    ("HTTP/-sso.camtest.local", "empty label"),
    ("HTTP/%s.camtest.local" % ("a" * 64), "label of 64 characters"),
    ("HTTP/%s" % ".".join(["b" * 63] * 4), "host name of 255 characters"),
])
def test_parse_invalid_names_parameter_value_and_fix(text, fragment):
    with pytest.raises(SpnError) as info:
        parse_spn(text, "spns")
    message = str(info.value)
    assert message.startswith("spns: %r" % text)
    assert fragment in message
    assert ";" in message  # problem; fix


def test_parse_names_the_parameter_it_is_given():
    with pytest.raises(SpnError, match=r"^allowed_to_delegate_to: 'HTTP//x'"):
        parse_spn("HTTP//x", "allowed_to_delegate_to")


# --------------------------------------------------------------------------- expansion

def test_expand_short_name_gives_short_and_fqdn():
    assert expand_hosts(["sso"], "HTTP", "camtest.local") == ["HTTP/sso", "HTTP/sso.camtest.local"]


def test_expand_fqdn_gives_short_and_fqdn_whatever_the_domain():
    assert expand_hosts(["sso.example.com"], "HTTP", "camtest.local") == ["HTTP/sso", "HTTP/sso.example.com"]


def test_expand_ip_address_gives_itself_only():
    assert expand_hosts(["10.1.2.3"], "HTTP", "camtest.local") == ["HTTP/10.1.2.3"]


def test_expand_strips_dots_around_the_domain():
    assert expand_hosts(["sso"], "HTTP", ".camtest.local.") == ["HTTP/sso", "HTTP/sso.camtest.local"]


@pytest.mark.parametrize("hosts, service_class, domain, fragment", [
    (["sso"], "HTTP", None, "no DNS domain is known"),
    ([""], "HTTP", "camtest.local", "is empty"),
    (["sso:8080"], "HTTP", "camtest.local", "put port-qualified"),
    (["HTTP/sso"], "HTTP", "camtest.local", "not a bare host name"),
    (["s so"], "HTTP", "camtest.local", "whitespace"),
    (["sso"], "", "camtest.local", "service_class: ''"),
    (["sso"], "HT TP", "camtest.local", "whitespace"),
    (["sso"], "HTTP", "camtest..local", "dns_domain"),
])
def test_expand_invalid(hosts, service_class, domain, fragment):
    with pytest.raises(SpnError, match=fragment):
        expand_hosts(hosts, service_class, domain)


def test_build_desired_dedupes_case_insensitively_keeping_first_spelling():
    desired = build_desired(["http/SSO.camtest.local", "HTTP/sso"], ["sso"], None, "camtest.local")
    assert [s.value for s in desired] == ["http/SSO.camtest.local", "HTTP/sso"]


def test_build_desired_uses_service_class_for_hosts():
    desired = build_desired([], ["web"], "WSMAN", "camtest.local")
    assert [s.value for s in desired] == ["WSMAN/web", "WSMAN/web.camtest.local"]


def test_build_desired_reports_hosts_errors_under_hosts():
    with pytest.raises(SpnError, match="^hosts: "):
        build_desired([], ["bad host"], None, "camtest.local")


# --------------------------------------------------------------------------- filters and patterns

def test_escape_filter_value():
    assert escape_filter_value("a*b(c)d\\e\0") == "a\\2ab\\28c\\29d\\5ce\\00"


def test_forest_filter_one_search_for_spns_and_hosts():
    flt = forest_filter(["HTTP/sso.camtest.local", "HTTP/sso"], ["sso.camtest.local", "SSO"])
    assert flt.startswith("(|") and flt.endswith(")")
    for term in ["(servicePrincipalName=HTTP/sso.camtest.local)", "(servicePrincipalName=HTTP/sso)",
                 "(servicePrincipalName=HOST/sso.camtest.local)", "(servicePrincipalName=HOST/sso)",
                 "(&(objectClass=computer)(dNSHostName=sso.camtest.local))",
                 "(&(objectClass=computer)(sAMAccountName=sso$))"]:
        assert term in flt
    assert flt.count("HOST/sso)") == 1  # hosts deduplicated case-insensitively


def test_forest_filter_single_and_empty():
    assert forest_filter(["HTTP/x"]) == "(servicePrincipalName=HTTP/x)"
    assert forest_filter([]) == ""


def test_forest_filter_escapes_values():
    assert forest_filter(["HTTP/a(b)"]) == "(servicePrincipalName=HTTP/a\\28b\\29)"


def test_pattern_filter_keeps_wildcards_and_escapes_the_rest():
    assert pattern_filter(["HTTP/sso*"]) == "(servicePrincipalName=HTTP/sso*)"
    assert pattern_filter(["*/a(b*", "HTTP/x"]) == "(|(servicePrincipalName=*/a\\28b*)(servicePrincipalName=HTTP/x))"


@pytest.mark.parametrize("pattern, value, expected", [
    ("HTTP/sso*", "http/SSO.camtest.local", True),
    ("*/sso.camtest.local", "HOST/sso.camtest.local", True),
    ("HTTP/sso", "HTTP/sso.camtest.local", False),
    ("HTTP/sso.camtest.local", "http/SSO.CAMTEST.LOCAL", True),
    ("HTTP/s.o", "HTTP/sso", False),  # '.' is literal, not a regex wildcard
    ("*", "anything/at-all", True),
])
def test_pattern_matches(pattern, value, expected):
    assert pattern_matches(pattern, value) is expected


@pytest.mark.parametrize("pattern", ["", "HTTP/ x*", "sso*", "HTTP//x"])
def test_validate_pattern_rejects(pattern):
    with pytest.raises(SpnError, match="^spns: "):
        validate_pattern(pattern)


@pytest.mark.parametrize("pattern", ["*", "HTTP/*", "*/web01*", "HTTP/sso.camtest.local"])
def test_validate_pattern_accepts(pattern):
    assert validate_pattern(pattern) == pattern


# --------------------------------------------------------------------------- planning

def spns(*values):
    return [parse_spn(v) for v in values]


def test_present_adds_only_missing_case_insensitively():
    account = user(["http/SSO.camtest.local"])
    plan = plan_spns(account, spns("HTTP/sso.camtest.local", "HTTP/sso"), "present")
    assert plan.to_add == ["HTTP/sso"]
    assert plan.to_remove == []
    assert plan.after == ["http/SSO.camtest.local", "HTTP/sso"]


def test_present_is_no_change_when_all_there_in_another_case():
    plan = plan_spns(user(["http/SSO.camtest.local"]), spns("HTTP/sso.camtest.local"), "present")
    assert not plan.changed


def test_present_never_removes_what_it_was_not_told_about():
    plan = plan_spns(user(["HTTP/old", "MSSQLSvc/sql1:1433"]), spns("HTTP/new"), "present")
    assert plan.to_remove == []
    assert plan.after == ["HTTP/old", "MSSQLSvc/sql1:1433", "HTTP/new"]


def test_purge_removes_only_named_service_classes():
    account = user(["HTTP/old", "http/OLD2", "HTTP/keep", "MSSQLSvc/sql1:1433", "WSMAN/x"])
    desired = spns("HTTP/keep", "HTTP/new")
    plan = plan_spns(account, desired, "present", purge=True, purge_classes=purge_classes_for(desired, None, []))
    assert plan.to_add == ["HTTP/new"]
    assert plan.to_remove == ["HTTP/old", "http/OLD2"]
    assert plan.after == ["HTTP/keep", "MSSQLSvc/sql1:1433", "WSMAN/x", "HTTP/new"]


def test_purge_with_service_class_and_no_spns_removes_that_class():
    account = user(["HTTP/a", "HTTP/b", "MSSQLSvc/sql1:1433"])
    plan = plan_spns(account, [], "present", purge=True, purge_classes=purge_classes_for([], "HTTP", []))
    assert plan.to_remove == ["HTTP/a", "HTTP/b"]


def test_purge_classes_for():
    assert purge_classes_for(spns("HTTP/a", "WSMAN/b"), None, []) == {"http", "wsman"}
    assert purge_classes_for([], None, []) == set()
    assert purge_classes_for([], None, ["sso"]) == {"http"}
    assert purge_classes_for([], "MSSQLSvc", []) == {"mssqlsvc"}


def test_absent_removes_every_stored_spelling():
    account = user(["HTTP/sso.camtest.local", "http/SSO.camtest.local", "HTTP/other"])
    plan = plan_spns(account, spns("Http/Sso.Camtest.Local"), "absent")
    assert plan.to_remove == ["HTTP/sso.camtest.local", "http/SSO.camtest.local"]
    assert plan.after == ["HTTP/other"]


def test_absent_of_missing_is_no_change():
    assert not plan_spns(user(["HTTP/other"]), spns("HTTP/sso"), "absent").changed


def test_conflict_fails_naming_spn_and_holder_dn():
    holder = computer("SERVER1", SERVER1, ["HOST/SERVER1", "HTTP/sso.camtest.local"])
    with pytest.raises(SpnError) as info:
        plan_spns(computer("SERVER2", SERVER2), spns("http/SSO.camtest.local"), "present", holders=[holder])
    message = str(info.value)
    assert "http/SSO.camtest.local is already registered on %s (SERVER1$)" % SERVER1 in message
    assert "nothing was written" in message
    assert "on_conflict=move" in message


def test_conflict_ignores_the_account_itself():
    account = user(["HTTP/sso"])
    plan = plan_spns(account, spns("HTTP/sso"), "present", holders=[user(["HTTP/sso"])])
    assert not plan.changed


def test_move_removes_from_holders_and_adds_here():
    h1 = computer("SERVER1", SERVER1, ["HOST/SERVER1", "HTTP/sso.camtest.local"])
    h2 = computer("SERVER2", SERVER2, ["HOST/SERVER2", "http/SSO.camtest.local", "HTTP/sso"])
    plan = plan_spns(user(), spns("HTTP/sso.camtest.local", "HTTP/sso"), "present", holders=[h1, h2],
                     on_conflict="move")
    assert plan.moves == {SERVER1: ["HTTP/sso.camtest.local"], SERVER2: ["http/SSO.camtest.local", "HTTP/sso"]}
    assert plan.to_add == ["HTTP/sso.camtest.local", "HTTP/sso"]
    assert plan.holder_after(SERVER2) == ["HOST/SERVER2"]
    assert plan.moved_from == [
        {"dn": SERVER1, "sam_account_name": "SERVER1$", "spns": ["HTTP/sso.camtest.local"]},
        {"dn": SERVER2, "sam_account_name": "SERVER2$", "spns": ["http/SSO.camtest.local", "HTTP/sso"]},
    ]


def test_move_of_a_duplicate_already_here_only_cleans_the_other_holder():
    holder = computer("SERVER1", SERVER1, ["HOST/SERVER1", "HTTP/sso"])
    plan = plan_spns(user(["HTTP/sso"]), spns("HTTP/sso"), "present", holders=[holder], on_conflict="move")
    assert plan.to_add == []
    assert plan.moves == {SERVER1: ["HTTP/sso"]}
    assert plan.changed


def test_diff_shows_every_touched_account_sorted():
    holder = computer("SERVER1", SERVER1, ["HOST/server1.camtest.local", "HTTP/sso", "HOST/SERVER1"])
    plan = plan_spns(user(["HTTP/b"]), spns("HTTP/sso"), "present", holders=[holder], on_conflict="move")
    diff = plan.diff()
    assert diff["before"] == (
        "%s:\n  - HTTP/b\n" % CAM_SVC
        + "%s:\n  - HOST/SERVER1\n  - HOST/server1.camtest.local\n  - HTTP/sso\n" % SERVER1)
    assert diff["after"] == (
        "%s:\n  - HTTP/b\n  - HTTP/sso\n" % CAM_SVC
        + "%s:\n  - HOST/SERVER1\n  - HOST/server1.camtest.local\n" % SERVER1)


def test_render_empty_list():
    assert render_spn_lists({CAM_SVC: []}) == "%s:\n  (no servicePrincipalName)\n" % CAM_SVC


# --------------------------------------------------------------------------- warnings

def test_no_warning_for_a_plain_web_alias_on_the_pool_identity():
    assert spn_warnings(user(), spns("HTTP/sso", "HTTP/sso.camtest.local"), {"sso": [], "sso.camtest.local": []}) \
        == []


def test_host_spn_for_a_web_alias_warns():
    warnings = spn_warnings(user(), spns("HOST/sso.camtest.local"))
    assert len(warnings) == 1
    assert "HOST/sso.camtest.local is a HOST SPN" in warnings[0]
    assert "register HTTP/sso.camtest.local instead" in warnings[0]


def test_host_spn_for_a_computers_own_name_does_not_warn():
    assert spn_warnings(computer("SERVER1", SERVER1), spns("HOST/server1.camtest.local", "HOST/SERVER1")) == []


def test_port_qualified_http_spn_warns():
    warnings = spn_warnings(user(), spns("HTTP/sso.camtest.local:8443"))
    assert len(warnings) == 1
    assert "has a port" in warnings[0] and "HTTP/sso.camtest.local as well" in warnings[0]


def test_port_qualified_other_class_does_not_warn():
    assert spn_warnings(user(), spns("MSSQLSvc/sql1.camtest.local:1433")) == []


def test_hostname_trap_warns_and_names_the_ways_out():
    server1 = computer("SERVER1", SERVER1)
    owners = host_owners([server1], ["server1.camtest.local", "SERVER1"])
    warnings = spn_warnings(user(), spns("HTTP/server1.camtest.local", "HTTP/SERVER1"), owners)
    assert len(warnings) == 2
    for text in warnings:
        assert SERVER1 in text and "(SERVER1$)" in text
        assert "WinRM" in text and "PowerShell remoting" in text
        assert "own DNS name" in text
        assert "ansible_winrm_service: HOST" in text and "ansible_winrm_kerberos_hostname_override" in text


def test_hostname_trap_found_through_a_host_spn_alias():
    # A DNS alias the computer holds as HOST/<alias> is its name too, for the KDC.
    server1 = computer("SERVER1", SERVER1, ["HOST/SERVER1", "HOST/intranet.camtest.local"])
    owners = host_owners([server1], ["intranet.camtest.local"])
    assert [o.dn for o in owners["intranet.camtest.local"]] == [SERVER1]
    assert len(spn_warnings(user(), spns("HTTP/intranet.camtest.local"), owners)) == 1


def test_hostname_trap_not_for_the_computer_itself():
    server1 = computer("SERVER1", SERVER1)
    owners = host_owners([server1], ["server1.camtest.local"])
    assert spn_warnings(server1, spns("HTTP/server1.camtest.local"), owners) == []


def test_hostname_trap_only_for_http():
    server1 = computer("SERVER1", SERVER1)
    owners = host_owners([server1], ["server1.camtest.local"])
    assert spn_warnings(user(), spns("MSSQLSvc/server1.camtest.local:1433"), owners) == []


def test_account_kinds():
    gmsa = Account(dn="CN=g,CN=Managed Service Accounts,DC=x", sam_account_name="g$",
                   object_classes=COMPUTER_CLASSES + ("msDS-GroupManagedServiceAccount",))
    msa = Account(dn="CN=m,DC=x", sam_account_name="m$", object_classes=COMPUTER_CLASSES + ("msDS-ManagedServiceAccount",))
    assert gmsa.kind == "group managed service account" and not gmsa.is_computer
    assert msa.kind == "managed service account" and not msa.is_computer
    assert computer("S", SERVER1).kind == "computer" and computer("S", SERVER1).is_computer
    assert user().kind == "user" and not user().is_computer
    assert gmsa.own_host_names == {"g"}


# --------------------------------------------------------------------------- queries (spn_info)

def test_match_queries_like_setspn_q():
    from ansible_collections.webfarm.winauth.plugins.module_utils._directory.spn_rules import match_queries

    s1 = computer("SERVER1", SERVER1, ["HOST/SERVER1", "HTTP/sso.camtest.local"])
    svc = user(["http/SSO", "MSSQLSvc/sql1:1433"])
    result = match_queries(["HTTP/sso*", "*/nothing"], [s1, svc])
    assert result[0]["pattern"] == "HTTP/sso*"
    assert [(h["spn"], h["dn"], h["kind"]) for h in result[0]["found"]] == [
        ("http/SSO", CAM_SVC, "user"), ("HTTP/sso.camtest.local", SERVER1, "computer")]
    assert result[1] == {"pattern": "*/nothing", "found": []}


def test_find_duplicates_like_setspn_x_case_insensitive():
    from ansible_collections.webfarm.winauth.plugins.module_utils._directory.spn_rules import find_duplicates

    s1 = computer("SERVER1", SERVER1, ["HOST/SERVER1", "HTTP/sso.camtest.local"])
    s2 = computer("SERVER2", SERVER2, ["HOST/SERVER2", "http/SSO.camtest.local"])
    svc = user(["HTTP/only-here", "HTTP/twice", "http/TWICE"])  # case variants on one account: not a duplicate
    dups = find_duplicates([s1, s2, svc])
    assert len(dups) == 1
    assert dups[0]["spn"] == "HTTP/sso.camtest.local"
    assert [(h["dn"], h["spn"]) for h in dups[0]["holders"]] == [
        (SERVER1, "HTTP/sso.camtest.local"), (SERVER2, "http/SSO.camtest.local")]


def test_before_state_names_the_account_and_every_holder_with_all_its_spns_before():
    mine = Account(dn=CAM_SVC, sam_account_name="cam-svc", object_classes=USER_CLASSES, spns=["HTTP/old"],
                   sid="S-1-5-21-1-2-3-1105", guid="6e3b0a54-6f41-4c1e-9a0b-9d6c2f4c1a11")
    holder = Account(dn=SERVER1, sam_account_name="SERVER1$", object_classes=COMPUTER_CLASSES,
                     spns=["HOST/SERVER1", "HTTP/sso"], sid="S-1-5-21-1-2-3-1106", guid="g-1")
    plan = plan_spns(mine, spns("HTTP/sso"), "present", holders=[holder], on_conflict="move")
    assert plan.before_state() == {
        "spns_before": ["HTTP/old"], "object_sid": "S-1-5-21-1-2-3-1105",
        "object_guid": "6e3b0a54-6f41-4c1e-9a0b-9d6c2f4c1a11",
        "holders_before": [{"dn": SERVER1, "sam_account_name": "SERVER1$", "object_sid": "S-1-5-21-1-2-3-1106",
                            "object_guid": "g-1", "spns_before": ["HOST/SERVER1", "HTTP/sso"]}]}
    assert plan.account.spns == ["HTTP/old"]      # the before-state is a copy, the plan's after is apart
    assert plan.after == ["HTTP/old", "HTTP/sso"]


def test_before_state_without_a_move_has_no_holders():
    plan = plan_spns(user(["HTTP/a"]), spns("HTTP/a"), "absent")
    assert plan.before_state()["spns_before"] == ["HTTP/a"] and plan.before_state()["holders_before"] == []
    assert plan.after == []


def test_account_from_entry_reads_sid_and_guid():
    from ansible_collections.webfarm.winauth.plugins.module_utils._directory.entry import Entry
    from ansible_collections.webfarm.winauth.plugins.module_utils._directory.spn_rules import account_from_entry
    from ansible_collections.webfarm.winauth.plugins.module_utils._windows.sid import sid_to_bytes
    guid = bytes.fromhex("540a3b6e416f1e4c9a0b9d6c2f4c1a11")
    entry = Entry.of(CAM_SVC, {"sAMAccountName": "cam-svc", "objectClass": list(USER_CLASSES),
                               "objectSid": sid_to_bytes("S-1-5-21-1-2-3-1105"), "objectGUID": guid})
    account = account_from_entry(entry)
    assert account.sid == "S-1-5-21-1-2-3-1105"
    assert account.guid == "6e3b0a54-6f41-4c1e-9a0b-9d6c2f4c1a11"
    assert account_from_entry(Entry.of(CAM_SVC, {"objectClass": list(USER_CLASSES)})).sid is None


def test_host_labels_and_names_at_their_limits_are_accepted():
    assert parse_spn("HTTP/%s.camtest.local" % ("a" * 63)).host == "a" * 63 + ".camtest.local"
    host = ".".join(["b" * 63] * 3 + ["c" * 61])
    assert len(host) == 253 and parse_spn("HTTP/" + host).host == host
