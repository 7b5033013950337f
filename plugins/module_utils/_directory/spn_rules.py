# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""The rules of SPN registration: accounts, planning, conflicts, warnings and queries. Pure logic, no I/O.

The directory reads and writes that go with them are in ``spn`` (the I/O half of the pair).
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field

from ansible_collections.webfarm.winauth.plugins.module_utils._directory.entry import Entry
from ansible_collections.webfarm.winauth.plugins.module_utils._directory.spn_names import (
    SPN_ATTRIBUTE,
    Spn,
    SpnError,
    host_of,
    pattern_matches,
    service_class_of,
    spn_key,
)
from ansible_collections.webfarm.winauth.plugins.module_utils._windows.security_descriptor import guid_text


# --------------------------------------------------------------------------- directory entries

@dataclass
class Account:
    """An account that holds (or may hold) SPNs, as read from the directory."""

    dn: str
    sam_account_name: str | None = None
    object_classes: tuple[str, ...] = ()
    dns_host_name: str | None = None
    spns: list[str] = field(default_factory=list)
    sid: str | None = None              # objectSid and objectGUID: what a journal names the account by
    guid: str | None = None

    @property
    def is_computer(self) -> bool:
        """A computer account proper (not a managed service account, which derives from computer)."""
        classes = {c.lower() for c in self.object_classes}
        return "computer" in classes and not classes & {"msds-managedserviceaccount",
                                                        "msds-groupmanagedserviceaccount"}

    @property
    def kind(self) -> str:
        classes = {c.lower() for c in self.object_classes}
        if "msds-groupmanagedserviceaccount" in classes:
            return "group managed service account"
        if "msds-managedserviceaccount" in classes:
            return "managed service account"
        if "computer" in classes:
            return "computer"
        if "user" in classes:
            return "user"
        return self.object_classes[-1] if self.object_classes else "object"

    @property
    def own_host_names(self) -> set[str]:
        """The host names that are this account's own (lower-cased): dNSHostName and sAMAccountName minus ``$``."""
        names: set[str] = set()
        if self.dns_host_name:
            names.add(self.dns_host_name.lower())
        if self.sam_account_name and self.sam_account_name.endswith("$"):
            names.add(self.sam_account_name[:-1].lower())
        return names

    @property
    def label(self) -> str:
        return "%s (%s)" % (self.dn, self.sam_account_name) if self.sam_account_name else self.dn


def account_from_entry(entry: Entry) -> Account:
    return Account(
        dn=entry.dn,
        sam_account_name=entry.text("sAMAccountName") or None,
        object_classes=tuple(entry.object_classes),
        dns_host_name=entry.text("dNSHostName") or None,
        spns=entry.texts(SPN_ATTRIBUTE),
        sid=entry.sid() or None,
        guid=guid_text(entry.first("objectGUID")) or None,
    )


# --------------------------------------------------------------------------- planning

@dataclass
class SpnPlan:
    """What a task will do. ``moves`` maps holder DN to the stored values removed from it."""

    account: Account
    to_add: list[str] = field(default_factory=list)
    to_remove: list[str] = field(default_factory=list)
    moves: dict[str, list[str]] = field(default_factory=dict)
    holders: dict[str, Account] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return bool(self.to_add or self.to_remove or any(self.moves.values()))

    @property
    def after(self) -> list[str]:
        removed = set(self.to_remove)
        return [v for v in self.account.spns if v not in removed] + list(self.to_add)

    def holder_after(self, dn: str) -> list[str]:
        removed = set(self.moves.get(dn, []))
        return [v for v in self.holders[dn].spns if v not in removed]

    @property
    def moved_from(self) -> list[dict[str, t.Any]]:
        return [{"dn": dn, "sam_account_name": self.holders[dn].sam_account_name, "spns": values}
                for dn, values in self.moves.items() if values]

    def before_state(self) -> dict[str, t.Any]:
        """What a rollback needs: the account's SPNs before (with its SID and GUID) and each holder's."""
        return {"spns_before": list(self.account.spns), "object_sid": self.account.sid,
                "object_guid": self.account.guid,
                "holders_before": [{"dn": dn, "sam_account_name": self.holders[dn].sam_account_name,
                                    "object_sid": self.holders[dn].sid, "object_guid": self.holders[dn].guid,
                                    "spns_before": list(self.holders[dn].spns)}
                                   for dn, values in self.moves.items() if values]}

    def diff(self) -> dict[str, str]:
        before = {self.account.dn: self.account.spns}
        after = {self.account.dn: self.after}
        for dn in self.moves:
            before[dn] = self.holders[dn].spns
            after[dn] = self.holder_after(dn)
        return {"before": render_spn_lists(before), "after": render_spn_lists(after)}


