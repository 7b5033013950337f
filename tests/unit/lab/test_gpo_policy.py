"""The lab's computation of the domain's user-rights policy for a node: GPO processing order and LDIF reading."""

from __future__ import annotations

from winauth_lab.gpo_policy import BLOCK_INHERITANCE, applied_gpos, parse_ldif

A, B, C, D = ("{%s0000000-0000-0000-0000-000000000000}" % x for x in "ABCD")
DOMAIN = "DC=camtest,DC=local"
OU = "OU=WebServers," + DOMAIN
SUB = "OU=Farm," + OU
FLAGS = {A: 0, B: 0, C: 0, D: 0}


def link(*entries: tuple[str, int]) -> str:
    return "".join("[LDAP://cn=%s,cn=policies,cn=system,%s;%d]" % (guid, DOMAIN, options) for guid, options in entries)


def test_domain_then_ous_and_link_order_one_applies_last() -> None:
    chain = [(DOMAIN, link((A, 0)), 0), (OU, link((B, 0), (C, 0)), 0)]
    # gPLink's last entry is link order 1 (highest precedence): it applies last and wins
    assert applied_gpos(chain, FLAGS) == [A, B, C]


def test_disabled_links_and_computer_settings_disabled_are_skipped() -> None:
    chain = [(DOMAIN, link((A, 1)), 0), (OU, link((B, 0), (C, 0)), 0)]
    assert applied_gpos(chain, dict(FLAGS, **{C: 2})) == [B]
    assert applied_gpos(chain, dict(FLAGS, **{B: 1})) == [B, C]       # only user settings disabled
    assert applied_gpos([(OU, link((D, 0)), 0)], {}) == []              # a link to a GPO that is gone


def test_block_inheritance_and_enforced_links() -> None:
    chain = [(DOMAIN, link((A, 0), (D, 2)), 0), (OU, link((B, 0)), 0), (SUB, link((C, 2)), BLOCK_INHERITANCE)]
    # A is blocked at OU=Farm, B too (it is above the blocking OU); enforced D (domain) wins over enforced C
    assert applied_gpos(chain, FLAGS) == [C, D]
    unblocked = [(DOMAIN, link((A, 0), (D, 2)), 0), (OU, link((B, 0)), 0), (SUB, link((C, 0)), 0)]
    assert applied_gpos(unblocked, FLAGS) == [A, B, C, D]


def test_a_gpo_linked_twice_applies_at_its_highest_precedence() -> None:
    chain = [(DOMAIN, link((A, 0)), 0), (OU, link((A, 0), (B, 0)), 0)]
    assert applied_gpos(chain, FLAGS) == [A, B]


def test_parse_ldif_joins_folded_lines() -> None:
    text = ("# record 1\ndn: OU=WebServers,DC=camtest,DC=local\ngPLink: [LDAP://cn={D4},cn=policies,cn=syste\n"
            " m,DC=camtest,DC=local;0]\ngPOptions: 1\n\n# Referral\nref: ldap:///CN=Configuration\n\n")
    assert parse_ldif(text) == [{"dn": ["OU=WebServers,DC=camtest,DC=local"],
                                 "gplink": ["[LDAP://cn={D4},cn=policies,cn=system,DC=camtest,DC=local;0]"],
                                 "gpoptions": ["1"]}]
