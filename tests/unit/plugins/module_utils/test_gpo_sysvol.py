"""SYSVOL path and credential helpers (no network)."""

from __future__ import annotations

import pytest

from ansible_collections.webfarm.winauth.plugins.module_utils._directory.options import ConnectionOptions
from ansible_collections.webfarm.winauth.plugins.module_utils._gpo.container import guid_of
from ansible_collections.webfarm.winauth.plugins.module_utils._gpo.sysvol import SysvolError, join, sysvol_for
from ansible_collections.webfarm.winauth.plugins.module_utils._gpo.sysvol_path import (
    SysvolPathError,
    gpo_folder,
    split_unc,
)


def test_split_unc() -> None:
    assert split_unc("\\\\camtest.local\\SysVol\\camtest.local\\Policies\\{ABC}") == \
        ("camtest.local", "SysVol", "camtest.local\\Policies\\{ABC}")
    assert split_unc("//camtest.local/sysvol/camtest.local/Policies/{ABC}")[2] == "camtest.local\\Policies\\{ABC}"
    for bad in ("camtest.local\\SysVol\\x", "\\\\camtest.local\\SysVol", ""):
        with pytest.raises(SysvolError):
            split_unc(bad)
    assert join("a\\", "\\b", "", "c") == "a\\b\\c"


GUID = "{31B2F340-016D-11D2-945F-00C04FB984F9}"
OTHER = "{6AC1786C-016F-11D2-945F-00C04FB984F9}"


def test_a_gpo_folder_is_its_own_guid_in_the_domains_sysvol() -> None:
    assert gpo_folder("\\\\camtest.local\\SysVol\\camtest.local\\Policies\\%s" % GUID, "camtest.local", GUID) == \
        "camtest.local\\Policies\\%s" % GUID
    # Case never matters (Windows writes sysvol, GPMC SysVol, GUIDs in either case).
    assert gpo_folder("\\\\CAMTEST.LOCAL\\sysvol\\CamTest.Local\\policies\\%s" % GUID.lower(), "camtest.local",
                      GUID) == "CamTest.Local\\policies\\%s" % GUID.lower()


@pytest.mark.parametrize("planted", [
    "\\\\camtest.local\\SysVol\\camtest.local",                                 # the SYSVOL root of the domain
    "\\\\camtest.local\\SysVol\\camtest.local\\Policies",                     # every GPO at once
    "\\\\camtest.local\\SysVol\\camtest.local\\Policies\\" + OTHER,          # another GPO
    "\\\\camtest.local\\SysVol\\camtest.local\\scripts",                      # NETLOGON's folder
    "\\\\camtest.local\\NETLOGON\\Policies\\" + GUID,                         # another share
    "\\\\camtest.local\\SysVol\\camtest.local\\Policies\\%s\\.." % GUID,     # traversal
    "\\\\camtest.local\\SysVol\\camtest.local\\Policies\\..\\" + GUID,
    "\\\\camtest.local\\SysVol\\camtest.local\\Policies\\%s\\Machine" % GUID,  # a subfolder
    "\\\\evil.example\\SysVol\\evil.example\\Policies\\" + GUID,             # another domain
    "\\\\camtest.local\\SysVol\\other.local\\Policies\\" + GUID,
    "\\\\camtest.local\\SysVol\\camtest.local\\\\Policies\\" + GUID,        # an empty component
    "//camtest.local/SysVol/camtest.local/Policies/" + GUID,                    # not the form Windows writes
    "camtest.local\\SysVol\\camtest.local\\Policies\\" + GUID,                  # not UNC
    "",
])
def test_a_planted_gpc_file_sys_path_is_refused_naming_the_attribute_and_the_fix(planted: str) -> None:
    with pytest.raises(SysvolPathError) as refused:
        gpo_folder(planted, "camtest.local", GUID, "web farm")
    message = str(refused.value)
    assert "gPCFileSysPath of GPO web farm %s is %r" % (GUID, planted) in message
    assert "set gPCFileSysPath of %s back to \\\\camtest.local\\SysVol\\camtest.local\\Policies\\%s" % (
        GUID, GUID) in message


def test_sysvol_uses_the_directory_credentials() -> None:
    simple = ConnectionOptions(auth="simple", username="admin@camtest.local", password="secret")
    session = sysvol_for(simple, "127.0.0.10", "DC1.camtest.local")
    assert (session.server, session.hostname, session.share) == ("127.0.0.10", "DC1.camtest.local", "SysVol")
    assert session._protocol == "ntlm"  # pylint: disable=protected-access
    kerberos = ConnectionOptions(auth="kerberos")
    assert sysvol_for(kerberos, "dc1", "DC1.camtest.local")._protocol == "kerberos"  # pylint: disable=protected-access


def test_a_dn_cannot_authenticate_to_sysvol_and_the_password_is_not_in_the_message() -> None:
    options = ConnectionOptions(auth="simple", username="CN=Admin,CN=Users,DC=camtest,DC=local", password="secret")
    with pytest.raises(SysvolError, match="username=CN=Admin,CN=Users,DC=camtest,DC=local cannot authenticate") as exc:
        sysvol_for(options, "dc1", "DC1")
    assert "secret" not in str(exc.value)


def test_gpo_references() -> None:
    assert guid_of("{6ac1786c-016f-11d2-945f-00c04fb984f9}") == "{6AC1786C-016F-11D2-945F-00C04FB984F9}"
    assert guid_of("6AC1786C-016F-11D2-945F-00C04FB984F9") == "{6AC1786C-016F-11D2-945F-00C04FB984F9}"
    assert guid_of("IIS-BatchLogon") is None
