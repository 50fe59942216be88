"""The statement-layout formula language: a few sums over account balances, other lines and inputs.

A layout line's ``formula`` is a sum of signed terms; a check compares two such sums::

    acct(101) + acct(102)                 货币资金: balance of every code starting 101 or 102
    acct(112) + acct_debit(113)           应收款项: plus only the debit balances under 113 (内部往来)
    acct(132) - acct(133)                 生产性生物资产 net of its contra account
    acct(3103) + acct(3104) - bal(5)      未分配利润 including profit not yet closed (表结法)
    sum_lines(1..9) + line(14)            流动资产合计
    line(17) - (line(18) + line(19))      parentheses group
    input(to_members)                     an amount the caller supplies (distribution), default 0
    line(30) == line(53)                  a check; the comparisons are ==, <= and >=

Functions: ``acct(code)`` — Σ balances under the code prefix, shown on the account's normal side (so a
contra account such as 152 累计折旧 comes out positive and the formula subtracts it); ``acct_debit(code)`` /
``acct_credit(code)`` — only the debit (credit) balances, each detail balance taken on its own, shown
positive; ``bal(prefix)`` — the raw signed sum, debit positive (any prefix, e.g. every 5xxx account);
``line(n)``; ``sum_lines(a..b)``; ``input(name)``; integer literals are fen.

This module only parses and evaluates; it never calls ``eval`` or touches Python objects named in the text:
a name that is not one of the functions above is refused, and so is any character outside the grammar.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal, Protocol, TypeGuard

from ledger.books.errors import LedgerError

MAX_FORMULA_LENGTH = 2000

AccountFunction = Literal["acct", "acct_debit", "acct_credit", "bal"]
ACCOUNT_FUNCTIONS: frozenset[str] = frozenset({"acct", "acct_debit", "acct_credit", "bal"})
FUNCTIONS: frozenset[str] = ACCOUNT_FUNCTIONS | {"line", "sum_lines", "input"}


def is_account_function(name: str) -> TypeGuard[AccountFunction]:
    return name in ACCOUNT_FUNCTIONS


COMPARISONS: frozenset[str] = frozenset({"==", "<=", ">="})

_TOKEN = re.compile(r"\s*(?:(?P<number>\d+)|(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<op>==|<=|>=|\.\.|[-+(),]))")


class FormulaError(LedgerError):
    """A layout formula or check is not in the formula language, or names something that does not exist.

    Layouts ship with the code, so this is a bug in a data file, not a user error.
    """

    code = "invalid_formula"
    http_status = 500


class Context(Protocol):
    """What a formula needs to evaluate: the books of one column, the other lines, the caller's inputs."""

    def account(self, function: AccountFunction, code: str) -> int: ...

    def line(self, line_no: int) -> int: ...

    def input(self, name: str) -> int: ...


# --- the syntax tree --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Number:
    value: int

    def evaluate(self, context: Context) -> int:
        return self.value


@dataclass(frozen=True)
class Account:
    function: AccountFunction
    code: str

    def evaluate(self, context: Context) -> int:
        return context.account(self.function, self.code)


@dataclass(frozen=True)
class Line:
    line_no: int

    def evaluate(self, context: Context) -> int:
        return context.line(self.line_no)


@dataclass(frozen=True)
class LineRange:
    first: int
    last: int

    def evaluate(self, context: Context) -> int:
        return sum(context.line(n) for n in range(self.first, self.last + 1))


@dataclass(frozen=True)
class Input:
    name: str

    def evaluate(self, context: Context) -> int:
        return context.input(self.name)


@dataclass(frozen=True)
class Sum:
    """``+a - b + c``: each term with its sign (+1 or -1)."""

    terms: tuple[tuple[int, Node], ...]

    def evaluate(self, context: Context) -> int:
        return sum(sign * term.evaluate(context) for sign, term in self.terms)


Node = Number | Account | Line | LineRange | Input | Sum


@dataclass(frozen=True)
class Formula:
    """A parsed formula: ``evaluate`` it against a context; ``text`` is the source as written."""

    text: str
    root: Node

    def evaluate(self, context: Context) -> int:
        return self.root.evaluate(context)

    def nodes(self) -> Iterator[Node]:
        """Every node of the tree, for validating references before anything is evaluated."""
        stack: list[Node] = [self.root]
        while stack:
            node = stack.pop()
            yield node
            if isinstance(node, Sum):
                stack.extend(term for _, term in node.terms)

    def line_refs(self) -> set[int]:
        refs: set[int] = set()
        for node in self.nodes():
            if isinstance(node, Line):
                refs.add(node.line_no)
            elif isinstance(node, LineRange):
                refs.update(range(node.first, node.last + 1))
        return refs


