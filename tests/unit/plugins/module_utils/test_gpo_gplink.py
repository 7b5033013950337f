"""gPLink parsing and writing, link order and the scope check (pure logic)."""

from __future__ import annotations

import pytest

from ansible_collections.webfarm.winauth.plugins.module_utils._gpo.gplink import (
    GPLinkError,
    apply_link,
    common_parent,
    evaluate_scope,
    format_gplink,
    in_link_order,
    link_dn,
    link_order_of,
    parse_gplink,
    soms_between,
)
from ansible_collections.webfarm.winauth.plugins.module_utils._windows.dn import parent_dn, split_dn

DOMAIN = "DC=camtest,DC=local"
A = "{11111111-1111-1111-1111-111111111111}"
B = "{22222222-2222-2222-2222-222222222222}"
C = "{33333333-3333-3333-3333-333333333333}"
OURS = "{44444444-4444-4444-4444-444444444444}"
# Entries as three different tools wrote them: GPMC (lower-case cn=), Samba (CN=...,CN=Policies), and another.
ENTRY_A = "[LDAP://cn=%s,cn=policies,cn=system,DC=camtest,DC=local;0]" % A
ENTRY_B = "[LDAP://CN=%s,CN=Policies,CN=System,DC=camtest,DC=local;2]" % B
ENTRY_C = "[ldap://cn=%s,cn=Policies,cn=System,dc=camtest,dc=local;5]" % C.lower()
VALUE = ENTRY_A + ENTRY_B + ENTRY_C
MINE = link_dn(OURS, DOMAIN)


def texts(value: str | None) -> list[str]:
    return [entry.text() for entry in parse_gplink(value)]


def test_round_trip_is_exact() -> None:
    assert format_gplink(parse_gplink(VALUE)) == VALUE
    assert texts(VALUE) == [ENTRY_A, ENTRY_B, ENTRY_C]


def test_link_order_is_the_string_read_backwards() -> None:
    tokens = parse_gplink(VALUE)
    assert [entry.guid for entry in in_link_order(tokens)] == [C, B, A]
    assert link_order_of(tokens, A) == 3
    ordered = in_link_order(tokens)
    assert (ordered[1].enabled, ordered[1].enforced) == (True, True)
    assert (ordered[0].enabled, ordered[0].enforced, ordered[0].options) == (False, False, 5)


def test_windows_format_of_a_new_entry() -> None:
    change = apply_link([], OURS, MINE)
    assert format_gplink(change.tokens) == "[LDAP://cn=%s,cn=policies,cn=system,DC=camtest,DC=local;0]" % OURS


def test_new_link_without_order_takes_the_lowest_precedence_like_gpmc() -> None:
    change = apply_link(parse_gplink(VALUE), OURS, MINE)
    value = format_gplink(change.tokens)
    assert change.changed and change.order == 4
    assert value.endswith(VALUE) and value.startswith("[LDAP://cn=%s" % OURS)


@pytest.mark.parametrize("order, expected", [(1, [OURS, C, B, A]), (2, [C, OURS, B, A]), (4, [C, B, A, OURS]),
                                             (99, [C, B, A, OURS])])
def test_new_link_at_an_order(order: int, expected: list[str]) -> None:
    change = apply_link(parse_gplink(VALUE), OURS, MINE, order=order, enabled=False, enforced=True)
    assert [entry.guid for entry in in_link_order(change.tokens)] == expected
    value = format_gplink(change.tokens)
    for entry in (ENTRY_A, ENTRY_B, ENTRY_C):
        assert entry in value  # the others, byte for byte
    assert "cn=%s,cn=policies,cn=system,DC=camtest,DC=local;3]" % OURS in value


def test_flags_change_touches_only_our_entry_and_keeps_its_dn_text_and_unknown_bits() -> None:
    value = ENTRY_A + "[LDAP://CN=%s,CN=Policies,CN=System,DC=camtest,DC=local;4]" % OURS + ENTRY_B
    change = apply_link(parse_gplink(value), OURS, MINE, enabled=False, enforced=True)
    assert change.changed
    assert format_gplink(change.tokens) == \
        ENTRY_A + "[LDAP://CN=%s,CN=Policies,CN=System,DC=camtest,DC=local;7]" % OURS + ENTRY_B


def test_existing_link_is_idempotent_and_keeps_its_place_without_order() -> None:
    value = ENTRY_A + "[LDAP://cn=%s,cn=policies,cn=system,DC=camtest,DC=local;0]" % OURS + ENTRY_B
    change = apply_link(parse_gplink(value), OURS, MINE, enabled=True, enforced=False)
    assert not change.changed and format_gplink(change.tokens) == value and change.order == 2
    again = apply_link(parse_gplink(value), OURS, MINE, order=2)
    assert not again.changed


