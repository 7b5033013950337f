"""GPO versions, GPT.INI, gPCMachineExtensionNames and the write plan (pure logic)."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from ansible_collections.webfarm.winauth.plugins.module_utils._gpo.gpt import (
    SECURITY_CSE_GUID,
    SECURITY_TOOL_GUID,
    GptError,
    bump_machine,
    gpt_ini_version,
    gpt_ini_with_version,
    has_extension,
    join_version,
    newest,
    parse_extension_names,
    parse_pending_marker,
    pending_marker,
    plan_versioned_change,
    split_version,
    version_from_directory,
    version_to_directory,
    with_extension,
)

REFERENCE_GPO = Path(__file__).resolve().parents[4].parent / "shared" / "reference" / "gpo"
REGISTRY = "[{35378EAC-683F-11D2-A89A-00C04FBBCFA2}{D02B1F72-3407-48AE-BA88-E8213C6761F1}]"
EFS = "[{B1BE8D72-6EAC-11D2-A4EA-00C04F79F83A}{53D6AB1B-2488-11D1-A28C-00C04FB94F17}]"
SECURITY = "[%s%s]" % (SECURITY_CSE_GUID, SECURITY_TOOL_GUID)


# ----------------------------------------------------------------- versions

def test_version_halves() -> None:
    assert split_version(0x00020005) == (2, 5)
    assert join_version(2, 5) == 0x00020005
    assert bump_machine(0x00020005) == 0x00020006  # user half untouched
    assert bump_machine(0x0002FFFF) == 0x00020001  # wraps past 0, which means "no settings"
    assert newest(0x00030001, 0x00010004) == 0x00030004


def test_signed_directory_values() -> None:
    assert version_from_directory("-2147221504") == 0x80040000
    assert version_to_directory(0x80040000) == -2147221504
    assert version_to_directory(65537) == 65537
    assert version_from_directory(None) == 0


# ----------------------------------------------------------------- GPT.INI

def test_samba_style_gpt_ini_without_final_newline() -> None:
    data = b"[General]\r\nVersion=0"
    assert gpt_ini_version(data) == 0
    assert gpt_ini_with_version(data, 1) == b"[General]\r\nVersion=1"


def test_only_the_version_digits_change_and_other_bytes_stay() -> None:
    display = "displayName=Тестовая политика".encode("cp1251")
    data = b"[General]\r\nVersion=131075\r\n" + display + b"\r\n"
    assert gpt_ini_version(data) == 131075
    assert gpt_ini_with_version(data, 131076) == b"[General]\r\nVersion=131076\r\n" + display + b"\r\n"


def test_spacing_and_line_ends_are_kept() -> None:
    data = b"[General]\nVersion = 1179715\ndisplayName = New Group Policy Object\n"
    assert gpt_ini_version(data) == 1179715
    assert gpt_ini_with_version(data, 1179716) == data.replace(b"1179715", b"1179716")


def test_version_outside_general_is_ignored_and_a_missing_line_is_added() -> None:
    data = b"[Other]\r\nVersion=9\r\n[General]\r\ndisplayName=x\r\n"
    assert gpt_ini_version(data) is None
    assert gpt_ini_with_version(data, 3) == b"[Other]\r\nVersion=9\r\n[General]\r\nVersion=3\r\ndisplayName=x\r\n"
    assert gpt_ini_with_version(b"", 3) == b"[General]\r\nVersion=3\r\n"
    assert gpt_ini_with_version(b"x=1\r\n", 3) == b"[General]\r\nVersion=3\r\nx=1\r\n"


def test_real_cp1251_gpt_ini() -> None:
    path = REFERENCE_GPO / "windows-sysvol_GPT.INI_cp1251-displayName"
    if not path.is_file():
        pytest.skip("reference file not available")
    data = path.read_bytes()
    version = gpt_ini_version(data)
    assert split_version(version) == (149, 18)
    changed = gpt_ini_with_version(data, bump_machine(version))
    assert gpt_ini_version(changed) == join_version(149, 19)
    assert changed.replace(b"%d" % bump_machine(version), b"%d" % version) == data


# ----------------------------------------------------------------- extension names

@pytest.mark.parametrize("before, after", [
    ("", SECURITY),
    (REGISTRY, REGISTRY + SECURITY),
    (EFS, SECURITY + EFS),
    (REGISTRY + EFS, REGISTRY + SECURITY + EFS),
    (REGISTRY + SECURITY + EFS, REGISTRY + SECURITY + EFS),
    ("[{00000000-0000-0000-0000-000000000000}{D02B1F72-3407-48AE-BA88-E8213C6761F1}]",
     "[{00000000-0000-0000-0000-000000000000}{D02B1F72-3407-48AE-BA88-E8213C6761F1}]" + SECURITY),
])
def test_security_cse_is_inserted_in_sorted_place(before: str, after: str) -> None:
    assert with_extension(before, SECURITY_CSE_GUID, SECURITY_TOOL_GUID) == after
    assert has_extension(after, SECURITY_CSE_GUID, SECURITY_TOOL_GUID)


def test_tool_is_added_to_an_existing_cse_group_in_order_and_other_groups_keep_their_text() -> None:
    lower_registry = REGISTRY.lower()
    value = lower_registry + "[%s{00000000-1111-2222-3333-444444444444}]" % SECURITY_CSE_GUID
    assert not has_extension(value, SECURITY_CSE_GUID, SECURITY_TOOL_GUID)
    assert with_extension(value, SECURITY_CSE_GUID, SECURITY_TOOL_GUID) == \
        lower_registry + "[%s{00000000-1111-2222-3333-444444444444}%s]" % (SECURITY_CSE_GUID, SECURITY_TOOL_GUID)


def test_malformed_extension_names_are_refused() -> None:
    with pytest.raises(GptError):
        parse_extension_names("[{35378EAC-683F-11D2-A89A-00C04FBBCFA2}junk]")
    with pytest.raises(GptError):
        with_extension("not a list", SECURITY_CSE_GUID, SECURITY_TOOL_GUID)


# ----------------------------------------------------------------- pending marker and write plan

def test_pending_marker_round_trip() -> None:
    assert parse_pending_marker(pending_marker(0x00020005)) == 0x00020005
    assert parse_pending_marker(None) is None
    assert parse_pending_marker(b"damaged") == 0


def test_a_change_writes_content_before_versions_and_the_directory_version_last() -> None:
    plan = plan_versioned_change(True, True, 0x00020005, 0x00020005, None)
    assert plan.steps == ["marker", "template", "extensions", "gpt_ini", "container", "clear_marker"]
    assert plan.target_version == 0x00020006


def test_nothing_to_do() -> None:
    plan = plan_versioned_change(False, False, 7, 7, None)
    assert plan.steps == [] and plan.target_version == 7 and not plan.changed


def test_versions_that_disagree_without_a_marker_are_left_alone_when_nothing_changes() -> None:
    assert plan_versioned_change(False, False, 7, 8, None).steps == []


def test_extension_only_change_is_announced() -> None:
    plan = plan_versioned_change(False, True, 1, 1, None)
    assert plan.steps == ["marker", "extensions", "gpt_ini", "container", "clear_marker"]
    assert plan.target_version == 2


def test_interrupted_after_the_template_is_announced_by_the_next_run() -> None:
    plan = plan_versioned_change(False, False, 5, 5, 5)
    assert plan.steps == ["gpt_ini", "container", "clear_marker"] and plan.target_version == 6


def test_interrupted_after_gpt_ini_only_the_directory_catches_up() -> None:
    plan = plan_versioned_change(False, False, 5, 6, 5)
    assert plan.steps == ["container", "clear_marker"] and plan.target_version == 6


def test_interrupted_before_removing_the_marker() -> None:
    plan = plan_versioned_change(False, False, 6, 6, 5)
    assert plan.steps == ["clear_marker"] and plan.target_version == 6


def test_new_change_on_top_of_an_interrupted_one_keeps_the_marker_and_bumps_once() -> None:
    plan = plan_versioned_change(True, False, 5, 5, 5)
    assert plan.steps == ["template", "gpt_ini", "container", "clear_marker"] and plan.target_version == 6


def test_missing_gpt_ini_version_reads_as_the_directory_version() -> None:
    plan = plan_versioned_change(True, False, 3, None, None)
    assert plan.target_version == 4 and "gpt_ini" in plan.steps


def test_every_plan_keeps_the_announcement_order() -> None:
    order = ["marker", "template", "extensions", "gpt_ini", "container", "clear_marker"]
    for template, extensions, ad, ini, marker in itertools.product(
            (False, True), (False, True), (5, 6), (5, 6, None), (None, 5)):
        plan = plan_versioned_change(template, extensions, ad, ini, marker)
        assert plan.steps == sorted(plan.steps, key=order.index)
        if plan.steps:
            assert plan.steps[-1] == "clear_marker"
            assert plan.target_version > (marker if marker is not None else min(ad, ini if ini is not None else ad)) \
                or not (template or extensions)
        if template or extensions:
            assert split_version(plan.target_version)[1] > max(ad, ini or 0)
