# Internal to the webfarm.winauth lab.
"""Runtime state of application pools and sites in the lab (what WAS and W3SVC hold on Windows).

On Windows, ``ServerManager.ApplicationPools[name].State`` (and ``Sites[name].State``) is not
configuration: it lives in the Windows Process Activation Service. The ``iis_config`` contract
(1.1.0) reads it with ``"state": true`` on a read entry that addresses one pool or site, and
changes it with the edits ``start``, ``stop`` and ``recycle``, run after the commit.

The lab keeps it in ``runtime.json`` beside the node's applicationHost.config:
``{"applicationPools": {"<name, lower case>": "Started"}, "sites": {...}}``. A pool or site
without an entry is in the state WAS gives it when it appears: ``Started`` when ``autoStart``
(pools) or ``serverAutoStart`` (sites) is true, else ``Stopped``. Entries of items that no longer
exist, or that were created by the same apply, are dropped.
"""

from __future__ import annotations

import json
import typing as t
from pathlib import Path

from ..collection import iis_schema as S, iis_sections as sections
from .config import ConfigEngine, RemoteError

RUNTIME_FILE = "runtime.json"
OPS = ("start", "stop", "recycle")
_KINDS = {S.APPLICATION_POOLS.lower(): ("applicationPools", "autoStart", "application pool"),
          S.SITES.lower(): ("sites", "serverAutoStart", "site")}


def load(node_dir: Path) -> dict[str, dict[str, str]]:
    try:
        data = json.loads((node_dir / RUNTIME_FILE).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        data = {}
    return {kind: dict(data.get(kind, {})) for kind, _attr, _label in _KINDS.values()}


def dump(node_dir: Path, store: dict[str, dict[str, str]], writer: t.Callable[[Path, bytes], None]) -> None:
    writer(node_dir / RUNTIME_FILE, json.dumps(store, indent=2, sort_keys=True).encode("utf-8"))


def addressed(entry: dict[str, t.Any], what: str) -> tuple[tuple[str, str, str], str]:
    """((kind, autostart attribute, label), name) of a read entry or edit that addresses one pool or site."""
    section = str(entry.get("section", ""))
    kind = _KINDS.get(section.lower())
    path = entry.get("path") or []
    location = str(entry.get("location", "") or "").strip("/")
    name = path[0].get("name") if len(path) == 1 and isinstance(path[0], dict) else None
    if kind is None or location or not isinstance(name, str) or not name:
        raise RemoteError("invalid_request", "%s needs section %s or %s, location \"\" and a path of one item "
                          "key such as [{\"name\": \"cam-pool\"}]" % (what, S.APPLICATION_POOLS, S.SITES),
                          section=section or None, location=location or None, path=path or None)
    return kind, name


def items(engine: ConfigEngine, kind: tuple[str, str, str]) -> dict[str, dict[str, t.Any]]:
    """name (lower case) -> attribute values of every pool or site in the configuration."""
    section = sections.get_section(S.APPLICATION_POOLS if kind[0] == "applicationPools" else S.SITES)
    element = engine.read({"section": section.path, "location": "", "path": []})["element"] or {}
    result = {}
    for item in element.get("items", []):
        values = {k: v.get("value") for k, v in item["attributes"].items()}
        result[str(values.get("name", "")).lower()] = values
    return result


def state_of(engine: ConfigEngine, store: dict[str, dict[str, str]], kind: tuple[str, str, str],
             name: str) -> str | None:
    """The runtime state of a pool or site; None when it does not exist."""
    values = items(engine, kind).get(name.lower())
    if values is None:
        return None
    stored = store[kind[0]].get(name.lower())
    if stored:
        return stored
    return "Started" if values.get(kind[1], True) else "Stopped"


def prune(store: dict[str, dict[str, str]], before: ConfigEngine, after: ConfigEngine) -> None:
    """Forget items that are gone, and items this apply created (they start in their initial state)."""
    for kind in _KINDS.values():
        old = set(items(before, kind))
        new = set(items(after, kind))
        for name in list(store[kind[0]]):
            if name not in new or name not in old:
                del store[kind[0]][name]


def change(state: str, op: str, label: str, name: str) -> str:
    """The state after a runtime edit, or RemoteError runtime_failed when IIS would refuse it."""
    if op == "start":
        return "Started"
    if op == "stop":
        return "Stopped"
    if state != "Started":
        raise RemoteError("runtime_failed", "cannot recycle %s %r: it is %s (start it instead)" % (label, name, state))
    return "Started"
