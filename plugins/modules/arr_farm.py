#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# The action plugin plugins/action/arr_farm.py does the work; this file holds its documentation only.

DOCUMENTATION = r"""
module: arr_farm
short_description: ARR web farm, its URL Rewrite routing rule, the proxy switch and an anonymous front door
version_added: 0.1.0
description:
  - Configures the Application Request Routing (ARR) front end of seed 000 on one IIS server (the ARR
    node). Clients reach the ARR site anonymously, and ARR forwards their requests, with their
    C(Authorization) headers, to content servers that do Windows authentication.
  - "The web farm (C(webFarms) section): the farm, its servers (address, HTTP and HTTPS ports, weight,
    enabled), the load-balancing algorithm, the health test, client affinity and the farm's proxy
    settings (C(preserveHostHeader), C(keepAlive), C(timeout))."
  - "The routing rule (C(system.webServer/rewrite/globalRules)), shaped as IIS Manager's Create Server
    Farm wizard writes it: C(ARR_<farm>_loadbalance) with C(patternSyntax=Wildcard), C(match url=*),
    C(action type=Rewrite url=http://<farm>/{R:0}) and C(stopProcessing=true), plus the wizard's
    C(ARR_<farm>_loadbalance_SSL) rule when SSL offloading is off. Optional conditions on the host
    header and on C({HTTPS}), and another URL pattern."
  - The proxy switch (C(system.webServer/proxy) C(enabled)), and optionally its timeout and header settings.
  - "The front door: anonymous authentication on and Windows authentication off on the ARR site,
    planned by the same logic as the collection's web authentication settings. ARR must not answer
    the Windows authentication handshake itself: the content servers do."
  - Every parameter is checked before anything is read or written. A run with nothing to change costs one
    remote command on the host; a run that changes costs two, and all changes are committed together.
  - Changes are item-level. Adding a server to the farm is one collection C(add) (and C(set) edits for its
    ports and weight); removing one is one C(remove). The farm is never rewritten as a whole.
  - With O(state=absent), the farm and its routing rules are removed. The proxy switch and the front door's
    authentication settings are left as they are, because other sites or farms may rely on them, unless
    O(proxy) says otherwise.
  - What ARR does and does not do for Windows authentication (Kerberos, NTLM, the seed's
    401.2, 401.1, 200 log) is explained in docs/arr-farm.md in the collection.
author:
  - webfarm.winauth maintainers (@webfarm)
attributes:
  check_mode:
    support: full
    description: Predicts exactly what would change and writes nothing (one remote read per host).
  diff_mode:
    support: full
    description: Shows each touched element before and after, with schema defaults and inherited values marked.
  platform:
    support: full
    platforms: windows
    description: IIS 10 with Application Request Routing 3 and URL Rewrite 2, on Windows Server 2016 or later.
notes:
  - Runs on the controller and reaches the host through the host's own connection (C(winrm), C(psrp), or
    C(ssh) with the PowerShell shell). The connection user must be a local administrator; C(become) does
    not apply.
  - The three ARR sections are server-wide (C(allowDefinition=AppHostOnly)) and are written to
    C(applicationHost.config) only.
  - New global rules are added after the existing ones. URL Rewrite runs global rules in order, so a rule
    placed earlier that matches the same requests and stops processing takes them first.
options:
  name:
    description:
      - The web farm's name. The routing rule rewrites requests to C(http://<name>/{R:0}), which is how ARR
        finds the farm, so the name must work as a host name. Letters, digits, C(.), C(-) and C(_).
      - Farm names compare case-insensitively, as IIS compares them.
    type: str
    required: true
  state:
    description:
      - C(present) creates or updates the farm, its routing rules, the proxy switch and the front door.
      - C(absent) removes the farm and its routing rules (the names O(rule.name) gives, with and without
        C(_SSL)), and warns about other global rules that still rewrite to the farm. The proxy switch and
        the front door are left alone unless O(proxy) is given.
    type: str
    choices: [present, absent]
    default: present
  enabled:
    description:
      - Whether the farm is enabled (C(webFarm enabled)).
    type: bool
    default: true
  servers:
    description:
      - The farm's servers. With O(purge_servers=true), exactly these; servers not listed are removed.
      - Leave it out to keep the servers the farm has. The module warns when the farm is left without servers.
      - Settings left out of an entry keep their current value (for a new server, ARR's defaults, weight 100
        and ports 80 and 443).
    type: list
    elements: dict
    suboptions:
      address:
        description:
          - Host name, FQDN or IP address of the content server, such as C(content1.camtest.local).
          - No scheme, port or path. A URL or C(host:port) is refused, with the fix.
          - Addresses compare case-insensitively.
        type: str
        required: true
      http_port:
        description: Port ARR uses for HTTP requests to this server (1-65535; ARR's default is 80).
        type: int
      https_port:
        description: Port ARR uses for HTTPS requests to this server (1-65535; ARR's default is 443).
        type: int
      weight:
        description: The server's weight for C(WeightedRoundRobin) (1 or more; ARR's default is 100).
        type: int
      enabled:
        description: Whether ARR sends requests to this server.
        type: bool
        default: true
  purge_servers:
    description:
      - With O(servers) given, remove the farm's servers that are not listed.
    type: bool
    default: true
  algorithm:
    description:
      - The load-balancing algorithm, by the name in ARR's schema (case-insensitive).
      - "C(WeightedRoundRobin) (ARR's default; round robin is this with equal weights), C(RequestHash) (a hash
        of the URL, or of O(hash_server_variable), or of O(hash_query_string); IIS Manager's Request hash,
        Server variable hash and Query string hash), C(LeastRequests), C(LeastResponseTime),
        C(WeightedTotalTraffic)."
      - ARR 3's schema says that it no longer supports C(LeastRequests), C(LeastResponseTime) and
        C(WeightedTotalTraffic) and uses C(WeightedRoundRobin) for them. They are written as asked, with a
        warning.
      - An unknown name is refused, naming the valid ones (and the right one for names such as C(RoundRobin)).
      - Leave it out to keep the current algorithm.
    type: str
  hash_server_variable:
    description:
      - With O(algorithm=RequestHash), the server variable to hash, such as C(REMOTE_ADDR) (a client keeps its
        server for as long as its address does) or C(HTTP_HOST).
      - When O(algorithm) is given, an unset O(hash_server_variable) is cleared in the configuration.
    type: str
  hash_query_string:
    description:
      - With O(algorithm=RequestHash), the query string names to hash (C(queryStringNames)).
      - When O(algorithm) is given, an unset O(hash_query_string) is cleared in the configuration.
    type: list
    elements: str
  health_check:
    description:
      - ARR's URL health test of the farm's servers. Settings left out keep their current value.
    type: dict
    suboptions:
      url:
        description:
          - Absolute C(http://) or C(https://) URL that ARR requests from every server of the farm, such as
            C(http://sso.camtest.local/health.htm). Anything that is not such a URL is refused.
          - C("") removes the URL test (ARR then judges servers by live traffic only).
          - The test runs anonymously. On content servers that require Windows authentication, give a URL
            that allows anonymous access, or accept C(401) in O(health_check.status_codes).
        type: str
      interval:
        description: Seconds between tests (0-86400; ARR's default is 30).
        type: int
      timeout:
        description: Seconds ARR waits for an answer (1-86400, not longer than the interval; ARR's default is 30).
        type: int
      status_codes:
        description: Status codes that count as healthy, as codes and ranges separated by commas, such as
          C(200-399) (ARR's default) or C(200,401).
        type: str
      response_match:
        description: Text the response body must contain (case-sensitive). C("") for none.
        type: str
  client_affinity:
    description:
      - Client affinity with a cookie (C(affinity useCookie)). ARR then sends a client's requests to the
        server its first request went to, for as long as the client keeps the cookie.
      - Needed for NTLM through ARR (see docs/arr-farm.md), which ARR cannot guarantee even then; not needed
        for Kerberos.
      - Leave it out to keep the current setting.
    type: bool
  affinity_cookie_name:
    description: Name of the affinity cookie (ARR's default is C(ARRAffinity)).
    type: str
  preserve_host_header:
    description:
      - Whether ARR sends the client's C(Host) header to the content servers (the farm's
        C(protocol preserveHostHeader)) rather than the server's address.
      - Keep it on behind Windows authentication. The content site's bindings, the application's own URLs
        and Extended Protection's service name check all see the name the client used.
    type: bool
    default: true
  keep_alive:
    description:
      - Whether ARR keeps its connections to the content servers open (the farm's C(protocol keepAlive);
        ARR's default is true).
      - NTLM cannot work through ARR without it; the module warns when it is off.
      - Leave it out to keep the current setting.
    type: bool
  timeout:
    description: Seconds ARR waits for a content server's response (the farm's C(protocol timeout), 1-86400;
      ARR's default is 30). Leave it out to keep the current value.
    type: int
  rule:
    description:
      - The URL Rewrite global rules that send requests to the farm.
    type: dict
    suboptions:
      name:
        description:
          - The rule's name. The HTTPS rule (without SSL offloading) is this name with C(_SSL).
          - Defaults to C(ARR_<farm>_loadbalance), the wizard's name.
        type: str
      enabled:
        description: Whether the rules are enabled.
        type: bool
        default: true
      pattern:
        description:
          - The URL path pattern (without the leading C(/)), in O(rule.pattern_syntax).
          - Defaults to C(*) for C(Wildcard) and C(.*) for C(ECMAScript); required for C(ExactMatch).
          - "C(ECMAScript) patterns are compiled before anything is written, with Python's C(re) on the subset
            both share; group extensions other than C((?:), C((?=) and C((?!) (Python's C((?P<name>), inline
            flags, lookbehind) and the escapes C(\\A), C(\\Z), C(\\z), C(\\G) are refused, since URL Rewrite would
            read them differently."
        type: str
      pattern_syntax:
        description: The pattern syntax of the rule and its conditions. The wizard uses C(Wildcard).
        type: str
        choices: [Wildcard, ECMAScript, ExactMatch]
        default: Wildcard
      ignore_case:
        description: Whether the URL pattern ignores case.
        type: bool
        default: true
      host_header:
        description:
          - A condition on the request's host (C({HTTP_HOST})), in O(rule.pattern_syntax), such as
            C(sso.camtest.local) (C(Wildcard)) or C(^sso\.camtest\.local$) (C(ECMAScript)).
          - Without it, the rules route requests for every host name the server answers.
        type: str
      scheme:
        description:
          - Which requests are routed. C(any) (the wizard's), C(https) (a C({HTTPS}) condition, C(On)) or C(http).
        type: str
        choices: [any, https, http]
        default: any
      ssl_offload:
        description:
          - C(true) (the wizard's default) sends every routed request to the servers over HTTP.
          - C(false) sends HTTPS requests over HTTPS to O(servers[].https_port), with the wizard's C(_SSL)
            rule ahead of the plain rule.
        type: bool
        default: true
  proxy:
    description:
      - ARR's server-wide proxy settings (C(system.webServer/proxy)).
      - With O(state=present), O(proxy.enabled) defaults to true. With O(state=absent), nothing here is
        changed unless given.
      - The farm's own settings (O(preserve_host_header), O(keep_alive), O(timeout)) govern requests routed to
        the farm; these are the defaults for requests rewritten to plain URLs.
    type: dict
    suboptions:
      enabled:
        description: Whether ARR proxies at all. The farm receives nothing while this is false.
        type: bool
      timeout:
        description: Seconds to wait for a response (1-86400; ARR's default is 120).
        type: int
      preserve_host_header:
        description: Whether to preserve the client's C(Host) header (ARR's default is false).
        type: bool
      reverse_rewrite_host:
        description: Whether to rewrite the host in response headers such as C(Location) back to the client's
          (C(reverseRewriteHostInResponseHeaders); ARR's default is true).
        type: bool
  site:
    description:
      - The IIS site on the ARR node that receives the clients' requests, for the front door.
    type: str
    default: Default Web Site
  front_door:
    description:
      - With O(state=present), set anonymous authentication on and Windows authentication off on O(site).
      - C(false) leaves the site's authentication alone.
    type: bool
    default: true
seealso:
  - name: Define and configure an ARR server farm
    description: Microsoft's walkthrough of the Create Server Farm wizard and the rules it writes.
    link: https://learn.microsoft.com/iis/extensions/configuring-application-request-routing-arr/define-and-configure-an-application-request-routing-server-farm
  - name: HTTP load balancing using ARR
    description: Health test, client affinity and the wizard's rules with SSL offloading off.
    link: https://learn.microsoft.com/iis/extensions/configuring-application-request-routing-arr/http-load-balancing-using-application-request-routing
"""

