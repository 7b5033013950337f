# Internal to the webfarm.winauth lab.
"""The collection's own modules, for the lab: imported from this working tree under their real names.

The lab twin and the lab's web endpoint use the collection's own rules (the IIS schema table and its
value rules, the remote contract, whose keys decrypt a site's tickets, the Negotiate token parser,
gPLink and GptTmpl.inf), so the two cannot drift apart. These modules import only the standard
library and each other, so they need no Ansible: :func:`collection_module` makes the working tree
importable as ``ansible_collections.webfarm.winauth`` (a fallback finder, used only when no
installed copy answers first) and imports a module by its name under ``plugins``.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import sys
import types
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
ROOT = "ansible_collections.webfarm.winauth"


class _WorkingTreeFinder:
    """Finds ``ansible_collections``, ``.webfarm`` and ``.webfarm.winauth`` (the working tree) if nothing else does."""

    LOCATIONS = {"ansible_collections": [], "ansible_collections.webfarm": [], ROOT: [str(REPO)]}

    def find_spec(self, fullname: str, path: object = None, target: object = None) -> object:
        if fullname not in self.LOCATIONS:
            return None
        spec = importlib.machinery.ModuleSpec(fullname, None, is_package=True)
        spec.submodule_search_locations = list(self.LOCATIONS[fullname])
        return spec


def collection_module(name: str) -> types.ModuleType:
    """``collection_module("plugin_utils._iis.schema")``: that module of the working tree's collection."""
    if not any(isinstance(finder, _WorkingTreeFinder) for finder in sys.meta_path):
        sys.meta_path.append(_WorkingTreeFinder())
    return importlib.import_module("%s.plugins.%s" % (ROOT, name))


iis_schema = collection_module("plugin_utils._iis.schema")
iis_sections = collection_module("plugin_utils._iis.sections")
iis_values = collection_module("plugin_utils._iis.values")
remote_contract = collection_module("plugin_utils._iis.contract")
acceptor = collection_module("plugin_utils._verify.acceptor")
tokens = collection_module("plugin_utils._verify.tokens")
gplink = collection_module("module_utils._gpo.gplink")
inf = collection_module("module_utils._gpo.inf")
dn = collection_module("module_utils._windows.dn")
sid = collection_module("module_utils._windows.sid")
principals = collection_module("module_utils._windows.principals")
