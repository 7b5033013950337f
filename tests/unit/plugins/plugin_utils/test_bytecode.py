"""The controller-side bytecode cache: same modules as a normal import, compiled once, private, safe to skip."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from ansible_collections.webfarm.winauth.plugins.plugin_utils import _bytecode

NAME = "ansible_collections.webfarm.winauth.plugins.plugin_utils._iis.policy_refresh"


def test_cache_dir_is_private_and_can_be_turned_off(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    path = _bytecode.cache_dir()
    assert path == str(tmp_path / "webfarm.winauth" / "bytecode")
    assert os.stat(path).st_mode & 0o777 == 0o700
    os.chmod(path, 0o777)
    assert _bytecode.cache_dir() is None                 # group/world-writable: never trusted
    os.chmod(path, 0o700)
    monkeypatch.setenv("WEBFARM_WINAUTH_BYTECODE_CACHE", "0")
    assert _bytecode.cache_dir() is None


def test_code_is_compiled_once_per_source(tmp_path) -> None:
    first = _bytecode._code("m", "/x/m.py", "VALUE = 1\n", str(tmp_path))
    files = sorted(os.listdir(tmp_path))
    assert len(files) == 1
    again = _bytecode._code("m", "/x/m.py", "VALUE = 1\n", str(tmp_path))
    assert again.co_code == first.co_code and sorted(os.listdir(tmp_path)) == files
    (tmp_path / files[0]).write_bytes(b"garbage")           # a damaged entry is replaced, not trusted
    namespace: dict = {}
    exec(_bytecode._code("m", "/x/m.py", "VALUE = 1\n", str(tmp_path)), namespace)  # pylint: disable=exec-used
    assert namespace["VALUE"] == 1
    _bytecode._code("m", "/x/m.py", "VALUE = 2\n", str(tmp_path))
    assert len(os.listdir(tmp_path)) == 2                   # another source, another entry


# A controller's worker: Ansible's collection loader, then an action plugin's first import installs the cache.
_WORKER = r"""
import json, sys
from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder
_AnsibleCollectionFinder(paths=[sys.argv[1]])._install()
from ansible_collections.webfarm.winauth.plugins.plugin_utils import _bytecode
_bytecode.install()
_bytecode.install()                 # once per process
module = __import__(sys.argv[2], fromlist=["x"])
try:
    __import__(sys.argv[2].replace("policy_refresh", "no_such_module"))
    missing = "imported"
except ImportError as exc:
    missing = type(exc).__name__
print(json.dumps({"file": module.__file__, "name": module.__spec__.name, "loader": type(module.__loader__).__name__,
                  "works": module.holder_matches("cam-svc", {"name": "CAMTEST\\cam-svc"}), "missing": missing,
                  "first": type(sys.meta_path[0]).__name__, "wrapped": len(_bytecode._WRAPPED)}))
"""


def test_install_gives_the_modules_a_normal_import_gives(tmp_path) -> None:
    path = str(Path(__file__).resolve().parents[4] / "build" / "collections")
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path))
    cache = tmp_path / "webfarm.winauth" / "bytecode"

    def worker() -> dict:
        proc = subprocess.run([sys.executable, "-c", _WORKER, path, NAME], capture_output=True, text=True, env=env,
                              check=True)
        return json.loads(proc.stdout)

    first = worker()
    assert first["file"].endswith("plugins/plugin_utils/_iis/policy_refresh.py")
    assert first["name"] == NAME and first["works"] is True and first["wrapped"] == 1
    assert first["first"] == "_AnsibleCollectionFinder"       # the import system keeps its order
    assert first["loader"] == "_AnsibleCollectionLoader"      # Ansible's own loader, lent cached code
    assert first["missing"] == "ModuleNotFoundError"          # the normal import reports it, not the cache
    entries = sorted(os.listdir(cache))
    assert len(entries) >= 2                                  # the module and what it imports, as it imports them
    assert worker() == first and sorted(os.listdir(cache)) == entries   # compiled once: the next worker reuses them
    env["WEBFARM_WINAUTH_BYTECODE_CACHE"] = "0"
    off = worker()
    assert off["wrapped"] == 0 and off["works"] is True
