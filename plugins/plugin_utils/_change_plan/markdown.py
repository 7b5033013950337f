# -*- coding: utf-8 -*-
# Copyright: webfarm.winauth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to the webfarm.winauth collection: not a public API, may change at any release.
"""The plan or record as Markdown (CommonMark with GitHub tables), for people and change tickets."""

from __future__ import annotations

import re
import typing as t

from .layout import Block, blocks

# Only what CommonMark would otherwise interpret: raw Markdown stays readable (CAMTEST\cam-svc, lb_farm).
_SPECIAL = re.compile(r"(\\(?=[!-/:-@\[-`{-~])|[`*<]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])|^[#>+-](?= ))")
_ORDERED = re.compile(r"^(\d+)\. ")
_BANNER = {"ok": "OK", "warn": "Note", "stop": "Attention"}


def escape(text: str, table: bool = False, start: bool = True) -> str:
    """Text that Markdown shows as written (url = *, HTTP/<name>; a leading "1. " where a line starts)."""
    text = _SPECIAL.sub(lambda m: "\\" + m.group(1), text)
    if start:
        text = _ORDERED.sub(r"\1\\. ", text)
    return text.replace("|", "\\|") if table else text


def _item(item: dict[str, str]) -> str:
    line = "- " + ("**%s**: " % escape(item["title"]) if item.get("title") else "") + escape(item["text"])
    if item.get("tag"):
        line += " *(%s)*" % escape(item["tag"])
    if item.get("note"):
        line += "  \n  *%s*" % escape(item["note"])
    return line


def _block(block: Block) -> list[str]:
    if block.kind == "title":
        return ["# " + escape(block.text, start=False), ""]
    if block.kind == "meta":
        return ["  \n".join(escape(i["text"]) for i in block.items), ""]
    if block.kind == "banner":
        return ["> **%s:** %s" % (_BANNER.get(block.level, "Note"), escape(block.text)), ""]
    if block.kind == "h2":
        return ["## " + escape(block.text, start=False), ""]
    if block.kind == "h3":
        return ["### " + escape(block.text, start=False), ""]
    if block.kind == "p":
        return [escape(block.text), ""]
    if block.kind == "list":
        return [_item(i) for i in block.items] + [""]
    if block.kind == "table":
        header, *rows = block.rows
        lines = ["| " + " | ".join(escape(c, table=True) for c in header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(escape(c, table=True).replace("\n", " ") for c in row) + " |" for row in rows]
        return lines + [""]
    if block.kind == "pre":
        fence = "~~~~" if "```" in block.text else "```"
        return [fence + "text", block.text, fence, ""]
    return []


def render(doc: dict[str, t.Any]) -> str:
    lines: list[str] = []
    for block in blocks(doc):
        lines.extend(_block(block))
    return "\n".join(lines).rstrip("\n") + "\n"
