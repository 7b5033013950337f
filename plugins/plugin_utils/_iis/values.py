# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""The value rules of the IIS schema: JSON forms, parsing what the XML stores, normalising what is asked,
comparing as IIS compares, and which collection item a key names. Pure logic, no I/O.

Values are held in their JSON form: ``bool``, ``int``, and ``str`` for strings, enum names, flag
lists (``"A, B"``) and time spans (.NET's constant format, ``[d.]hh:mm:ss[.fffffff]``).
"""

from __future__ import annotations

import re
import typing as t

from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis.schema import (
    UINT_MAX,
    Attr,
    Collection,
    SchemaValueError,
)

_TIMESPAN = re.compile(r"^(-)?(?:(\d+)\.)?(\d+):(\d{1,2})(?::(\d{1,2})(?:\.(\d{1,7}))?)?$")
_POOL_NAME_BAD = set('|<>&"/[]+=;:,?*@\\')   # the characters the applicationPoolName validator refuses
_SITE_NAME_BAD = set("/?")


def timespan_seconds(value: str) -> float:
    """Seconds in a time span string ([-][d.]hh:mm[:ss[.fffffff]]); hours may exceed 23, as IIS allows."""
    match = _TIMESPAN.match(value.strip())
    if not match:
        raise SchemaValueError("%r is not a time span ([d.]hh:mm:ss). Fix: give one such as 00:20:00" % value)
    sign, days, hours, minutes, secs, frac = match.groups()
    if int(minutes) > 59 or (secs and int(secs) > 59):
        raise SchemaValueError("%r is not a time span ([d.]hh:mm:ss). Fix: give one such as 00:20:00" % value)
    total = int(days or 0) * 86400 + int(hours) * 3600 + int(minutes) * 60 + int(secs or 0)
    total += int((frac or "0").ljust(7, "0")) / 10 ** 7
    return -total if sign else total


def format_timespan(seconds: float) -> str:
    """.NET's constant ("c") TimeSpan format, as TimeSpan.ToString() gives it."""
    ticks = round(abs(seconds) * 10 ** 7)
    whole, frac = divmod(ticks, 10 ** 7)
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    text = "%02d:%02d:%02d" % (hours, minutes, secs)
    if days:
        text = "%d.%s" % (days, text)
    if frac:
        text += ".%07d" % frac
    return ("-" if seconds < 0 else "") + text


def _enum_name(attr: Attr, value: t.Any) -> str:
    if isinstance(value, bool):
        raise SchemaValueError("%s must be one of %s, not %r" % (attr.name, _names(attr), value))
    if isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit()):
        for name, number in attr.values:
            if number == int(value):
                return name
    elif isinstance(value, str):
        for name, _number in attr.values:
            if name.lower() == value.strip().lower():
                return name
    raise SchemaValueError("%s must be one of %s, not %r" % (attr.name, _names(attr), value))


def _flags_names(attr: Attr, value: t.Any) -> str:
    if isinstance(value, bool):
        raise SchemaValueError("%s takes flags from %s, not %r" % (attr.name, _names(attr), value))
    if isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit()):
        number = int(value)
        names = [name for name, bit in attr.values if bit and number & bit == bit]
        if sum(bit for name, bit in attr.values if name in names) != number:
            raise SchemaValueError("%s: %r is not a combination of %s" % (attr.name, value, _names(attr)))
        return ", ".join(names) or _zero_flag(attr)
    parts = value if isinstance(value, (list, tuple)) else str(value).split(",")
    wanted = set()
    for part in parts:
        part = str(part).strip()
        if not part:
            continue
        wanted.add(_enum_name(Attr(attr.name, "enum", values=attr.values), part))
    names = [name for name, bit in attr.values if name in wanted and bit]
    return ", ".join(names) or _zero_flag(attr)


def _zero_flag(attr: Attr) -> str:
    for name, bit in attr.values:
        if bit == 0:
            return name
    return ""


def _names(attr: Attr) -> str:
    return ", ".join(name for name, _number in attr.values)


def parse_stored(attr: Attr, raw: str) -> t.Any:
    """A value as stored in the XML, in JSON form. Raises SchemaValueError when IIS would refuse to read it."""
    if attr.type == "bool":
        if raw.strip().lower() in ("true", "false"):
            return raw.strip().lower() == "true"
        raise SchemaValueError("%s must be true or false, not %r" % (attr.name, raw))
    if attr.type in ("uint", "int", "int64"):
        try:
            return int(raw.strip(), 0) if raw.strip().lower().startswith("0x") else int(raw.strip())
        except ValueError:
            raise SchemaValueError("%s must be a number, not %r" % (attr.name, raw)) from None
    if attr.type == "enum":
        return _enum_name(attr, raw)
    if attr.type == "flags":
        return _flags_names(attr, raw)
    if attr.type == "timeSpan":
        return format_timespan(timespan_seconds(raw))
    return raw


def default_value(attr: Attr) -> t.Any:
    """The schema default in JSON form (time spans normalised)."""
    value = attr.zero
    if attr.type == "timeSpan":
        return format_timespan(timespan_seconds(value))
    if attr.type == "flags":
        return _flags_names(attr, value)
    return value


