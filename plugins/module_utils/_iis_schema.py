# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""The collection's own table of the IIS configuration schema it works with, and its value rules.

This is a curated subset of IIS 10's schema (``IIS_schema.xml``) plus ARR 3 (``arr_schema.xml``,
with the ``webFarm``/``server`` keys that the Web Farm Framework schema declares) and URL Rewrite
(``rewrite_schema.xml``): the seven sections the collection reads and edits, with the attributes,
child elements and collections that matter for them. Names, types, defaults, keys and ranges
follow Microsoft's schema files; a test compares every entry with those files.

The same table serves the controller (normalising desired values, showing schema defaults in diffs)
and the lab's simulated configuration engine. Values are held in their JSON form: ``bool``,
``int``, and ``str`` for strings, enum names, flag lists (``"A, B"``) and time spans (.NET's
constant format, ``[d.]hh:mm:ss[.fffffff]``).

No I/O here.
"""

from __future__ import annotations

import re
import typing as t
from dataclasses import dataclass

AUTH = "system.webServer/security/authentication/"
WINDOWS_AUTHENTICATION = AUTH + "windowsAuthentication"
ANONYMOUS_AUTHENTICATION = AUTH + "anonymousAuthentication"
APPLICATION_POOLS = "system.applicationHost/applicationPools"
SITES = "system.applicationHost/sites"
WEB_FARMS = "webFarms"
GLOBAL_RULES = "system.webServer/rewrite/globalRules"
PROXY = "system.webServer/proxy"

TYPES = frozenset(("bool", "uint", "int", "int64", "string", "enum", "flags", "timeSpan"))
UINT_MAX = 4294967295


class SchemaValueError(ValueError):
    """A value that the schema does not accept (the message names the attribute and the rule)."""


@dataclass(frozen=True)
class Attr:
    """One attribute of the schema (``<attribute>``)."""

    name: str
    type: str
    default: t.Any = None            # schema defaultValue, in JSON form; None: no defaultValue
    key: bool = False                # isUniqueKey or isCombinedKey
    combined: bool = False           # isCombinedKey: part of a key made of several attributes
    required: bool = False
    encrypted: bool = False          # a secret: never returned by read, compared on the host
    case_sensitive: bool = False
    values: tuple[tuple[str, int], ...] = ()    # enum or flags names and numbers
    range: tuple[int, int] | None = None        # validationType integerRange (inclusive)
    exclude: bool = False                       # integerRange ",exclude": the range is forbidden
    seconds: tuple[int, int] | None = None      # validationType timeSpanRange, in seconds
    validation: str = ""                        # other validationType (nonEmptyString, siteName, ...)

    @property
    def zero(self) -> t.Any:
        """The value IIS reports when an attribute is not set and the schema gives no default."""
        if self.default is not None:
            return self.default
        if self.type == "bool":
            return False
        if self.type in ("uint", "int", "int64"):
            return 0
        if self.type == "timeSpan":
            return "00:00:00"
        if self.type in ("enum", "flags") and self.values:
            for name, number in self.values:
                if number == 0:
                    return name
            return self.values[0][0] if self.type == "enum" else ""
        return ""


@dataclass(frozen=True)
class Collection:
    """The collection an element holds (``<collection addElement=...>``)."""

    item: "Element"
    remove: str = ""
    clear: str = ""
    default_element: str = ""   # the *Defaults element whose values unset item attributes take

    @property
    def add(self) -> str:
        return self.item.name

    @property
    def keys(self) -> tuple[Attr, ...]:
        return tuple(a for a in self.item.attrs if a.key)

    @property
    def unique_keys(self) -> tuple[Attr, ...]:
        """Attributes that each identify an item on their own (a site's name, and its id)."""
        return tuple(a for a in self.item.attrs if a.key and not a.combined)


@dataclass(frozen=True)
class Element:
    """An element of the schema: its attributes, child elements and (at most one) collection."""

    name: str
    attrs: tuple[Attr, ...] = ()
    children: tuple["Element", ...] = ()
    collection: Collection | None = None

    def attr(self, name: str) -> Attr | None:
        for attr in self.attrs:
            if attr.name.lower() == name.lower():
                return attr
        return None

    def child(self, name: str) -> "Element | None":
        for child in self.children:
            if child.name.lower() == name.lower():
                return child
        return None


@dataclass(frozen=True)
class Section:
    """A configuration section, with the declaration IIS setup writes for it in ``<configSections>``."""

    path: str
    root: Element
    override_mode_default: str = "Allow"
    allow_definition: str = "Everywhere"

    @property
    def app_host_only(self) -> bool:
        """True when the section may be set only for the whole server (location path "")."""
        return self.allow_definition in ("AppHostOnly", "MachineOnly")


# --- small constructors that keep the table readable --------------------------------------------

def _b(name: str, default: bool | None = None, **kw: t.Any) -> Attr:
    return Attr(name, "bool", default, **kw)


def _u(name: str, default: int | None = None, **kw: t.Any) -> Attr:
    return Attr(name, "uint", default, **kw)


def _s(name: str, default: str | None = None, **kw: t.Any) -> Attr:
    return Attr(name, "string", default, **kw)


def _ts(name: str, default: str | None, seconds: tuple[int, int] | None = None, **kw: t.Any) -> Attr:
    return Attr(name, "timeSpan", default, seconds=seconds, **kw)


def _e(name: str, default: str | None, *values: str, numbers: tuple[int, ...] = (), **kw: t.Any) -> Attr:
    nums = numbers or tuple(range(len(values)))
    return Attr(name, "enum", default, values=tuple(zip(values, nums)), **kw)


def _f(name: str, default: str, values: tuple[tuple[str, int], ...], **kw: t.Any) -> Attr:
    return Attr(name, "flags", default, values=values, **kw)


def _secret(name: str, default: str) -> Attr:
    return Attr(name, "string", default, encrypted=True, case_sensitive=True)


_LOGON_METHODS = ("Interactive", "Batch", "Network", "ClearText")
_HTTP_VERSIONS = ("Http10", "Http11", "PassThrough")
_RECYCLE_EVENTS = tuple(zip(("Time", "Requests", "Schedule", "Memory", "IsapiUnhealthy", "OnDemand",
                             "ConfigChange", "PrivateMemory"), (1, 2, 4, 8, 16, 32, 64, 128)))
_LOG_FIELDS = tuple(zip(
    ("Date", "Time", "ClientIP", "UserName", "SiteName", "ComputerName", "ServerIP", "Method", "UriStem",
     "UriQuery", "HttpStatus", "Win32Status", "BytesSent", "BytesRecv", "TimeTaken", "ServerPort", "UserAgent",
     "Cookie", "Referer", "ProtocolVersion", "Host", "HttpSubStatus"),
    tuple(1 << n for n in range(22))))
_LOG_DEFAULT = ("Date, Time, ClientIP, UserName, ServerIP, Method, UriStem, UriQuery, TimeTaken, HttpStatus, "
                "Win32Status, ServerPort, UserAgent, HttpSubStatus, Referer")


def _pool_element(name: str, keyed: bool) -> Element:
    """An application pool (``add``) or ``applicationPoolDefaults``: the same attributes and children."""
    process_model = Element("processModel", (
        _e("identityType", "ApplicationPoolIdentity", "LocalSystem", "LocalService", "NetworkService",
           "SpecificUser", "ApplicationPoolIdentity"),
        _s("userName"),
        _secret("password", "[enc:IISWASOnlyAesProvider::enc]"),
        _b("loadUserProfile", False),
        _b("setProfileEnvironment", True),
        _e("logonType", "LogonBatch", "LogonBatch", "LogonService"),
        _b("manualGroupMembership", False),
        _ts("idleTimeout", "00:20:00", (0, 2592000)),
        _e("idleTimeoutAction", "Terminate", "Terminate", "Suspend"),
        _u("maxProcesses", 1, range=(0, 2147483647)),
        _ts("shutdownTimeLimit", "00:01:30", (1, 4294967)),
        _ts("startupTimeLimit", "00:01:30", (1, 4294967)),
        _b("pingingEnabled", True),
        _ts("pingInterval", "00:00:30", (1, 4294967)),
        _ts("pingResponseTime", "00:01:30", (1, 4294967)),
        _f("logEventOnProcessModel", "IdleTimeout", (("IdleTimeout", 1),)),
    ))
    recycling = Element("recycling", (
        _b("disallowOverlappingRotation", False),
        _b("disallowRotationOnConfigChange", False),
        _f("logEventOnRecycle", "Time, Requests, Schedule, Memory, IsapiUnhealthy, OnDemand, ConfigChange, "
           "PrivateMemory", _RECYCLE_EVENTS),
    ), (Element("periodicRestart", (
        _u("memory", 0), _u("privateMemory", 0), _u("requests", 0),
        _ts("time", "1.05:00:00", (0, 25920000)),
    ), (Element("schedule", collection=Collection(
        Element("add", (_ts("value", None, (0, 86399), key=True, required=True),)), clear="clear")),)),))
    failure = Element("failure", (
        _e("loadBalancerCapabilities", "HttpLevel", "TcpLevel", "HttpLevel", numbers=(1, 2)),
        _b("orphanWorkerProcess", False),
        _b("rapidFailProtection", True),
        _ts("rapidFailProtectionInterval", "00:05:00", (60, 8640000)),
        _u("rapidFailProtectionMaxCrashes", 5, range=(1, 2147483647)),
    ))
    cpu = Element("cpu", (
        _u("limit", 0, range=(0, 100000)),
        _e("action", "NoAction", "NoAction", "KillW3wp", "Throttle", "ThrottleUnderLoad"),
        _ts("resetInterval", "00:05:00", (0, 86400)),
        _b("smpAffinitized", False),
    ))
    environment = Element("environmentVariables", collection=Collection(Element("add", (
        _s("name", key=True, required=True, validation="nonEmptyString"),
        _s("value", required=True, validation="nonEmptyString"),
    )), remove="remove"))
    return Element(name, (
        _s("name", key=keyed, required=keyed, validation="applicationPoolName"),
        _u("queueLength", 1000, range=(10, 65535)),
        _b("autoStart", True),
        _b("enable32BitAppOnWin64", False),
        _s("managedRuntimeVersion", ""),
        _s("managedRuntimeLoader", "webengine4.dll"),
        _b("enableConfigurationOverride", True),
        _e("managedPipelineMode", "Integrated", "Integrated", "Classic"),
        _s("CLRConfigFile", ""),
        _b("passAnonymousToken", True),
        _e("startMode", "OnDemand", "OnDemand", "AlwaysRunning"),
    ), (process_model, recycling, failure, cpu, environment))


def _virtual_directory(name: str, keyed: bool) -> Element:
    return Element(name, (
        _s("path", key=keyed, validation="virtualDirectoryPath"),
        _s("physicalPath"),
        _s("userName"),
        _secret("password", "[enc:AesProvider::enc]"),
        _e("logonMethod", "ClearText", *_LOGON_METHODS),
        _b("allowSubDirConfig", True),
    ))


def _application_defaults(full: bool) -> Element:
    attrs = (
        _s("path", validation="applicationPath"),
        _s("applicationPool", validation="applicationPoolName"),
        _s("enabledProtocols", "http"),
    )
    if full:
        attrs += (_b("serviceAutoStartEnabled", False), _s("serviceAutoStartProvider"), _b("preloadEnabled", False))
    return Element("applicationDefaults", attrs)


def _site_element(name: str, keyed: bool) -> Element:
    bindings = Element("bindings", collection=Collection(Element("binding", (
        _s("protocol", key=True, combined=True, required=True, validation="nonEmptyString"),
        _s("bindingInformation", key=True, combined=True, required=True, validation="nonEmptyString"),
        _u("sslFlags", 0),
    )), clear="clear"))
    limits = Element("limits", (
        _u("maxBandwidth", UINT_MAX, range=(0, 1023), exclude=True),
        _u("maxConnections", UINT_MAX),
        _ts("connectionTimeout", "00:02:00", (0, 65535)),
        _u("maxUrlSegments", 32, range=(0, 16383)),
    ))
    log_file = Element("logFile", (
        _f("logExtFileFlags", _LOG_DEFAULT, _LOG_FIELDS),
        _e("logFormat", "W3C", "IIS", "NCSA", "W3C", "Custom"),
        _s("directory", "%SystemDrive%\\inetpub\\logs\\LogFiles", validation="nonEmptyString" if keyed else ""),
        _e("period", "Daily", "MaxSize", "Daily", "Weekly", "Monthly", "Hourly"),
        _b("enabled", True),
    ))
    children: tuple[Element, ...] = (bindings, limits, log_file)
    attrs = (
        _s("name", key=keyed, required=keyed, validation="siteName"),
        Attr("id", "uint", None, key=keyed, required=keyed),
        _b("serverAutoStart", True),
    )
    if not keyed:
        return Element(name, attrs, children)
    application = Element("application", (
        _s("path", key=True, required=True, validation="applicationPath"),
        _s("applicationPool", validation="applicationPoolName"),
        _s("enabledProtocols", "http"),
        _b("serviceAutoStartEnabled", False),
        _s("serviceAutoStartProvider"),
        _b("preloadEnabled", False),
    ), (_virtual_directory("virtualDirectoryDefaults", False),), Collection(
        _virtual_directory("virtualDirectory", True), default_element="virtualDirectoryDefaults"))
    return Element(name, attrs, children + (_application_defaults(True), _virtual_directory(
        "virtualDirectoryDefaults", False)), Collection(application, default_element="applicationDefaults"))


def _windows_authentication() -> Element:
    providers = Element("providers", collection=Collection(
        Element("add", (_s("value", key=True),)), remove="remove", clear="clear"))
    extended = Element("extendedProtection", (
        _e("tokenChecking", "None", "None", "Allow", "Require"),
        _f("flags", "None", (("None", 0), ("Proxy", 1), ("NoServiceNameCheck", 2), ("AllowDotlessSpn", 4),
                             ("ProxyCohosting", 32))),
    ), collection=Collection(Element("spn", (_s("name", key=True, validation="nonEmptyString"),)),
                             remove="removeSpn", clear="clearSpns"))
    return Element("windowsAuthentication", (
        _b("enabled", False),
        _b("authPersistSingleRequest", False),
        _b("authPersistNonNTLM", False),
        _b("useKernelMode", True),
        _b("useAppPoolCredentials", False),
    ), (providers, extended))


def _protocol_attrs(farm: bool) -> tuple[Attr, ...]:
    """ARR's proxy settings, shared by system.webServer/proxy and a web farm's protocol element."""
    return (
        _e("httpVersion", "PassThrough", *_HTTP_VERSIONS),
        _b("keepAlive", True),
        _ts("timeout", "00:00:30" if farm else "00:02:00", (1, 86400)),
        _b("preserveHostHeader", bool(farm)),
        _b("reverseRewriteHostInResponseHeaders", not farm),
        _s("xForwardedForHeaderName", "X-Forwarded-For"),
        _b("includePortInXForwardedFor", True),
        _b("arrResponseHeader", True),
        _u("maxResponseHeaderSize", 65536),
    )


def _web_farms() -> Element:
    server = Element("server", (
        _s("address", key=True, required=True, validation="nonEmptyString"),
        _b("enabled", True),
    ), (Element("applicationRequestRouting", (
        _u("weight", 100, range=(1, UINT_MAX)),
        _u("httpPort", 80, range=(1, 65535)),
        _u("httpsPort", 443, range=(1, 65535)),
    )),))
    farm_arr = Element("applicationRequestRouting", children=(
        Element("protocol", _protocol_attrs(True)),
        Element("healthCheck", (
            _s("url"),
            _ts("interval", "00:00:30", (0, 86400)),
            _ts("timeout", "00:00:30", (1, 86400)),
            _s("statusCodeMatch", "200-399"),
            Attr("responseMatch", "string", None, case_sensitive=True),
        )),
        Element("affinity", (
            _b("useCookie", False),
            Attr("cookieName", "string", "ARRAffinity", case_sensitive=True, validation="nonEmptyString"),
        )),
        Element("loadBalancing", (
            _e("algorithm", "WeightedRoundRobin", "WeightedRoundRobin", "RequestHash", "LeastRequests",
               "LeastResponseTime", "WeightedTotalTraffic", numbers=(0, 4, 1, 2, 3)),
            Attr("hashServerVariable", "string", None, case_sensitive=True),   # RequestHash on a server variable
            _s("queryStringNames"),                                           # RequestHash on query string names
        )),
    ))
    farm = Element("webFarm", (
        _s("name", key=True, required=True, validation="siteName"),
        _b("enabled", True),
    ), (farm_arr,), Collection(server))
    host_affinity = Element("applicationRequestRouting", children=(
        Element("hostAffinityProviderList", collection=Collection(
            Element("add", (_s("name", key=True, required=True, validation="nonEmptyString"),)))),))
    return Element("webFarms", children=(host_affinity,), collection=Collection(farm))


def _global_rules() -> Element:
    conditions = Element("conditions", (
        _e("logicalGrouping", "MatchAll", "MatchAll", "MatchAny"),
        _b("trackAllCaptures", False),
    ), collection=Collection(Element("add", (
        _s("input", key=True, combined=True),
        _e("matchType", "Pattern", "Pattern", "IsFile", "IsDirectory", key=True, combined=True),
        _s("pattern", key=True, combined=True),
        _b("ignoreCase", True, key=True, combined=True),
        _b("negate", False, key=True, combined=True),
    ))))
    server_variables = Element("serverVariables", collection=Collection(Element("set", (
        _s("name", key=True, required=True, validation="requireTrimmedString"),
        _s("value"),
        _b("replace", True),
    ))))
    action = Element("action", (
        _e("type", "None", "None", "Rewrite", "Redirect", "CustomResponse", "AbortRequest"),
        _s("url", validation="requireTrimmedString"),
        _b("appendQueryString", True),
        _e("redirectType", "Permanent", "Permanent", "Found", "SeeOther", "Temporary",
           numbers=(301, 302, 303, 307)),
        _u("statusCode", 0, range=(300, 307), exclude=True),
        _u("subStatusCode", 0, range=(0, 999)),
        _s("statusReason"),
        _s("statusDescription"),
    ))
    rule = Element("rule", (
        _s("name", key=True, required=True),
        _b("enabled", True),
        _e("patternSyntax", "ECMAScript", "ECMAScript", "Wildcard", "ExactMatch"),
        _b("stopProcessing", False),
    ), (
        Element("match", (_s("url", validation="nonEmptyString"), _b("ignoreCase", True), _b("negate", False))),
        conditions, server_variables, action,
    ))
    return Element("globalRules", collection=Collection(rule, remove="remove", clear="clear"))


def _proxy() -> Element:
    return Element("proxy", (
        _b("enabled", False),
        _e("passServerHeader", "Replace", "Replace", "Remove", "PassThrough"),
    ) + _protocol_attrs(False) + (
        _s("xForwardedByHeaderName", "X-Forwarded-By"),
        _u("maxForwards", 10),
        _b("stealthMode", False),
        _secret("clientCertPassword", "[enc:AesProvider::enc]"),
    ), (Element("cache", (
        _b("enabled", True),
        _e("queryStringHandling", "Ignore", "Ignore", "NoCaching", "Accept"),
        _ts("validationInterval", "00:01:00", (0, 86400)),
    )),))


SECTIONS: dict[str, Section] = {s.path: s for s in (
    Section(APPLICATION_POOLS, Element("applicationPools", children=(
        _pool_element("applicationPoolDefaults", False),),
        collection=Collection(_pool_element("add", True), default_element="applicationPoolDefaults")),
        "Deny", "AppHostOnly"),
    Section(SITES, Element("sites", children=(
        _site_element("siteDefaults", False), _application_defaults(False),
        _virtual_directory("virtualDirectoryDefaults", False)),
        collection=Collection(_site_element("site", True), default_element="siteDefaults")),
        "Deny", "AppHostOnly"),
    Section(WINDOWS_AUTHENTICATION, _windows_authentication(), "Deny"),
    Section(ANONYMOUS_AUTHENTICATION, Element("anonymousAuthentication", (
        _b("enabled", True),
        _s("userName", "IUSR"),
        _secret("password", "[enc:AesProvider::enc]"),
        _e("logonMethod", "ClearText", *_LOGON_METHODS),
    )), "Deny"),
    Section(WEB_FARMS, _web_farms(), "Deny", "AppHostOnly"),
    Section(GLOBAL_RULES, _global_rules(), "Deny", "AppHostOnly"),
    Section(PROXY, _proxy(), "Deny", "AppHostOnly"),
)}


def get_section(path: str) -> Section | None:
    """The section with this path (IIS section paths are case-insensitive)."""
    for name, section in SECTIONS.items():
        if name.lower() == path.lower():
            return section
    return None


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


def resolve_element(section: Section, steps: t.Sequence[t.Any]) -> Element:
    """Walk a contract path (element names and item keys) through the schema; KeyError when it leaves it."""
    element = section.root
    for step in steps:
        if isinstance(step, str):
            child = element.child(step)
            if child is None:
                raise KeyError(step)
            element = child
        else:
            if element.collection is None:
                raise KeyError("(item)")
            element = element.collection.item
    return element


# --- values -------------------------------------------------------------------------------------

_TIMESPAN = re.compile(r"^(-)?(?:(\d+)\.)?(\d+):(\d{1,2})(?::(\d{1,2})(?:\.(\d{1,7}))?)?$")
_POOL_NAME_BAD = set('|<>&"/[]+=;:,?*@\\')   # the characters the applicationPoolName validator refuses
_SITE_NAME_BAD = set("/?")


def timespan_seconds(value: str) -> float:
    """Seconds in a time span string ([-][d.]hh:mm[:ss[.fffffff]]); hours may exceed 23, as IIS allows."""
    match = _TIMESPAN.match(value.strip())
    if not match:
        raise SchemaValueError("%r is not a time span ([d.]hh:mm:ss)" % value)
    sign, days, hours, minutes, secs, frac = match.groups()
    if int(minutes) > 59 or (secs and int(secs) > 59):
        raise SchemaValueError("%r is not a time span ([d.]hh:mm:ss)" % value)
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
