# Internal to the webfarm.winauth lab.
"""The configuration of one lab node process (node.json), shared by the node and the fleet that starts it.

Standard library only, so that ``lab-down`` works with any Python.
"""

from __future__ import annotations

import json
import typing as t
from dataclasses import asdict, dataclass
from pathlib import Path

_Config = t.TypeVar("_Config", bound="JsonConfig")


class JsonConfig:
    """A dataclass a process reads from a JSON file that the fleet wrote before starting it."""

    @classmethod
    def load(cls: type[_Config], path: Path) -> _Config:
        return cls(**json.loads(path.read_text()))

    def dump(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2) + "\n")


WSMAN_PORT = 5986
WSMAN_HTTP_PORT = 5985
SSH_PORT = 22


@dataclass
class NodeConfig(JsonConfig):
    """What one node process needs; stored as node.json in the node's directory."""

    name: str                 # SERVER1
    address: str              # 127.0.0.21
    fqdn: str                 # server1.camtest.local
    node_dir: str
    cert: str
    key: str
    ca_cert: str
    realm: str
    netbios: str
    dc_host: str
    port: int = WSMAN_PORT
    http_port: int = WSMAN_HTTP_PORT
    ssh_port: int = SSH_PORT  # 0: no SSH listener
    lab_ssh_dir: str = ""     # the lab's authorized_keys (and client key); empty: no SSH listener
    delay: float = 0.0        # artificial latency added to every remote call (slow-node tests)

    @property
    def directory(self) -> Path:
        return Path(self.node_dir)

    @property
    def log_path(self) -> Path:
        return self.directory / "node.log"

    @property
    def pid_path(self) -> Path:
        return self.directory / "node.pid"
