"""The change plan's pure logic: results in IIS and AD words, risks, grouping, the record's comparison, secrets.

The IIS results in change_plan_results.json were produced by the collection's own action plugins (web_auth,
app_pool, arr_farm) against the lab twin of IIS's configuration engine, in check mode with --diff and without;
the directory results follow the modules' RETURN and their diff renderers. The functional test
(tests/functional/test_change_plan.py) runs the callback on the lab for the real thing.
"""

from __future__ import annotations

import pytest

from ansible_collections.webfarm.winauth.plugins.plugin_utils._change_plan import document, iis_words, risks
from ansible_collections.webfarm.winauth.plugins.plugin_utils._change_plan.interpret import view_of
from ansible_collections.webfarm.winauth.plugins.plugin_utils._change_plan.results import (
    MASK,
    Observation,
    keep,
    scrub,
    secret_values,
)

from change_plan_cases import LB, META, RESULTS, lb_plan, obs, record_of, result


def texts(view) -> list[str]:
    return [c.text for c in view.changes]


def test_web_auth_changes_read_as_an_iis_admin_says_them() -> None:
    view = view_of(obs("SERVER1", "Node | Windows authentication", "web_auth", result("web_auth_check")))
    assert texts(view) == [
        "Windows authentication at Default Web Site: off (inherited) \u2192 on",
        "useAppPoolCredentials at Default Web Site: false (default) \u2192 true",
        "useKernelMode (kernel-mode authentication) at Default Web Site: true (default) \u2192 false",
        "Anonymous authentication at Default Web Site: on (inherited) \u2192 off"]
    assert view.right == ["Windows authentication providers at Default Web Site: Negotiate, NTLM (inherited)"]
    assert [r for c in view.changes for r in c.risks] == [
        risks.APP_POOL_CREDENTIALS_ON, risks.KERNEL_MODE_OFF, risks.AUTHENTICATE_ALL]
    assert view.edits == RESULTS["web_auth_check"]["changes"]


def test_without_diff_only_the_new_values_are_known() -> None:
    view = view_of(obs("SERVER1", "auth", "web_auth", result("web_auth_check_nodiff")))
    assert texts(view)[:2] == ["Windows authentication at Default Web Site: set to on",
                               "useAppPoolCredentials at Default Web Site: set to true"]
    assert view.right == []
    head = "system.webServer/security/authentication/windowsAuthentication @ Default Web Site providers"
    rows = iis_words.rows_from_changes(["clear providers (%s)" % head, "add add Negotiate (%s)" % head,
                                        "add add NTLM (%s)" % head])
    changes, _right = iis_words.view_rows(rows, "Default Web Site")
    assert [c.text for c in changes] == ["Windows authentication providers at Default Web Site: set to Negotiate, NTLM"]


def test_pool_identity_is_one_change_and_the_password_is_never_shown() -> None:
    view = view_of(obs("SERVER1", "pool", "app_pool", result("app_pool_check")))
    assert texts(view) == ["Pool DefaultAppPool identity: ApplicationPoolIdentity \u2192 CAMTEST\\cam-svc",
                           "Pool DefaultAppPool password: set (a secret: compared on the node, never shown)"]
    assert view.changes[0].risks == [risks.DOMAIN_IDENTITY] and view.changes[1].secret
    again = view_of(obs("SERVER1", "pool", "app_pool", result("app_pool_again")))
    assert again.changes == [] and again.right == [
        "Pool DefaultAppPool identity: CAMTEST\\cam-svc",
        "Pool DefaultAppPool password: unchanged (a secret: compared on the node, never shown)"]
    nodiff = view_of(obs("SERVER1", "pool", "app_pool", result("app_pool_check_nodiff")))
    assert texts(nodiff)[0] == "Pool DefaultAppPool identity: set to CAMTEST\\cam-svc"


def test_a_pool_restart_is_an_outage_risk() -> None:
    for name in ("app_pool_restart_check", "app_pool_restart_check_nodiff"):
        view = view_of(obs("SERVER1", "Restart the farm's application pool", "app_pool", result(name), handler=True))
        assert len(view.changes) == 1 and view.changes[0].text.startswith("Pool DefaultAppPool: restart")
        assert view.changes[0].risks == [risks.POOL_RESTART]


