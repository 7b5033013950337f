# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""Compile the collection's controller-side Python once per controller, not once per task and host.

Ansible runs each task for each host in a fresh worker process, which imports the action plugin
and its module_utils through Ansible's collection loader. That loader compiles the source every
time (it keeps no bytecode), and for the IIS plugins compiling the planners and the schema table
costs more controller CPU than the task's one WinRM command: with many hosts and few cores it
dominated the task's wall time.

``preload(*modules)`` imports the named modules (in the order given, dependencies first) exactly as
the collection loader would -- same module spec, loader, ``__file__`` and namespace -- but executes
code objects cached in a private per-user directory, keyed by the SHA-256 of the source, the module
name and the Python version, so a changed file or another Python never reuses stale code. The cache
directory is ``$XDG_CACHE_HOME/webfarm.winauth/bytecode`` (default ``~/.cache/...``), created
0700; when it is not owned by the current user, is group- or world-writable, or cannot be written,
nothing is cached and the normal import happens. Set ``WEBFARM_WINAUTH_BYTECODE_CACHE=0`` to turn
it off. Any failure falls back to the normal import, which then reports real errors as usual.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import marshal
import os
import sys
import tempfile
import types

COLLECTION = "ansible_collections.webfarm.winauth.plugins"
# What every IIS action plugin imports, dependencies first.
IIS_BASE = ("module_utils._remote_contract", "module_utils._iis_schema", "module_utils._iis_config",
            "plugin_utils._remote_runner", "plugin_utils._iis_action")


def cache_dir() -> str | None:
    """The private cache directory, or None when it cannot be used safely."""
    if os.environ.get("WEBFARM_WINAUTH_BYTECODE_CACHE", "1").strip().lower() in ("0", "false", "no", "off"):
        return None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    path = os.path.join(base, "webfarm.winauth", "bytecode")
    try:
        os.makedirs(path, mode=0o700, exist_ok=True)
        info = os.stat(path)
    except OSError:
        return None
    if info.st_uid != os.getuid() or info.st_mode & 0o022:
        return None
    return path


def _code(name: str, origin: str, source: str | bytes, directory: str) -> types.CodeType:
    digest = hashlib.sha256()
    for part in (sys.version, name, origin, source):
        digest.update((part if isinstance(part, bytes) else part.encode("utf-8", "surrogateescape")) + b"\0")
    path = os.path.join(directory, digest.hexdigest() + ".code")
    try:
        with open(path, "rb") as handle:
            code = marshal.load(handle)
        if isinstance(code, types.CodeType):
            return code
    except (OSError, EOFError, ValueError, TypeError):
        pass
    code = compile(source, origin, "exec", dont_inherit=True)
    try:
        fd, scratch = tempfile.mkstemp(prefix=".code-", dir=directory)
        with os.fdopen(fd, "wb") as handle:
            marshal.dump(code, handle)
        os.replace(scratch, path)
    except OSError:
        pass
    return code


def _load(name: str, directory: str) -> None:
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None or not spec.origin or not hasattr(spec.loader, "get_source"):
        return
    source = spec.loader.get_source(name)
    if source is None:
        return
    code = _code(name, spec.origin, source, directory)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        exec(code, module.__dict__)  # pylint: disable=exec-used  # what the collection loader's exec_module does
    except BaseException:
        sys.modules.pop(name, None)
        raise
    parent, _sep, leaf = name.rpartition(".")
    setattr(sys.modules[parent], leaf, module)


def preload(*modules: str) -> None:
    """Import ``module_utils._x`` / ``plugin_utils._y`` names (relative to the collection's plugins) with cached code."""
    directory = cache_dir()
    if directory is None:
        return
    for relative in modules:
        name = "%s.%s" % (COLLECTION, relative)
        if name in sys.modules:
            continue
        try:
            importlib.import_module(name.rpartition(".")[0])
            _load(name, directory)
        except Exception:  # pylint: disable=broad-except  # the normal import that follows reports real errors
            sys.modules.pop(name, None)
