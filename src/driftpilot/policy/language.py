"""The policy language: conditions written as they read, parsed without ``eval``.

::

    psi(monthly_usage) > 0.2 or auc_drop > 0.05 -> retrain
    accuracy < 0.85
    2 of (psi(*) > calibrated, estimated_auc_drop > 0.03, detector(adwin))
    recall_drop(region=*) > 0.1 and rows >= 1000

Grammar (``or`` binds looser than ``and``; ``any(…)``, ``all(…)`` and ``K of (…)`` combine
any number of conditions)::

    rule    := expr [ ("->" | "→") NAME ]
    expr    := conj ( "or" conj )*
    conj    := item ( "and" item )*
    item    := "(" expr ")" | ("any" | "all") "(" list ")" | INT "of" "(" list ")"
             | call [ OP ( NUMBER | "calibrated" ) ]
    list    := expr ( "," expr )*
    call    := NAME [ "(" [ arg ( "," arg )* ] ")" ]
    arg     := value [ "=" value ]          value := NAME | 'quoted' | "quoted" | "*" | NUMBER
    OP      := ">" | ">=" | "<" | "<=" | "==" | "!="

A ``call`` without a comparison is a flag (``detector(adwin)``, ``drift(tenure)``) or the name
of a trigger defined under ``policy.triggers``; :mod:`driftpilot.policy.metrics` checks the
names. The parser only builds the small tree below; nothing is ever executed.

>>> parse_rule("psi(monthly_usage) > 0.2 or auc_drop > 0.05 -> retrain")[1]
'retrain'
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "Call",
    "Combine",
    "Compare",
    "Node",
    "PolicySyntaxError",
    "calls_of",
    "parse_condition",
    "parse_rule",
]

OPERATORS = (">=", "<=", "==", "!=", ">", "<")
MAX_DEPTH = 50
KEYWORDS = frozenset({"or", "and", "of", "any", "all", "calibrated"})
_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<arrow>->|→)
  | (?P<op>>=|<=|==|!=|>|<)
  | (?P<number>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?%?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_.:]*)
  | (?P<quoted>'[^']*'|"[^"]*")
  | (?P<punct>[(),=*])
    """,
    re.VERBOSE,
)


class PolicySyntaxError(ValueError):
    """A condition that does not parse; the message shows where."""

    def __init__(self, text: str, position: int, expected: str) -> None:
        found = text[position:].split()[0] if text[position:].strip() else "the end"
        pointer = f"{text}\n{' ' * position}^"
        super().__init__(
            f"expected {expected} at position {position + 1}, found {found!r}:\n{pointer}"
        )


@dataclass(frozen=True)
class Call:
    """A metric (or trigger name) with its arguments: ``psi(tenure)``, ``recall(region=*)``."""

    name: str
    args: tuple[str, ...] = ()
    options: tuple[tuple[str, str], ...] = ()
    text: str = ""

    def option(self, key: str) -> str | None:
        return dict(self.options).get(key)


@dataclass(frozen=True)
class Compare:
    """``call OP threshold``; ``threshold`` None means ``calibrated`` (from the reference)."""

    call: Call
    op: str
    threshold: float | None
    text: str = ""


@dataclass(frozen=True)
class Combine:
    """At least ``need`` of ``items`` hold (``or``: 1, ``and``: all of them, ``K of``: K)."""

    need: int
    items: tuple[Node, ...]
    text: str = ""


Node = Call | Compare | Combine


@dataclass
class _Token:
    kind: str
    text: str
    start: int


