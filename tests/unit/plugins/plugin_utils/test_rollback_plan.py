"""The way back, planned: order of the journal's entries, the module calls, and the conflict decision."""

from __future__ import annotations

import pytest

from ansible_collections.webfarm.winauth.plugins.plugin_utils._change_plan import rollback

SVC = {"dn": "CN=cam-svc,OU=ServiceAccounts,DC=camtest,DC=local", "sam_account_name": "cam-svc",
       "object_sid": "S-1-5-21-1-2-3-1105"}
SRV = {"dn": "CN=SERVER1,OU=WebServers,DC=camtest,DC=local", "sam_account_name": "SERVER1$",
       "object_sid": "S-1-5-21-1-2-3-1110"}
GPO = {"guid": "{AAAA-1}", "name": "IIS-BatchLogon", "dn": "CN={AAAA-1},CN=Policies,CN=System,DC=camtest,DC=local"}


def entry(kind: str, obj: str, before, after, **extra) -> dict:
    return dict({"kind": kind, "object": obj, "before": before, "after": after, "host": "localhost",
                 "restorable": True, "plane": "directory" if kind in rollback.ORDER else "node"}, **extra)


def journal(*entries) -> dict:
    return {"format": 1, "entries": list(entries), "unrecorded": []}


def record(j) -> dict:
    return {"schema": "webfarm.winauth.change_plan/1", "kind": "record", "journal": j}


MOVE = [entry("spn_account", "spn-account:svc", {"spns": ["HTTP/other"]}, {"spns": ["HTTP/other", "HTTP/sso"]},
              account=SVC),
        entry("spn_account", "spn-account:srv", {"spns": ["HOST/server1", "HTTP/sso"]}, {"spns": ["HOST/server1"]},
              account=SRV)]


def test_a_plan_or_a_foreign_file_is_refused_with_what_to_give():
    with pytest.raises(rollback.RecordError, match="a plan, not a record"):
        rollback.journal_of({"schema": "webfarm.winauth.change_plan/1", "kind": "plan", "journal": None})
    with pytest.raises(rollback.RecordError, match="record.json"):
        rollback.journal_of({"entries": []})
    assert rollback.journal_of(record(journal()))["entries"] == []


def test_an_spn_move_goes_back_as_a_move_and_is_not_removed_from_the_taker_twice():
    items, skipped = rollback.plan(journal(*MOVE))
    assert skipped == []
    assert [i.entry["object"] for i in items] == ["spn-account:srv", "spn-account:svc"]     # the move back first
    assert items[0].calls == [("spn", {"account": SRV["object_sid"], "spns": ["HTTP/sso"], "state": "present",
                                       "on_conflict": "move"})]
    assert items[1].calls == []              # the move back takes HTTP/sso from cam-svc
    assert items[1].probe == ("spn_info", {"accounts": [SVC["object_sid"]]})


def test_an_spn_the_run_added_is_removed():
    e = entry("spn_account", "spn-account:svc", {"spns": []}, {"spns": ["HTTP/sso", "HTTP/sso.camtest.local"]},
              account=SVC)
    (item,), _skipped = rollback.plan(journal(e))
    assert item.calls == [("spn", {"account": SVC["object_sid"], "spns": ["HTTP/sso", "HTTP/sso.camtest.local"],
                                   "state": "absent"})]


def test_conflict_decision_after_before_and_someone_else():
    (item,), _skipped = rollback.plan(journal(dict(MOVE[0], after={"spns": ["HTTP/sso"]}, before={"spns": []})))
    assert rollback.decide(item, ["http/sso"])[0] == "restore"
    assert rollback.decide(item, [])[0] == "ok"
    verdict, why = rollback.decide(item, ["http/sso", "http/extra"])
    assert verdict == "refuse" and "changed since the run" in why and "http/extra" in why


