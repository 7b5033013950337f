# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""The security template of a GPO: ``Machine\\Microsoft\\Windows NT\\SecEdit\\GptTmpl.inf``.

[MS-GPSB] 2.2: an INF file, UTF-16 LE with a byte-order mark and CRLF line ends,
with ``[Unicode] Unicode=yes`` and ``[Version] signature="$CHICAGO$" Revision=1``.
User rights live in ``[Privilege Rights]`` as ``SeBatchLogonRight = *S-1-5-...,*S-...``:
a right listed there is *defined* by the GPO and replaces the local holders on every
computer the GPO applies to; a right not listed is "Not Defined" and left alone.

:class:`InfDocument` keeps the file as its list of lines, so everything this
collection does not change (other sections, other rights, their order, comments,
the spelling of keys) is written back exactly as it was read. Pure: no I/O.
"""

from __future__ import annotations

import codecs
import difflib
import re
from dataclasses import dataclass, field

from ansible_collections.webfarm.winauth.plugins.module_utils._windows.errors import InvalidInput
from ansible_collections.webfarm.winauth.plugins.module_utils._windows.sid import is_sid, normalize_sid, sid_entry

INF_RELATIVE_PATH = "Machine\\Microsoft\\Windows NT\\SecEdit\\GptTmpl.inf"
PRIVILEGE_SECTION = "Privilege Rights"

# Privilege and logon-right constants a [Privilege Rights] section may hold ([MS-LSAD] 3.1.1.2.1,
# winnt.h and ntsecapi.h), spelled as Windows writes them.
KNOWN_RIGHTS = (
    "SeAssignPrimaryTokenPrivilege", "SeAuditPrivilege", "SeBackupPrivilege", "SeBatchLogonRight",
    "SeChangeNotifyPrivilege", "SeCreateGlobalPrivilege", "SeCreatePagefilePrivilege",
    "SeCreatePermanentPrivilege", "SeCreateSymbolicLinkPrivilege", "SeCreateTokenPrivilege", "SeDebugPrivilege",
    "SeDelegateSessionUserImpersonatePrivilege", "SeDenyBatchLogonRight", "SeDenyInteractiveLogonRight",
    "SeDenyNetworkLogonRight", "SeDenyRemoteInteractiveLogonRight", "SeDenyServiceLogonRight",
    "SeEnableDelegationPrivilege", "SeImpersonatePrivilege", "SeIncreaseBasePriorityPrivilege",
    "SeIncreaseQuotaPrivilege", "SeIncreaseWorkingSetPrivilege", "SeInteractiveLogonRight",
    "SeLoadDriverPrivilege", "SeLockMemoryPrivilege", "SeMachineAccountPrivilege", "SeManageVolumePrivilege",
    "SeNetworkLogonRight", "SeProfileSingleProcessPrivilege", "SeRelabelPrivilege",
    "SeRemoteInteractiveLogonRight", "SeRemoteShutdownPrivilege", "SeRestorePrivilege", "SeSecurityPrivilege",
    "SeServiceLogonRight", "SeShutdownPrivilege", "SeSyncAgentPrivilege", "SeSystemEnvironmentPrivilege",
    "SeSystemProfilePrivilege", "SeSystemtimePrivilege", "SeTakeOwnershipPrivilege", "SeTcbPrivilege",
    "SeTimeZonePrivilege", "SeTrustedCredManAccessPrivilege", "SeUndockPrivilege", "SeUnsolicitedInputPrivilege",
)
_RIGHTS_BY_LOWER = {name.lower(): name for name in KNOWN_RIGHTS}

_SECTION_RE = re.compile(r"^\s*\[(?P<name>[^\]]+)\]\s*$")
_KEY_RE = re.compile(r"^(?P<key>[^=;\[]+?)\s*=(?P<value>.*)$")

# The header lines Windows writes; added when a file we rewrite lacks them.
_UNICODE_SECTION = ["[Unicode]", "Unicode=yes"]
_VERSION_SECTION = ["[Version]", 'signature="$CHICAGO$"', "Revision=1"]


class InfError(InvalidInput):
    """A template that cannot be read safely, or a right name we do not know."""


def canonical_right(name: str) -> str:
    """``sebatchlogonright`` -> ``SeBatchLogonRight``; raise InfError with a suggestion for unknown names."""
    found = _RIGHTS_BY_LOWER.get((name or "").strip().lower())
    if found:
        return found
    close = difflib.get_close_matches((name or "").strip(), KNOWN_RIGHTS, n=1, cutoff=0.6)
    hint = "did you mean %s? " % close[0] if close else ""
    raise InfError("right=%s is not a user right or privilege constant; %suse one of the names in the [Privilege "
                   "Rights] section of a security template, such as SeBatchLogonRight or SeServiceLogonRight"
                   % (name, hint))


def decode_template(data: bytes) -> str:
    """Decode a template as Windows and Samba write them (UTF-16 with BOM; UTF-8 is accepted too)."""
    if data.startswith(codecs.BOM_UTF16_LE):
        encoding, body = "utf-16-le", data[2:]
    elif data.startswith(codecs.BOM_UTF16_BE):
        encoding, body = "utf-16-be", data[2:]
    elif data.startswith(codecs.BOM_UTF8):
        encoding, body = "utf-8", data[3:]
    elif len(data) >= 2 and data[1:2] == b"\x00" and data[0:1] != b"\x00":
        encoding, body = "utf-16-le", data
    else:
        encoding, body = "utf-8", data
    try:
        return body.decode(encoding)
    except UnicodeDecodeError as exc:
        raise InfError("GptTmpl.inf is neither UTF-16 nor UTF-8 (%s at byte %d); it was not changed: fix or remove "
                       "it with the Group Policy editor" % (exc.reason, exc.start)) from exc


@dataclass
class InfDocument:
    """A security template as its lines (without line ends)."""

    lines: list[str] = field(default_factory=list)

    @classmethod
    def parse(cls, data: bytes | None) -> "InfDocument":
        if not data:
            return cls([])
        text = decode_template(data)
        lines = re.split(r"\r\n|\n|\r", text)
        if lines and lines[-1] == "":
            lines.pop()
        return cls(lines)

    @classmethod
    def new(cls) -> "InfDocument":
        return cls(list(_UNICODE_SECTION) + list(_VERSION_SECTION))

    def to_bytes(self) -> bytes:
        """UTF-16 LE with BOM and CRLF line ends, as the Windows security editor writes it."""
        return codecs.BOM_UTF16_LE + "".join(line + "\r\n" for line in self.lines).encode("utf-16-le")

    # -- sections ----------------------------------------------------------
    def section_span(self, name: str) -> tuple[int, int] | None:
        """(index of the header line, index after the section's last line) of the first section ``name``."""
        start = None
        for index, line in enumerate(self.lines):
            match = _SECTION_RE.match(line)
            if not match:
                continue
            if start is not None:
                return start, index
            if match.group("name").strip().lower() == name.lower():
                start = index
        return (start, len(self.lines)) if start is not None else None

    def _find_key(self, section: str, key: str) -> int | None:
        span = self.section_span(section)
        if span is None:
            return None
        for index in range(span[0] + 1, span[1]):
            match = _KEY_RE.match(self.lines[index])
            if match and match.group("key").strip().lower() == key.lower():
                return index
        return None

    # -- [Privilege Rights] ------------------------------------------------
    def privilege(self, right: str) -> list[str] | None:
        """The holders of ``right`` as written (``*S-...`` or names); None when the GPO does not define it."""
        index = self._find_key(PRIVILEGE_SECTION, right)
        if index is None:
            return None
        value = _KEY_RE.match(self.lines[index]).group("value")  # type: ignore[union-attr]
        return [item.strip() for item in value.split(",") if item.strip()]

    def privileges(self) -> list[tuple[str, list[str]]]:
        """Every (right as spelled in the file, holders) of [Privilege Rights], in file order."""
        span = self.section_span(PRIVILEGE_SECTION)
        if span is None:
            return []
        result = []
        for index in range(span[0] + 1, span[1]):
            match = _KEY_RE.match(self.lines[index])
            if match:
                result.append((match.group("key").strip(),
                               [item.strip() for item in match.group("value").split(",") if item.strip()]))
        return result

    def set_privilege(self, right: str, holders: list[str] | None) -> None:
        """Define ``right`` with ``holders`` (None: remove the line, "Not Defined"); other lines stay as they are."""
        index = self._find_key(PRIVILEGE_SECTION, right)
        if holders is None:
            if index is not None:
                del self.lines[index]
            return
        self._ensure_headers()
        if index is not None:
            key = _KEY_RE.match(self.lines[index]).group("key").strip()  # type: ignore[union-attr]
            self.lines[index] = format_privilege_line(key, holders)
            return
        span = self.section_span(PRIVILEGE_SECTION)
        if span is None:
            self.lines.extend(["[%s]" % PRIVILEGE_SECTION, format_privilege_line(right, holders)])
            return
        # After the section's last non-blank line, so a trailing blank line stays trailing.
        insert_at = span[1]
        while insert_at > span[0] + 1 and not self.lines[insert_at - 1].strip():
            insert_at -= 1
        self.lines.insert(insert_at, format_privilege_line(right, holders))

    def _ensure_headers(self) -> None:
        """[Unicode] Unicode=yes first and a [Version] section, as Windows writes every template."""
        span = self.section_span("Unicode")
        if span is None:
            self.lines[0:0] = list(_UNICODE_SECTION)
        else:
            index = self._find_key("Unicode", "Unicode")
            if index is None:
                self.lines.insert(span[0] + 1, "Unicode=yes")
            elif _KEY_RE.match(self.lines[index]).group("value").strip().lower() != "yes":  # type: ignore[union-attr]
                self.lines[index] = "Unicode=yes"
        if self.section_span("Version") is None:
            after = self.section_span("Unicode") or (0, len(_UNICODE_SECTION))
            self.lines[after[1]:after[1]] = list(_VERSION_SECTION)


def format_privilege_line(right: str, holders: list[str]) -> str:
    """``SeBatchLogonRight = *S-1-5-32-544,*S-1-5-21-...``; ``SeBatchLogonRight =`` when defined for nobody."""
    return "%s = %s" % (right, ",".join(holders)) if holders else "%s =" % right


def holder_sid(entry: str, resolved_names: dict[str, str | None] | None = None) -> str | None:
    """The SID a holder entry stands for: ``*S-...`` directly, a name through ``resolved_names``."""
    if entry.startswith("*") or is_sid(entry):
        return normalize_sid(entry) if is_sid(entry) else None
    return (resolved_names or {}).get(entry)


def compute_holders(current: list[str] | None, wanted: list[str], mode: str,
                    resolved_names: dict[str, str | None] | None = None) -> list[str] | None:
    """The holder list after applying ``mode`` (add, remove, exact) with the SIDs ``wanted``.

    Entries already in the file keep their position and spelling (a name entry
    such as ``Guest`` stays a name); new holders are appended as ``*SID``.
    ``None`` means the right is not defined; ``remove`` never defines it.
    """
    wanted_sids: list[str] = []
    for sid in wanted:
        if sid.upper() not in wanted_sids:
            wanted_sids.append(sid.upper())
    if mode not in ("add", "remove", "exact"):
        raise InfError("mode=%s is not one of add, remove, exact" % mode)
    if current is None:
        if mode == "remove":
            return None
        return [sid_entry(sid) for sid in wanted_sids]
    if mode == "remove":
        return [entry for entry in current if holder_sid(entry, resolved_names) not in wanted_sids]
    kept: list[str] = []
    held: list[str] = []
    for entry in current:
        sid = holder_sid(entry, resolved_names)
        if mode == "exact":
            if sid is None or sid not in wanted_sids or sid in held:
                continue
        kept.append(entry)
        if sid:
            held.append(sid)
    return kept + [sid_entry(sid) for sid in wanted_sids if sid not in held]
