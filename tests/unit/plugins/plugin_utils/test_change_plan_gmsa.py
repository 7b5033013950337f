"""gmsa_access in the change plan: the change in words, the nodes that still may not, the journal's refusal."""

from __future__ import annotations

from ansible_collections.webfarm.winauth.plugins.plugin_utils._change_plan import journal, rollback
from ansible_collections.webfarm.winauth.plugins.plugin_utils._change_plan.interpret import view_of
from ansible_collections.webfarm.winauth.plugins.plugin_utils._change_plan.items import ARROW

from change_plan_cases import obs

S1, S2 = "SERVER1$ (S-1-5-21-1-2-3-1103)", "SERVER2$ (S-1-5-21-1-2-3-1104)"


def gmsa_result(**extra) -> dict:
    return dict({"changed": True, "dn": "CN=web-gmsa,CN=Managed Service Accounts,DC=camtest,DC=local",
                 "sam_account_name": "web-gmsa$", "object_sid": "S-1-5-21-1-2-3-1500", "denied": [],
                 "allowed_principals": [S1, S2], "allowed_principals_before": [S1],
                 "principals": [{"name": "SERVER1$", "allowed": True}, {"name": "SERVER2$", "allowed": True}]},
                **extra)


def test_an_added_node_reads_as_before_and_after_by_name():
    view = view_of(obs("SERVER1", "Directory | gMSA", "gmsa_access", gmsa_result(), delegated=True))
    (change,) = view.changes
    assert change.object == "gmsa:web-gmsa$"
    assert change.text == ("Who may retrieve the password of web-gmsa$ (msDS-GroupMSAMembership): %s %s %s, %s"
                           % (S1, ARROW, S1, S2))
    assert not view.warnings


def test_a_verify_that_found_everything_right_is_listed_as_right_and_a_denied_node_warned():
    ok = view_of(obs("SERVER1", "gMSA", "gmsa_access", gmsa_result(changed=False, allowed_principals=[S1, S2])))
    assert ok.right == ["Who may retrieve the password of web-gmsa$ (msDS-GroupMSAMembership): %s, %s" % (S1, S2)]
    found = gmsa_result(changed=False, denied=["SERVER2$"], allowed_principals=[S1])
    denied = view_of(obs("SERVER1", "gMSA", "gmsa_access", found))
    assert denied.warnings == ["SERVER2$ may not retrieve the password of web-gmsa$: a pool running as it cannot "
                               "start there (503)"]


def test_the_journal_keeps_the_before_state_and_the_rollback_refuses_with_how_to_restore_it():
    (entry,) = journal.build([obs("SERVER1", "gMSA", "gmsa_access", gmsa_result(), delegated=True)])["entries"]
    assert entry["kind"] == "gmsa_access" and entry["plane"] == "directory"
    assert entry["before"] == {"allowed_principals": [S1]} and entry["restorable"] is False
    items, skipped = rollback.plan({"format": 1, "entries": [entry], "unrecorded": []})
    assert not skipped and len(items) == 1
    assert rollback.decide(items[0], None) == ("refuse", entry["reason"])
    assert "mode=exact" in entry["reason"] and S1 in entry["reason"]
