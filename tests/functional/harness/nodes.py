"""The lab nodes' own files: applicationHost.config (edited through the twin's engine, under the twin's lock), the
call log (one JSON record per remote call, names only), and the web endpoint's logs (W3C, HTTPERR, events,
the lab's per-request JSON log)."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from winauth_lab.iis.config import ConfigEngine
from winauth_lab.iis.scripts import atomic_write

SITES = "system.applicationHost/sites"
POOLS = "system.applicationHost/applicationPools"
REPO = Path(__file__).resolve().parents[3]
SITE_HELPER = REPO / "extensions" / "molecule" / "shared" / "files" / "lab_node_site.py"


def node_site(node: str, *args: str) -> None:
    """The molecule scenarios' own site helper on a lab node: ``add SITE SITE_ID POOL HOST``, ``remove SITE POOL``,
    ``proxy true|false|unset`` (the tests set up a node exactly as the scenarios do)."""
    subprocess.run([sys.executable, str(SITE_HELPER), str(Path(os.environ["LAB_DIR"]) / "nodes" / node.lower()), *args],
                   check=True, capture_output=True, env=dict(os.environ, PYTHONPATH=str(REPO / "tests" / "lab")))


def node_file(env_name: str, node: str) -> Path:
    """A node's file named by the lab environment (LAB_NODE_CONFIGS, LAB_NODE_LOGS)."""
    for path in os.environ[env_name].split():
        if "/%s/" % node.lower() in path:
            return Path(path)
    raise AssertionError("%s has no entry for %s" % (env_name, node))


def write_atomically(path: Path, data: bytes) -> None:
    scratch = path.with_name(path.name + ".test-write")
    scratch.write_bytes(data)
    os.replace(scratch, path)


class NodeLog:
    """A node's call log (one JSON object per line), read from a starting point on (``mark``)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.mark()

    def mark(self) -> None:
        self.offset = self.path.stat().st_size if self.path.exists() else 0

    def text(self) -> str:
        if not self.path.exists():
            return ""
        with open(self.path, "rb") as handle:
            handle.seek(self.offset)
            return handle.read().decode("utf-8", "replace")

    def records(self) -> list[dict]:
        return [json.loads(line) for line in self.text().splitlines() if line.strip()]

    def wait_for(self, count: int, timeout: float = 10.0, **match) -> list[dict]:
        """The new records matching every key=value given; wait until there are at least count of them."""
        deadline = time.monotonic() + timeout
        while True:
            found = [r for r in self.records() if all(r.get(k) == v for k, v in match.items())]
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.05)


class Node:
    """One lab node's files: its configuration (edited through the twin, under the twin's lock), its call log and
    its web logs. A node of the lab's by name; a node of a test's own with its directory and call log."""

    def __init__(self, name: str, directory: Path | None = None, log: Path | None = None) -> None:
        self.name = name
        self.config = directory / "applicationHost.config" if directory else node_file("LAB_NODE_CONFIGS", name)
        self.directory = self.config.parent
        self.log = NodeLog(log or node_file("LAB_NODE_LOGS", name))
        self.web = self.directory / "web"
        self.offsets: dict[str, int] = {}

    def text(self) -> str:
        """applicationHost.config as it is (CRLF line ends kept)."""
        return self.config.read_bytes().decode("utf-8")

    def records(self) -> list[dict]:
        """Call log records written since the last mark()."""
        return self.log.records()

    # -- files ---------------------------------------------------------------------------------------
    def lock(self):
        node = self

        class _Lock:
            def __enter__(self):
                self.handle = open(node.directory / ".twin.lock", "a", encoding="utf-8")  # pylint: disable=R1732
                fcntl.flock(self.handle, fcntl.LOCK_EX)
                return self

            def __exit__(self, *exc):
                self.handle.close()
        return _Lock()

    def apply(self, edits: list[dict]) -> None:
        """Configuration edits through the twin's engine, committed as the twin commits them."""
        with self.lock():
            engine = ConfigEngine(self.config.read_bytes())
            engine.apply(edits)
            atomic_write(self.config, engine.doc.to_bytes())

    def add_site(self, site: str, site_id: int, pool: str, host: str) -> None:
        """A site (HTTPS and HTTP bindings for ``host``) whose root application runs in a new pool."""
        self.apply([
            {"op": "add", "section": POOLS, "location": "", "path": [], "item": {"name": pool}},
            {"op": "add", "section": SITES, "location": "", "path": [], "item": {"name": site, "id": site_id}},
            {"op": "add", "section": SITES, "location": "", "path": [{"name": site}],
             "item": {"path": "/", "applicationPool": pool}},
            {"op": "add", "section": SITES, "location": "", "path": [{"name": site}, "bindings"],
             "item": {"protocol": "https", "bindingInformation": "*:443:%s" % host}},
            {"op": "add", "section": SITES, "location": "", "path": [{"name": site}, "bindings"],
             "item": {"protocol": "http", "bindingInformation": "*:80:%s" % host}},
        ])

    def remove_site(self, site: str, pool: str) -> None:
        """Take out what add_site made and the <location> tags of the site, leaving everything else as it is.

        Edits rather than a byte restore: other suites share the node and may have changed other parts.
        """
        with self.lock():
            engine = ConfigEngine(self.config.read_bytes())
            edits = []
            if any(str(s).lower() == site.lower() for s in engine.sites()):
                edits.append({"op": "remove", "section": SITES, "location": "", "path": [], "key": {"name": site}})
            edits.append({"op": "remove", "section": POOLS, "location": "", "path": [], "key": {"name": pool}})
            engine.apply(edits)
            for path, node in engine.locations():
                if path.lower() == site.lower() or path.lower().startswith(site.lower() + "/"):
                    engine.doc.remove(node)
            atomic_write(self.config, engine.doc.to_bytes())

    # -- logs ---------------------------------------------------------------------------------------
    def mark(self) -> None:
        self.log.mark()
        for name in ("u_ex.log", "httperr.log", "events.log", "web.log"):
            path = self.web / name
            self.offsets[name] = path.stat().st_size if path.exists() else 0

    def since(self, name: str) -> list[str]:
        path = self.web / name
        if not path.exists():
            return []
        with open(path, encoding="utf-8") as handle:
            handle.seek(self.offsets.get(name, 0))
            return [line for line in handle.read().splitlines() if line and not line.startswith("#")]

    def w3c(self, host: str) -> list[dict]:
        """W3C log lines for requests to ``host`` since mark(): status, substatus, win32, user."""
        fields = None
        with open(self.web / "u_ex.log", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("#Fields:"):
                    fields = line.split()[1:]
        rows = []
        for line in self.since("u_ex.log"):
            values = dict(zip(fields or [], line.split()))
            if values.get("cs-host", "").split(":")[0].lower() == host.lower():
                rows.append({"status": "%s.%s" % (values["sc-status"], values["sc-substatus"]),
                             "win32": int(values["sc-win32-status"]), "user": values["cs-username"],
                             "s_ip": values["s-ip"]})
        return rows

    def details(self) -> list[dict]:
        return [json.loads(line) for line in self.since("web.log")]