EXAMPLES = r"""
- name: Seed 000's ARR front end - ARR1 sends sso.camtest.local to CONTENT1 and CONTENT2
  webfarm.winauth.arr_farm:
    name: sso-farm
    servers:
      - address: content1.camtest.local
      - address: content2.camtest.local
    health_check:
      url: http://sso.camtest.local/health.htm
      interval: 10
      timeout: 5
    client_affinity: true
    rule:
      host_header: sso.camtest.local

- name: Add a third server (one collection add; the other servers are not touched)
  webfarm.winauth.arr_farm:
    name: sso-farm
    purge_servers: false
    servers:
      - address: content3.camtest.local
        weight: 50

- name: Keep a client on one server by its address, HTTPS only, forwarded over HTTPS
  webfarm.winauth.arr_farm:
    name: sso-farm
    algorithm: RequestHash
    hash_server_variable: REMOTE_ADDR
    rule:
      scheme: https
      ssl_offload: false
      pattern_syntax: ECMAScript
      host_header: ^sso\.camtest\.local$

- name: Remove the farm and its rules (the proxy switch and the site's authentication stay)
  webfarm.winauth.arr_farm:
    name: sso-farm
    state: absent
"""

RETURN = r"""
changes:
  description: What was changed (or, in check mode, would be), one line per edit, without secret values.
  returned: always
  type: list
  elements: str
  sample:
    - add server content3.camtest.local (webFarms @ server [name=sso-farm])
remote_calls:
  description: Remote commands run on the host (1 when nothing changes or in check mode, 2 when something changes).
  returned: always
  type: int
  sample: 1
farm:
  description: The farm as the task leaves it (or, in check mode, would leave it). C(null) with O(state=absent).
  returned: always
  type: dict
  contains:
    name:
      description: The farm's name.
      type: str
      sample: sso-farm
    enabled:
      description: Whether the farm is enabled.
      type: bool
      sample: true
    servers:
      description: The farm's servers, with their address, enabled, weight, http_port and https_port.
      type: list
      elements: dict
      sample:
        - {address: content1.camtest.local, enabled: true, weight: 100, http_port: 80, https_port: 443}
    algorithm:
      description: The load-balancing algorithm.
      type: str
      sample: WeightedRoundRobin
    hash_server_variable:
      description: The server variable hashed with C(RequestHash) (C("") for none).
      type: str
      sample: ""
    hash_query_string:
      description: The query string names hashed with C(RequestHash).
      type: list
      elements: str
      sample: []
    health_check:
      description: The health test (url, interval and timeout in seconds, status_codes, response_match).
      type: dict
      sample: {url: "http://sso.camtest.local/health.htm", interval: 10, timeout: 5, status_codes: "200-399",
               response_match: ""}
    client_affinity:
      description: Whether client affinity (cookie) is on.
      type: bool
      sample: true
    affinity_cookie_name:
      description: The affinity cookie's name.
      type: str
      sample: ARRAffinity
    preserve_host_header:
      description: Whether ARR sends the client's Host header to the servers.
      type: bool
      sample: true
    keep_alive:
      description: Whether ARR keeps its connections to the servers open.
      type: bool
      sample: true
    timeout:
      description: Seconds ARR waits for a server's response.
      type: int
      sample: 30
rules:
  description: The names of the global rules that route to the farm, in order (empty with O(state=absent)).
  returned: always
  type: list
  elements: str
  sample: [ARR_sso-farm_loadbalance]
before:
  description:
    - The state before the task of each thing it changed (or, in check mode, would change), one entry each, for the
      change record's journal and the rollback. Returned with or without C(--diff); empty when nothing changes.
    - Each entry has C(object) (the key the change plan uses), C(kind), C(section), C(location) (C("") for the
      server), C(path) (inside the section, collection items as their key) and C(name) (the attribute, collection or
      item element).
    - C(kind=attribute) adds C(value) and C(source) - C(local) (set at that location), C(inherited) (from a parent
      path) or C(default) (the schema's) - so that a rollback can remove a local setting rather than write a default.
    - C(kind=collection) adds C(items), each with C(values) (what the item sets itself) and C(inherited).
    - C(kind=item) adds C(exists) (and C(values) of an item that is removed).
    - C(kind=secret) adds only C(set) (whether a value was stored); a secret is never returned.
  returned: success
  type: list
  elements: dict
  sample:
    - {"object": "iis:system.webServer/security/authentication/windowsAuthentication@Default Web Site::enabled",
       "kind": "attribute", "section": "system.webServer/security/authentication/windowsAuthentication",
       "location": "Default Web Site", "path": [], "name": "enabled", "value": false, "source": "inherited"}
after:
  description:
    - The same entries as RV(before), with the state the task leaves (C(source) is C(local) for an attribute it set;
      a secret only says C(set) and C(changed)).
  returned: success
  type: list
  elements: dict
"""
