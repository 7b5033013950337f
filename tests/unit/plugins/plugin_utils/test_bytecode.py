"""The controller-side bytecode cache: same modules as a normal import, compiled once, private, safe to skip."""

from __future__ import annotations

import os
import sys

from ansible_collections.webfarm.winauth.plugins.plugin_utils import _bytecode

NAME = "ansible_collections.webfarm.winauth.plugins.module_utils._policy_refresh"


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


def test_preload_gives_the_module_a_normal_import_gives(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    original = sys.modules.pop(NAME, None)
    try:
        _bytecode.preload("module_utils._policy_refresh")
        module = sys.modules[NAME]
        assert module.__file__.endswith("plugins/module_utils/_policy_refresh.py")
        assert module.__spec__.name == NAME and module.holder_matches("cam-svc", {"name": "CAMTEST\\cam-svc"})
        assert len(os.listdir(tmp_path / "webfarm.winauth" / "bytecode")) == 1
        _bytecode.preload("module_utils._policy_refresh")   # already imported: left alone
        assert sys.modules[NAME] is module
        _bytecode.preload("module_utils._no_such_module")  # the normal import reports it, not the cache
        assert NAME.replace("_policy_refresh", "_no_such_module") not in sys.modules
    finally:
        if original is not None:
            sys.modules[NAME] = original
