# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""A reader of DER (X.690) as the Negotiate tokens use it: TLVs, object identifiers, integers. Pure, stdlib only.

pyspnego parses the same tokens, but only in private modules (``spnego._asn1``, ``spnego._spnego``)
that may change in any release; its public face has no token parser. So the collection keeps this
one reader, used by the token parser (``tokens``) for the probe and the lab's web endpoint alike.
"""

from __future__ import annotations

from dataclasses import dataclass

from ansible_collections.webfarm.winauth.plugins.module_utils._windows.errors import InvalidInput

UNIVERSAL, APPLICATION, CONTEXT = 0, 1, 2


class TokenError(InvalidInput):
    """The bytes are not a token this module understands (the message says where it stopped)."""


@dataclass(frozen=True)
class Tlv:
    cls: int            # UNIVERSAL, APPLICATION, CONTEXT (or 3: private)
    constructed: bool
    tag: int
    value: bytes
    end: int            # offset just after this TLV


def read_tlv(data: bytes, offset: int = 0) -> Tlv:
    """One DER TLV at ``offset`` (definite lengths, tag numbers up to 2**28)."""
    if offset >= len(data):
        raise TokenError("unexpected end of data at offset %d" % offset)
    first = data[offset]
    cls, constructed, tag = first >> 6, bool(first & 0x20), first & 0x1F
    pos = offset + 1
    if tag == 0x1F:
        tag = 0
        while True:
            if pos >= len(data):
                raise TokenError("truncated tag at offset %d" % offset)
            byte = data[pos]
            pos += 1
            tag = (tag << 7) | (byte & 0x7F)
            if not byte & 0x80:
                break
    if pos >= len(data):
        raise TokenError("missing length at offset %d" % offset)
    length = data[pos]
    pos += 1
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4 or pos + count > len(data):
            raise TokenError("unsupported length encoding at offset %d" % offset)
        length = int.from_bytes(data[pos:pos + count], "big")
        pos += count
    if pos + length > len(data):
        raise TokenError("value at offset %d runs past the end (%d bytes wanted, %d left)"
                         % (offset, length, len(data) - pos))
    return Tlv(cls, constructed, tag, data[pos:pos + length], pos + length)


def children(value: bytes) -> list[Tlv]:
    """The TLVs of a constructed value, in order."""
    items, offset = [], 0
    while offset < len(value):
        item = read_tlv(value, offset)
        items.append(item)
        offset = item.end
    return items


def tagged(value: bytes) -> dict[int, Tlv]:
    """The explicitly tagged fields ``[n]`` of a SEQUENCE's content, by tag number (their inner TLV)."""
    fields = {}
    for item in children(value):
        if item.cls == CONTEXT and item.constructed:
            fields[item.tag] = read_tlv(item.value)
    return fields


def decode_oid(value: bytes) -> str:
    if not value:
        raise TokenError("empty object identifier")
    first = value[0]
    parts = [min(first // 40, 2), first - 40 * min(first // 40, 2)]
    number = 0
    for byte in value[1:]:
        number = (number << 7) | (byte & 0x7F)
        if not byte & 0x80:
            parts.append(number)
            number = 0
    return ".".join(str(p) for p in parts)


def decode_int(value: bytes) -> int:
    return int.from_bytes(value, "big", signed=True) if value else 0


def decode_text(value: bytes) -> str:
    return value.decode("utf-8", "replace")
