"""The collection's IIS schema table: checked entry by entry against Microsoft's schema files, plus value rules."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis import schema
from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis import sections
from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis import values as schema_values
from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis.schema import SchemaValueError

SCHEMA_FILES = ("IIS_schema.iis10-2015.xml", "arr_schema.xml", "rewrite_schema.xml", "webfarm_schema.xml")
# Sections declared in configSections of a real IIS 10 server with ARR 3 and URL Rewrite.
REAL_APPHOST = "real-iis/iis10-server_arr-reverse-proxy_applicationHost.config"


def _schema_nodes(reference: Path) -> dict[str, list[ET.Element]]:
    nodes: dict[str, list[ET.Element]] = {}
    for name in SCHEMA_FILES:
        root = ET.parse(reference / "iis-schema" / name).getroot()
        for section in root.iter("sectionSchema"):
            nodes.setdefault(section.get("name", ""), []).append(section)
    return nodes


def _find(nodes: list[ET.Element], tag: str, name: str, key: str = "name") -> ET.Element | None:
    for node in nodes:
        for child in node.findall(tag):
            if child.get(key) == name:
                return child
    return None


def _compare_element(ours: schema.Element, theirs: list[ET.Element], where: str, problems: list[str]) -> None:
    for attr in ours.attrs:
        node = _find(theirs, "attribute", attr.name)
        if node is None:
            problems.append("%s: attribute %s not in Microsoft's schema" % (where, attr.name))
            continue
        _compare_attr(attr, node, "%s@%s" % (where, attr.name), problems)
    for child in ours.children:
        nodes = [n for n in (_find(theirs, "element", child.name),) if n is not None]
        if not nodes:
            problems.append("%s: element %s not in Microsoft's schema" % (where, child.name))
            continue
        _compare_element(child, nodes, "%s/%s" % (where, child.name), problems)
    if ours.collection is not None:
        colls = [c for node in theirs for c in node.findall("collection")
                 if c.get("addElement") == ours.collection.add]
        if not colls:
            problems.append("%s: no collection with addElement=%s" % (where, ours.collection.add))
            return
        coll = colls[0]
        for field, value in (("removeElement", ours.collection.remove), ("clearElement", ours.collection.clear),
                             ("defaultElement", ours.collection.default_element)):
            if (coll.get(field) or "") != value:
                problems.append("%s: collection %s is %r, Microsoft's is %r" % (where, field, value, coll.get(field)))
        _compare_element(ours.collection.item, colls, "%s/%s" % (where, ours.collection.add), problems)


def _compare_attr(attr: schema.Attr, node: ET.Element, where: str, problems: list[str]) -> None:
    def differs(what: str, ours: object, theirs: object) -> None:
        if ours != theirs:
            problems.append("%s: %s is %r here, %r in Microsoft's schema" % (where, what, ours, theirs))

    differs("type", attr.type, node.get("type"))
    differs("key", attr.key, node.get("isUniqueKey") == "true" or node.get("isCombinedKey") == "true")
    differs("combined key", attr.combined, node.get("isCombinedKey") == "true")
    differs("required", attr.required, node.get("required") == "true")
    differs("encrypted", attr.encrypted, node.get("encrypted") == "true")
    differs("caseSensitive", attr.case_sensitive, node.get("caseSensitive") == "true")
    values = tuple((e.get("name"), int(e.get("value", "0"))) for e in node if e.tag in ("enum", "flag"))
    differs("enum/flags", attr.values, values)
    raw_default = node.get("defaultValue")
    if raw_default is None or attr.default is None:
        differs("has a defaultValue", attr.default is not None, raw_default is not None)
    elif attr.encrypted:
        differs("defaultValue", attr.default, raw_default)
    else:
        differs("defaultValue", schema_values.default_value(attr), schema_values.parse_stored(attr, raw_default))
    kind, param = node.get("validationType", ""), node.get("validationParameter", "")
    if kind == "integerRange":
        parts = param.split(",")
        differs("integerRange", (attr.range, attr.exclude), ((int(parts[0]), int(parts[1])), "exclude" in parts))
    elif kind == "timeSpanRange":
        parts = param.split(",")
        differs("timeSpanRange", attr.seconds, (int(parts[0]), int(parts[1])))
    else:
        differs("validationType", attr.validation, kind)


def test_every_entry_matches_microsofts_schema(reference: Path) -> None:
    nodes = _schema_nodes(reference)
    problems: list[str] = []
    for path, section in sections.SECTIONS.items():
        assert path in nodes, "%s is not a section of Microsoft's schema" % path
        _compare_element(section.root, nodes[path], path, problems)
    assert not problems, "\n".join(problems)


def test_section_declarations_match_a_real_iis10_server(reference: Path) -> None:
    root = ET.parse(reference / REAL_APPHOST).getroot()
    declared: dict[str, dict[str, str]] = {}

    def walk(group: ET.Element, prefix: str) -> None:
        for child in group:
            if child.tag == "sectionGroup":
                walk(child, prefix + child.get("name", "") + "/")
            elif child.tag == "section":
                declared[prefix + child.get("name", "")] = dict(child.attrib)

    walk(root.find("configSections"), "")
    for path, section in sections.SECTIONS.items():
        assert path in declared, path
        assert declared[path].get("overrideModeDefault", "Allow") == section.override_mode_default, path
        assert declared[path].get("allowDefinition", "Everywhere") == section.allow_definition, path


def test_defaults_the_collection_relies_on() -> None:
    wa = sections.SECTIONS[schema.WINDOWS_AUTHENTICATION].root
    assert schema_values.default_value(wa.attr("enabled")) is False
    assert schema_values.default_value(wa.attr("useKernelMode")) is True
    assert schema_values.default_value(wa.attr("useAppPoolCredentials")) is False
    pm = schema.resolve_element(sections.SECTIONS[schema.APPLICATION_POOLS], [{"name": "x"}, "processModel"])
    assert schema_values.default_value(pm.attr("identityType")) == "ApplicationPoolIdentity"
    assert pm.attr("password").encrypted
    assert schema_values.default_value(sections.SECTIONS[schema.PROXY].root.attr("enabled")) is False


@pytest.mark.parametrize("raw, expected", [
    ("00:20:00", "00:20:00"), ("29:00:00", "1.05:00:00"), ("1.05:00:00", "1.05:00:00"),
    ("00:00:00.1", "00:00:00.1000000"), ("0:5", "00:05:00"),
])
def test_time_spans_use_the_dotnet_constant_format(raw: str, expected: str) -> None:
    assert schema_values.format_timespan(schema_values.timespan_seconds(raw)) == expected


def test_normalize_accepts_what_iis_accepts_and_names_the_rule_otherwise() -> None:
    pm = schema.resolve_element(sections.SECTIONS[schema.APPLICATION_POOLS], [{"name": "x"}, "processModel"])
    assert schema_values.normalize(pm.attr("identityType"), "specificuser") == "SpecificUser"
    assert schema_values.normalize(pm.attr("identityType"), 3) == "SpecificUser"
    assert schema_values.normalize(pm.attr("idleTimeout"), "0:30:00") == "00:30:00"
    with pytest.raises(SchemaValueError, match="identityType must be one of LocalSystem"):
        schema_values.normalize(pm.attr("identityType"), "Domain")
    with pytest.raises(SchemaValueError, match="between 00:00:00 and 30.00:00:00"):
        schema_values.normalize(pm.attr("idleTimeout"), "31.00:00:00")
    pool = sections.SECTIONS[schema.APPLICATION_POOLS].root.collection.item
    with pytest.raises(SchemaValueError, match="between 10 and 65535"):
        schema_values.normalize(pool.attr("queueLength"), 5)
    with pytest.raises(SchemaValueError, match="refuses in pool names"):
        schema_values.normalize(pool.attr("name"), "a/b")
    ep = schema.resolve_element(sections.SECTIONS[schema.WINDOWS_AUTHENTICATION], ["extendedProtection"])
    assert schema_values.normalize(ep.attr("flags"), ["AllowDotlessSpn", "proxy"]) == "Proxy, AllowDotlessSpn"
    assert schema_values.normalize(ep.attr("flags"), 0) == "None"
    assert schema_values.normalize(ep.attr("flags"), "5") == "Proxy, AllowDotlessSpn"
    action = schema.resolve_element(sections.SECTIONS[schema.GLOBAL_RULES], [{"name": "r"}, "action"])
    with pytest.raises(SchemaValueError, match="outside 300 and 307"):
        schema_values.normalize(action.attr("statusCode"), 302)


def test_secret_values_never_appear_in_validation_messages() -> None:
    pm = schema.resolve_element(sections.SECTIONS[schema.APPLICATION_POOLS], [{"name": "x"}, "processModel"])
    secret = schema.Attr("password", "string", encrypted=True, validation="requireTrimmedString")
    with pytest.raises(SchemaValueError) as caught:
        schema_values.normalize(secret, " hunter2 ")
    assert "hunter2" not in str(caught.value)
    assert schema_values.normalize(pm.attr("password"), "S3cret!") == "S3cret!"
