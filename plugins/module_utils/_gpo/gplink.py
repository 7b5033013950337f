# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""GPO links: the ``gPLink`` attribute of a site, domain or OU, and who a link reaches.

``gPLink`` ([MS-GPOL] 2.2.2) is one string of ``[LDAP://<GPO DN>;<options>]``
entries. Options is a decimal bit field: 1 = link disabled, 2 = enforced (no
override). The *last* entry has the highest precedence: it is link order 1 in
GPMC, and a link added through GPMC without an order is prepended, taking the
lowest precedence. Windows writes the GPO DN as
``cn={GUID},cn=policies,cn=system,DC=example,DC=com``.

:func:`parse_gplink` keeps every entry as the exact text it was read as, so a
change to one link leaves the others byte for byte as they were. The scope
check (:func:`evaluate_scope`) answers "will this link reach these computers?"
from DNs and ``gPOptions`` values already read. Pure: no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ansible_collections.webfarm.winauth.plugins.module_utils._windows.dn import (
    is_under,
    normalize_dn,
    parent_dn,
    split_dn,
)
from ansible_collections.webfarm.winauth.plugins.module_utils._windows.errors import InvalidInput

LINK_DISABLED = 0x1
LINK_ENFORCED = 0x2

_ENTRY_RE = re.compile(r"\[(?P<body>[^\[\]]*)\]")
_GUID_RE = re.compile(r"\{[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\}")


class GPLinkError(InvalidInput):
    """A gPLink value or link request that cannot be handled safely."""


@dataclass
class LinkEntry:
    """One ``[LDAP://dn;options]`` entry; ``raw`` is its text exactly as read (None once changed)."""

    dn: str
    options: int
    raw: str | None = None

    @property
    def guid(self) -> str | None:
        first = self.dn.split(",", 1)[0]
        match = _GUID_RE.search(first)
        return match.group(0).upper() if match else None

    @property
    def enabled(self) -> bool:
        return not self.options & LINK_DISABLED

    @property
    def enforced(self) -> bool:
        return bool(self.options & LINK_ENFORCED)

    def text(self) -> str:
        return self.raw if self.raw is not None else "[LDAP://%s;%d]" % (self.dn, self.options)


@dataclass
class Opaque:
    """Text in gPLink that is not a link entry (kept as is)."""

    raw: str

    def text(self) -> str:
        return self.raw


def parse_gplink(value: str | None) -> list[LinkEntry | Opaque]:
    tokens: list[LinkEntry | Opaque] = []
    value = value or ""
    position = 0
    for match in _ENTRY_RE.finditer(value):
        if match.start() > position:
            tokens.append(Opaque(value[position:match.start()]))
        body = match.group("body")
        path, sep, options = body.rpartition(";")
        if sep and path[:7].upper() == "LDAP://" and options.strip().isdigit():
            tokens.append(LinkEntry(dn=path[7:], options=int(options.strip()), raw=match.group(0)))
        else:
            tokens.append(Opaque(match.group(0)))
        position = match.end()
    if position < len(value):
        tokens.append(Opaque(value[position:]))
    return tokens


def format_gplink(tokens: list[LinkEntry | Opaque]) -> str | None:
    """The attribute value for ``tokens``; None when no link is left (delete the attribute)."""
    text = "".join(token.text() for token in tokens)
    return text if text.strip() else None


def link_dn(guid: str, domain_dn: str) -> str:
    """The GPO DN as Windows writes it in gPLink."""
    return "cn=%s,cn=policies,cn=system,%s" % (guid.upper(), domain_dn)


def entries(tokens: list[LinkEntry | Opaque]) -> list[LinkEntry]:
    return [token for token in tokens if isinstance(token, LinkEntry)]


def in_link_order(tokens: list[LinkEntry | Opaque]) -> list[LinkEntry]:
    """Links as GPMC lists them: link order 1 (highest precedence) first, i.e. the string read backwards."""
    return list(reversed(entries(tokens)))


def link_order_of(tokens: list[LinkEntry | Opaque], guid: str) -> int | None:
    for order, entry in enumerate(in_link_order(tokens), start=1):
        if entry.guid == guid.upper():
            return order
    return None


@dataclass
class LinkChange:
    tokens: list[LinkEntry | Opaque]
    changed: bool
    order: int | None


def apply_link(tokens: list[LinkEntry | Opaque], guid: str, dn: str, state: str = "present",
               enabled: bool | None = None, enforced: bool | None = None, order: int | None = None) -> LinkChange:
    """Link (or unlink) GPO ``guid`` in a parsed gPLink; other entries keep their exact text.

    ``enabled``/``enforced`` None keep the current flags (new links: enabled, not
    enforced). ``order`` is the GPMC link order (1 = highest precedence); values
    past the end mean last. A new link without ``order`` takes the lowest
    precedence, as GPMC does. Option bits other than disabled/enforced are kept.
    """
    guid = guid.upper()
    tokens = list(tokens)
    mine = [index for index, token in enumerate(tokens) if isinstance(token, LinkEntry) and token.guid == guid]
    if state == "absent":
        if not mine:
            return LinkChange(tokens, False, None)
        remaining = [token for index, token in enumerate(tokens) if index not in mine]
        return LinkChange(_drop_blank(remaining), True, None)
    if order is not None and order < 1:
        raise GPLinkError("order=%d: link order starts at 1 (the highest precedence)" % order)

    changed = False
    if not mine:
        entry = LinkEntry(dn=dn, options=_options(0, enabled, enforced))
        count = len(entries(tokens)) + 1
        wanted = count if order is None else min(order, count)
        return LinkChange(_insert_at_order(_drop_blank(tokens), entry, wanted), True, wanted)

    current = next(token for token in tokens if isinstance(token, LinkEntry) and token.guid == guid)
    if len(mine) > 1:  # the same GPO linked twice: keep the first, drop the repeats
        tokens = [token for index, token in enumerate(tokens) if index not in mine[1:]]
        changed = True
    entry = current
    options = _options(current.options, enabled, enforced)
    if options != current.options:
        entry = LinkEntry(dn=current.dn, options=options)
        tokens = [entry if token is current else token for token in tokens]
        changed = True
    if order is None:
        return LinkChange(tokens, changed, link_order_of(tokens, guid))
    wanted = min(order, len(entries(tokens)))
    if link_order_of(tokens, guid) == wanted:
        return LinkChange(tokens, changed, wanted)
    others = [token for token in tokens if token is not entry]
    return LinkChange(_insert_at_order(_drop_blank(others), entry, wanted), True, wanted)


def _options(options: int, enabled: bool | None, enforced: bool | None) -> int:
    if enabled is not None:
        options = options & ~LINK_DISABLED if enabled else options | LINK_DISABLED
    if enforced is not None:
        options = options | LINK_ENFORCED if enforced else options & ~LINK_ENFORCED
    return options


def _insert_at_order(tokens: list[LinkEntry | Opaque], entry: LinkEntry, order: int) -> list[LinkEntry | Opaque]:
    """Insert ``entry`` so that it has link ``order`` among the entries of ``tokens`` plus itself."""
    links = entries(tokens)
    string_position = len(links) + 1 - order  # entries before it in the string
    if string_position >= len(links):
        return tokens + [entry]
    anchor = links[string_position]
    index = next(i for i, token in enumerate(tokens) if token is anchor)
    return tokens[:index] + [entry] + tokens[index:]


def _drop_blank(tokens: list[LinkEntry | Opaque]) -> list[LinkEntry | Opaque]:
    """Whitespace between entries carries nothing (GPMC leaves a single space after unlinking the last GPO)."""
    return [token for token in tokens if not (isinstance(token, Opaque) and not token.raw.strip())]


# --------------------------------------------------------------------------- scope

def soms_between(target_dn: str, object_dn: str) -> list[str]:
    """The OUs (and domain) on the way from ``target_dn`` (excluded) down to the object's parent (included)."""
    result = []
    current = parent_dn(object_dn)
    while current and normalize_dn(current) != normalize_dn(target_dn):
        if split_dn(current)[0].lower().startswith(("ou=", "dc=")):
            result.append(current)
        current = parent_dn(current)
    return list(reversed(result))


@dataclass
class ScopeFinding:
    computer: str
    dn: str
    in_scope: bool
    blocked_at: list[str]
    message: str | None


def evaluate_scope(target_dn: str, enforced: bool, computers: dict[str, str],
                   blocks_inheritance: dict[str, bool]) -> list[ScopeFinding]:
    """Whether a link on ``target_dn`` (an OU or the domain) reaches each computer.

    ``computers`` maps the name given to the computer's DN; ``blocks_inheritance``
    maps OU DNs (normalized or not) to their gPOptions "block inheritance" flag.
    A computer is reached when it is under the target and, unless the link is
    enforced, no OU between the target and the computer blocks inheritance.
    Computer policy (user rights included) follows the computer account, so the
    service account's OU plays no part.
    """
    blocked = {normalize_dn(dn): flag for dn, flag in blocks_inheritance.items()}
    findings = []
    for name, dn in computers.items():
        where = parent_dn(dn)
        if not is_under(dn, target_dn):
            findings.append(ScopeFinding(
                name, dn, False, [],
                "%s is not in the scope of a link on %s: it is in %s. User rights assignment is computer policy and "
                "applies to the computers under the linked OU (not to the OU of the service account); link the GPO "
                "to %s (or a parent of it)" % (name, target_dn, where, where)))
            continue
        blockers = [som for som in soms_between(target_dn, dn) if blocked.get(normalize_dn(som))]
        if blockers and not enforced:
            findings.append(ScopeFinding(
                name, dn, False, blockers,
                "%s is under %s but inheritance is blocked at %s, so the link does not reach it: set enforced=true, "
                "or link the GPO to %s" % (name, target_dn, "; ".join(blockers), where)))
            continue
        findings.append(ScopeFinding(name, dn, True, blockers, None))
    return findings


def common_parent(dns: list[str]) -> str | None:
    """The deepest OU or domain that contains every DN in ``dns`` (None for an empty list)."""
    if not dns:
        return None
    candidate = parent_dn(dns[0])
    while candidate:
        if all(is_under(dn, candidate) for dn in dns) and split_dn(candidate)[0].lower().startswith(("ou=", "dc=")):
            return candidate
        candidate = parent_dn(candidate)
    return None