def test_moving_an_existing_link() -> None:
    value = ENTRY_A + "[LDAP://cn=%s,cn=policies,cn=system,DC=camtest,DC=local;0]" % OURS + ENTRY_B
    change = apply_link(parse_gplink(value), OURS, MINE, order=1)
    assert change.changed and change.order == 1
    assert format_gplink(change.tokens) == ENTRY_A + ENTRY_B + \
        "[LDAP://cn=%s,cn=policies,cn=system,DC=camtest,DC=local;0]" % OURS


def test_unlinking_keeps_the_others_and_the_last_unlink_deletes_the_value() -> None:
    value = ENTRY_A + "[LDAP://cn=%s,cn=policies,cn=system,DC=camtest,DC=local;0]" % OURS + ENTRY_B
    change = apply_link(parse_gplink(value), OURS, MINE, state="absent")
    assert change.changed and format_gplink(change.tokens) == ENTRY_A + ENTRY_B
    only = apply_link(parse_gplink("[LDAP://cn=%s,cn=policies,cn=system,%s;1]" % (OURS, DOMAIN)), OURS, MINE,
                      state="absent")
    assert format_gplink(only.tokens) is None
    assert not apply_link(parse_gplink(VALUE), OURS, MINE, state="absent").changed


def test_gpmc_leftover_space_and_duplicates() -> None:
    assert format_gplink(apply_link(parse_gplink(" "), OURS, MINE).tokens) == \
        "[LDAP://cn=%s,cn=policies,cn=system,DC=camtest,DC=local;0]" % OURS
    twice = "[LDAP://cn=%s,cn=policies,cn=system,%s;0]" % (OURS, DOMAIN) + ENTRY_A + \
        "[LDAP://cn=%s,cn=policies,cn=system,%s;0]" % (OURS, DOMAIN)
    change = apply_link(parse_gplink(twice), OURS, MINE)
    assert change.changed and [e.guid for e in in_link_order(change.tokens)] == [A, OURS]


def test_unparseable_text_is_kept() -> None:
    value = "[garbage]" + ENTRY_A
    change = apply_link(parse_gplink(value), OURS, MINE, order=1)
    assert format_gplink(change.tokens).startswith("[garbage]" + ENTRY_A)


def test_order_below_one_is_refused() -> None:
    with pytest.raises(GPLinkError, match="order=0"):
        apply_link(parse_gplink(VALUE), OURS, MINE, order=0)


# ----------------------------------------------------------------- scope

WEB = "OU=WebServers,DC=camtest,DC=local"
SVC_OU = "OU=ServiceAccounts,DC=camtest,DC=local"
COMPUTERS = {"SERVER1": "CN=SERVER1,%s" % WEB, "SERVER2": "CN=SERVER2,%s" % WEB}


def test_link_on_the_service_accounts_ou_misses_the_web_servers() -> None:
    findings = evaluate_scope(SVC_OU, False, COMPUTERS, {})
    assert [f.in_scope for f in findings] == [False, False]
    assert "it is in %s" % WEB in findings[0].message and "link the GPO to %s" % WEB in findings[0].message


def test_link_on_the_web_servers_ou_or_the_domain_reaches_them() -> None:
    assert all(f.in_scope for f in evaluate_scope(WEB, False, COMPUTERS, {}))
    assert all(f.in_scope for f in evaluate_scope(DOMAIN, False, COMPUTERS, {WEB: False}))


def test_blocked_inheritance_and_enforced_links() -> None:
    inner = "OU=Farm,%s" % WEB
    computers = {"SERVER9": "CN=SERVER9,%s" % inner}
    blocked = evaluate_scope(DOMAIN, False, computers, {inner: True, WEB: False})
    assert not blocked[0].in_scope and blocked[0].blocked_at == [inner]
    assert "inheritance is blocked at %s" % inner in blocked[0].message
    assert evaluate_scope(DOMAIN, True, computers, {inner: True})[0].in_scope
    # Blocking on the linked OU itself does not block its own links.
    assert evaluate_scope(inner, False, computers, {inner: True})[0].in_scope


def test_dn_helpers() -> None:
    assert split_dn(r"CN=Smith\, John,OU=A,DC=x") == [r"CN=Smith\, John", "OU=A", "DC=x"]
    assert parent_dn(r"CN=Smith\, John,OU=A,DC=x") == "OU=A,DC=x"
    assert soms_between(DOMAIN, "CN=S,OU=B,OU=A,CN=Stuff,DC=camtest,DC=local") == \
        ["OU=A,CN=Stuff,DC=camtest,DC=local", "OU=B,OU=A,CN=Stuff,DC=camtest,DC=local"]
    assert common_parent(list(COMPUTERS.values())) == WEB
    assert common_parent(["CN=X,CN=Computers,%s" % DOMAIN, COMPUTERS["SERVER1"]]) == DOMAIN
    assert common_parent([]) is None
