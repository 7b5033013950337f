#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: node_restore
short_description: Put a web node's IIS configuration back as it was before a change, from its change record
version_added: 0.2.0
description:
  - Reads the record (C(<name>.record.json)) the C(webfarm.winauth.change_plan) callback wrote for a real run, takes
    the node-plane entries of its journal for this host (C(inventory_hostname)), reads the IIS sections they name in
    one remote command and puts back, in one more, what the run changed on the node.
  - "Each entry is compared with what the node holds now: as the run left it (the journal's C(after)), it is
    restored; as before the run, it is C(ok) (a second rollback changes nothing); anything else means someone changed
    it since the run: it is B(refused) with what differs, and the rest is restored."
  - An attribute the run set where none was set before is reverted, so the parent path's value or the schema
    default applies again, as before (the C(revert) edit of the remote contract); one that was set before gets its
    value back. On the lab twin the file comes back byte for byte.
  - A pool password the run stored where none was stored is removed; one that replaced a stored password is refused,
    since the journal never holds a secret.
  - An item the run added (a web farm, a server, a rewrite rule) is removed with everything below it; when something
    below it changed since the run, the item is refused, so a later edit is not deleted.
  - A collection the run rewrote gets its own items back (C(clear), then C(add) each); one that was inherited before
    the run is refused with how to put it back.
  - A pool whose configuration was restored is recycled, so its worker processes run with the identity before; a
    pool the run started or stopped is stopped or started again.
  - "Policy: when the run refreshed policy on the node and something on it is restored, C(gpupdate /force) runs once
    more, after the apply, so the node applies the GPO as the directory rollback left it (run
    M(webfarm.winauth.journal_restore) first, as the playbook C(webfarm.winauth.rollback) does)."
  - A host the journal lists nothing for is C(ok) without any remote command.
author:
  - webfarm.winauth maintainers (@webfarm)
options:
  record:
    description:
      - Path, on the controller, of the record JSON (C(<name>.record.json)) the change_plan callback wrote for the
        real run. A plan (from C(--check)) is refused, since it changed nothing.
    type: path
    required: true
  on_refusal:
    description:
      - V(fail) fails the task at the end when any entry was refused, listing them, after restoring the rest.
      - V(report) only reports them in RV(refused) and as warnings.
    type: str
    choices: [fail, report]
    default: fail
  policy_refresh:
    description:
      - V(auto) runs C(gpupdate /force) again when the run refreshed policy on this node and the rollback restored
        something on it; V(always) whenever the run refreshed policy; V(never) leaves it to you.
    type: str
    choices: [auto, always, never]
    default: auto
attributes:
  check_mode:
    support: full
    description: Reads once and predicts the exact edits; writes nothing and refreshes nothing.
  diff_mode:
    support: full
    description: Each restored object as the run left it and as it was before.
  platform:
    support: full
    platforms: windows
    description: Runs on the controller and reaches the host through its connection; the host needs IIS 10.
seealso:
  - module: webfarm.winauth.journal_restore
  - name: The change plan and the way back (docs/change-plan.md)
    description: What a record and its journal hold, how to roll back, and the limits.
    link: https://github.com/webfarm/winauth/blob/main/docs/change-plan.md
notes:
  - One remote command when nothing is to be restored, two when something is, three with the policy refresh
    (RV(remote_calls)).
  - The journal says where each attribute's value came from (set here, inherited, the default), not whether a
    C(<location>) element existed before the run; the twin drops a C(<location>) the revert leaves empty, as IIS does.
  - The PowerShell side of C(revert) (C(ConfigurationAttribute.Delete)) is held to the same contract cases as the
    lab twin; it has not run on Windows in this project's tests.
"""

EXAMPLES = r"""
# In a play on the web nodes, after webfarm.winauth.journal_restore has put the directory back
- name: Restore what the record's journal lists for this node
  webfarm.winauth.node_restore:
    record: change-plans/CHG0042.record.json

- name: Report refusals instead of failing, and refresh policy yourself
  webfarm.winauth.node_restore:
    record: change-plans/CHG0042.record.json
    on_refusal: report
    policy_refresh: never
"""

RETURN = r"""
items:
  description: Each node entry of the journal for this host, with what the rollback did.
  returned: success
  type: list
  elements: dict
  contains:
    object:
      description: The journal's object (C(iis:<section>@<location>:<path>:<attribute>), C(pool:<name>:identity)).
      type: str
    kind:
      description: The journal's kind (C(iis_attribute), C(iis_secret), C(iis_item), C(iis_collection),
        C(iis_runtime), C(pool_identity), C(policy_refresh)).
      type: str
    status:
      description: C(restored) (or would be, in check mode), C(ok) (already as before), C(refused).
      type: str
    reason:
      description: Why; for a refusal, what differs and what to do.
      type: str
  sample:
    - object: "iis:system.webServer/security/authentication/windowsAuthentication@Default Web Site::enabled"
      kind: iis_attribute
      status: restored
      reason: as the run left it
refused:
  description: The items refused (a subset of RV(items)).
  returned: success
  type: list
  elements: dict
refreshed:
  description: Whether C(gpupdate /force) ran on the node after the apply.
  returned: success
  type: bool
changes:
  description: The edits applied (or, in check mode, that would be), without secret values.
  returned: when the journal lists something for this host
  type: list
  elements: str
remote_calls:
  description: Remote commands this task ran on the host.
  returned: always
  type: int
"""
