# Internal to the webfarm.winauth lab.
"""How the lab stores encrypted attributes: IIS's ``[enc:<provider>:<data>:enc]`` form, lab-only data.

IIS encrypts attributes such as an application pool's password with a protected-configuration
provider (``IISWASOnlyCngProvider`` for pool passwords on IIS 10, ``AesProvider`` for most others)
and stores ``[enc:<provider>:<base64>:enc]``. The lab keeps that form so files look and parse like
real ones, but its data is a reversible obfuscation with a fixed key: it keeps secrets out of plain
sight in lab files and logs, and it is NOT encryption. Data the lab did not write (a real IIS
blob) cannot be read back: such a value is "set" but never equal to anything.
"""

from __future__ import annotations

import base64
import binascii
import re

_STORED = re.compile(r"^\[enc:([^:]*):(.*):enc\]$", re.S)
_MAGIC = b"winauth-lab-v1\0"
_KEY = b"lab-only obfuscation, not encryption"
POOL_PROVIDER = "IISWASOnlyCngProvider"
DEFAULT_PROVIDER = "AesProvider"


def _xor(data: bytes) -> bytes:
    return bytes(b ^ _KEY[i % len(_KEY)] for i, b in enumerate(data))


def protect(value: str, provider: str = DEFAULT_PROVIDER) -> str:
    """The stored form of a secret value (empty values are stored empty, as IIS does)."""
    if value == "":
        return "[enc:%s::enc]" % provider
    data = base64.b64encode(_xor(_MAGIC + value.encode("utf-8"))).decode("ascii")
    return "[enc:%s:%s:enc]" % (provider, data)


def unprotect(stored: str) -> str | None:
    """The clear value of a stored attribute; None when the lab cannot read it (not written by the lab)."""
    match = _STORED.match(stored)
    if not match:
        return stored          # IIS also accepts clear text in encrypted attributes
    data = match.group(2)
    if data == "":
        return ""
    try:
        clear = _xor(base64.b64decode(data, validate=True))
    except (binascii.Error, ValueError):
        return None
    if not clear.startswith(_MAGIC):
        return None
    return clear[len(_MAGIC):].decode("utf-8", errors="replace")


def is_protected(stored: str) -> bool:
    return bool(_STORED.match(stored))
