"""The gMSA password-retrieval check and plan (gmsa_rules): the DACL walk a DC makes, pure logic."""

from __future__ import annotations

from ansible_collections.webfarm.winauth.plugins.module_utils._directory.gmsa_rules import (
    plan_membership,
    render_membership,
    retrieval_decision,
)
from ansible_collections.webfarm.winauth.plugins.module_utils._windows.security_descriptor import (
    INHERIT_ONLY_ACE,
    Ace,
    ObjectAce,
    SecurityDescriptor,
    parse_descriptor,
)

NODE, GROUP, OTHER, GMSA = "S-1-5-21-1-2-3-1101", "S-1-5-21-1-2-3-1200", "S-1-5-21-1-2-3-1300", "S-1-5-21-1-2-3-1500"


def sd(*aces) -> SecurityDescriptor:
    return SecurityDescriptor(owner="S-1-5-32-544", dacl=list(aces))


def test_unset_attribute_and_empty_dacl_allow_nobody_a_null_dacl_everyone():
    assert retrieval_decision(None, [NODE]) == (False, "msDS-GroupMSAMembership is not set, so no account may "
                                                       "retrieve the password")
    assert not retrieval_decision(sd(), [NODE])[0]
    assert retrieval_decision(SecurityDescriptor(dacl=None), [NODE])[0]


def test_first_entry_that_mentions_read_decides_deny_before_allow_groups_count():
    deny_first = sd(Ace(1, 0, 0x10, NODE), Ace(0, 0, 0xF01FF, GROUP))
    assert retrieval_decision(deny_first, [NODE, GROUP]) == (False, "denied by an ACE for %s" % NODE)
    assert retrieval_decision(deny_first, [OTHER, GROUP]) == (True, "allowed by an ACE for %s" % GROUP)
    # A deny that does not mention read does not decide: the allow after it does.
    assert retrieval_decision(sd(Ace(1, 0, 0x20, NODE), Ace(0, 0, 0x10, NODE)), [NODE])[0]
    # Authenticated Users is in every logon's token.
    assert retrieval_decision(sd(Ace(0, 0, 0xF01FF, "S-1-5-11")), [OTHER])[0]


def test_inherit_only_and_property_entries_do_not_grant_the_object_read():
    assert not retrieval_decision(sd(Ace(0, INHERIT_ONLY_ACE, 0xF01FF, NODE)), [NODE])[0]
    assert not retrieval_decision(sd(ObjectAce(5, 0, 0x10, NODE, object_type=b"\x01" * 16)), [NODE])[0]
    assert retrieval_decision(sd(ObjectAce(5, 0, 0x10, NODE)), [NODE])[0]
    assert retrieval_decision(sd(Ace(0, 0, 0x10000000, NODE)), [NODE])[0]        # GENERIC_ALL


def test_principal_self_stands_for_the_gmsa_itself():
    assert retrieval_decision(sd(Ace(0, 0, 0xF01FF, "S-1-5-10")), [GMSA], GMSA)[0]
    assert not retrieval_decision(sd(Ace(0, 0, 0xF01FF, "S-1-5-10")), [NODE], GMSA)[0]


def test_add_appends_only_the_denied_exact_keeps_deny_entries_verify_never_changes():
    current = sd(Ace(1, 0, 0xF01FF, OTHER), Ace(0, 0, 0xF01FF, NODE))
    added = plan_membership(current, "add", [NODE, GROUP], [GROUP])
    assert added.changed and [(a.ace_type, a.sid) for a in added.after.dacl] == [(1, OTHER), (0, NODE), (0, GROUP)]
    assert parse_descriptor(added.after.encode()).dacl == added.after.dacl
    assert not plan_membership(current, "add", [NODE], []).changed
    exact = plan_membership(current, "exact", [GROUP], [GROUP])
    assert [(a.ace_type, a.sid) for a in exact.after.dacl] == [(1, OTHER), (0, GROUP)]
    assert not plan_membership(current, "verify", [GROUP], [GROUP]).changed
    created = plan_membership(None, "add", [NODE], [NODE])
    assert created.before is None and created.after.owner == "S-1-5-32-544"


def test_the_diff_names_principals_and_says_what_an_unset_value_means():
    text = render_membership("CN=g", sd(Ace(0, 0, 0xF01FF, NODE)), {NODE: "SERVER1$ (%s)" % NODE})
    assert text == "dn: CN=g\nmsDS-GroupMSAMembership: allow SERVER1$ (%s) (0x000f01ff)\n" % NODE
    assert "nobody may retrieve" in render_membership("CN=g", None, {})