def _tokens(text: str) -> list[_Token]:
    out, position = [], 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise PolicySyntaxError(text, position, "a name, a number, an operator or a bracket")
        kind = match.lastgroup or ""
        if kind != "space":
            out.append(_Token(kind, match.group(), position))
        position = match.end()
    out.append(_Token("end", "", len(text)))
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokens(text)
        self.i = 0
        self.depth = 0

    @property
    def token(self) -> _Token:
        return self.tokens[self.i]

    def take(self, kind: str, text: str | None = None, expected: str | None = None) -> _Token:
        token = self.token
        if token.kind != kind or (text is not None and token.text != text):
            raise PolicySyntaxError(self.text, token.start, expected or repr(text or kind))
        self.i += 1
        return token

    def word(self, word: str) -> bool:
        if self.token.kind == "name" and self.token.text == word:
            self.i += 1
            return True
        return False

    def span(self, start: int) -> str:
        end = self.tokens[self.i - 1]
        return self.text[start : end.start + len(end.text)].strip()

    def expr(self) -> Node:
        start = self.token.start
        items = [self.conj()]
        while self.word("or"):
            items.append(self.conj())
        return items[0] if len(items) == 1 else Combine(1, tuple(items), self.span(start))

    def conj(self) -> Node:
        start = self.token.start
        items = [self.item()]
        while self.word("and"):
            items.append(self.item())
        return items[0] if len(items) == 1 else Combine(len(items), tuple(items), self.span(start))

    def item(self) -> Node:
        token, start = self.token, self.token.start
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise PolicySyntaxError(self.text, start, f"at most {MAX_DEPTH} levels of nesting")
        try:
            return self._item(token, start)
        finally:
            self.depth -= 1

    def _item(self, token: _Token, start: int) -> Node:
        if token.kind == "punct" and token.text == "(":
            self.i += 1
            node = self.expr()
            self.take("punct", ")", "')'")
            return node
        if token.kind == "number" and self.tokens[self.i + 1].text == "of":
            need = self._count(token)
            self.i += 2
            items = self.listed()
            if need > len(items):
                raise PolicySyntaxError(
                    self.text,
                    token.start,
                    f"a count of at most {len(items)} (the conditions listed)",
                )
            return Combine(need, items, self.span(start))
        if token.kind == "name" and token.text in ("any", "all") and self._next_is("("):
            self.i += 1
            items = self.listed()
            return Combine(1 if token.text == "any" else len(items), items, self.span(start))
        call = self.call()
        if self.token.kind != "op":
            return call
        op = self.take("op").text
        if self.word("calibrated"):
            return Compare(call, op, None, self.span(start))
        number = self.take("number", expected="a number or 'calibrated'")
        return Compare(call, op, _number(number.text), self.span(start))

    def _next_is(self, text: str) -> bool:
        return self.tokens[self.i + 1].text == text

    def _count(self, token: _Token) -> int:
        if not re.fullmatch(r"\d+", token.text) or int(token.text) < 1:
            raise PolicySyntaxError(
                self.text, token.start, "a whole number of at least 1 before 'of'"
            )
        return int(token.text)

    def listed(self) -> tuple[Node, ...]:
        self.take("punct", "(", "'(' and a list of conditions")
        items = [self.expr()]
        while self.token.text == ",":
            self.i += 1
            items.append(self.expr())
        self.take("punct", ")", "',' or ')'")
        return tuple(items)

    def call(self) -> Call:
        start = self.token.start
        name = self.take("name", expected="a metric, a trigger name or '('").text
        if name in KEYWORDS:
            raise PolicySyntaxError(self.text, start, f"a metric name ({name!r} is a keyword)")
        args: list[str] = []
        options: list[tuple[str, str]] = []
        if self.token.text == "(":
            self.i += 1
            while self.token.text != ")":
                value = self.value()
                if self.token.text == "=":
                    self.i += 1
                    options.append((value, self.value()))
                else:
                    args.append(value)
                if self.token.text != ",":
                    break
                self.i += 1
            self.take("punct", ")", "',' or ')'")
        return Call(name, tuple(args), tuple(options), self.span(start))

    def value(self) -> str:
        token = self.token
        if token.kind in ("name", "number") or token.text == "*":
            self.i += 1
            return token.text
        if token.kind == "quoted":
            self.i += 1
            return token.text[1:-1]
        raise PolicySyntaxError(self.text, token.start, "a feature, segment or value name")


def _number(text: str) -> float:
    return float(text[:-1]) / 100 if text.endswith("%") else float(text)


def parse_condition(text: str) -> Node:
    """Parse a condition (no action)."""
    node, action = parse_rule(text)
    if action is not None:
        raise PolicySyntaxError(
            text, text.find("-") if "-" in text else text.find("→"), "no action"
        )
    return node


def parse_rule(text: str) -> tuple[Node, str | None]:
    """Parse ``condition [-> action]``."""
    if not text.strip():
        raise PolicySyntaxError(text, 0, "a condition")
    parser = _Parser(text)
    node = parser.expr()
    action = None
    if parser.token.kind == "arrow":
        parser.i += 1
        action = parser.take("name", expected="an action after the arrow").text
    parser.take("end", expected="'and', 'or', an arrow or the end of the condition")
    return node, action


def calls_of(node: Node) -> list[Call]:
    """Every call in the tree (flags, trigger names and compared metrics), in order."""
    if isinstance(node, Call):
        return [node]
    if isinstance(node, Compare):
        return [node.call]
    return [call for item in node.items for call in calls_of(item)]
