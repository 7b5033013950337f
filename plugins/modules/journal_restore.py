#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: journal_restore
short_description: Put the directory back as it was before a change, from the journal of its change record
version_added: 0.1.0
description:
  - Reads the record (C(<name>.record.json)) the C(webfarm.winauth.change_plan) callback wrote for a real run and
    restores the directory objects its journal lists, through the collection's own modules
    (M(webfarm.winauth.spn), M(webfarm.winauth.delegation), M(webfarm.winauth.kerberos_encryption),
    M(webfarm.winauth.gpo_user_rights), M(webfarm.winauth.gpo_link), M(webfarm.winauth.gpo)), so each write keeps
    their check mode, diff, duplicate-SPN check, validation and messages.
  - In restore order, SPNs first (an SPN the run moved is moved back to its previous holder, one it added is
    removed), then delegation and encryption types, then the GPO's user rights (the holders before, or Not Defined;
    the GPO version is raised, never written back) and links, and a GPO the run created last (removed, with its
    links).
  - Before each object it reads its current value (the module in check mode). At the journal's C(after) (as the run
    left it) it is restored; at its C(before) it is C(ok) (a second rollback changes nothing); anything else means
    someone changed it since the run, and the object is B(refused) with what differs, while the rest is restored.
    Entries the journal marks C(restorable=false) (a deleted GPO, a secret) are refused with their reason.
  - Node-plane entries (IIS attributes, collections, items, pool state and identity, policy refresh) are restored
    on each node by M(webfarm.winauth.node_restore), after this task, as the playbook C(webfarm.winauth.rollback)
    does. RV(not_restored) lists the entries of kinds no module of this release restores.
  - Runs where the task runs, usually the controller; the playbook C(webfarm.winauth.rollback) runs it on localhost.
author:
  - webfarm.winauth maintainers (@webfarm)
extends_documentation_fragment:
  - webfarm.winauth.ad
options:
  record:
    description:
      - Path of the record JSON (C(<name>.record.json)) the change_plan callback wrote for the real run.
      - A plan (from C(--check)) is refused, since it changed nothing.
    type: path
    required: true
  on_refusal:
    description:
      - V(fail) fails the task at the end when any object was refused, listing them, after restoring the rest.
      - V(report) only reports them in RV(refused).
    type: str
    choices: [fail, report]
    default: fail
attributes:
  check_mode:
    support: full
    description: Reads every object and predicts through the modules' check mode; writes nothing.
  diff_mode:
    support: full
    description: The diffs of the modules it ran, one per write.
  platform:
    support: full
    platforms: posix
    description: Runs where the task runs, usually the Ansible controller.
seealso:
  - module: webfarm.winauth.node_restore
  - module: webfarm.winauth.spn
  - module: webfarm.winauth.gpo
"""

EXAMPLES = r"""
- name: Put the directory back as before change CHG0042
  webfarm.winauth.journal_restore:
    record: change-plans/CHG0042.record.json
    server: dc1.corp.example.com

- name: Report refusals instead of failing
  webfarm.winauth.journal_restore:
    record: change-plans/CHG0042.record.json
    on_refusal: report
"""

RETURN = r"""
items:
  description: Each directory object of the journal, in restore order, with what the rollback did.
  returned: success
  type: list
  elements: dict
  contains:
    object:
      description: The journal's object (C(spn-account:<SID>), C(delegation:<account>), C(gpo:<name>:link:<target>)).
      type: str
    kind:
      description: The journal's kind.
      type: str
    status:
      description: C(restored) (or would be, in check mode), C(ok) (already as before), C(refused).
      type: str
    reason:
      description: Why; for a refusal, what differs and what to do.
      type: str
refused:
  description: The items refused (a subset of RV(items)).
  returned: success
  type: list
  elements: dict
not_restored:
  description: The entries of kinds no module of this release restores, each with C(object), C(kind), C(host),
    C(reason).
  returned: success
  type: list
  elements: dict
unrecorded:
  description: Tasks that failed in the run, so not in the journal; check by hand what they wrote.
  returned: success
  type: list
  elements: dict
"""
