# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""Compile the collection's controller-side Python once per controller, not once per task and host.

Ansible runs each task for each host in a fresh worker process, which imports the action plugin
and everything it imports through Ansible's collection loader. That loader compiles the source
every time (it keeps no bytecode): for the IIS plugins, compiling the planners and the schema
table costs a good part of a task's controller time per host (docs/benchmark.md has the numbers).

:func:`install` hooks into the finder Ansible's collection loader put in the import system: the
spec, loader, ``__file__`` and namespace of each module stay exactly those of a normal import, and
the loaders of this collection's modules get code objects cached in a private per-user directory,
keyed by the SHA-256 of the source, the module name, its file and the Python version, so a changed
file or another Python never reuses stale code. Which modules are cached follows from the real
imports, in the order Python makes them: nothing is listed by hand. Loaders that keep bytecode
themselves (a plain source file on ``sys.path``) are left alone.

The cache directory is ``$XDG_CACHE_HOME/webfarm.winauth/bytecode`` (default ``~/.cache/...``),
created 0700; when it is not owned by the current user, is group- or world-writable, or cannot be
written, nothing is cached and the normal import happens. ``WEBFARM_WINAUTH_BYTECODE_CACHE=0``
turns it off. Any failure falls back to the normal compile, which then reports real errors.
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import marshal
import os
import sys
import tempfile
import types
import typing as t

COLLECTION = "ansible_collections.webfarm.winauth."


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


def _lend_code(loader: t.Any, origin: str | None, directory: str) -> None:
    """Make ``loader`` take its code from the cache (its own compile stays the fallback)."""
    compile_normally = loader.get_code

    def get_code(name: str) -> types.CodeType | None:
        try:
            source = loader.get_source(name)
            filename = loader.get_filename(name) if hasattr(loader, "get_filename") else origin
        except Exception:  # pylint: disable=broad-except  # the normal compile reports real errors
            return compile_normally(name)
        if source is None or not filename:
            return compile_normally(name)
        return _code(name, filename, source, directory)

    loader.get_code = get_code


_WRAPPED: set[int] = set()


def install() -> None:
    """Cache the code of every collection module Ansible's collection loader imports from now on.

    The finder Ansible installed (``AnsibleCollectionConfig.collection_finder``) keeps its place in
    ``sys.meta_path``; its ``find_spec`` is wrapped once per process so that the loaders it returns
    for this collection's modules take cached code. A no-op when the cache is off or unusable, or
    when no collection finder is installed (outside a controller process).
    """
    directory = cache_dir()
    if directory is None:
        return
    try:
        from ansible.utils.collection_loader import AnsibleCollectionConfig  # pylint: disable=import-outside-toplevel

        finder = AnsibleCollectionConfig.collection_finder
    except Exception:  # pylint: disable=broad-except  # no Ansible, or no finder configured
        return
    if finder is None or id(finder) in _WRAPPED:
        return
    find_spec = finder.find_spec

    def caching_find_spec(fullname: str, path: t.Any = None, target: t.Any = None) -> t.Any:
        spec = find_spec(fullname, path, target)
        loader = getattr(spec, "loader", None)
        if fullname.startswith(COLLECTION) and loader is not None and hasattr(loader, "get_source") and \
                not isinstance(loader, importlib.machinery.SourceFileLoader):
            _lend_code(loader, getattr(spec, "origin", None), directory)
        return spec

    finder.find_spec = caching_find_spec
    _WRAPPED.add(id(finder))
