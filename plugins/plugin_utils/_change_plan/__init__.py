# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""The change plan and the change record (callback webfarm.winauth.change_plan): pure logic, no I/O.

``results`` keeps only the result keys a plan may show; ``words`` turns them into changes an IIS
or AD admin reads, each with the risks the collection knows; ``document`` groups them into one
plan or record (and compares a record with its plan); ``markdown`` and ``html`` render it.
"""