def test_content_servers_get_the_auth_persist_single_request_note() -> None:
    view = view_of(obs("CONTENT1", "auth", "web_auth", result("web_auth_content_check"),
                       role="webfarm.winauth.arr_farm"))
    assert "authPersistSingleRequest at Default Web Site: false (default) \u2192 true" in texts(view)
    assert risks.PERSIST_SINGLE_REQUEST in [r for c in view.changes for r in c.risks]


def test_a_new_arr_farm_is_listed_by_what_it_adds_and_its_defaults_are_not_already_right() -> None:
    view = view_of(obs("ARR1", "arr", "arr_farm", result("arr_check"), role="webfarm.winauth.arr_farm"))
    changes = texts(view)
    assert changes[:4] == ["ARR farm portal-farm: create",
                           "ARR farm portal-farm servers: (none) \u2192 content1-web.camtest.local, "
                           "content2-web.camtest.local",
                           "ARR farm portal-farm server content1-web.camtest.local: add",
                           "ARR farm portal-farm server content2-web.camtest.local: add"]
    assert "URL Rewrite rule ARR_portal-farm_loadbalance conditions: (none) \u2192 {HTTP_HOST} ~ portal.camtest.local" \
        in changes
    assert changes[-1] == "ARR proxy: off (default) \u2192 on"
    assert view.right == ["Windows authentication at Default Web Site: off (inherited)",
                          "Anonymous authentication at Default Web Site: on (inherited)"]


@pytest.mark.parametrize("head, location, expected", [
    ("system.webServer/security/authentication/windowsAuthentication @ Default Web Site providers",
     "Default Web Site", ("system.webServer/security/authentication/windowsAuthentication", "Default Web Site",
                          "providers")),
    ("system.webServer/security/authentication/windowsAuthentication @ Default Web Site/app", "",
     ("system.webServer/security/authentication/windowsAuthentication", "Default Web Site/app", "")),
    ("system.applicationHost/applicationPools @ server [name=My Pool]/processModel", "",
     ("system.applicationHost/applicationPools", "server", "[name=My Pool]/processModel")),
    ("webFarms @ server [name=f]/[address=a b]", "", ("webFarms", "server", "[name=f]/[address=a b]")),
])
def test_block_headings_with_spaces_in_names(head, location, expected) -> None:
    assert iis_words.parse_heading(head, location) == expected


def test_an_spn_move_names_the_previous_holder_and_its_risk() -> None:
    res = result("spn_move")
    view = view_of(obs("SERVER1", "Directory | Register", "spn", res, delegated=True))
    assert texts(view) == ["SPN HTTP/sso.camtest.local: register on cam-svc",
                           "SPN HTTP/sso: move from SERVER1$ to cam-svc"]
    assert view.changes[1].risks == [risks.SPN_MOVE.of(spn="HTTP/sso", holder="SERVER1$", account="cam-svc")]
    assert view.edits == ["add http/sso.camtest.local", "move http/sso from server1$"]
    assert "invocation" not in keep("webfarm.winauth.spn", res)
    same = view_of(obs("SERVER1", "Directory | Register", "spn", result("spn_unchanged"), delegated=True))
    assert same.changes == [] and same.right == ["SPNs of cam-svc: HTTP/sso, HTTP/sso.camtest.local (nothing to "
                                                 "register)"]


