"""A throwaway gMSA on the lab's DC, made over LDAP as Set-ADServiceAccount leaves it (the object and its
msDS-GroupMSAMembership descriptor). Samba 4.17 holds both but cannot derive a gMSA's password."""

from __future__ import annotations

import contextlib
import typing as t

from ansible_collections.webfarm.winauth.plugins.module_utils._windows.security_descriptor import Ace, SecurityDescriptor

from .directory import domain_dn, ldap_connection, new_token, sid_of

MEMBERSHIP = "msDS-GroupMSAMembership"


def descriptor(*aces: tuple[int, str]) -> bytes:
    """O:BA D:(A or D;;0xf01ff;;;sid)... as Set-ADServiceAccount writes it."""
    return SecurityDescriptor(owner="S-1-5-32-544", dacl=[Ace(kind, 0, 0xF01FF, sid) for kind, sid in aces]).encode()


@contextlib.contextmanager
def throwaway_gmsa() -> t.Iterator[tuple[str, str, str, str]]:
    """(sam, dn, group sam, group dn): a gMSA that only SERVER1$ may use, and an empty group of the test's own."""
    token = new_token()
    sam, group = "gm%s$" % token[:8], "gmsa-nodes-%s" % token
    dn = "CN=%s,CN=Managed Service Accounts,%s" % (sam[:-1], domain_dn())
    group_dn = "CN=%s,CN=Users,%s" % (group, domain_dn())
    with ldap_connection() as conn:
        assert conn.add(dn, "msDS-GroupManagedServiceAccount", {
            "sAMAccountName": sam, "dNSHostName": "%s.camtest.local" % sam[:-1], "msDS-ManagedPasswordInterval": "30",
            MEMBERSHIP: descriptor((0, sid_of("SERVER1$")))}), conn.result
        assert conn.add(group_dn, "group", {"sAMAccountName": group}), conn.result
    try:
        yield sam, dn, group, group_dn
    finally:
        with ldap_connection() as conn:
            conn.delete(dn)
            conn.delete(group_dn)
