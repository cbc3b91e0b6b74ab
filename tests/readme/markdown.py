"""The parts of README.md the tests read: fenced blocks, sections, table rows, anchors."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["README", "Block", "anchors", "blocks", "code_spans", "links", "section", "table_rows"]

README = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```", flags=re.S | re.M)


@dataclass(frozen=True)
class Block:
    """A fenced block: its language ("" when untagged), its text, the line of its fence."""

    language: str
    text: str
    line: int

    @property
    def header(self) -> str | None:
        """The file a block shows, named by its first line (``# ws/driftpilot.yaml``)."""
        first = self.text.split("\n", 1)[0]
        found = re.fullmatch(r"# (\S+\.ya?ml)", first)
        return found.group(1) if found else None


def blocks(language: str | None = None, text: str = README) -> list[Block]:
    """Every fenced block in order, or those of one language ("" for untagged ones)."""
    found = [
        Block(m.group(1), m.group(2), text.count("\n", 0, m.start()) + 1)
        for m in FENCE.finditer(text)
    ]
    return [b for b in found if language is None or b.language == language]


def section(heading: str, text: str = README) -> str:
    """The text under ``## heading`` up to the next heading of that level."""
    start = text.index(f"\n## {heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end > 0 else len(text)]


def table_rows(text: str) -> list[list[str]]:
    """The cells of every table row in ``text`` (header rows and rules left out); ``\\|``
    inside a cell is a literal bar."""
    rows: list[list[str]] = []
    lines = text.splitlines()
    for number, line in enumerate(lines):
        if not line.startswith("|") or re.fullmatch(r"[|\s:-]+", line):
            continue
        following = lines[number + 1] if number + 1 < len(lines) else ""
        if re.fullmatch(r"\|[\s:|-]+", following):  # the header row, above its rule
            continue
        cells = re.split(r"(?<!\\)\|", line.strip())[1:-1]
        rows.append([cell.strip().replace("\\|", "|") for cell in cells])
    return rows


def code_spans(text: str) -> list[str]:
    return re.findall(r"`([^`]+)`", text)


def anchors(text: str = README) -> set[str]:
    """The anchors GitHub gives the headings: lower case, punctuation dropped, spaces as -."""
    return {
        re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        for heading in re.findall(r"^#{1,6} (.+)$", _without_blocks(text), flags=re.M)
    }


def links(text: str = README) -> list[str]:
    """The anchors of the README's links to its own sections."""
    return re.findall(r"\]\(#([^)]+)\)", text)


def _without_blocks(text: str) -> str:
    return FENCE.sub("", text)