def test_gpo_rights_link_and_delegation_in_words() -> None:
    rights = view_of(obs("SERVER1", "grant", "gpo_user_rights", result("rights_change"), delegated=True))
    assert texts(rights) == ["GPO IIS-BatchLogon-GPO: Log on as a batch job (SeBatchLogonRight): "
                             "BUILTIN\\Administrators \u2192 CAMTEST\\cam-svc, BUILTIN\\Administrators "
                             "(adds CAMTEST\\cam-svc)"]
    assert rights.changes[0].risks[0].title == "The GPO replaces the nodes' local list of Log on as a batch job " \
                                               "(SeBatchLogonRight)"
    link = view_of(obs("SERVER1", "link", "gpo_link", result("link_new"), delegated=True))
    assert texts(link) == ["GPO IIS-BatchLogon-GPO: link to OU=WebServers,DC=camtest,DC=local (link order 1) - "
                           "reaches SERVER1"]
    assert [r.title for r in link.risks] == ["SERVER3 is outside the GPO's scope"]
    assert "inheritance blocked at OU=Blocked" in link.risks[0].text and link.warnings
    delegation = view_of(obs("SERVER1", "delegate", "delegation", result("delegation_change"), delegated=True))
    assert texts(delegation) == [
        "Constrained delegation of cam-svc (msDS-AllowedToDelegateTo): (none) \u2192 MSSQLSvc/sql1.camtest.local:1433",
        "Protocol transition of cam-svc (TRUSTED_TO_AUTH_FOR_DELEGATION): off \u2192 on"]
    assert [r.title for c in delegation.changes for r in c.risks] == [
        "cam-svc may act as the farm's users", "Delegation without the user's Kerberos logon"]
    created = view_of(obs("SERVER1", "gpo", "gpo", result("gpo_create_check"), delegated=True))
    assert texts(created) == ["GPO IIS-BatchLogon-GPO: create (the directory assigns its GUID)"]


def test_batch_logon_right_not_effective_is_a_503_risk() -> None:
    view = view_of(obs("SERVER1", "Node | Read who holds", "policy_refresh", result("policy_read_missing")))
    assert [r.title for r in view.risks] == ["503 until the right is effective"]
    assert "CAMTEST\\cam-svc does not hold Log on as a batch job (SeBatchLogonRight)" in view.risks[0].text
    fine = view_of(obs("SERVER1", "Node | Read who holds", "policy_refresh", result("policy_read_ok")))
    assert fine.risks == []
    assert fine.right == ["Log on as a batch job (SeBatchLogonRight) on the node: CAMTEST\\cam-svc"]
    refresh = view_of(obs("SERVER1", "Node | Apply domain policy", "policy_refresh", result("policy_refresh_check")))
    assert texts(refresh) == ["Domain policy: gpupdate /force on the node, then Log on as a batch job "
                              "(SeBatchLogonRight) checked"]


def test_the_plan_groups_identical_nodes_and_lists_each_risk_once_with_its_nodes() -> None:
    doc = document.build("plan", lb_plan(), META)
    assert [c["text"] for c in doc["directory"]["changes"]] == [
        "SPN HTTP/sso.camtest.local: register on cam-svc", "SPN HTTP/sso: move from SERVER1$ to cam-svc",
        "GPO IIS-BatchLogon-GPO: create (the directory assigns its GUID)",
        "GPO IIS-BatchLogon-GPO would be created, then SeBatchLogonRight defined in it for CAMTEST\\cam-svc."]
    groups = doc["nodes"]["groups"]
    assert len(groups) == 1 and groups[0]["hosts"] == ["SERVER1", "SERVER2"]
    assert groups[0]["changes"][-1]["text"] == "Pool DefaultAppPool: restart (now Started)"
    restart = next(r for r in doc["risks"] if r["title"] == risks.POOL_RESTART.title)
    assert restart["where"] == ["SERVER1", "SERVER2"]
    move = next(r for r in doc["risks"] if r["title"] == "SERVER1$ loses Kerberos for HTTP/sso")
    assert move["where"] == ["Active Directory"]
    assert "503 until the right is effective" in [r["title"] for r in doc["risks"]]
    assert doc["already_right"]["directory"][:2] == ["HOST/sso.camtest.local: held by nobody",
                                                     "HTTP/sso.camtest.local: held by cam-svc"]
    assert doc["already_right"]["nodes"][0]["hosts"] == ["SERVER1", "SERVER2"]
    assert doc["summaries"]["SERVER2"][0] == "webfarm.winauth.lb_farm on SERVER2"
    assert doc["counts"]["nodes_changing"] == 2 and doc["journal"] is None


