"""Every .ps1 the collection ships parses as PowerShell (tree-sitter-powershell), since no PowerShell runs here."""

from __future__ import annotations

from pathlib import Path

import pytest
import tree_sitter
import tree_sitter_powershell

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = sorted(p for p in (REPO / "plugins").rglob("*.ps1"))
PARSER = tree_sitter.Parser(tree_sitter.Language(tree_sitter_powershell.language()))


def syntax_problems(source: bytes) -> list[str]:
    """Every ERROR or MISSING node, as 'line:column: text'."""
    problems = []
    stack = [PARSER.parse(source).root_node]
    while stack:
        node = stack.pop()
        if node.is_error or node.is_missing:
            row, column = node.start_point
            snippet = source[node.start_byte:node.end_byte][:60].decode("utf-8", "replace")
            problems.append("%d:%d: %s %r" % (row + 1, column + 1, "MISSING" if node.is_missing else "ERROR", snippet))
        stack.extend(node.children)
    return sorted(problems)


def test_the_collection_ships_powershell() -> None:
    assert SCRIPTS, "no .ps1 files found under plugins/"


@pytest.mark.parametrize("script", SCRIPTS, ids=[p.name for p in SCRIPTS])
def test_parses_without_errors(script: Path) -> None:
    problems = syntax_problems(script.read_bytes())
    assert not problems, "%s:\n%s" % (script.name, "\n".join(problems))


def test_the_command_line_stub_parses() -> None:
    from ansible_collections.webfarm.winauth.plugins.plugin_utils._iis import contract  # noqa: E402

    problems = syntax_problems(contract.stub("iis_config", "1.0.0").encode())
    assert not problems, problems


def test_the_checker_finds_syntax_errors() -> None:
    assert syntax_problems(b"if ($x { Write-Output 1 }\n")
    assert syntax_problems(b"$a = @{ Id = 'x'\n")
    assert not syntax_problems(b"$a = @{ Id = 'x'; Version = '1.0.0' }\n")
