"""Every secret the suite knows, checked against everything the tests captured and every log the lab keeps.

A leak can hide anywhere: in the output of a run at -vvvvv, in a diff, in a warning, in an exception, in
a node's or the DC's log. Each run's output is checked as it is captured (against the secrets known at
that moment: accounts are created before they are used), and at the end of the session the lab's log
files are read once; conftest.py fails the session when any secret appeared, naming where and whose
secret it was, never the secret itself.
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[3]
SEED = REPO / "tests" / "lab" / "seed.yml"
_MINIMUM = 6  # shorter values (a port, "true") would match anywhere; no secret of the suite is that short

_known: dict[str, str] = {}
_leaks: list[str] = []
_checked = {"outputs": 0, "logs": 0}
_seeded: list[bool] = []


def remember(secret: str | None, origin: str) -> None:
    """A secret to look for from now on; ``origin`` says whose it is (shown instead of the value)."""
    if secret and len(secret) >= _MINIMUM:
        _known.setdefault(secret, origin)


def _seed_and_environment() -> None:
    """The seed's passwords and the lab's $LAB_*PASSWORD values (read once, the first time one is needed)."""
    if _seeded:
        return
    _seeded.append(True)
    try:
        seed = yaml.safe_load(SEED.read_text()) or {}
    except OSError:
        seed = {}

    def walk(node, where: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                name = node.get("name", where) if isinstance(node.get("name"), str) else where
                if "password" in str(key).lower() and isinstance(value, str):
                    remember(value, "the seed's %s%s" % (key, " of %s" % name if name else ""))
                else:
                    walk(value, "%s.%s" % (where, key) if where else str(key))
        elif isinstance(node, list):
            for item in node:
                walk(item, where)

    walk(seed, "")
    for name, value in os.environ.items():
        if name.startswith("LAB_") and "PASSWORD" in name:
            remember(value, "$%s" % name)


def check(text: str, what: str) -> None:
    """Look for every known secret in one captured output."""
    _seed_and_environment()
    _checked["outputs"] += 1
    for secret, origin in _known.items():
        if secret in text:
            _leaks.append("%s appeared in %s" % (origin, what))


def lab_log_files() -> list[Path]:
    """The log files the running lab keeps (the DC's, each node's, each web endpoint's)."""
    root = os.environ.get("LAB_DIR")
    return sorted(p for p in Path(root).rglob("*.log") if p.is_file()) if root else []


def session_leaks() -> list[str]:
    """Every leak seen in captured outputs, and in the lab's logs read now."""
    _seed_and_environment()
    for path in lab_log_files():
        _checked["logs"] += 1
        data = path.read_bytes()
        for secret, origin in _known.items():
            if secret.encode() in data or secret.encode("utf-16-le") in data:
                _leaks.append("%s appeared in the lab's log %s" % (origin, path.name if not os.environ.get(
                    "LAB_DIR") else path.relative_to(os.environ["LAB_DIR"])))
    return list(dict.fromkeys(_leaks))


def summary() -> str:
    return "%d known secrets looked for in %d captured outputs and %d lab log files" % (
        len(_known), _checked["outputs"], _checked["logs"])