def test_a_node_with_other_changes_is_its_own_group() -> None:
    doc = document.build("plan", lb_plan(server2="web_auth_again"), META)
    assert [g["hosts"] for g in doc["nodes"]["groups"]] == [["SERVER1"], ["SERVER2"]]
    assert not any(c["text"].startswith("Windows authentication") for c in doc["nodes"]["groups"][1]["changes"])
    assert "Windows authentication at Default Web Site: on" in doc["already_right"]["nodes"][-1]["items"]


def test_the_hostname_trap_refusal_is_in_the_plan() -> None:
    trap = obs("SERVER1", "Directory | Check that the virtual name is no computer's own name", "ansible.builtin.assert",
               result("hostname_trap"), status="failed", delegated=True)
    doc = document.build("plan", lb_plan()[:1] + [trap], META)
    assert doc["failures"] == [{"host": "SERVER1", "task": trap.task, "status": "failed",
                                "message": RESULTS["hostname_trap"]["msg"]}]


def test_a_record_that_did_what_the_plan_said() -> None:
    plan = document.build("plan", lb_plan(), META)
    link = document.link(plan, record_of(lb_plan()), "lb_farm.plan.json", "ab" * 32)
    assert link["found"] and link["same_inputs"] and link["as_planned"] and link["differences"] == []
    assert link["plan"]["id"] == "plan-1"


def test_a_node_changed_between_plan_and_run_is_flagged() -> None:
    plan = document.build("plan", lb_plan(), META)
    # Someone set SERVER2's authentication by hand after the plan: the real run finds nothing to change there.
    real = lb_plan(server2="web_auth_again")
    link = document.link(plan, record_of(real), "lb_farm.plan.json", "")
    assert not link["as_planned"]
    assert [(d["host"], d["task"]) for d in link["differences"]] == [
        ("SERVER2", "Node | Windows authentication on the site, anonymous off")]
    assert "found nothing to change" in link["differences"][0]["text"]
    assert link["differences"][0]["planned"].startswith("set enabled=true")


def test_other_edits_and_unplanned_changes_are_flagged() -> None:
    plan = document.build("plan", lb_plan(), META)
    real = lb_plan()
    index = next(i for i, o in enumerate(real) if o.host == "SERVER2" and o.action.endswith("web_auth"))
    edited = result("web_auth_check")
    edited["changes"] = edited["changes"][1:]
    real[index] = obs("SERVER2", real[index].task, "web_auth", edited)
    read = next(i for i, o in enumerate(real) if o.host == "SERVER1" and o.task.startswith("Node | Read which"))
    real[read] = obs("SERVER1", real[read].task, "app_pool", result("app_pool_check"))
    texts_ = [d["text"] for d in document.link(plan, record_of(real), "p", "")["differences"]]
    assert texts_ == ["changed, though the plan said it would not", "different edits from the plan's"]


def test_other_inputs_are_named() -> None:
    plan = document.build("plan", lb_plan(), dict(META, inputs={"hosts": ["SERVER1"], "fingerprint": "sha256:bb"}))
    link = document.link(plan, record_of(lb_plan()), "p", "")
    assert not link["same_inputs"] and link["inputs_differ"] == ["hosts"] and not link["as_planned"]
    missing = document.link(None, record_of(lb_plan()), "lb_farm.plan.json", "")
    assert not missing["found"] and not missing["as_planned"]


def test_fingerprint_counts_values_except_secrets() -> None:
    patterns = ("pass", "pw", "secret", "token", "key", "credential", "vault")
    base = {"playbooks": [{"name": "lb_farm.yml", "sha256": "00"}], "hosts": ["SERVER1"]}

    def fp(extra: dict) -> str:
        return document.fingerprint(dict(base, extra_vars=document.masked_extra_vars(extra, patterns)))
    password = "lb_farm_service_account_password"
    assert fp({"a": 1, password: "x"}) == fp({password: "y", "a": 1})
    assert fp({"a": 1}) != fp({"a": 2})
    assert document.masked_extra_vars({"pw": "s3cr3t!", "b": "lb"}, patterns) == {"b": "lb", "pw": MASK}
    assert document.masked_extra_vars({"x": "v"}, patterns, secret_keys=["X"]) == {"x": MASK}


