# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read what a lab node's applicationHost.config says, with the standard library only.

An independent check for the molecule scenarios: it shares no code with the collection or with the
lab's simulated configuration engine. Usage:

    python iis_settings.py applicationHost.config LOCATION [POOL ...]

prints one JSON object: the attributes of each named pool's <add> and <processModel> (the password
reduced to whether one is stored); at <location path="LOCATION">, the windowsAuthentication
and anonymousAuthentication attributes with the providers list; the same two sections at server
level (what a location inherits); and the ARR sections of the file.
"""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET

AUTH = "system.webServer/security/authentication/"


def _pool(root: ET.Element, name: str) -> dict:
    for add in root.findall("system.applicationHost/applicationPools/add"):
        if add.get("name", "").lower() == name.lower():
            model = add.find("processModel")
            process = dict(model.attrib) if model is not None else {}
            process["password_stored"] = bool(process.pop("password", ""))
            return {"attributes": dict(add.attrib), "processModel": process}
    return {}


def _location(root: ET.Element, path: str) -> dict:
    result: dict = {"windowsAuthentication": None, "anonymousAuthentication": None}
    for location in root.findall("location"):
        if location.get("path", "").lower() != path.lower():
            continue
        windows = location.find(AUTH + "windowsAuthentication")
        if windows is not None:
            settings: dict = dict(windows.attrib)
            providers = windows.find("providers")
            if providers is not None:
                settings["providers"] = [{"op": child.tag, "value": child.get("value")} for child in providers]
            result["windowsAuthentication"] = settings
        anonymous = location.find(AUTH + "anonymousAuthentication")
        if anonymous is not None:
            result["anonymousAuthentication"] = dict(anonymous.attrib)
    return result


def _farms(root: ET.Element) -> list:
    farms = []
    for farm in root.findall("webFarms/webFarm"):
        farms.append({"name": farm.get("name"), "enabled": farm.get("enabled"),
                      "servers": [server.get("address") for server in farm.findall("server")],
                      "preserveHostHeader": (farm.find("applicationRequestRouting/protocol").attrib
                                             if farm.find("applicationRequestRouting/protocol") is not None
                                             else {}).get("preserveHostHeader")})
    return farms


def _rules(root: ET.Element) -> list:
    rules = []
    for rule in root.findall("system.webServer/rewrite/globalRules/rule"):
        action = rule.find("action")
        rules.append({"name": rule.get("name"), "action": dict(action.attrib) if action is not None else {},
                      "conditions": [dict(c.attrib) for c in rule.findall("conditions/add")]})
    return rules


def main(argv: list[str]) -> int:
    if len(argv) < 3:
        sys.stderr.write("usage: iis_settings.py applicationHost.config LOCATION [POOL ...]\n")
        return 2
    root = ET.parse(argv[1]).getroot()
    proxy = root.find("system.webServer/proxy")
    server_auth = {}
    for name in ("windowsAuthentication", "anonymousAuthentication"):
        element = root.find(AUTH + name)
        server_auth[name] = dict(element.attrib) if element is not None else {}
    print(json.dumps({
        "server": server_auth,
        "pools": {name: _pool(root, name) for name in argv[3:]},
        "location": _location(root, argv[2]),
        "webFarms": _farms(root),
        "globalRules": _rules(root),
        "proxy": dict(proxy.attrib) if proxy is not None else {},
    }, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