def render_spn_lists(accounts: dict[str, list[str]]) -> str:
    """A readable before/after text: each account's DN, then its SPNs sorted as AD compares them."""
    lines: list[str] = []
    for dn, values in accounts.items():
        lines.append("%s:" % dn)
        if values:
            lines.extend("  - %s" % v for v in sorted(values, key=lambda v: (v.lower(), v)))
        else:
            lines.append("  (no servicePrincipalName)")
    return "\n".join(lines) + "\n"


def _matching(values: t.Iterable[str], keys: set[str]) -> list[str]:
    """Stored values whose comparison key is in ``keys`` (every spelling of them)."""
    return [v for v in values if spn_key(v) in keys]


def find_conflicts(desired: t.Sequence[Spn], account_dn: str,
                   holders: t.Iterable[Account]) -> list[tuple[Spn, Account]]:
    """(SPN, holder) for every desired SPN another account holds."""
    conflicts: list[tuple[Spn, Account]] = []
    for holder in holders:
        if holder.dn.lower() == account_dn.lower():
            continue
        held = {spn_key(v) for v in holder.spns}
        conflicts.extend((spn, holder) for spn in desired if spn.key in held)
    return conflicts


def conflict_message(conflicts: t.Sequence[tuple[Spn, Account]], account: Account) -> str:
    """The error for SPNs held elsewhere: each SPN with its holder's DN, and the ways out."""
    items = "; ".join("%s is already registered on %s" % (spn.value, holder.label) for spn, holder in conflicts)
    return ("duplicate SPN: %s. An SPN may be registered on one account of the forest only (the KDC must know whose "
            "key encrypts the ticket), so nothing was written to %s. Remove it from the holder first, or set "
            "on_conflict=move to move it to this account" % (items, account.label))


def plan_spns(account: Account, desired: t.Sequence[Spn], state: str, purge: bool = False,
              purge_classes: t.Iterable[str] = (), holders: t.Iterable[Account] = (),
              on_conflict: str = "fail") -> SpnPlan:
    """Plan the changes; raise SpnError on a conflict with ``on_conflict=fail``.

    - present: add desired SPNs the account lacks; with ``purge``, also remove the
      account's SPNs of ``purge_classes`` that are not desired. Desired SPNs other
      accounts hold are conflicts: refused, or moved here.
    - absent: remove every stored spelling of the desired SPNs.
    """
    plan = SpnPlan(account=account)
    current_keys = {spn_key(v) for v in account.spns}
    desired_keys = {spn.key for spn in desired}
    if state == "absent":
        plan.to_remove = _matching(account.spns, desired_keys)
        return plan
    plan.to_add = [spn.value for spn in desired if spn.key not in current_keys]
    if purge:
        classes = {c.lower() for c in purge_classes}
        plan.to_remove = [v for v in account.spns
                          if service_class_of(v) in classes and spn_key(v) not in desired_keys]
    conflicts = find_conflicts(desired, account.dn, holders)
    if conflicts:
        if on_conflict != "move":
            raise SpnError(conflict_message(conflicts, account))
        for spn, holder in conflicts:
            plan.holders[holder.dn] = holder
            values = plan.moves.setdefault(holder.dn, [])
            values.extend(v for v in _matching(holder.spns, {spn.key}) if v not in values)
    return plan


# --------------------------------------------------------------------------- warnings

def host_owners(entries: t.Iterable[Account], hosts: t.Iterable[str]) -> dict[str, list[Account]]:
    """For each host (lower-cased), the accounts whose own name it is or that hold ``HOST/<host>``."""
    wanted = {h.lower() for h in hosts}
    owners: dict[str, list[Account]] = {h: [] for h in wanted}
    for entry in entries:
        names = entry.own_host_names | {host_of(v) for v in entry.spns if service_class_of(v) == "host"}
        for host in names & wanted:
            if all(o.dn != entry.dn for o in owners[host]):
                owners[host].append(entry)
    return owners