def test_secrets_are_scrubbed_from_every_string_and_no_log_results_keep_nothing() -> None:
    secrets = secret_values(["Pool-Secret-42", "abc", {"nested": "Bind-Pa55!"}])
    assert secrets == ["Pool-Secret-42", "Bind-Pa55!"]       # shorter than 4 characters: not a secret to scrub
    scrubbed = scrub({"msg": ["set to Pool-Secret-42", "Bind-Pa55!x"]}, secrets)
    assert scrubbed == {"msg": ["set to %s" % MASK, "%sx" % MASK]}
    kept = keep("webfarm.winauth.app_pool", {"changed": True, "_ansible_no_log": True, "msg": "Pool-Secret-42"})
    assert kept == {"censored": True, "changed": True}
    view = view_of(Observation("SERVER1", "pool", "webfarm.winauth.app_pool", LB, "changed", result=kept))
    assert [c.text for c in view.changes] == ["pool: changed (output hidden by no_log)"]


def test_checks_of_the_run_steps_of_check_mode_and_the_right_once_effective() -> None:
    check = obs("SERVER1", "Inputs | Check the farm's name, account and password", "ansible.builtin.assert",
                {"changed": False, "msg": "All assertions passed"})
    check.once = True
    link_step = obs("SERVER1", "Directory | Link the GPO where the nodes' computer accounts are", "ansible.builtin.debug",
                    {"changed": True, "msg": "Check mode: GPO IIS-BatchLogon-GPO would be linked to the OU that holds "
                                             "SERVER1, SERVER2."}, delegated=True)
    doc = document.build("plan", [check, link_step] + lb_plan(), META)
    assert doc["already_right"]["run"] == ["Check the farm's name, account and password: passed"]
    assert doc["already_right"]["nodes"][0]["hosts"] == ["SERVER1", "SERVER2"]       # not split by the run's checks
    titles = [r["title"] for r in doc["risks"]]
    assert "The GPO reaches every computer under the link" in titles                  # from the announced step
    assert "The GPO replaces the nodes' local list of Log on as a batch job (SeBatchLogonRight)" in titles
    # In the real run the refresh made the right effective: no 503 risk is left in the record.
    real = lb_plan() + [obs(h, "Node | Apply domain policy now (gpupdate /force) and check the right is effective",
                            "policy_refresh", result("policy_refresh_check", refreshed=True, missing={},
                                                     gpupdate={"succeeded": True, "rc": 0}))
                        for h in ("SERVER1", "SERVER2")]
    record = document.build("record", real, META)
    assert "503 until the right is effective" not in [r["title"] for r in record["risks"]]
    assert "503 until the right is effective" in [r["title"] for r in document.build("plan", lb_plan(), META)["risks"]]


def test_the_same_warning_about_each_node_is_listed_once() -> None:
    run = [obs(h, "Node | Apply domain policy", "policy_refresh",
               result("policy_refresh_check", warnings=["check mode, before the refresh: %s: not held by the account "
                                                        "on %s's computer account" % (h, h)]))
           for h in ("SERVER1", "SERVER2")]
    doc = document.build("plan", run, META)
    assert len(doc["warnings"]) == 1 and doc["warnings"][0]["where"] == ["SERVER1", "SERVER2"]


def test_edits_in_another_order_are_the_same_edits_and_a_set_fact_makes_no_node() -> None:
    plan = document.build("plan", lb_plan(), META)
    real = lb_plan()
    index = next(i for i, o in enumerate(real) if o.host == "SERVER2" and o.action.endswith("web_auth"))
    reordered = result("web_auth_check")
    reordered["changes"] = list(reversed(reordered["changes"]))        # arr_farm's servers come in any order
    real[index] = obs("SERVER2", real[index].task, "web_auth", reordered)
    real.append(obs("SERVER3", "Inputs | Describe each node and its connection", "ansible.builtin.set_fact",
                    {"changed": False, "ansible_facts": {"arr_farm__role": ""}}))
    record = record_of(real)
    assert document.link(plan, record, "p", "")["differences"] == []
    assert record["nodes"]["hosts"] == ["SERVER1", "SERVER2"]