def normalize(attr: Attr, value: t.Any) -> t.Any:
    """A requested value in JSON form, checked against the schema's type and validation rules."""
    if value is None:
        raise SchemaValueError("%s needs a value" % attr.name)
    if attr.type == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        raise SchemaValueError("%s must be true or false, not %r" % (attr.name, value))
    if attr.type in ("uint", "int", "int64"):
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise SchemaValueError("%s must be a whole number, not %r" % (attr.name, value))
        try:
            number = int(value)
        except ValueError:
            raise SchemaValueError("%s must be a whole number, not %r" % (attr.name, value)) from None
        low, high = {"uint": (0, UINT_MAX), "int": (-2 ** 31, 2 ** 31 - 1),
                     "int64": (-2 ** 63, 2 ** 63 - 1)}[attr.type]
        if not low <= number <= high:
            raise SchemaValueError("%s must be between %d and %d, not %d" % (attr.name, low, high, number))
        if attr.range:
            inside = attr.range[0] <= number <= attr.range[1]
            if inside == attr.exclude:
                rule = "outside" if attr.exclude else "between"
                raise SchemaValueError("%s must be %s %d and %d, not %d" % (attr.name, rule, attr.range[0],
                                                                            attr.range[1], number))
        return number
    if attr.type == "enum":
        return _enum_name(attr, value)
    if attr.type == "flags":
        return _flags_names(attr, value)
    if attr.type == "timeSpan":
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise SchemaValueError("%s must be a time span ([d.]hh:mm:ss), not %r" % (attr.name, value))
        seconds = float(value) if isinstance(value, (int, float)) else timespan_seconds(value)
        if attr.seconds and not attr.seconds[0] <= seconds <= attr.seconds[1]:
            raise SchemaValueError("%s must be between %s and %s" % (
                attr.name, format_timespan(attr.seconds[0]), format_timespan(attr.seconds[1])))
        return format_timespan(seconds)
    if not isinstance(value, str):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise SchemaValueError("%s must be a string" % attr.name)
        value = str(value)
    _validate_string(attr, value)
    return value


def _validate_string(attr: Attr, value: str) -> None:
    what = "the value" if attr.encrypted else repr(value)
    if attr.validation == "nonEmptyString" and not value:
        raise SchemaValueError("%s must not be empty" % attr.name)
    if attr.validation == "requireTrimmedString" and value != value.strip():
        raise SchemaValueError("%s must not start or end with white space (%s)" % (attr.name, what))
    if attr.validation == "applicationPoolName" and (_POOL_NAME_BAD & set(value) or value != value.strip()):
        raise SchemaValueError("%s %s holds a character IIS refuses in pool names (%s)"
                               % (attr.name, what, "".join(sorted(_POOL_NAME_BAD))))
    if attr.validation == "siteName" and _SITE_NAME_BAD & set(value):
        raise SchemaValueError("%s %s must not contain / or ?" % (attr.name, what))
    if attr.validation in ("applicationPath", "virtualDirectoryPath"):
        segments = value.split("/")[1:]
        if not value.startswith("/") or (value != "/" and value.endswith("/")) or any(
                seg in (".", "..") for seg in segments):
            raise SchemaValueError("%s %s must start with / and not end with / (e.g. /app)" % (attr.name, what))
    if attr.required and attr.key and not value:
        raise SchemaValueError("%s is a key and must not be empty" % attr.name)


def to_stored(attr: Attr, value: t.Any) -> str:
    """The XML text of a normalised value."""
    if attr.type == "bool":
        return "true" if value else "false"
    return str(value)


def values_equal(attr: Attr, left: t.Any, right: t.Any) -> bool:
    """Compare two values the way IIS compares them (strings are case-insensitive unless the schema says not)."""
    if attr.type == "string" and isinstance(left, str) and isinstance(right, str) and not attr.case_sensitive:
        return left.lower() == right.lower()
    return left == right


def key_matches(coll: Collection, item: dict[str, t.Any], given: dict[str, t.Any]) -> bool:
    """Whether an item (attribute values in JSON form, unset ones absent) is the one a key object names.

    With unique keys (a site's name, its id), the given ones must match; with a combined key
    (a binding's protocol and bindingInformation), every part must match, missing parts taking
    their default.
    """
    lowered = {k.lower(): v for k, v in given.items()}
    unique = coll.unique_keys
    parts = [a for a in unique if a.name.lower() in lowered] if unique else list(coll.keys)
    if not parts:
        return False
    for attr in parts:
        want = lowered.get(attr.name.lower(), default_value(attr))
        have = item.get(attr.name, default_value(attr))
        try:
            want = normalize(attr, want)
        except SchemaValueError:
            return False
        if not values_equal(attr, have, want):
            return False
    return True


def item_identity(coll: Collection, item: dict[str, t.Any]) -> tuple:
    """What makes two items the same item (duplicates, and an <add> at a deeper path replacing one)."""
    parts = coll.unique_keys[:1] or coll.keys
    identity = []
    for attr in parts:
        value = item.get(attr.name, default_value(attr))
        identity.append(value.lower() if isinstance(value, str) and not attr.case_sensitive else value)
    return tuple(identity)