def spn_warnings(account: Account, desired: t.Sequence[Spn],
                 owners: dict[str, list[Account]] | None = None) -> list[str]:
    """Warnings for SPNs a task registers (state=present). Secrets never appear here: SPNs are public."""
    warnings: list[str] = []
    own = account.own_host_names
    for spn in desired:
        if spn.class_key == "host" and not (account.is_computer and spn.host_key in own):
            warnings.append(
                "%s is a HOST SPN: HOST stands for every service of a machine (CIFS, RPC, HTTP and the others "
                "mapped to it), so registering it for a web alias on %s takes them all along. For a web site "
                "register HTTP/%s instead." % (spn.value, account.label, spn.host))
        if spn.class_key == "http" and spn.port is not None:
            warnings.append(
                "%s has a port: browsers ask for HTTP/<host> without the port unless configured to include it "
                "(Chrome and Edge policy EnableAuthNegotiatePort, Internet Explorer's "
                "FEATURE_INCLUDE_PORT_IN_SPN_KB908209), so clients will not find this SPN. Register "
                "HTTP/%s as well, or make every client include the port." % (spn.value, spn.host))
        if spn.class_key == "http" and owners:
            others = [o for o in owners.get(spn.host_key, []) if o.dn.lower() != account.dn.lower()]
            if others:
                warnings.append(hostname_trap_warning(spn, account, others))
    return warnings


def hostname_trap_warning(spn: Spn, account: Account, owners: t.Sequence[Account]) -> str:
    names = ", ".join(o.label for o in owners)
    return (
        "%s names the host %s, which belongs to %s. Registered on %s, it moves Kerberos for every HTTP.sys "
        "service on that host that runs as the machine to this account: WinRM and PowerShell remoting included, "
        "so Kerberos logons to them (Ansible's winrm connection with kerberos too) fail, because the machine "
        "cannot decrypt tickets made with this account's key. Ways out: give the site its own DNS name (an A "
        "record such as sso.%s) and register HTTP/<that name> instead; or keep this SPN and make WinRM clients "
        "ask for an SPN that stays on the computer account, in the inventory: ansible_winrm_service: HOST "
        "(HOST/<host> is the computer's own SPN), or ansible_winrm_kerberos_hostname_override set to another "
        "name of that host whose HTTP SPN is not registered on another account (its short name, unless "
        "HTTP/<short name> is moved as well)."
        % (spn.value, spn.host, names, account.label, _domain_of(spn.host) or "<domain>"))


def _domain_of(host: str) -> str:
    return host.split(".", 1)[1] if "." in host else ""


def purge_classes_for(desired: t.Sequence[Spn], service_class: str | None, hosts: t.Sequence[str]) -> set[str]:
    """The service classes ``purge`` applies to: those of the listed SPNs, and service_class when given or used."""
    classes = {spn.class_key for spn in desired}
    if service_class or hosts:
        classes.add((service_class or "HTTP").lower())
    return classes


# --------------------------------------------------------------------------- queries (spn_info)

def _holder_view(account: Account, spn: str) -> dict[str, t.Any]:
    return {"spn": spn, "dn": account.dn, "sam_account_name": account.sam_account_name, "kind": account.kind}


def match_queries(patterns: t.Sequence[str], accounts: t.Sequence[Account]) -> list[dict[str, t.Any]]:
    """``setspn -Q``: for each pattern, every (SPN, holder) that matches, sorted by SPN then DN."""
    results = []
    for pattern in patterns:
        found = [_holder_view(account, value) for account in accounts for value in account.spns
                 if pattern_matches(pattern, value)]
        found.sort(key=lambda h: (h["spn"].lower(), h["dn"].lower()))
        results.append({"pattern": pattern, "found": found})
    return results


def find_duplicates(accounts: t.Sequence[Account]) -> list[dict[str, t.Any]]:
    """``setspn -X``: SPNs held by more than one account, compared case-insensitively."""
    by_key: dict[str, list[tuple[Account, str]]] = {}
    for account in accounts:
        for value in account.spns:
            by_key.setdefault(spn_key(value), []).append((account, value))
    duplicates = []
    for key in sorted(by_key):
        holders = by_key[key]
        if len({account.dn.lower() for account, _value in holders}) > 1:
            duplicates.append({"spn": holders[0][1],
                               "holders": sorted((_holder_view(a, v) for a, v in holders),
                                                 key=lambda h: h["dn"].lower())})
    return duplicates
