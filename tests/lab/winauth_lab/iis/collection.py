# Internal to the webfarm.winauth lab.
"""The collection's own contract modules, loaded from the working tree for the lab twin.

The controller and the twin share one schema table (``_iis_schema``) and one contract module
(``_remote_contract``: script catalogue, marker), so they cannot drift apart; unit tests check
the table against Microsoft's schema files. Both files import only the standard library, so they
are loaded straight from their paths, without Ansible's collection loader.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

MODULE_UTILS = Path(__file__).resolve().parents[4] / "plugins" / "module_utils"


def _load(name: str):
    qualified = "winauth_lab.iis.%s" % name
    if qualified not in sys.modules:
        spec = importlib.util.spec_from_file_location(qualified, MODULE_UTILS / ("%s.py" % name))
        module = importlib.util.module_from_spec(spec)
        sys.modules[qualified] = module
        spec.loader.exec_module(module)
    return sys.modules[qualified]


iis_schema = _load("_iis_schema")
remote_contract = _load("_remote_contract")
