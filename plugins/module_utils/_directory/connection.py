# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""Connect to the domain: validate the options, find the DCs to try, open and bind to the first that answers."""

from __future__ import annotations

from ansible_collections.webfarm.winauth.plugins.module_utils._directory.lookup import (
    discover_servers,
    discovery_domain,
)
from ansible_collections.webfarm.winauth.plugins.module_utils._directory.operations import (
    Directory,
    missing_library,
    open_directory,
)
from ansible_collections.webfarm.winauth.plugins.module_utils._directory.options import ConnectionOptions
from ansible_collections.webfarm.winauth.plugins.module_utils._windows.errors import (
    DirectoryError,
    InvalidInput,
    Unreachable,
)


def connect(options: ConnectionOptions) -> Directory:
    """The operations object of a bound connection; raise the typed, explained error on any failure.

    Only an unreachable DC makes it try the next candidate: a refused bind would fail on every DC.
    """
    missing = missing_library()
    if missing:
        raise DirectoryError("the Python library %s is required on the host that runs this task (the controller, "
                             "usually); install the collection's requirements.txt into that interpreter" % missing)
    options.validate()
    if options.server:
        candidates = [options.server]
    else:
        domain = discovery_domain(options)
        if not domain:
            raise InvalidInput("no server given and no domain to discover one from: set server, or domain (or a "
                               "username like user@domain, or kinit first for auth=kerberos)")
        candidates = discover_servers(domain)
    last_error: Unreachable | None = None
    for candidate in candidates:
        try:
            return open_directory(options, candidate)
        except Unreachable as exc:
            last_error = exc
    raise last_error or Unreachable("no domain controller candidate to connect to")
