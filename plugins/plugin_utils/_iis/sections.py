# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""The collection's own table of the IIS configuration schema it works with (see ``schema`` for the model).

A curated subset of IIS 10's schema (``IIS_schema.xml``) plus ARR 3 (``arr_schema.xml``, with the
``webFarm``/``server`` keys that the Web Farm Framework schema declares) and URL Rewrite
(``rewrite_schema.xml``): the seven sections the collection reads and edits, with the attributes,
child elements and collections that matter for them. Names, types, defaults, keys and ranges follow
Microsoft's schema files; a test compares every entry with those files. No I/O here.
"""

from __future__ import annotations

import typing as t

from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis.schema import (
    ANONYMOUS_AUTHENTICATION,
    APPLICATION_POOLS,
    GLOBAL_RULES,
    PROXY,
    SITES,
    UINT_MAX,
    WEB_FARMS,
    WINDOWS_AUTHENTICATION,
    Attr,
    Collection,
    Element,
    Section,
)


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
