# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""GPO versions, GPT.INI, client-side extension names, and the order of writes.

* A GPO version is one 32-bit number: the high 16 bits count user-policy edits,
  the low 16 bits computer-policy edits ([MS-GPOL] 2.2.4). The same number is
  stored twice: ``versionNumber`` on the container in AD and ``Version=`` in the
  ``GPT.INI`` of its SYSVOL folder. Clients reprocess a GPO when the number they
  read differs from the one they applied last.
* ``GPT.INI`` is written by Windows in the ANSI code page (a display name in it
  may be cp1251 or anything else): it is edited here as bytes, and only the
  digits of ``Version=`` ever change.
* ``gPCMachineExtensionNames`` lists ``[{CSE}{tool}...]`` groups, sorted by CSE
  GUID; a client runs a client-side extension (CSE) only for GPOs that list it.
  User rights are applied by the Security CSE ([MS-GPSB] 1.9).

Pure: no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ansible_collections.webfarm.winauth.plugins.module_utils._windows.errors import InvalidInput

SECURITY_CSE_GUID = "{827D319E-6EAC-11D2-A4EA-00C04F79F83A}"
SECURITY_TOOL_GUID = "{803E14A0-B4FB-11D0-A0D0-00A0C90F574B}"

GPT_INI_NEW = b"[General]\r\nVersion=0\r\n"

# A small file next to GptTmpl.inf that exists only while a change is being written:
# it records the version announced before the change, so that a run interrupted
# after writing the template still announces it (see plan_versioned_change).
PENDING_MARKER_NAME = "GptTmpl.inf.webfarm-winauth-pending"
# A file is written to a temporary name beside it, then renamed over it; each run names its own
# (``GptTmpl.inf.webfarm-winauth-tmp-<run>``), so concurrent writers never write or rename each other's.
TEMPORARY_MARK = ".webfarm-winauth-tmp-"

_MAX_HALF = 0xFFFF


class GptError(InvalidInput):
    """A GPT.INI, version or extension list that cannot be handled safely."""


def temporary_name(name: str, run: str) -> str:
    """The temporary file of one run for ``name`` (same folder)."""
    return name + TEMPORARY_MARK + run


# --------------------------------------------------------------------------- versions

def split_version(version: int) -> tuple[int, int]:
    """(user, machine) halves of a GPO version."""
    version &= 0xFFFFFFFF
    return version >> 16, version & _MAX_HALF


def join_version(user: int, machine: int) -> int:
    return ((user & _MAX_HALF) << 16) | (machine & _MAX_HALF)


def version_from_directory(value: int | str | None) -> int:
    """``versionNumber`` is a signed 32-bit LDAP integer; a user half above 0x7FFF reads negative."""
    if value in (None, ""):
        return 0
    return int(value) & 0xFFFFFFFF


def version_to_directory(version: int) -> int:
    version &= 0xFFFFFFFF
    return version - 0x100000000 if version & 0x80000000 else version


def bump_machine(version: int) -> int:
    """Count one more computer-policy edit; the user half is untouched.

    After 65535 edits the machine half wraps to 1, not 0: 0 means "no computer
    settings", and any value different from the last applied one makes clients
    reprocess.
    """
    user, machine = split_version(version)
    machine = machine + 1 if machine < _MAX_HALF else 1
    return join_version(user, machine)


def newest(*versions: int) -> int:
    """Half by half, the highest of several readings of one GPO's version."""
    users, machines = zip(*(split_version(v) for v in versions))
    return join_version(max(users), max(machines))


def describe_version(version: int) -> str:
    user, machine = split_version(version)
    return "%d (user %d, computer %d)" % (version, user, machine)


# --------------------------------------------------------------------------- GPT.INI

_SECTION_LINE = re.compile(rb"^[ \t]*\[(?P<name>[^\]\r\n]*)\][ \t]*(\r?\n|\r|$)", re.MULTILINE)
_VERSION_LINE = re.compile(rb"^(?P<lead>[ \t]*version[ \t]*=[ \t]*)(?P<digits>-?\d+)", re.MULTILINE | re.IGNORECASE)


def _general_span(data: bytes) -> tuple[int, int] | None:
    """Byte range of the [General] section body, or None."""
    sections = list(_SECTION_LINE.finditer(data))
    for index, match in enumerate(sections):
        if match.group("name").strip().lower() == b"general":
            end = sections[index + 1].start() if index + 1 < len(sections) else len(data)
            return match.end(), end
    return None


def gpt_ini_version(data: bytes | None) -> int | None:
    """The ``Version=`` of [General], or None when the file or the line is missing."""
    if not data:
        return None
    span = _general_span(data)
    if span is None:
        return None
    match = _VERSION_LINE.search(data, span[0], span[1])
    if not match:
        return None
    return int(match.group("digits")) & 0xFFFFFFFF


def gpt_ini_with_version(data: bytes | None, version: int) -> bytes:
    """``data`` with [General] Version set to ``version``; every other byte kept as it was."""
    digits = b"%d" % (version & 0xFFFFFFFF)
    if not data:
        return b"[General]\r\nVersion=" + digits + b"\r\n"
    newline = b"\r\n" if b"\r\n" in data else (b"\n" if b"\n" in data else b"\r\n")
    span = _general_span(data)
    if span is None:
        return b"[General]" + newline + b"Version=" + digits + newline + data
    match = _VERSION_LINE.search(data, span[0], span[1])
    if match:
        return data[:match.start("digits")] + digits + data[match.end("digits"):]
    insert = span[0]
    prefix = data[:insert]
    if not prefix.endswith((b"\n", b"\r")):
        prefix += newline
    return prefix + b"Version=" + digits + newline + data[insert:]


