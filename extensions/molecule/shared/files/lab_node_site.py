# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Give a lab node a site and a pool of a scenario's own, and take them back (lab only).

The molecule scenarios work on a site and pool named after the run's token, so that they never
touch what other work on the shared lab relies on (Default Web Site, DefaultAppPool). IIS itself
would get them from IIS Manager or appcmd; on the lab's simulated IIS they are added here, under the
node's own lock and through its own configuration engine (tests/lab/winauth_lab), as the lab's other
test helpers do. Run with tests/lab on PYTHONPATH:

    lab_node_site.py NODE_DIR add SITE SITE_ID POOL HOST
    lab_node_site.py NODE_DIR remove SITE POOL      (also the site's <location> tags, as IIS Manager does)
    lab_node_site.py NODE_DIR proxy true|false|unset

prints {"changed": true|false}.
"""

from __future__ import annotations

import fcntl
import json
import re
import sys
from pathlib import Path

from winauth_lab.iis.config import ConfigEngine  # pylint: disable=import-error
from winauth_lab.iis.scripts import atomic_write  # pylint: disable=import-error

SITES = "system.applicationHost/sites"
POOLS = "system.applicationHost/applicationPools"
PROXY = "system.webServer/proxy"


def _names(text: str, tag: str) -> set[str]:
    import xml.etree.ElementTree as ET  # pylint: disable=import-outside-toplevel
    root = ET.fromstring(text)
    if tag == "site":
        return {e.get("name", "").lower() for e in root.findall("system.applicationHost/sites/site")}
    return {e.get("name", "").lower() for e in root.findall("system.applicationHost/applicationPools/add")}


def _proxy_enabled(text: str) -> str | None:
    import xml.etree.ElementTree as ET  # pylint: disable=import-outside-toplevel
    proxy = ET.fromstring(text).find("system.webServer/proxy")
    return None if proxy is None else proxy.get("enabled")


def _edits(args: list[str], text: str) -> list[dict]:
    action = args[0]
    if action == "add":
        site, site_id, pool, host = args[1], int(args[2]), args[3], args[4]
        edits = []
        if pool.lower() not in _names(text, "pool"):
            edits.append({"op": "add", "section": POOLS, "location": "", "path": [], "item": {"name": pool}})
        if site.lower() not in _names(text, "site"):
            edits += [
                {"op": "add", "section": SITES, "location": "", "path": [], "item": {"name": site, "id": site_id}},
                {"op": "add", "section": SITES, "location": "", "path": [{"name": site}],
                 "item": {"path": "/", "applicationPool": pool}},
                {"op": "add", "section": SITES, "location": "", "path": [{"name": site}, "bindings"],
                 "item": {"protocol": "https", "bindingInformation": "*:443:%s" % host}},
                {"op": "add", "section": SITES, "location": "", "path": [{"name": site}, "bindings"],
                 "item": {"protocol": "http", "bindingInformation": "*:80:%s" % host}},
            ]
        return edits
    if action == "remove":
        site, pool = args[1], args[2]
        edits = []
        if site.lower() in _names(text, "site"):
            edits.append({"op": "remove", "section": SITES, "location": "", "path": [], "key": {"name": site}})
        if pool.lower() in _names(text, "pool"):
            edits.append({"op": "remove", "section": POOLS, "location": "", "path": [], "key": {"name": pool}})
        return edits
    if action == "proxy":
        wanted = {"true": "true", "false": "false", "unset": None}[args[1]]
        if _proxy_enabled(text) == wanted:
            return []
        if wanted is None:
            return [{"op": "revert", "section": PROXY, "location": "", "path": [], "attribute": "enabled"}]
        return [{"op": "set", "section": PROXY, "location": "", "path": [], "attribute": "enabled",
                 "value": wanted == "true"}]
    raise SystemExit("unknown action %r" % action)


def _without_locations(data: bytes, site: str) -> bytes:
    """The file without the <location> tags of a site and its applications."""
    pattern = re.compile(rb'\r?\n[ \t]*<location path="%s(/[^"]*)?"[^>]*>.*?</location>' % re.escape(site.encode("utf-8")),
                         re.DOTALL | re.IGNORECASE)
    return pattern.sub(b"", data)


def main(argv: list[str]) -> int:
    if len(argv) < 4:
        sys.stderr.write(__doc__ or "")
        return 2
    node_dir = Path(argv[1])
    config = node_dir / "applicationHost.config"
    with open(node_dir / ".twin.lock", "a", encoding="utf-8") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        data = config.read_bytes()
        edits = _edits(argv[2:], data.decode("utf-8-sig"))
        new = data
        if edits:
            engine = ConfigEngine(data)
            engine.apply(edits)
            new = engine.doc.to_bytes()
        if argv[2] == "remove":
            new = _without_locations(new, argv[3])
        if new != data:
            atomic_write(config, new)
    print(json.dumps({"changed": new != data}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