@dataclass(frozen=True)
class Check:
    """``left op right``: a rule the computed statement must satisfy, e.g. 资产总计 = 负债和所有者权益总计."""

    text: str
    left: Formula
    op: str
    right: Formula

    def holds(self, left: int, right: int) -> bool:
        if self.op == "==":
            return left == right
        if self.op == "<=":
            return left <= right
        return left >= right


# --- the parser -------------------------------------------------------------------------------------


def _tokenize(text: str) -> list[tuple[str, str, int]]:
    if len(text) > MAX_FORMULA_LENGTH:
        raise FormulaError(f"formula longer than {MAX_FORMULA_LENGTH} characters")
    tokens: list[tuple[str, str, int]] = []
    position = 0
    end = len(text.rstrip())
    while position < end:
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise FormulaError(f"unexpected character {text[position:].lstrip()[:1]!r} in {text!r}")
        kind = match.lastgroup
        assert kind is not None
        tokens.append((kind, match.group(kind), match.start(kind)))
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.index = 0

    def _peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def _fail(self, expected: str) -> FormulaError:
        token = self._peek()
        found = "end of formula" if token is None else repr(token[1])
        return FormulaError(f"expected {expected}, found {found} in {self.text!r}")

    def _take(self, kind: str, value: str | None = None) -> str:
        token = self._peek()
        if token is None or token[0] != kind or (value is not None and token[1] != value):
            raise self._fail(value or kind)
        self.index += 1
        return token[1]

    def _at_op(self, *values: str) -> bool:
        token = self._peek()
        return token is not None and token[0] == "op" and token[1] in values

    def at_end(self) -> bool:
        return self.index == len(self.tokens)

    def sum(self) -> Node:
        terms: list[tuple[int, Node]] = []
        sign = -1 if self._at_op("-") else 1
        if self._at_op("+", "-"):
            self.index += 1
        terms.append((sign, self.atom()))
        while self._at_op("+", "-"):
            sign = 1 if self._take("op") == "+" else -1
            terms.append((sign, self.atom()))
        if len(terms) == 1 and terms[0][0] == 1:
            return terms[0][1]
        return Sum(tuple(terms))

    def atom(self) -> Node:
        token = self._peek()
        if token is None:
            raise self._fail("a term")
        kind, value, _ = token
        if kind == "number":
            self.index += 1
            return Number(int(value))
        if kind == "op" and value == "(":
            self.index += 1
            inner = self.sum()
            self._take("op", ")")
            return inner
        if kind == "name":
            return self.call()
        raise self._fail("a term")

    def call(self) -> Node:
        name = self._take("name")
        if name not in FUNCTIONS:
            known = ", ".join(sorted(FUNCTIONS))
            raise FormulaError(f"unknown function {name!r} in {self.text!r}; known: {known}")
        self._take("op", "(")
        node: Node
        if is_account_function(name):
            node = Account(name, self._take("number"))
        elif name == "line":
            node = Line(int(self._take("number")))
        elif name == "sum_lines":
            first = int(self._take("number"))
            self._take("op", "..")
            last = int(self._take("number"))
            if last < first:
                raise FormulaError(f"sum_lines({first}..{last}) runs backwards in {self.text!r}")
            node = LineRange(first, last)
        else:
            node = Input(self._take("name"))
        self._take("op", ")")
        return node


def parse_formula(text: str) -> Formula:
    """Parse one formula; raise ``FormulaError`` for anything outside the language."""
    parser = _Parser(text)
    root = parser.sum()
    if not parser.at_end():
        raise parser._fail("+, - or the end of the formula")
    return Formula(text, root)


def parse_check(text: str) -> Check:
    """Parse ``formula op formula`` where op is ``==``, ``<=`` or ``>=``."""
    parser = _Parser(text)
    left = parser.sum()
    left_end = parser.index
    op = parser._take("op") if parser._at_op(*COMPARISONS) else None
    if op is None:
        raise parser._fail("==, <= or >=")
    right = parser.sum()
    if not parser.at_end():
        raise parser._fail("+, - or the end of the check")
    split = parser.tokens[left_end][2]
    return Check(
        text,
        Formula(text[:split].strip(), left),
        op,
        Formula(text[split + len(op) :].strip(), right),
    )
