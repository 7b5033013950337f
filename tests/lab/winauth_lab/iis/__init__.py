# Internal to the webfarm.winauth lab.
"""The lab's stand-in for IIS: a simulated configuration engine behind the collection's remote scripts.

``initial_config(node_name)`` is the applicationHost.config a fresh lab node starts from;
``winauth_lab.remote.dispatch()`` runs the twin of a recognised remote script against it.
"""

from __future__ import annotations

from .initial import initial_config

__all__ = ["initial_config"]