def test_kerberos_encryption_types_in_words() -> None:
    res = {"changed": True, "dn": "CN=cam-svc,OU=ServiceAccounts,DC=camtest,DC=local", "sam_account_name": "cam-svc",
           "supported_encryption_types": 24, "flags": ["AES128-CTS-HMAC-SHA1-96", "AES256-CTS-HMAC-SHA1-96"],
           "previous_flags": ["RC4-HMAC"], "invocation": {"module_args": {"password": "x"}}}
    view = view_of(obs("SERVER1", "Directory | Set the Kerberos encryption types", "kerberos_encryption", res,
                       delegated=True))
    assert texts(view) == ["Kerberos encryption types of cam-svc (msDS-SupportedEncryptionTypes): RC4-HMAC → "
                           "AES128-CTS-HMAC-SHA1-96, AES256-CTS-HMAC-SHA1-96"]
    assert view.edits == ["set aes128-cts-hmac-sha1-96, aes256-cts-hmac-sha1-96"]
    assert "invocation" not in keep("webfarm.winauth.kerberos_encryption", res)
    unset = view_of(obs("SERVER1", "set", "kerberos_encryption", dict(res, previous_flags=[]), delegated=True))
    assert "not set (the domain's default) → AES128" in texts(unset)[0]
    same = view_of(obs("SERVER1", "set", "kerberos_encryption", dict(res, changed=False), delegated=True))
    assert same.changes == [] and same.right == [
        "Kerberos encryption types of cam-svc (msDS-SupportedEncryptionTypes): AES128-CTS-HMAC-SHA1-96, "
        "AES256-CTS-HMAC-SHA1-96"]


def test_kerberos_encryption_cleared_in_words() -> None:
    res = {"changed": True, "dn": "CN=cam-svc,OU=ServiceAccounts,DC=camtest,DC=local", "sam_account_name": "cam-svc",
           "supported_encryption_types": None, "flags": [], "previous_flags": ["AES128-CTS-HMAC-SHA1-96"]}
    view = view_of(obs("SERVER1", "clear", "kerberos_encryption", res, delegated=True))
    assert texts(view) == ["Kerberos encryption types of cam-svc (msDS-SupportedEncryptionTypes): "
                           "AES128-CTS-HMAC-SHA1-96 → not set (the domain's default)"]
    assert view.edits == ["clear it"]


def test_web_node_reads_as_its_iis_edits_then_its_rights_and_refresh() -> None:
    auth = result("web_auth_check")
    missing = {"SeBatchLogonRight": ["CAMTEST\\cam-svc"]}
    node = dict(auth, refresh=True, refreshed=False, rights={"SeBatchLogonRight": []}, missing=missing,
                app_pool={"name": "cp", "changed": False, "applications": ["Default Web Site"]})
    view = view_of(obs("SERVER1", "Node | all", "web_node", node))
    assert texts(view)[:-1] == texts(view_of(obs("SERVER1", "Node | auth", "web_auth", auth)))
    assert texts(view)[-1].startswith("Domain policy: gpupdate /force on the node")
    assert [r.title for r in view.risks] == ["503 until the right is effective"]
    assert "Pool cp serves Default Web Site" in view.right
    holders = {"SeBatchLogonRight": [{"sid": "S-1-5-21-1", "name": "CAMTEST\\cam-svc"}]}
    held = view_of(obs("SERVER1", "Node | all", "web_node",
                       dict(node, changed=False, refresh=False, missing={}, rights=holders)))
    assert held.changes == [] and held.risks == []
    assert "Log on as a batch job (SeBatchLogonRight) on the node: CAMTEST\\cam-svc" in held.right
