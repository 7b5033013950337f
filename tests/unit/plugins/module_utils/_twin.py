"""Read and apply through the lab twin of iis_config (runtime state included), for unit tests of the planners."""

from __future__ import annotations

import typing as t
from pathlib import Path

from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis.config import SectionState, Target, read_request
from winauth_lab.iis import initial_config
from winauth_lab.iis.scripts import run_iis_config
from winauth_lab.remote import NodeContext


def new_node(tmp_path: Path, name: str = "SERVER1") -> NodeContext:
    node = NodeContext(name, tmp_path / name)
    node.node_dir.mkdir(parents=True)
    node.application_host_config.write_bytes(initial_config(name).encode("utf-8"))
    return node


def read(node: NodeContext, targets: t.Sequence[Target]) -> list[SectionState]:
    result = run_iis_config(read_request(targets), node, {})
    return [SectionState.from_result(target, section) for target, section in zip(targets, result["sections"])]


def apply(node: NodeContext, edits: list[dict[str, t.Any]]) -> dict[str, t.Any]:
    return run_iis_config({"op": "apply", "edits": edits}, node, {})


def add_application(node: NodeContext, path: str, pool: str, site: str = "Default Web Site") -> None:
    apply(node, [{"op": "add", "section": "system.applicationHost/sites", "location": "", "path": [{"name": site}],
                  "item": {"path": path, "applicationPool": pool}}])
