# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""Service principal names as text: parsing, validation, expansion and search filters. Pure logic, no I/O.

An SPN is ``serviceclass/host[:port][/servicename]``. Active Directory compares
them case-insensitively and lets one SPN live on one account of the forest only
(the KDC must know which key encrypts the ticket). Everything here works on the
lower-cased form for comparison and keeps the value as written for display and
for writing; deletions always send the value exactly as the directory stores it.
"""

from __future__ import annotations

import re
import typing as t
from dataclasses import dataclass

from ansible_collections.webfarm.winauth.plugins.module_utils._windows.dn import escape_filter_value
from ansible_collections.webfarm.winauth.plugins.module_utils._windows.errors import InvalidInput

SPN_ATTRIBUTE = "servicePrincipalName"

# Characters a service class, a host name and a service name may hold.
_CLASS_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_HOST_RE = re.compile(r"^[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?(\.[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?)*$")
_SERVICE_NAME_RE = re.compile(r"^[A-Za-z0-9._=,-]+$")
# SQL Server registers MSSQLSvc/<host>:<instance name> for named instances.
_SQL_INSTANCE_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_$#]*$")
_IPV4_RE = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")
_WHITESPACE_RE = re.compile(r"\s")

SPN_FORM = "serviceclass/host[:port][/servicename], e.g. HTTP/sso.camtest.local"


class SpnError(InvalidInput):
    """Invalid input, explained: the parameter, the value and the fix."""


@dataclass(frozen=True)
class Spn:
    """One parsed SPN. ``value`` is the SPN as written; ``key`` is how AD compares it."""

    value: str
    service_class: str
    host: str
    port: int | None = None
    instance: str | None = None
    service_name: str | None = None

    @property
    def key(self) -> str:
        return self.value.lower()

    @property
    def class_key(self) -> str:
        return self.service_class.lower()

    @property
    def host_key(self) -> str:
        return self.host.lower()

    def __str__(self) -> str:
        return self.value


def spn_key(value: str) -> str:
    """How Active Directory compares SPNs: case-insensitively."""
    return value.lower()


def service_class_of(value: str) -> str:
    """The service class of a stored SPN value (lower-cased), without validating it."""
    return value.split("/", 1)[0].lower()


def host_of(value: str) -> str:
    """The host part of a stored SPN value (lower-cased, without port), without validating it."""
    parts = value.split("/")
    if len(parts) < 2:
        return ""
    return parts[1].split(":", 1)[0].lower()


def _fail(parameter: str, value: str, problem: str, fix: str) -> t.NoReturn:
    raise SpnError("%s: %r %s; %s" % (parameter, value, problem, fix))


def validate_service_class(service_class: str, parameter: str = "service_class") -> str:
    text = service_class if isinstance(service_class, str) else ""
    if not text:
        _fail(parameter, service_class, "is empty", "give a service class such as HTTP")
    if _WHITESPACE_RE.search(text):
        _fail(parameter, service_class, "contains whitespace", "remove it (a service class is one word, e.g. HTTP)")
    if not _CLASS_RE.match(text):
        _fail(parameter, service_class, "is not a service class",
              "use letters, digits, '.', '_' and '-' only, e.g. HTTP or MSSQLSvc")
    return text


def validate_host(host: str, parameter: str, value: str | None = None) -> str:
    """Check a host name (short name, FQDN or IPv4 address) and return it."""
    shown = host if value is None else value
    if not host:
        _fail(parameter, shown, "has an empty host name", "write it as " + SPN_FORM)
    if host.endswith("."):
        _fail(parameter, shown, "has a host name ending with a dot", "drop the trailing dot (%s)" % host.rstrip("."))
    if not _HOST_RE.match(host):
        bad = sorted({c for c in host if not (c.isalnum() and c.isascii()) and c not in "._-"})
        problem = ("has characters a host name cannot hold (%s)" % " ".join(repr(c) for c in bad)) if bad else \
            "has an empty label in its host name ('..', or a label starting or ending with '-')"
        _fail(parameter, shown, problem, "give a DNS host name such as sso or sso.camtest.local")
    long_label = next((label for label in host.split(".") if len(label) > 63), None)
    if long_label is not None:
        _fail(parameter, shown, "has a host name label of %d characters (%s...)" % (len(long_label), long_label[:20]),
              "a DNS label holds at most 63 characters (RFC 1035): give the name the site is really reached by")
    if len(host) > 253:
        _fail(parameter, shown, "has a host name of %d characters" % len(host),
              "a DNS name holds at most 253 characters (RFC 1035, 255 octets on the wire)")
    return host


def parse_spn(text: str, parameter: str = "spns") -> Spn:
    """Parse and validate one SPN; raise SpnError naming ``parameter``, the value and the fix."""
    if not isinstance(text, str) or not text:
        _fail(parameter, text, "is empty", "write it as " + SPN_FORM)
    if _WHITESPACE_RE.search(text):
        _fail(parameter, text, "contains whitespace", "remove it; an SPN holds no spaces (" + SPN_FORM + ")")
    if "@" in text:
        _fail(parameter, text, "contains '@'", "drop the @REALM part: an SPN names a service, not a principal in a realm")
    if "//" in text:
        _fail(parameter, text, "contains a double slash", "write it as " + SPN_FORM)
    parts = text.split("/")
    if len(parts) == 1:
        _fail(parameter, text, "has no service class", "write it as " + SPN_FORM + " (HTTP for a web site)")
    if len(parts) > 3:
        _fail(parameter, text, "has more than three parts", "write it as " + SPN_FORM)
    service_class = parts[0]
    if not service_class:
        _fail(parameter, text, "has an empty service class", "write it as " + SPN_FORM)
    if not _CLASS_RE.match(service_class):
        _fail(parameter, text, "has an invalid service class %r" % service_class,
              "use letters, digits, '.', '_' and '-' only, e.g. HTTP")
    host_port = parts[1]
    if not host_port:
        _fail(parameter, text, "has an empty host", "write it as " + SPN_FORM)
    port: int | None = None
    instance: str | None = None
    host = host_port
    if ":" in host_port:
        host, _sep, port_text = host_port.partition(":")
        if not port_text:
            _fail(parameter, text, "has an empty port after ':'", "give a port in 1-65535 or drop the ':'")
        if port_text.isdigit():
            port = int(port_text)
            if not 1 <= port <= 65535:
                _fail(parameter, text, "has port %s, outside 1-65535" % port_text, "give a TCP port in 1-65535")
        elif service_class.lower() == "mssqlsvc" and _SQL_INSTANCE_RE.match(port_text):
            instance = port_text
        else:
            _fail(parameter, text, "has %r where a port belongs" % port_text,
                  "give a TCP port in 1-65535 (only MSSQLSvc SPNs may name an instance there)")
    validate_host(host, parameter, text)
    service_name: str | None = None
    if len(parts) == 3:
        service_name = parts[2]
        if not service_name:
            _fail(parameter, text, "ends with an empty service name", "drop the trailing '/'")
        if not _SERVICE_NAME_RE.match(service_name):
            _fail(parameter, text, "has an invalid service name %r" % service_name,
                  "use a DNS or distinguished name, e.g. ldap/dc1.camtest.local/camtest.local")
    return Spn(value=text, service_class=service_class, host=host, port=port, instance=instance,
               service_name=service_name)


def expand_hosts(hosts: t.Sequence[str], service_class: str, dns_domain: str | None,
                 parameter: str = "hosts") -> list[str]:
    """``[sso]`` with HTTP and camtest.local -> ``[HTTP/sso, HTTP/sso.camtest.local]``.

    A host given as an FQDN also yields its short name; a short host needs
    ``dns_domain`` for its FQDN. An IPv4 address yields itself only.
    """
    service_class = validate_service_class(service_class)
    domain = (dns_domain or "").strip().strip(".")
    if domain:
        validate_host(domain, "dns_domain")
    result: list[str] = []
    for raw in hosts:
        host = raw if isinstance(raw, str) else ""
        if not host:
            _fail(parameter, raw, "is empty", "give a host name such as sso or sso.camtest.local")
        if _WHITESPACE_RE.search(host):
            _fail(parameter, raw, "contains whitespace", "give a bare host name such as sso")
        if "/" in host or ":" in host:
            _fail(parameter, raw, "is not a bare host name",
                  "give just the host here; put port-qualified or three-part SPNs in spns")
        validate_host(host, parameter)
        if _IPV4_RE.match(host):
            names = [host]
        elif "." in host:
            names = [host.split(".", 1)[0], host]
        elif domain:
            names = [host, "%s.%s" % (host, domain)]
        else:
            _fail(parameter, raw, "is a short name and no DNS domain is known",
                  "set dns_domain (e.g. camtest.local) or give the fully qualified name")
        result.extend("%s/%s" % (service_class, name) for name in names)
    return result


def unique_spns(spns: t.Iterable[Spn]) -> list[Spn]:
    """Drop repeats (case-insensitively), keeping the first spelling."""
    seen: set[str] = set()
    result: list[Spn] = []
    for spn in spns:
        if spn.key not in seen:
            seen.add(spn.key)
            result.append(spn)
    return result


def build_desired(spns: t.Sequence[str], hosts: t.Sequence[str], service_class: str | None,
                  dns_domain: str | None) -> list[Spn]:
    """Validate ``spns`` and expand ``hosts``: the SPNs a task names, in order, without repeats."""
    parsed = [parse_spn(value, "spns") for value in spns]
    if hosts:
        parsed.extend(parse_spn(value, "hosts") for value in
                      expand_hosts(hosts, service_class or "HTTP", dns_domain))
    return unique_spns(parsed)


# --------------------------------------------------------------------------- LDAP filters

def escape_pattern(pattern: str) -> str:
    """Escape a ``setspn -Q`` style pattern for a substring filter: ``*`` stays a wildcard."""
    return "*".join(escape_filter_value(part) for part in pattern.split("*"))


def forest_filter(spn_values: t.Iterable[str], host_names: t.Iterable[str] = ()) -> str:
    """One filter for the Global Catalog: holders of the SPNs, and the owners of the host names.

    A host is owned by the computer whose dNSHostName (FQDN) or sAMAccountName
    (short name plus ``$``) it is, and by whoever holds ``HOST/<host>``: the
    account the KDC uses for ``HTTP/<host>`` when no HTTP SPN is registered.
    """
    terms = ["(servicePrincipalName=%s)" % escape_filter_value(v) for v in dict.fromkeys(spn_values)]
    for host in dict.fromkeys(h.lower() for h in host_names):
        value = escape_filter_value(host)
        terms.append("(servicePrincipalName=HOST/%s)" % value)
        if "." in host:
            terms.append("(&(objectClass=computer)(dNSHostName=%s))" % value)
        else:
            terms.append("(&(objectClass=computer)(sAMAccountName=%s$))" % value)
    if not terms:
        return ""
    return terms[0] if len(terms) == 1 else "(|%s)" % "".join(terms)


def pattern_filter(patterns: t.Iterable[str]) -> str:
    terms = ["(servicePrincipalName=%s)" % escape_pattern(p) for p in dict.fromkeys(patterns)]
    return terms[0] if len(terms) == 1 else "(|%s)" % "".join(terms)


def pattern_matches(pattern: str, value: str) -> bool:
    """``setspn -Q`` matching: case-insensitive, ``*`` matches any run of characters."""
    regex = ".*".join(re.escape(part) for part in pattern.lower().split("*"))
    return re.fullmatch(regex, value.lower(), flags=re.DOTALL) is not None


def validate_pattern(pattern: str, parameter: str = "spns") -> str:
    if not isinstance(pattern, str) or not pattern:
        _fail(parameter, pattern, "is empty", "give an SPN or a pattern such as HTTP/sso* or */web01*")
    if _WHITESPACE_RE.search(pattern):
        _fail(parameter, pattern, "contains whitespace", "remove it; an SPN holds no spaces")
    if pattern.strip("*") == "":
        return pattern
    metacharacters = sorted(set(pattern) & set("()\\=&|!<>~\x00"))
    if metacharacters:
        _fail(parameter, pattern, "has characters an SPN cannot hold (%s)" % " ".join(repr(c) for c in metacharacters),
              "use * as the only wildcard, as in HTTP/sso* or */web01*")
    if "*" not in pattern:
        parse_spn(pattern, parameter)
    elif "/" not in pattern:
        _fail(parameter, pattern, "has no '/'", "give serviceclass/host, with * as a wildcard: HTTP/sso*, */web01*")
    return pattern
