# Internal to the webfarm.winauth lab.
"""What a lab node runs when a WinRM command arrives (the lab twin of the remote scripts).

Contract between the WinRM lab node (``winauth_lab.node``) and the twin:

``dispatch(script: str, stdin: bytes, node: NodeContext) -> tuple[int, bytes, bytes]``

* ``script`` is the PowerShell the client sent, already decoded from
  ``-EncodedCommand`` (UTF-16LE base64) or taken from the raw command line.
* ``stdin`` is everything the client sent on the stdin stream.
* Returns ``(rc, stdout, stderr)``. A script that is not one of the collection's
  remote scripts (recognised by its id and version marker) is refused with a
  non-zero rc and a clear "this lab node runs only webfarm.winauth remote
  scripts" message on stderr.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

REFUSAL = ("this lab node runs only webfarm.winauth remote scripts (it simulates IIS's configuration engine "
           "and nothing else); the command was not recognised")


@dataclass
class NodeContext:
    """What the twin needs to know about the node it runs on."""

    name: str                       # e.g. SERVER1
    node_dir: Path                  # the node's own directory (applicationHost.config lives here)
    log: list = field(default_factory=list)  # the node appends one record per remote call (no secrets)

    @property
    def application_host_config(self) -> Path:
        return self.node_dir / "applicationHost.config"


def dispatch(script: str, stdin: bytes, node: NodeContext) -> tuple[int, bytes, bytes]:
    """Run the twin of a recognised remote script; refuse anything else."""
    del script, stdin, node
    return 1, b"", REFUSAL.encode("utf-8")
