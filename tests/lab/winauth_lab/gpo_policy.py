# Internal to the webfarm.winauth lab.
"""The user-rights policy the lab's domain assigns to a lab node, as a domain member's gpupdate computes it.

``for_node(config)`` gives the ``NodeContext.domain_policy`` hook of a lab node (``remote.py``):
a callable that ``gpupdate`` (the twin) runs to get the [Privilege Rights] the domain's GPOs assign
to the node's computer account. It reads the REAL lab domain, as a member would:

* the computer account ``<NODE>$`` and the containers above it, from the DC's database (the
  node runs on the DC's machine, so it reads ``sam.ldb`` with ``ldbsearch``, the same tool the
  lab's tests use as independent evidence);
* ``gPLink`` of each container from the computer's OU up to the domain (``_gpo.gplink`` parses
  it), ``gPOptions`` (block inheritance) and each GPO's ``flags`` (computer settings disabled);
* each applied GPO's ``Machine\\Microsoft\\Windows NT\\SecEdit\\GptTmpl.inf`` from SYSVOL on disk
  (``_gpo.inf`` parses it).

Processing order follows [MS-GPOL] 3.2.5.1 for the domain and OU levels: non-enforced links from
the domain down to the computer's OU, a container's links in gPLink order (the last entry, link
order 1, applied last so it wins), links above an OU that blocks inheritance dropped unless
enforced; then enforced links from the computer's OU up to the domain (the highest enforced link
wins); disabled links and GPOs whose computer settings are disabled skipped; a GPO reached twice
applies at its highest precedence. A right defined by a later GPO replaces it entirely: that is how
a right defined in a domain GPO replaces the local holders (``user_rights`` overlays the result on
local policy). Holders come back as ``{"sid", "name"}``, names resolved through the directory or
the well-known SIDs.

Not modelled (documented lab limits): site-linked GPOs, security filtering and WMI filters,
loopback processing, and slow-link detection. A node without a computer account (bench nodes)
gets no domain policy.
"""

from __future__ import annotations

import os
import subprocess
import typing as t
from pathlib import Path

from .collection import dn, gplink, inf, principals
from .collection import sid as sid_rules

BLOCK_INHERITANCE = 1
COMPUTER_SETTINGS_DISABLED = 2


class PolicyError(RuntimeError):
    """The domain's policy could not be read (gpupdate then reports failure, as Windows does)."""


def parse_ldif(text: str) -> list[dict[str, list[str]]]:
    """Records of ldbsearch's LDIF output (folded lines joined; base64 values left out)."""
    records: list[dict[str, list[str]]] = []
    current: dict[str, list[str]] = {}
    lines: list[str] = []
    for raw in text.splitlines():
        if raw.startswith(" ") and lines:
            lines[-1] += raw[1:]
        else:
            lines.append(raw)
    for line in lines + [""]:
        if not line.strip():
            if current:
                records.append(current)
                current = {}
            continue
        if line.startswith("#") or line.startswith("ref:") or "::" in line.split(" ", 1)[0]:
            continue
        key, sep, value = line.partition(": ")
        if sep:
            current.setdefault(key.lower(), []).append(value)
    return records


class Directory:
    """Reads of the lab DC's database (``ldbsearch -H sam.ldb``)."""

    def __init__(self, sam_ldb: Path) -> None:
        self.sam_ldb = sam_ldb

    def search(self, base: str, expression: str, attributes: list[str], scope: str = "sub") -> list[dict]:
        proc = subprocess.run(["ldbsearch", "-H", str(self.sam_ldb), "-b", base, "-s", scope, expression,
                               *attributes], capture_output=True, text=True, timeout=60, check=False)
        if proc.returncode != 0:
            raise PolicyError("ldbsearch failed on %s: %s" % (base, proc.stderr.strip()[-500:]))
        return parse_ldif(proc.stdout)


def _first(record: dict, name: str, default: str = "") -> str:
    values = record.get(name.lower()) or [default]
    return values[0]


def applied_gpos(chain: list[tuple[str, str, int]], gpo_flags: dict[str, int]) -> list[str]:
    """GPO GUIDs in the order they apply (lowest precedence first).

    ``chain``: (container DN, gPLink, gPOptions) from the domain down to the computer's OU.
    ``gpo_flags``: GUID -> the GPO container's ``flags``.
    """
    normal: list[str] = []
    enforced_by_level: list[list[str]] = []
    for _dn, value, options in chain:
        if options & BLOCK_INHERITANCE:
            normal = []          # links above this container no longer reach it, unless enforced
        level_enforced = []
        for entry in gplink.entries(gplink.parse_gplink(value)):
            guid = entry.guid
            if not guid or not entry.enabled:
                continue
            if gpo_flags.get(guid, 0) & COMPUTER_SETTINGS_DISABLED or guid not in gpo_flags:
                continue
            (level_enforced if entry.enforced else normal).append(guid)
        enforced_by_level.append(level_enforced)
    order = normal + [guid for level in reversed(enforced_by_level) for guid in level]
    seen: set[str] = set()
    result: list[str] = []
    for guid in reversed(order):           # a GPO reached twice applies at its highest precedence
        if guid not in seen:
            seen.add(guid)
            result.append(guid)
    return list(reversed(result))


def _find_case_insensitive(root: Path, relative: str) -> Path | None:
    current = root
    for part in relative.replace("\\", "/").split("/"):
        if not current.is_dir():
            return None
        match = next((child for child in current.iterdir() if child.name.lower() == part.lower()), None)
        if match is None:
            return None
        current = match
    return current