def test_order_spns_then_accounts_then_rights_links_and_the_created_gpo_last():
    entries = [entry("gpo", "gpo:iis-batchlogon", {"existed": False}, {"exists": True}, gpo=GPO, created=True),
               entry("gpo_link", "gpo:iis-batchlogon:link:ou=webservers", {"links": []}, {"links": []}, gpo=GPO,
                     target="OU=WebServers", created=True),
               entry("delegation", "delegation:cam-svc", {"allowed_to_delegate_to": []}, {}, account=SVC),
               MOVE[0],
               entry("iis_attribute", "iis:x", {}, {}, host="SERVER1"),
               entry("policy_refresh", "policy:gpupdate", None, None, host="SERVER1")]
    items, skipped = rollback.plan(journal(*entries))
    assert [i.entry["kind"] for i in items] == ["spn_account", "delegation", "gpo_link", "gpo"]
    assert items[2].note and not items[2].calls         # removed with the GPO the run created
    assert rollback.decide(items[2], None)[0] == "ok"
    assert items[3].calls == [("gpo", {"guid": "{AAAA-1}", "state": "absent"})]
    assert skipped == []            # node entries are node_restore's, on each node


def test_a_created_gpo_is_at_before_when_it_is_gone():
    e = entry("gpo", "gpo:x", {"existed": False}, {"exists": True}, gpo=GPO, created=True)
    (item,), _skipped = rollback.plan(journal(e))
    assert rollback.decide(item, True)[0] == "restore"
    assert rollback.decide(item, False)[0] == "ok"


def test_a_deleted_gpo_is_refused_with_its_reason_and_an_unset_encryption_is_cleared_again():
    gone = entry("gpo", "gpo:x", {"existed": True}, {"exists": False}, gpo=GPO, restorable=False,
                 reason="restore it from a GPO backup")
    unset = entry("kerberos_encryption", "encryption:cam-svc", {"supported_encryption_types": None},
                  {"supported_encryption_types": 24}, account=SVC)
    items, _skipped = rollback.plan(journal(gone, unset))
    by_kind = {i.entry["kind"]: i for i in items}
    assert rollback.decide(by_kind["gpo"], None) == ("refuse", "restore it from a GPO backup")
    cleared = by_kind["kerberos_encryption"]
    assert cleared.calls == [("kerberos_encryption", {"account": SVC["object_sid"], "state": "absent"})]
    assert rollback.decide(cleared, 24)[0] == "restore" and rollback.decide(cleared, None)[0] == "ok"
    assert rollback.encryption_predicted(cleared, None)[0] == "restore"
    assert rollback.decide(cleared, 28)[0] == "refuse"


def test_encryption_written_back_by_its_cipher_names():
    e = entry("kerberos_encryption", "encryption:cam-svc", {"supported_encryption_types": 0x2001C},
              {"supported_encryption_types": 0x20018}, account=SVC)
    (item,), _skipped = rollback.plan(journal(e))
    assert item.calls == [("kerberos_encryption", {"account": SVC["object_sid"],
                                                   "encryption_types": ["rc4", "aes128", "aes256"]})]
    assert rollback.decide(item, 0x20018)[0] == "restore"
    assert rollback.decide(item, 0x2001C)[0] == "ok"


def test_user_right_back_to_its_holders_or_not_defined():
    defined = entry("user_right", "gpo:x:right:sebatchlogonright",
                    {"defined": True, "holders": [{"entry": "*S-1", "sid": "S-1"}], "version": 3},
                    {"defined": True, "holders": [{"sid": "S-1"}, {"sid": "S-2"}], "version": 4}, gpo=GPO,
                    right="SeBatchLogonRight")
    undefined = dict(defined, before={"defined": False, "holders": []})
    (one,), _skipped = rollback.plan(journal(defined))
    (two,), _skipped = rollback.plan(journal(undefined))
    assert one.calls[0][1] == {"gpo": "{AAAA-1}", "right": "SeBatchLogonRight", "mode": "exact", "accounts": ["S-1"]}
    assert "version" not in str(one.calls)            # never written back: the module raises it
    assert two.calls[0][1]["state"] == "absent"
    assert rollback.decide(one, (True, ["s-1", "s-2"]))[0] == "restore"
    assert rollback.decide(one, (True, ["s-1", "s-3"]))[0] == "refuse"


def test_a_move_back_from_an_account_the_run_did_not_give_it_to_is_foreign():
    items, _skipped = rollback.plan(journal(*MOVE))
    assert rollback.foreign_sources(items, [{"dn": SVC["dn"].upper()}]) == []
    assert rollback.foreign_sources(items, [{"dn": "CN=intruder,DC=camtest,DC=local"}]) == [
        "CN=intruder,DC=camtest,DC=local"]
