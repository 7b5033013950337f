# Internal to the webfarm.winauth lab.
"""An XML document that is edited by splicing its text, so everything not edited stays byte-for-byte.

IIS's configuration files carry comments, blank lines, CRLF or LF line ends, a byte order mark
or none, and their own indentation. Re-serialising a parsed tree would change all of that; this
module instead records where every element, attribute and end tag sits in the text and makes
each edit a splice of the text at those offsets. After each edit the text is parsed again (the
files are small), so offsets never go stale.

It reads the subset of XML that configuration files use: elements, attributes in single or
double quotes, comments, processing instructions, CDATA and character references.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_COMMENT = re.compile(r"<!--.*?-->", re.S)
_PI = re.compile(r"<\?.*?\?>", re.S)
_CDATA = re.compile(r"<!\[CDATA\[.*?\]\]>", re.S)
_DECL = re.compile(r"<![^>]*>")
_END = re.compile(r"</([^\s>]+)\s*>")
_START = re.compile(r"""<([^\s/>!?]+)((?:\s+[^\s=/>]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(/?)>""")
_TEXT = re.compile(r"[^<]+")
_ATTR = re.compile(r"""(\s+)([^\s=/>]+)(\s*=\s*)(?:"([^"]*)"|'([^']*)')""")
_REF = re.compile(r"&(#x[0-9a-fA-F]+|#[0-9]+|lt|gt|amp|quot|apos);")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"', "apos": "'"}


class XmlError(ValueError):
    """The text is not well-formed XML (the message gives line and column)."""


def unescape(raw: str) -> str:
    """An attribute value as an XML parser reports it: white space normalised, references resolved."""
    raw = raw.replace("\r\n", " ").replace("\r", " ").replace("\n", " ").replace("\t", " ")

    def ref(match: re.Match) -> str:
        name = match.group(1)
        if name.startswith("#x"):
            return chr(int(name[2:], 16))
        if name.startswith("#"):
            return chr(int(name[1:]))
        return _NAMED[name]
    return _REF.sub(ref, raw)


def escape(value: str, quote: str = '"') -> str:
    """An attribute value as IIS writes it."""
    text = (value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace("\r", "&#xD;").replace("\n", "&#xA;").replace("\t", "&#x9;"))
    return text.replace('"', "&quot;") if quote == '"' else text.replace("'", "&apos;")


@dataclass
class Attribute:
    name: str
    value: str            # decoded
    start: int            # offset of the white space before the name
    end: int              # offset after the closing quote
    value_start: int      # offset of the first character inside the quotes
    value_end: int
    quote: str


@dataclass(eq=False)
class Node:
    """An element and where it sits in the text."""

    name: str
    start: int                    # offset of "<"
    head_end: int                 # offset after the ">" of the start tag
    attrs_end: int                # offset after the last attribute (or the name)
    self_closing: bool
    attributes: list[Attribute] = field(default_factory=list)
    children: list["Node"] = field(default_factory=list)
    parent: "Node | None" = None
    end: int = -1                 # offset after the end tag (head_end when self-closing)
    close_start: int = -1         # offset of "</" (head_end when self-closing)

    def attr(self, name: str) -> Attribute | None:
        for attribute in self.attributes:
            if attribute.name == name:
                return attribute
        return None

    def get(self, name: str, default: str | None = None) -> str | None:
        attribute = self.attr(name)
        return attribute.value if attribute else default

    def find_all(self, name: str) -> list["Node"]:
        return [child for child in self.children if child.name == name]

    def find(self, name: str) -> "Node | None":
        for child in self.children:
            if child.name == name:
                return child
        return None


