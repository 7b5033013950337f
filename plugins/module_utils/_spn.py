# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""Service principal names: parsing, expansion, planning and explanations. Pure logic, no I/O.

An SPN is ``serviceclass/host[:port][/servicename]``. Active Directory compares
them case-insensitively and lets one SPN live on one account of the forest only
(the KDC must know which key encrypts the ticket). Everything here works on the
lower-cased form for comparison and keeps the value as written for display and
for writing; deletions always send the value exactly as the directory stores it.
"""

from __future__ import annotations

import re
import typing as t
from dataclasses import dataclass, field

SPN_ATTRIBUTE = "servicePrincipalName"

# Characters a service class, a host name and a service name may hold.
_CLASS_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_HOST_RE = re.compile(r"^[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?(\.[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?)*$")
_SERVICE_NAME_RE = re.compile(r"^[A-Za-z0-9._=,-]+$")
# SQL Server registers MSSQLSvc/<host>:<instance name> for named instances.
_SQL_INSTANCE_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_$#]*$")
_IPV4_RE = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")
_WHITESPACE_RE = re.compile(r"\s")

SPN_FORM = "serviceclass/host[:port][/servicename], e.g. HTTP/sso.camtest.local"


class SpnError(ValueError):
    """Invalid input, explained: the parameter, the value and the fix."""


@dataclass(frozen=True)
class Spn:
    """One parsed SPN. ``value`` is the SPN as written; ``key`` is how AD compares it."""

    value: str
    service_class: str
    host: str
    port: int | None = None
    instance: str | None = None
    service_name: str | None = None

    @property
    def key(self) -> str:
        return self.value.lower()

    @property
    def class_key(self) -> str:
        return self.service_class.lower()

    @property
    def host_key(self) -> str:
        return self.host.lower()

    def __str__(self) -> str:
        return self.value


def spn_key(value: str) -> str:
    """How Active Directory compares SPNs: case-insensitively."""
    return value.lower()


def service_class_of(value: str) -> str:
    """The service class of a stored SPN value (lower-cased), without validating it."""
    return value.split("/", 1)[0].lower()


def host_of(value: str) -> str:
    """The host part of a stored SPN value (lower-cased, without port), without validating it."""
    parts = value.split("/")
    if len(parts) < 2:
        return ""
    return parts[1].split(":", 1)[0].lower()


def _fail(parameter: str, value: str, problem: str, fix: str) -> t.NoReturn:
    raise SpnError("%s: %r %s; %s" % (parameter, value, problem, fix))


def validate_service_class(service_class: str, parameter: str = "service_class") -> str:
    text = service_class if isinstance(service_class, str) else ""
    if not text:
        _fail(parameter, service_class, "is empty", "give a service class such as HTTP")
    if _WHITESPACE_RE.search(text):
        _fail(parameter, service_class, "contains whitespace", "remove it (a service class is one word, e.g. HTTP)")
    if not _CLASS_RE.match(text):
        _fail(parameter, service_class, "is not a service class",
              "use letters, digits, '.', '_' and '-' only, e.g. HTTP or MSSQLSvc")
    return text


def validate_host(host: str, parameter: str, value: str | None = None) -> str:
    """Check a host name (short name, FQDN or IPv4 address) and return it."""
    shown = host if value is None else value
    if not host:
        _fail(parameter, shown, "has an empty host name", "write it as " + SPN_FORM)
    if host.endswith("."):
        _fail(parameter, shown, "has a host name ending with a dot", "drop the trailing dot (%s)" % host.rstrip("."))
    if not _HOST_RE.match(host):
        bad = sorted({c for c in host if not (c.isalnum() and c.isascii()) and c not in "._-"})
        problem = ("has characters a host name cannot hold (%s)" % " ".join(repr(c) for c in bad)) if bad else \
            "has an empty label in its host name ('..', or a label starting or ending with '-')"
        _fail(parameter, shown, problem, "give a DNS host name such as sso or sso.camtest.local")
    return host


def parse_spn(text: str, parameter: str = "spns") -> Spn:
    """Parse and validate one SPN; raise SpnError naming ``parameter``, the value and the fix."""
    if not isinstance(text, str) or not text:
        _fail(parameter, text, "is empty", "write it as " + SPN_FORM)
    if _WHITESPACE_RE.search(text):
        _fail(parameter, text, "contains whitespace", "remove it; an SPN holds no spaces (" + SPN_FORM + ")")
    if "@" in text:
        _fail(parameter, text, "contains '@'", "drop the @REALM part: an SPN names a service, not a principal in a realm")
    if "//" in text:
        _fail(parameter, text, "contains a double slash", "write it as " + SPN_FORM)
    parts = text.split("/")
    if len(parts) == 1:
        _fail(parameter, text, "has no service class", "write it as " + SPN_FORM + " (HTTP for a web site)")
    if len(parts) > 3:
        _fail(parameter, text, "has more than three parts", "write it as " + SPN_FORM)
    service_class = parts[0]
    if not service_class:
        _fail(parameter, text, "has an empty service class", "write it as " + SPN_FORM)
    if not _CLASS_RE.match(service_class):
        _fail(parameter, text, "has an invalid service class %r" % service_class,
              "use letters, digits, '.', '_' and '-' only, e.g. HTTP")
    host_port = parts[1]
    if not host_port:
        _fail(parameter, text, "has an empty host", "write it as " + SPN_FORM)
    port: int | None = None
    instance: str | None = None
    host = host_port
    if ":" in host_port:
        host, _sep, port_text = host_port.partition(":")
        if not port_text:
            _fail(parameter, text, "has an empty port after ':'", "give a port in 1-65535 or drop the ':'")
        if port_text.isdigit():
            port = int(port_text)
            if not 1 <= port <= 65535:
                _fail(parameter, text, "has port %s, outside 1-65535" % port_text, "give a TCP port in 1-65535")
        elif service_class.lower() == "mssqlsvc" and _SQL_INSTANCE_RE.match(port_text):
            instance = port_text
        else:
            _fail(parameter, text, "has %r where a port belongs" % port_text,
                  "give a TCP port in 1-65535 (only MSSQLSvc SPNs may name an instance there)")
    validate_host(host, parameter, text)
    service_name: str | None = None
    if len(parts) == 3:
        service_name = parts[2]
        if not service_name:
            _fail(parameter, text, "ends with an empty service name", "drop the trailing '/'")
        if not _SERVICE_NAME_RE.match(service_name):
            _fail(parameter, text, "has an invalid service name %r" % service_name,
                  "use a DNS or distinguished name, e.g. ldap/dc1.camtest.local/camtest.local")
    return Spn(value=text, service_class=service_class, host=host, port=port, instance=instance,
               service_name=service_name)


def expand_hosts(hosts: t.Sequence[str], service_class: str, dns_domain: str | None,
                 parameter: str = "hosts") -> list[str]:
    """``[sso]`` with HTTP and camtest.local -> ``[HTTP/sso, HTTP/sso.camtest.local]``.

    A host given as an FQDN also yields its short name; a short host needs
    ``dns_domain`` for its FQDN. An IPv4 address yields itself only.
    """
    service_class = validate_service_class(service_class)
    domain = (dns_domain or "").strip().strip(".")
    if domain:
        validate_host(domain, "dns_domain")
    result: list[str] = []
    for raw in hosts:
        host = raw if isinstance(raw, str) else ""
        if not host:
            _fail(parameter, raw, "is empty", "give a host name such as sso or sso.camtest.local")
        if _WHITESPACE_RE.search(host):
            _fail(parameter, raw, "contains whitespace", "give a bare host name such as sso")
        if "/" in host or ":" in host:
            _fail(parameter, raw, "is not a bare host name",
                  "give just the host here; put port-qualified or three-part SPNs in spns")
        validate_host(host, parameter)
        if _IPV4_RE.match(host):
            names = [host]
        elif "." in host:
            names = [host.split(".", 1)[0], host]
        elif domain:
            names = [host, "%s.%s" % (host, domain)]
        else:
            _fail(parameter, raw, "is a short name and no DNS domain is known",
                  "set dns_domain (e.g. camtest.local) or give the fully qualified name")
        result.extend("%s/%s" % (service_class, name) for name in names)
    return result


def unique_spns(spns: t.Iterable[Spn]) -> list[Spn]:
    """Drop repeats (case-insensitively), keeping the first spelling."""
    seen: set[str] = set()
    result: list[Spn] = []
    for spn in spns:
        if spn.key not in seen:
            seen.add(spn.key)
            result.append(spn)
    return result


def build_desired(spns: t.Sequence[str], hosts: t.Sequence[str], service_class: str | None,
                  dns_domain: str | None) -> list[Spn]:
    """Validate ``spns`` and expand ``hosts``: the SPNs a task names, in order, without repeats."""
    parsed = [parse_spn(value, "spns") for value in spns]
    if hosts:
        parsed.extend(parse_spn(value, "hosts") for value in
                      expand_hosts(hosts, service_class or "HTTP", dns_domain))
    return unique_spns(parsed)


# --------------------------------------------------------------------------- LDAP filters

def escape_filter_value(value: str) -> str:
    """RFC 4515 escaping of a filter assertion value."""
    out = []
    for char in value:
        if char in "\\*()\0":
            out.append("\\%02x" % ord(char))
        else:
            out.append(char)
    return "".join(out)


def escape_pattern(pattern: str) -> str:
    """Escape a ``setspn -Q`` style pattern for a substring filter: ``*`` stays a wildcard."""
    return "*".join(escape_filter_value(part) for part in pattern.split("*"))


def forest_filter(spn_values: t.Iterable[str], host_names: t.Iterable[str] = ()) -> str:
    """One filter for the Global Catalog: holders of the SPNs, and the owners of the host names.

    A host is owned by the computer whose dNSHostName (FQDN) or sAMAccountName
    (short name plus ``$``) it is, and by whoever holds ``HOST/<host>``: the
    account the KDC uses for ``HTTP/<host>`` when no HTTP SPN is registered.
    """
    terms = ["(servicePrincipalName=%s)" % escape_filter_value(v) for v in dict.fromkeys(spn_values)]
    for host in dict.fromkeys(h.lower() for h in host_names):
        value = escape_filter_value(host)
        terms.append("(servicePrincipalName=HOST/%s)" % value)
        if "." in host:
            terms.append("(&(objectClass=computer)(dNSHostName=%s))" % value)
        else:
            terms.append("(&(objectClass=computer)(sAMAccountName=%s$))" % value)
    if not terms:
        return ""
    return terms[0] if len(terms) == 1 else "(|%s)" % "".join(terms)


def pattern_filter(patterns: t.Iterable[str]) -> str:
    terms = ["(servicePrincipalName=%s)" % escape_pattern(p) for p in dict.fromkeys(patterns)]
    return terms[0] if len(terms) == 1 else "(|%s)" % "".join(terms)


def pattern_matches(pattern: str, value: str) -> bool:
    """``setspn -Q`` matching: case-insensitive, ``*`` matches any run of characters."""
    regex = ".*".join(re.escape(part) for part in pattern.lower().split("*"))
    return re.fullmatch(regex, value.lower(), flags=re.DOTALL) is not None


def validate_pattern(pattern: str, parameter: str = "spns") -> str:
    if not isinstance(pattern, str) or not pattern:
        _fail(parameter, pattern, "is empty", "give an SPN or a pattern such as HTTP/sso* or */web01*")
    if _WHITESPACE_RE.search(pattern):
        _fail(parameter, pattern, "contains whitespace", "remove it; an SPN holds no spaces")
    if pattern.strip("*") == "":
        return pattern
    if "*" not in pattern:
        parse_spn(pattern, parameter)
    elif "/" not in pattern:
        _fail(parameter, pattern, "has no '/'", "give serviceclass/host, with * as a wildcard: HTTP/sso*, */web01*")
    return pattern


# --------------------------------------------------------------------------- directory entries

@dataclass
class Account:
    """An account that holds (or may hold) SPNs, as read from the directory."""

    dn: str
    sam_account_name: str | None = None
    object_classes: tuple[str, ...] = ()
    dns_host_name: str | None = None
    spns: list[str] = field(default_factory=list)

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


def _first(value: t.Any) -> t.Any:
    if isinstance(value, list):
        return value[0] if value else None
    return value


def account_from_entry(entry: dict[str, t.Any]) -> Account:
    attrs = entry.get("attributes") or {}
    return Account(
        dn=entry["dn"],
        sam_account_name=_first(attrs.get("sAMAccountName")) or None,
        object_classes=tuple(str(c) for c in attrs.get("objectClass") or ()),
        dns_host_name=_first(attrs.get("dNSHostName")) or None,
        spns=[str(v) for v in attrs.get(SPN_ATTRIBUTE) or []],
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
