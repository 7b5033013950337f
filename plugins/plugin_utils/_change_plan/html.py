# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""The plan or record as one self-contained HTML page: inline CSS, no script, no external asset; prints well."""

from __future__ import annotations

import html
import re
import typing as t

from .items import ARROW
from .layout import Block, blocks

CSS = """
:root { --ink: #1d2430; --muted: #5b6576; --line: #d8dde6; --soft: #f4f6f9; --ok: #1f7a3f; --warn: #9a6200;
        --stop: #b3261e; --accent: #1f4e8c; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--ink); background: #fff; font: 15px/1.5 "Segoe UI", system-ui, -apple-system,
       "Helvetica Neue", Arial, sans-serif; }
main { max-width: 62rem; margin: 0 auto; padding: 2rem 1.5rem 3rem; }
h1 { font-size: 1.7rem; margin: 0 0 .3rem; color: var(--accent); }
h2 { font-size: 1.2rem; margin: 2rem 0 .6rem; padding-bottom: .25rem; border-bottom: 2px solid var(--line); }
h3 { font-size: 1rem; margin: 1.1rem 0 .4rem; }
.meta { color: var(--muted); font-size: .85rem; margin: 0 0 1rem; }
.meta div { margin: .1rem 0; }
.banner { border-left: 5px solid var(--warn); background: #fff7e6; padding: .6rem .9rem; margin: .8rem 0;
          border-radius: 3px; }
.banner.ok { border-color: var(--ok); background: #eaf6ee; }
.banner.stop { border-color: var(--stop); background: #fdecea; }
.banner b { margin-right: .4rem; }
ul { margin: .3rem 0 .8rem; padding-left: 1.3rem; }
li { margin: .25rem 0; }
.label, .title { font-weight: 600; }
.before { color: var(--muted); }
.arrow { color: var(--accent); font-weight: 700; padding: 0 .25rem; }
.after { font-weight: 600; color: var(--ink); }
.note { display: block; color: var(--muted); font-size: .85rem; }
.tag { font-size: .75rem; border: 1px solid var(--line); border-radius: 3px; padding: 0 .3rem; margin-left: .3rem; }
.group { border: 1px solid var(--line); border-radius: 6px; padding: .2rem 1rem .4rem; margin: .8rem 0;
         background: var(--soft); page-break-inside: avoid; break-inside: avoid; }
.group h3 { margin-top: .6rem; }
.host { display: inline-block; background: #fff; border: 1px solid var(--line); border-radius: 999px;
        padding: 0 .55rem; margin: 0 .25rem .25rem 0; font-size: .85rem; font-weight: 600; }
.count { color: var(--muted); font-weight: 400; font-size: .85rem; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0 1rem; font-size: .9rem; }
th, td { border: 1px solid var(--line); padding: .35rem .5rem; text-align: left; vertical-align: top; }
th { background: var(--soft); }
pre { background: var(--soft); border: 1px solid var(--line); border-radius: 4px; padding: .6rem .8rem;
      white-space: pre-wrap; word-break: break-word; font: .82rem/1.45 ui-monospace, Consolas, monospace; }
section.risks li { list-style: "\\26A0\\FE0E  "; }
@media print {
  body { font-size: 10.5pt; }
  main { max-width: none; padding: 0; }
  h2 { page-break-after: avoid; break-after: avoid; }
  .banner, .group, pre, table, li { page-break-inside: avoid; break-inside: avoid; }
  .banner, .group, th, pre { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  @page { margin: 15mm 14mm; }
}
"""

_CHANGE = re.compile(r"^(?P<label>[^:]+?): (?P<before>.+?) %s (?P<after>.+)$" % ARROW)
_BANNER = {"ok": "OK", "warn": "Note", "stop": "Attention"}


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _text(text: str) -> str:
    """A change as label: before -> after, styled; any other text escaped."""
    match = _CHANGE.match(text)
    if not match:
        return _e(text)
    return ('<span class="label">%s</span>: <span class="before">%s</span><span class="arrow">%s</span>'
            '<span class="after">%s</span>' % (_e(match["label"]), _e(match["before"]), ARROW, _e(match["after"])))


def _item(item: dict[str, str]) -> str:
    out = "<li>" + ('<span class="title">%s</span>: ' % _e(item["title"]) if item.get("title") else "")
    out += _text(item["text"])
    if item.get("tag"):
        out += '<span class="tag">%s</span>' % _e(item["tag"])
    if item.get("note"):
        out += '<span class="note">%s</span>' % _e(item["note"])
    return out + "</li>"


def _hosts_heading(text: str) -> str:
    """'SERVER1, SERVER2 (2 nodes, identical changes)' as host chips and a count."""
    names, sep, count = text.partition(" (")
    chips = "".join('<span class="host">%s</span>' % _e(n) for n in names.split(", "))
    return chips + (' <span class="count">(%s</span>' % _e(count) if sep else "")


def _block(block: Block, section: str) -> str:
    if block.kind == "title":
        return "<h1>%s</h1>" % _e(block.text)
    if block.kind == "meta":
        return '<div class="meta">%s</div>' % "".join("<div>%s</div>" % _e(i["text"]) for i in block.items)
    if block.kind == "banner":
        word = _BANNER.get(block.level, "Note")
        return '<div class="banner %s"><b>%s:</b>%s</div>' % (block.level, word, _e(block.text))
    if block.kind == "h3":
        plain = block.text in ("Active Directory", "Checks of the whole run")
        return "<h3>%s</h3>" % (_hosts_heading(block.text) if section in ("nodes", "right") and not plain
                                else _e(block.text))
    if block.kind == "p":
        return "<p>%s</p>" % _e(block.text)
    if block.kind == "list":
        return "<ul>%s</ul>" % "".join(_item(i) for i in block.items)
    if block.kind == "table":
        header, *rows = block.rows
        head = "".join("<th>%s</th>" % _e(c) for c in header)
        body = "".join("<tr>%s</tr>" % "".join("<td>%s</td>" % _e(c) for c in row) for row in rows)
        return "<table><thead><tr>%s</tr></thead><tbody>%s</tbody></table>" % (head, body)
    if block.kind == "pre":
        return "<pre>%s</pre>" % _e(block.text)
    return ""


def _section_of(heading: str) -> str:
    for prefix, name in (("1.", "directory"), ("2.", "nodes"), ("3.", "risks"), ("4.", "right")):
        if heading.startswith(prefix):
            return name
    return "other"


def render(doc: dict[str, t.Any]) -> str:
    parts: list[str] = []
    section = "head"
    group_open = False
    for block in blocks(doc):
        if block.kind in ("h2", "h3") and group_open:
            parts.append("</div>")
            group_open = False
        if block.kind == "h2":
            if section != "head":
                parts.append("</section>")
            section = _section_of(block.text)
            parts.append('<section class="%s"><h2>%s</h2>' % (section, _e(block.text)))
            continue
        if block.kind == "h3" and section in ("nodes", "right", "other"):
            parts.append('<div class="group">')
            group_open = True
        parts.append(_block(block, section))
    if group_open:
        parts.append("</div>")
    if section != "head":
        parts.append("</section>")
    title = next((b.text for b in blocks(doc) if b.kind == "title"), "Change plan")
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            "<title>%s</title>\n<style>%s</style>\n</head>\n<body>\n<main>\n%s\n</main>\n</body>\n</html>\n"
            % (_e(title), CSS, "\n".join(parts)))
