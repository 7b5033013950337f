"""The lab twin edits real applicationHost.config files (written by IIS 10, IIS 8.5, IIS Express) surgically.

Each test applies one contract edit to a file a real server wrote and checks that the new file is
exactly the old one with that edit spliced in: same bytes everywhere else (comments, blank lines,
CRLF or LF, byte order mark, attribute order), the new text laid out like its neighbours.
The files live beside the repository (never copied into it); the tests skip when they are absent.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from winauth_lab.iis.config import ConfigEngine, RemoteError

WA = "system.webServer/security/authentication/windowsAuthentication"
POOLS = "system.applicationHost/applicationPools"
ARR = "real-iis/iis10-server_arr-reverse-proxy_applicationHost.config"
CORE = "real-iis/iis10-servercore-container_applicationHost.config"
IIS85 = "real-iis/iis85-server_multisite-apppools_applicationHost.config"
EXPRESS = "real-iis/iisexpress_vs-solution_dotvs_applicationhost.config"


def edited(reference: Path, name: str, *edits: dict) -> tuple[bytes, bytes, ConfigEngine]:
    old = (reference / name).read_bytes()
    engine = ConfigEngine(old)
    result = engine.apply(list(edits))
    assert result["changed"], result
    new = engine.doc.to_bytes()
    ET.fromstring(new)      # still well-formed for any XML parser
    return old, new, engine


def set_wa(location: str, attribute: str, value) -> dict:
    return {"op": "set", "section": WA, "location": location, "path": [], "attribute": attribute, "value": value}


def test_server_level_attribute_on_a_self_closing_element(reference: Path) -> None:
    old, new, engine = edited(reference, ARR, set_wa("", "enabled", True))
    tag = b"<windowsAuthentication />"
    assert old.count(tag) == 1
    assert new == old.replace(tag, b'<windowsAuthentication enabled="true" />')
    assert engine.read({"section": WA})["element"]["attributes"]["enabled"] == {"value": True, "source": "local"}


def test_server_level_value_changes_in_place(reference: Path) -> None:
    old, new, _engine = edited(reference, CORE, set_wa("", "enabled", True), set_wa("", "authPersistNonNTLM", False))
    tag = b'<windowsAuthentication enabled="false" authPersistNonNTLM="true">'
    assert old.count(tag) == 1
    assert new == old.replace(tag, b'<windowsAuthentication enabled="true" authPersistNonNTLM="false">')


def test_site_level_setting_appends_a_location_tag_in_the_files_own_style(reference: Path) -> None:
    old, new, engine = edited(reference, CORE, set_wa("Default Web Site", "enabled", True),
                              set_wa("Default Web Site", "useAppPoolCredentials", True))
    block = ("    <location path=\"Default Web Site\">\n"
             "        <system.webServer>\n"
             "            <security>\n"
             "                <authentication>\n"
             "                    <windowsAuthentication enabled=\"true\" useAppPoolCredentials=\"true\" />\n"
             "                </authentication>\n"
             "            </security>\n"
             "        </system.webServer>\n"
             "    </location>\n").replace("\n", "\r\n").encode()
    end = old.rindex(b"</configuration>")      # a new location goes last, as IIS puts it
    assert new == old[:end] + block + old[end:]
    site = engine.read({"section": WA, "location": "Default Web Site"})["element"]["attributes"]
    assert site["enabled"] == {"value": True, "source": "local"}
    assert site["useKernelMode"] == {"value": True, "source": "default"}


def test_site_level_setting_joins_the_sites_existing_location_tag(reference: Path) -> None:
    old, new, _engine = edited(reference, ARR, set_wa("Default Web Site", "enabled", True))
    location = old.index(b'<location path="Default Web Site">')
    end = old.index(b"        </system.webServer>", location)
    block = ("            <security>\n"
             "                <authentication>\n"
             "                    <windowsAuthentication enabled=\"true\" />\n"
             "                </authentication>\n"
             "            </security>\n").replace("\n", "\r\n").encode()
    assert new == old[:end] + block + old[end:]


def test_site_level_setting_on_an_lf_file(reference: Path) -> None:
    old, new, _engine = edited(reference, IIS85, set_wa("redisoncloud.com", "enabled", True))
    location = old.index(b'<location path="redisoncloud.com">')
    end = old.index(b"        </system.webServer>", location)
    assert new == old[:end] + (b"            <security>\n"
                               b"                <authentication>\n"
                               b"                    <windowsAuthentication enabled=\"true\" />\n"
                               b"                </authentication>\n"
                               b"            </security>\n") + old[end:]


def test_new_collection_item_goes_after_the_last_item(reference: Path) -> None:
    old, new, engine = edited(reference, IIS85, {"op": "add", "section": POOLS, "location": "", "path": [],
                                                 "item": {"name": "cam-pool"}})
    last = old.index(b"</add>", old.index(b'<add name="deneme.com"')) + len(b"</add>")
    assert new == old[:last] + b'\n            <add name="cam-pool" />' + old[last:]
    pool = engine.read({"section": POOLS, "path": [{"name": "cam-pool"}]})["element"]["attributes"]
    # unset attributes come from this server's applicationPoolDefaults (queueLength="4000")
    assert pool["queueLength"] == {"value": 4000, "source": "default"}


def test_iis_express_file_keeps_its_bom_lf_and_two_space_indent(reference: Path) -> None:
    old, new, _engine = edited(reference, EXPRESS, set_wa("WebSite1", "enabled", True))
    assert old.startswith(b"\xef\xbb\xbf") and new.startswith(b"\xef\xbb\xbf")
    end = old.rindex(b"</configuration>")
    block = (b'  <location path="WebSite1">\n'
             b"    <system.webServer>\n"
             b"      <security>\n"
             b"        <authentication>\n"
             b'          <windowsAuthentication enabled="true" />\n'
             b"        </authentication>\n"
             b"      </security>\n"
             b"    </system.webServer>\n"
             b"  </location>\n")
    assert new == old[:end] + block + old[end:]


def test_clear_add_and_remove_at_a_site(reference: Path) -> None:
    old = (reference / CORE).read_bytes()
    engine = ConfigEngine(old)
    path = ["providers"]
    engine.apply([{"op": "clear", "section": WA, "location": "Default Web Site", "path": path},
                  {"op": "add", "section": WA, "location": "Default Web Site", "path": path, "item": {"value": "NTLM"}}])
    assert b"<clear />" in engine.doc.to_bytes()
    assert engine.doc.to_bytes().startswith(old[:old.rindex(b"</configuration>")])
    site = engine.read({"section": WA, "location": "Default Web Site"})
    assert [i["attributes"]["value"]["value"] for i in site["element"]["children"]["providers"]["items"]] == ["NTLM"]
    engine.apply([{"op": "clear", "section": WA, "location": "Default Web Site", "path": path},
                  {"op": "add", "section": WA, "location": "Default Web Site", "path": path,
                   "item": {"value": "Negotiate"}},
                  {"op": "add", "section": WA, "location": "Default Web Site", "path": path, "item": {"value": "NTLM"}}])
    site = engine.read({"section": WA, "location": "Default Web Site"})
    assert [i["attributes"]["value"]["value"] for i in site["element"]["children"]["providers"]["items"]] == [
        "Negotiate", "NTLM"]
    engine.apply([{"op": "remove", "section": WA, "location": "Default Web Site", "path": path,
                   "key": {"value": "Negotiate"}}])
    site = engine.read({"section": WA, "location": "Default Web Site"})
    assert [i["attributes"]["value"]["value"] for i in site["element"]["children"]["providers"]["items"]] == ["NTLM"]


def test_sections_a_server_does_not_declare_are_unknown(reference: Path) -> None:
    engine = ConfigEngine((reference / CORE).read_bytes())     # no URL Rewrite, no ARR on this server
    with pytest.raises(RemoteError) as caught:
        engine.read({"section": "system.webServer/rewrite/globalRules"})
    assert caught.value.code == "unknown_section" and "not declared" in caught.value.message


def test_reads_of_every_supported_section_work_on_every_real_file(reference: Path) -> None:
    for name in (ARR, CORE, IIS85, EXPRESS):
        engine = ConfigEngine((reference / name).read_bytes())
        declared = engine.declarations()
        for section in ("system.applicationHost/applicationPools", "system.applicationHost/sites", WA,
                        "system.webServer/security/authentication/anonymousAuthentication", "webFarms",
                        "system.webServer/rewrite/globalRules", "system.webServer/proxy"):
            if section.lower() not in declared:
                continue
            result = engine.read({"section": section})
            assert result["found"], (name, section)


def test_undoing_an_edit_at_a_site_restores_the_file_byte_for_byte(reference: Path) -> None:
    old = (reference / CORE).read_bytes()
    engine = ConfigEngine(old)
    target = {"section": WA, "location": "Default Web Site", "path": ["providers"]}
    engine.apply([dict(target, op="add", item={"value": "Negotiate:Kerberos"})])
    assert engine.doc.to_bytes() != old
    result = engine.apply([dict(target, op="remove", key={"value": "negotiate:kerberos"})])
    assert result["changed"]
    assert engine.doc.to_bytes() == old       # IIS drops location content an edit leaves empty