class XmlDocument:
    """A parsed document plus the methods that splice its text."""

    def __init__(self, data: bytes) -> None:
        self.bom = data.startswith(b"\xef\xbb\xbf")
        self.text = data[3:].decode("utf-8") if self.bom else data.decode("utf-8")
        self.root = self._parse(self.text)
        self.newline = "\r\n" if "\r\n" in self.text else "\n"
        self.unit = self._indent_unit()

    def to_bytes(self) -> bytes:
        return (b"\xef\xbb\xbf" if self.bom else b"") + self.text.encode("utf-8")

    # --- parsing ------------------------------------------------------------------------------

    @staticmethod
    def _parse(text: str) -> Node:
        stack: list[Node] = []
        root: Node | None = None
        pos = 0
        while pos < len(text):
            if text[pos] != "<":
                match = _TEXT.match(text, pos)
                if not stack and match.group(0).strip():
                    raise XmlError("text outside the root element at %s" % _where(text, pos))
                pos = match.end()
                continue
            if text.startswith("<!--", pos):
                match = _COMMENT.match(text, pos)
            elif text.startswith("<?", pos):
                match = _PI.match(text, pos)
            elif text.startswith("<![CDATA[", pos):
                match = _CDATA.match(text, pos)
            elif text.startswith("<!", pos):
                match = _DECL.match(text, pos)
            elif text.startswith("</", pos):
                match = _END.match(text, pos)
                if match:
                    if not stack or stack[-1].name != match.group(1):
                        raise XmlError("unexpected </%s> at %s" % (match.group(1), _where(text, pos)))
                    node = stack.pop()
                    node.close_start, node.end = match.start(), match.end()
            else:
                match = _START.match(text, pos)
                if match:
                    node = Node(match.group(1), match.start(), match.end(), match.end(2), bool(match.group(3)))
                    for attr in _ATTR.finditer(text, match.start(2), match.end(2)):
                        raw, quote = (attr.group(4), '"') if attr.group(4) is not None else (attr.group(5), "'")
                        value_start = attr.start(4) if attr.group(4) is not None else attr.start(5)
                        node.attributes.append(Attribute(attr.group(2), unescape(raw), attr.start(), attr.end(),
                                                         value_start, value_start + len(raw), quote))
                    if stack:
                        node.parent = stack[-1]
                        stack[-1].children.append(node)
                    elif root is None:
                        root = node
                    else:
                        raise XmlError("a second root element at %s" % _where(text, pos))
                    if node.self_closing:
                        node.end = node.close_start = node.head_end
                    else:
                        stack.append(node)
            if not match:
                raise XmlError("not well-formed XML at %s" % _where(text, pos))
            pos = match.end()
        if stack:
            raise XmlError("<%s> is never closed" % stack[-1].name)
        if root is None:
            raise XmlError("no root element")
        return root

    def _reparse(self, text: str) -> None:
        self.root = self._parse(text)
        self.text = text

    def _indent_unit(self) -> str:
        counts: dict[str, int] = {}
        for node in self.iter():
            if node.parent is None:
                continue
            mine, theirs = self.indent_of(node), self.indent_of(node.parent)
            if mine is not None and theirs is not None and mine.startswith(theirs) and len(mine) > len(theirs):
                step = mine[len(theirs):]
                counts[step] = counts.get(step, 0) + 1
        return max(counts, key=lambda k: counts[k]) if counts else "    "

    def iter(self, node: Node | None = None):
        node = node or self.root
        yield node
        for child in node.children:
            yield from self.iter(child)

    def indent_of(self, node: Node) -> str | None:
        """The white space before the element on its line, or None when something else precedes it."""
        line_start = self.text.rfind("\n", 0, node.start) + 1
        prefix = self.text[line_start:node.start]
        return prefix if prefix.strip() == "" else None

    def child_indent(self, parent: Node) -> str:
        for child in parent.children:
            indent = self.indent_of(child)
            if indent is not None:
                return indent
        return (self.indent_of(parent) or "") + self.unit

    # --- edits (each one re-parses; nodes from before an edit must be found again) ---------------

    def splice(self, start: int, end: int, new: str) -> None:
        self._reparse(self.text[:start] + new + self.text[end:])

    def set_attribute(self, node: Node, name: str, value: str) -> None:
        existing = node.attr(name)
        if existing is not None:
            self.splice(existing.value_start, existing.value_end, escape(value, existing.quote))
        else:
            self.splice(node.attrs_end, node.attrs_end, ' %s="%s"' % (name, escape(value)))

    def remove_attribute(self, node: Node, name: str) -> None:
        existing = node.attr(name)
        if existing is not None:
            self.splice(existing.start, existing.end, "")

    def render(self, name: str, attrs: list[tuple[str, str]], indent: str,
               children: list[tuple[str, list, list]] | None = None) -> str:
        """The text of a new element, with IIS's layout: ``<name a="b" />`` or nested, indented children."""
        head = "<%s%s" % (name, "".join(' %s="%s"' % (k, escape(v)) for k, v in attrs))
        if not children:
            return head + " />"
        inner = [indent + self.unit + self.render(cn, ca, indent + self.unit, cc) for cn, ca, cc in children]
        return head + ">" + self.newline + self.newline.join(inner) + self.newline + indent + "</%s>" % name

    def append_child(self, parent: Node, name: str, attrs: list[tuple[str, str]],
                     children: list[tuple[str, list, list]] | None = None) -> None:
        """Add an element as the parent's last child, indented like its siblings."""
        indent = self.child_indent(parent)
        element = self.render(name, attrs, indent, children)
        parent_indent = self.indent_of(parent) or ""
        if parent.self_closing:
            new = ">" + self.newline + indent + element + self.newline + parent_indent + "</%s>" % parent.name
            self.splice(parent.attrs_end, parent.head_end, new)
            return
        line_start = self.text.rfind("\n", 0, parent.close_start) + 1
        if line_start > parent.head_end and self.text[line_start:parent.close_start].strip() == "":
            self.splice(line_start, line_start, indent + element + self.newline)
        else:
            self.splice(parent.close_start, parent.close_start,
                        self.newline + indent + element + self.newline + parent_indent)

    def insert_before(self, sibling: Node, name: str, attrs: list[tuple[str, str]],
                      children: list[tuple[str, list, list]] | None = None) -> None:
        """Add an element just before a sibling, on its own line with the sibling's indentation."""
        indent = self.indent_of(sibling)
        if indent is None:
            indent = self.child_indent(sibling.parent) if sibling.parent else ""
            self.splice(sibling.start, sibling.start, self.render(name, attrs, indent, children) + self.newline + indent)
            return
        line_start = sibling.start - len(indent)
        self.splice(line_start, line_start, indent + self.render(name, attrs, indent, children) + self.newline)

    def insert_after(self, sibling: Node, name: str, attrs: list[tuple[str, str]],
                     children: list[tuple[str, list, list]] | None = None) -> None:
        """Add an element just after a sibling, on a new line with the sibling's indentation."""
        indent = self.indent_of(sibling)
        if indent is None:
            indent = self.child_indent(sibling.parent) if sibling.parent else ""
        self.splice(sibling.end, sibling.end, self.newline + indent + self.render(name, attrs, indent, children))

    def remove(self, node: Node) -> None:
        """Delete an element, and its line when it stands alone on it."""
        start, end = node.start, node.end
        indent = self.indent_of(node)
        line_end = self.text.find("\n", end)
        rest = self.text[end:line_end if line_end != -1 else len(self.text)]
        if indent is not None and rest.strip() == "":
            start -= len(indent)
            end = line_end + 1 if line_end != -1 else len(self.text)
        self.splice(start, end, "")

    def collapse(self, node: Node) -> None:
        """``<a x="1">`` and white space then ``</a>`` becomes ``<a x="1" />``, as IIS writes an element without
        children."""
        if node.self_closing or node.children or self.text[node.head_end:node.close_start].strip():
            return
        self.splice(node.attrs_end, node.end, " />")

    def is_empty(self, node: Node) -> bool:
        """No attributes and no child elements (comments and white space do not count)."""
        return not node.attributes and not node.children


def _where(text: str, pos: int) -> str:
    line = text.count("\n", 0, pos) + 1
    column = pos - (text.rfind("\n", 0, pos) + 1) + 1
    return "line %d, column %d" % (line, column)