# --------------------------------------------------------------------------- extension names

_GROUP_RE = re.compile(r"\[([^\[\]]*)\]")
_GUID_RE = re.compile(r"\{[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\}")


def parse_extension_names(value: str | None) -> list[list[str]]:
    """``[{CSE}{tool}][{CSE2}{tool2}{tool3}]`` -> [[CSE, tool], [CSE2, tool2, tool3]]."""
    value = (value or "").strip()
    if not value:
        return []
    groups = []
    rest = _GROUP_RE.sub("", value).strip()
    if rest:
        raise GptError("gPCMachineExtensionNames %r is not a list of [{GUID}{GUID}...] groups; it was not changed"
                       % value)
    for match in _GROUP_RE.finditer(value):
        guids = _GUID_RE.findall(match.group(1))
        if not guids or "".join(guids) != match.group(1).strip():
            raise GptError("gPCMachineExtensionNames group [%s] is not a list of {GUID}s; it was not changed"
                           % match.group(1))
        groups.append(guids)
    return groups


def with_extension(value: str | None, cse: str, tool: str) -> str:
    """``value`` with the (cse, tool) pair registered, sorted as Windows keeps the list.

    Groups are in ascending CSE GUID order and tool GUIDs ascending inside a
    group (compared case-insensitively). Groups other than the one for ``cse``
    are copied exactly as they were.
    """
    value = (value or "").strip()
    groups = parse_extension_names(value)
    raw_groups = [m.group(0) for m in _GROUP_RE.finditer(value)]
    key = cse.upper()
    for index, guids in enumerate(groups):
        if guids[0].upper() == key:
            if any(g.upper() == tool.upper() for g in guids[1:]):
                return value
            tools = sorted(guids[1:] + [tool.upper()], key=str.upper)
            raw_groups[index] = "[" + guids[0] + "".join(tools) + "]"
            return "".join(raw_groups)
    position = len(groups)
    for index, guids in enumerate(groups):
        if guids[0].upper() > key:
            position = index
            break
    raw_groups.insert(position, "[%s%s]" % (key, tool.upper()))
    return "".join(raw_groups)


def has_extension(value: str | None, cse: str, tool: str) -> bool:
    for guids in parse_extension_names(value):
        if guids[0].upper() == cse.upper() and any(g.upper() == tool.upper() for g in guids[1:]):
            return True
    return False


# --------------------------------------------------------------------------- pending marker

def pending_marker(base_version: int) -> bytes:
    return b"webfarm.winauth: a change to this GPO is being written\r\nbase_version=%d\r\n" % base_version


def parse_pending_marker(data: bytes | None) -> int | None:
    """The version announced before the interrupted change, or None when there is no marker."""
    if data is None:
        return None
    match = re.search(rb"base_version=(\d+)", data)
    return int(match.group(1)) & 0xFFFFFFFF if match else 0


# --------------------------------------------------------------------------- the write plan

@dataclass
class VersionedChangePlan:
    """What to write, in which order, to change a GPO's computer policy and announce it.

    Steps, in order (each only when needed):

    1. ``marker``      SYSVOL: record the version announced so far (pending marker)
    2. ``template``    SYSVOL: write GptTmpl.inf (temporary file, then rename over)
    3. ``extensions``  AD: add the Security CSE pair to gPCMachineExtensionNames
    4. ``gpt_ini``     SYSVOL: GPT.INI Version = target
    5. ``container``   AD: versionNumber = target
    6. ``clear_marker`` SYSVOL: remove the marker

    The content is in place before any version says it changed, and AD's number,
    the one clients compare first, is written last. A run stopped anywhere leaves
    the marker behind (or nothing changed yet); the next run sees it and finishes
    the announcement with a version above the recorded one.
    """

    steps: list[str] = field(default_factory=list)
    target_version: int = 0
    announced_version: int = 0
    completes_interrupted_change: bool = False

    @property
    def changed(self) -> bool:
        return bool(self.steps)


def plan_versioned_change(template_changes: bool, extensions_change: bool, container_version: int,
                          gpt_ini_version_value: int | None, marker_base: int | None) -> VersionedChangePlan:
    """Plan the writes for a computer-policy change (pure; see :class:`VersionedChangePlan`)."""
    ini = container_version if gpt_ini_version_value is None else gpt_ini_version_value
    announced = newest(container_version, ini)
    interrupted = marker_base is not None and split_version(announced)[1] <= split_version(marker_base)[1]
    bump = template_changes or extensions_change or interrupted
    plan = VersionedChangePlan(announced_version=announced, completes_interrupted_change=marker_base is not None)
    if not bump and marker_base is None:
        plan.target_version = announced
        return plan
    plan.target_version = bump_machine(announced) if bump else announced
    if marker_base is None:
        plan.steps.append("marker")
    if template_changes:
        plan.steps.append("template")
    if extensions_change:
        plan.steps.append("extensions")
    if gpt_ini_version_value != plan.target_version:
        plan.steps.append("gpt_ini")
    if container_version != plan.target_version:
        plan.steps.append("container")
    plan.steps.append("clear_marker")
    return plan