class DomainPolicySource:
    """The hook: ``source()`` -> {right: [{"sid", "name"}]} for one computer account."""

    def __init__(self, computer: str, sam_ldb: Path, sysvol: Path, dns_domain: str, netbios: str) -> None:
        self.computer = computer.upper()
        self.directory = Directory(sam_ldb)
        self.sysvol = sysvol
        self.dns_domain = dns_domain.lower()
        self.netbios = netbios.upper()
        self.domain_dn = ",".join("DC=%s" % part for part in self.dns_domain.split("."))
        self.last_gpos: list[str] = []

    def __call__(self) -> dict[str, list[dict[str, str | None]]]:
        found = self.directory.search(self.domain_dn, "(sAMAccountName=%s$)" % self.computer, ["dn"])
        if not found:
            self.last_gpos = []
            return {}
        computer_dn = _first(found[0], "dn")
        containers = {dn.normalize_dn(_first(r, "dn")): r for r in self.directory.search(
            self.domain_dn, "(|(objectClass=organizationalUnit)(objectClass=domainDNS))", ["gPLink", "gPOptions"])}
        chain = []
        current = dn.parent_dn(computer_dn)
        while current:
            record = containers.get(dn.normalize_dn(current))
            if record is not None:
                options = _first(record, "gPOptions", "0")
                chain.append((current, _first(record, "gPLink"), int(options) if options.strip().isdigit() else 0))
            if dn.normalize_dn(current) == dn.normalize_dn(self.domain_dn):
                break
            current = dn.parent_dn(current)
        chain.reverse()
        flags = {}
        for record in self.directory.search("CN=Policies,CN=System,%s" % self.domain_dn,
                                            "(objectClass=groupPolicyContainer)", ["cn", "flags"], scope="one"):
            value = _first(record, "flags", "0")
            flags[_first(record, "cn").upper()] = int(value) if value.strip().lstrip("-").isdigit() else 0
        self.last_gpos = applied_gpos(chain, flags)
        rights: dict[str, list[str]] = {}
        for guid in self.last_gpos:
            relative = "%s/Policies/%s/%s" % (self.dns_domain, guid, inf.INF_RELATIVE_PATH)
            path = _find_case_insensitive(self.sysvol, relative)
            if path is None:
                continue
            document = inf.InfDocument.parse(path.read_bytes())
            for right, holders in document.privileges():
                try:
                    right = inf.canonical_right(right)
                except inf.InfError:
                    pass
                rights[right] = holders            # a later (higher-precedence) GPO replaces the right
        return self._resolve(rights)

    def _resolve(self, rights: dict[str, list[str]]) -> dict[str, list[dict[str, str | None]]]:
        sids = {sid_rules.normalize_sid(h) for holders in rights.values() for h in holders if sid_rules.is_sid(h)}
        names = {h for holders in rights.values() for h in holders if not sid_rules.is_sid(h)}
        by_sid: dict[str, str] = {}
        by_name: dict[str, tuple[str, str]] = {}
        account_names = {n.split("\\", 1)[-1] for n in names if not principals.well_known_sid(n)}
        wanted = ["(objectSid=%s)" % s for s in sids if not principals.well_known_name(s)]
        wanted += ["(sAMAccountName=%s)" % n for n in account_names]
        if wanted:
            for record in self.directory.search(self.domain_dn, "(|%s)" % "".join(wanted),
                                                ["objectSid", "sAMAccountName"]):
                sid, sam = _first(record, "objectSid").upper(), _first(record, "sAMAccountName")
                if sid and sam:
                    by_sid[sid] = "%s\\%s" % (self.netbios, sam)
                    by_name[sam.lower()] = (sid, by_sid[sid])
        result: dict[str, list[dict[str, str | None]]] = {}
        for right, holders in rights.items():
            entries: list[dict[str, str | None]] = []
            for holder in holders:
                if sid_rules.is_sid(holder):
                    sid = sid_rules.normalize_sid(holder)
                    entries.append({"sid": sid, "name": principals.well_known_name(sid) or by_sid.get(sid)})
                    continue
                known = principals.well_known_sid(holder)
                if known:
                    entries.append({"sid": known, "name": principals.well_known_name(known)})
                    continue
                sid_name = by_name.get(holder.split("\\", 1)[-1].lower())
                entries.append({"sid": sid_name[0], "name": sid_name[1]} if sid_name else {"sid": None, "name": holder})
            result[right] = entries
        return result


def for_node(config: t.Any) -> DomainPolicySource | None:
    """The domain policy hook of a lab node, or None when the node is not in the lab's domain layout.

    The lab keeps the DC under ``<lab dir>/dc`` and each node under ``<lab dir>/nodes/<name>``; a node
    of a test's own, elsewhere, finds the lab through ``LAB_DIR`` in its environment.
    """
    node_dir = Path(config.directory)
    if node_dir.parent.name == "nodes":
        lab_dir = node_dir.parent.parent
    elif os.environ.get("LAB_DIR"):
        lab_dir = Path(os.environ["LAB_DIR"])
    else:
        return None
    sam_ldb = lab_dir / "dc" / "private" / "sam.ldb"
    sysvol = lab_dir / "dc" / "state" / "sysvol"
    if not sam_ldb.exists():
        return None
    realm = str(getattr(config, "realm", "") or "")
    netbios = str(getattr(config, "netbios", "") or realm.split(".", maxsplit=1)[0])
    return DomainPolicySource(str(config.name), sam_ldb, sysvol, realm, netbios)
