"""GptTmpl.inf codec and [Privilege Rights] editing (pure logic)."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from ansible_collections.webfarm.winauth.plugins.module_utils._gpo.inf import (
    InfDocument,
    InfError,
    canonical_right,
    compute_holders,
    decode_template,
    format_privilege_line,
)
from ansible_collections.webfarm.winauth.plugins.module_utils._windows.principals import well_known_name, well_known_sid
from ansible_collections.webfarm.winauth.plugins.module_utils._windows.sid import is_sid, normalize_sid

REFERENCE_GPO = Path(__file__).resolve().parents[4].parent / "shared" / "reference" / "gpo"
SVC = "S-1-5-21-1111-2222-3333-1105"
OTHER = "S-1-5-21-1111-2222-3333-1001"

# Our own template, laid out as the Windows security editor writes one.
TEMPLATE_LINES = [
    "[Unicode]",
    "Unicode=yes",
    "[System Access]",
    "MinimumPasswordAge = 1",
    "[Event Audit]",
    "AuditLogonEvents = 3",
    "[Registry Values]",
    "MACHINE\\Software\\Example\\Policies\\Value=4,1",
    "[Privilege Rights]",
    "SeServiceLogonRight = *S-1-5-20,*%s" % OTHER,
    "SeDenyBatchLogonRight = *S-1-5-32-546,Guest",
    "SeTcbPrivilege =",
    "[Group Membership]",
    "*S-1-5-32-544__Members = *S-1-5-21-1111-2222-3333-500",
    "[Version]",
    'signature="$CHICAGO$"',
    "Revision=1",
]


def encode(lines: list[str], encoding: str = "utf-16-le", bom: bytes = codecs.BOM_UTF16_LE,
           newline: str = "\r\n") -> bytes:
    return bom + "".join(line + newline for line in lines).encode(encoding)


def reference(name: str) -> bytes:
    path = REFERENCE_GPO / name
    if not path.is_file():
        pytest.skip("reference file %s not available" % name)
    return path.read_bytes()


def test_round_trip_keeps_every_byte() -> None:
    data = encode(TEMPLATE_LINES)
    assert InfDocument.parse(data).to_bytes() == data


def test_reading_rights() -> None:
    doc = InfDocument.parse(encode(TEMPLATE_LINES))
    assert doc.privilege("SeServiceLogonRight") == ["*S-1-5-20", "*" + OTHER]
    assert doc.privilege("seservicelogonright") == ["*S-1-5-20", "*" + OTHER]
    assert doc.privilege("SeTcbPrivilege") == []  # defined, nobody
    assert doc.privilege("SeBatchLogonRight") is None  # not defined
    names = [right[0] for right in doc.privileges()]
    assert names == ["SeServiceLogonRight", "SeDenyBatchLogonRight", "SeTcbPrivilege"]


def test_new_right_is_added_at_the_end_of_its_section_and_nothing_else_moves() -> None:
    doc = InfDocument.parse(encode(TEMPLATE_LINES))
    doc.set_privilege("SeBatchLogonRight", ["*" + SVC])
    expected = list(TEMPLATE_LINES)
    expected.insert(TEMPLATE_LINES.index("[Group Membership]"), "SeBatchLogonRight = *" + SVC)
    assert doc.lines == expected
    data = doc.to_bytes()
    assert data.startswith(codecs.BOM_UTF16_LE)
    text = data[2:].decode("utf-16-le")
    assert text.count("\r\n") == len(expected) and "\n" not in text.replace("\r\n", "")


def test_changing_a_right_rewrites_only_its_line_and_keeps_its_spelling() -> None:
    lines = list(TEMPLATE_LINES)
    lines[9] = "seservicelogonright = *S-1-5-20"
    doc = InfDocument.parse(encode(lines))
    doc.set_privilege("SeServiceLogonRight", ["*S-1-5-20", "*" + SVC])
    assert doc.lines[9] == "seservicelogonright = *S-1-5-20,*" + SVC
    assert doc.lines[:9] == lines[:9] and doc.lines[10:] == lines[10:]


def test_undefining_a_right_removes_its_line_only() -> None:
    doc = InfDocument.parse(encode(TEMPLATE_LINES))
    doc.set_privilege("SeDenyBatchLogonRight", None)
    assert doc.lines == [line for line in TEMPLATE_LINES if not line.startswith("SeDenyBatchLogonRight")]
    doc.set_privilege("SeBatchLogonRight", None)  # not there: no-op
    assert len(doc.lines) == len(TEMPLATE_LINES) - 1


def test_defined_for_nobody_is_written_as_windows_does() -> None:
    assert format_privilege_line("SeBatchLogonRight", []) == "SeBatchLogonRight ="
    assert format_privilege_line("SeBatchLogonRight", ["*S-1-5-32-544", "*" + SVC]) == \
        "SeBatchLogonRight = *S-1-5-32-544,*" + SVC


def test_new_template_has_the_windows_headers() -> None:
    doc = InfDocument.new()
    doc.set_privilege("SeBatchLogonRight", ["*" + SVC])
    assert doc.lines == ["[Unicode]", "Unicode=yes", "[Version]", 'signature="$CHICAGO$"', "Revision=1",
                         "[Privilege Rights]", "SeBatchLogonRight = *" + SVC]


def test_missing_headers_are_added_when_the_file_is_rewritten() -> None:
    doc = InfDocument.parse(encode(["[System Access]", "MinimumPasswordAge = 1"]))
    doc.set_privilege("SeBatchLogonRight", ["*" + SVC])
    assert doc.lines == ["[Unicode]", "Unicode=yes", "[Version]", 'signature="$CHICAGO$"', "Revision=1",
                         "[System Access]", "MinimumPasswordAge = 1", "[Privilege Rights]", "SeBatchLogonRight = *" + SVC]


def test_utf8_and_lf_input_is_read_and_written_back_as_utf16_crlf() -> None:
    data = encode(TEMPLATE_LINES, encoding="utf-8", bom=b"", newline="\n")
    doc = InfDocument.parse(data)
    assert doc.lines == TEMPLATE_LINES
    assert doc.to_bytes() == encode(TEMPLATE_LINES)


def test_undecodable_template_is_refused_not_clobbered() -> None:
    with pytest.raises(InfError, match="neither UTF-16 nor UTF-8"):
        decode_template(b"[Unicode]\r\n\xff\xfe\xfd garbage \x80")


@pytest.mark.parametrize("current, wanted, mode, expected", [
    (None, [SVC], "add", ["*" + SVC]),
    (None, [SVC], "exact", ["*" + SVC]),
    (None, [SVC], "remove", None),
    (["*S-1-5-32-544"], [SVC], "add", ["*S-1-5-32-544", "*" + SVC]),
    (["*S-1-5-32-544", "*" + SVC.lower()], [SVC], "add", ["*S-1-5-32-544", "*" + SVC.lower()]),
    (["*S-1-5-32-544", "*" + SVC], [SVC], "remove", ["*S-1-5-32-544"]),
    (["*" + SVC], [SVC], "remove", []),
    (["*S-1-5-32-544", "*" + SVC, "*" + SVC], [SVC, OTHER], "exact", ["*" + SVC, "*" + OTHER]),
    ([], [SVC], "add", ["*" + SVC]),
    ([], [], "exact", []),
])
def test_compute_holders(current, wanted, mode, expected) -> None:
    assert compute_holders(current, wanted, mode) == expected


def test_name_entries_count_as_their_sid_and_keep_their_spelling() -> None:
    resolved = {"Guest": "S-1-5-21-1111-2222-3333-501", "Foobar": None}
    current = ["Guest", "Foobar", "*S-1-5-32-544"]
    assert compute_holders(current, ["S-1-5-21-1111-2222-3333-501"], "add", resolved) == current
    assert compute_holders(current, ["S-1-5-21-1111-2222-3333-501"], "remove", resolved) == ["Foobar", "*S-1-5-32-544"]
    assert compute_holders(current, ["S-1-5-32-544"], "exact", resolved) == ["*S-1-5-32-544"]


def test_unknown_mode_is_refused() -> None:
    with pytest.raises(InfError, match="mode=replace"):
        compute_holders([], [SVC], "replace")


def test_canonical_right_names() -> None:
    assert canonical_right("sebatchlogonright") == "SeBatchLogonRight"
    assert canonical_right(" SeServiceLogonRight ") == "SeServiceLogonRight"
    with pytest.raises(InfError, match="right=SeBatchLogonRigth .*did you mean SeBatchLogonRight"):
        canonical_right("SeBatchLogonRigth")
    with pytest.raises(InfError, match="right=LogonAsBatch is not"):
        canonical_right("LogonAsBatch")


def test_well_known_principals() -> None:
    assert well_known_sid("BUILTIN\\Administrators") == "S-1-5-32-544"
    assert well_known_sid("administrators") == "S-1-5-32-544"
    assert well_known_sid("NT AUTHORITY\\Network Service") == "S-1-5-20"
    assert well_known_sid("IIS_IUSRS") == "S-1-5-32-568"
    assert well_known_sid("cam-svc") is None
    assert well_known_name("s-1-5-32-559") == "BUILTIN\\Performance Log Users"
    assert is_sid("*S-1-5-32-544") and is_sid("S-1-5-21-1-2-3-1105") and not is_sid("S-1-x")
    assert normalize_sid("*s-1-5-32-544") == "S-1-5-32-544"


# ----------------------------------------------------------------- real files (read only, when present)

def test_gpmc_backup_template_keeps_its_23_other_rights() -> None:
    data = reference("gpmc-backup_DefaultDomainControllersPolicy_GptTmpl.inf")
    doc = InfDocument.parse(data)
    assert doc.to_bytes() == data
    before = doc.privileges()
    assert len(before) == 24
    current = doc.privilege("SeBatchLogonRight")
    doc.set_privilege("SeBatchLogonRight", compute_holders(current, [SVC], "add"))
    after = doc.privileges()
    assert [right[0] for right in after] == [right[0] for right in before]
    for (key, holders), (_key, new_holders) in zip(before, after):
        if key == "SeBatchLogonRight":
            assert new_holders == holders + ["*" + SVC]
        else:
            assert new_holders == holders
    original = InfDocument.parse(data).lines
    changed = [i for i, (a, b) in enumerate(zip(original, doc.lines)) if a != b]
    assert len(changed) == 1 and len(original) == len(doc.lines)
    assert doc.lines[-3:] == ["[Version]", 'signature="$CHICAGO$"', "Revision=1"]


def test_secedit_template_with_an_empty_batch_logon_right() -> None:
    doc = InfDocument.parse(reference("secedit-template_win10-local_empty-SeBatchLogonRight_GptTmpl.inf"))
    assert doc.privilege("SeBatchLogonRight") == []
    assert doc.privilege("SeDenyNetworkLogonRight")[0] == "DenyNetworkAccess"
    lines_before = list(doc.lines)
    doc.set_privilege("SeBatchLogonRight", compute_holders([], [SVC], "add"))
    index = next(i for i, line in enumerate(lines_before) if line.startswith("SeBatchLogonRight"))
    assert doc.lines[index] == "SeBatchLogonRight = *" + SVC
    assert doc.lines[:index] == lines_before[:index] and doc.lines[index + 1:] == lines_before[index + 1:]


def test_samba_testdata_template_with_name_holders() -> None:
    doc = InfDocument.parse(reference("samba-testdata_generalized-gpo-backup_GptTmpl.inf"))
    holders = doc.privilege("SeTcbPrivilege")
    assert "Guest" in holders and "Foobar" in holders
    assert compute_holders(holders, ["S-1-5-32-544"], "add") == holders
