"""Attribute targeting: the ``match`` expression of a queue, parsed, type-checked, evaluated.

Theory of operation
-------------------
A queue's ``match`` (``"vip == true and inquiry.language in languages"``) selects
the agents who may serve its inquiries. Bare names are the agent's attributes
(``AgentSpec.attributes``), ``inquiry.NAME`` the inquiry's
(``Inquiry.attributes``). The language is small and has no side effects:

    expr := term ("or" term)* ; term := factor ("and" factor)*
    factor := "not" factor | "(" expr ")" | operand [op operand]
    op := == | != | < | <= | > | >= | in | has
    operand := 'string' | "string" | number | true | false | [literal, ...]
             | NAME | inquiry.NAME

Keywords are case-insensitive (TaskRouter writes ``HAS``/``IN``). A hand-written
recursive-descent parser (no ``eval``, no dependency) turns the text into a tree
of nodes and type-checks what can be known without data: a string, number or
list is not a condition, ordering compares numbers or strings only, ``in``
needs a list (literal or attribute) on its right and ``has`` one on its left,
and two literals of different kinds are never equal. A mistake raises
:class:`TargetError` with the 1-based column, which ``check`` prints after the
path: ``$.queues[2].match: column 14: expected a value after '==', found the
end``.

Semantics at run time: values are canonical tagged tuples so that ``true`` is
not ``1`` (as Python's ``True == 1`` would have it) while ``1 == 1.0``; a
comparison with a missing attribute, or with values of kinds it does not
compare, is false; a bare attribute used as a condition is true when it is
``true``.

Requirement signature: the inquiry attributes an expression reads are its
:attr:`Target.inquiry_names`; an inquiry's values for them
(:meth:`Target.bind`) become part of its pool key in the core, the way its
skills do. Whether an agent matches a pool is then a fixed fact,
:meth:`Target.admits`, evaluated once per (agent, pool) when the pool is made,
the agent logs in or its attributes change, never per decision.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "MAX_DEPTH",
    "MAX_LENGTH",
    "Target",
    "TargetError",
    "canon",
    "canon_map",
    "compile_target",
    "decanon",
    "parse_target",
]

#: Longest expression accepted, in characters.
MAX_LENGTH = 2000
#: Deepest nesting of ``not`` and parentheses accepted.
MAX_DEPTH = 32

_KEYWORDS = frozenset({"and", "or", "not", "in", "has", "true", "false"})
_COMPARE = ("==", "!=", "<=", ">=", "<", ">", "in", "has")

# static kinds of an operand
_STR = "string"
_NUM = "number"
_BOOL = "boolean"
_LIST = "list"
_ANY = "attribute"


class TargetError(ValueError):
    """A ``match`` expression that does not parse or type-check; ``column`` is 1-based."""

    def __init__(self, column: int, message: str) -> None:
        super().__init__(column, message)
        self.column = column
        self.message = message

    def __str__(self) -> str:
        return f"column {self.column}: {self.message}"


# ---------------------------------------------------------------------- values


def canon(value: Any) -> Any:
    """The canonical, hashable form of an attribute value: ``(kind, value)``; None if absent.

    ``true`` and ``1`` differ (``("b", True)`` vs ``("n", 1)``); ``1`` and ``1.0``
    are equal; a list is a tuple of canonical elements.
    """
    if value is None:
        return None
    t = type(value)
    if t is bool:
        return ("b", value)
    if t is int or t is float:
        return ("n", value)
    if t is str:
        return ("s", value)
    if t is list or t is tuple:
        return ("l", tuple(canon(v) for v in value))
    raise TypeError(f"not an attribute value: {value!r}")


def decanon(value: Any) -> Any:
    """The plain value of :func:`canon` (None for absent); lists come back as lists."""
    if value is None:
        return None
    kind, v = value
    if kind == "l":
        return [decanon(x) for x in v]
    return v


def canon_map(attrs: dict[str, Any] | None) -> dict[str, Any]:
    """Every attribute of a mapping in canonical form."""
    if not attrs:
        return {}
    return {k: canon(v) for k, v in attrs.items()}


# ---------------------------------------------------------------------- nodes


class _Node:
    """A condition: evaluates to a bool."""

    __slots__ = ()

    def test(self, agent: dict[str, Any], bound: tuple[Any, ...]) -> bool:
        raise NotImplementedError


class _Operand:
    """A value: a literal or an attribute of the agent or the inquiry."""

    __slots__ = ("column", "kind")

    kind: str
    column: int

    def value(self, agent: dict[str, Any], bound: tuple[Any, ...]) -> Any:
        raise NotImplementedError


class _Literal(_Operand):
    __slots__ = ("v",)

    def __init__(self, v: Any, kind: str, column: int) -> None:
        self.v = v
        self.kind = kind
        self.column = column

    def value(self, agent: dict[str, Any], bound: tuple[Any, ...]) -> Any:
        return self.v


class _AgentAttr(_Operand):
    __slots__ = ("name",)

    def __init__(self, name: str, column: int) -> None:
        self.name = name
        self.kind = _ANY
        self.column = column

    def value(self, agent: dict[str, Any], bound: tuple[Any, ...]) -> Any:
        return agent.get(self.name)


class _InquiryAttr(_Operand):
    __slots__ = ("index", "name")

    def __init__(self, name: str, column: int) -> None:
        self.name = name
        self.index = -1  # set once every inquiry name is known
        self.kind = _ANY
        self.column = column

    def value(self, agent: dict[str, Any], bound: tuple[Any, ...]) -> Any:
        return bound[self.index]


class _Truth(_Node):
    """An operand used as a condition: true when its value is ``true``."""

    __slots__ = ("operand",)

    def __init__(self, operand: _Operand) -> None:
        self.operand = operand

    def test(self, agent: dict[str, Any], bound: tuple[Any, ...]) -> bool:
        return bool(self.operand.value(agent, bound) == ("b", True))


class _Compare(_Node):
    __slots__ = ("left", "op", "right")

    def __init__(self, op: str, left: _Operand, right: _Operand) -> None:
        self.op = op
        self.left = left
        self.right = right

    def test(self, agent: dict[str, Any], bound: tuple[Any, ...]) -> bool:
        a = self.left.value(agent, bound)
        b = self.right.value(agent, bound)
        if a is None or b is None:
            return False  # a missing attribute matches nothing, not even !=
        op = self.op
        if op == "==":
            return bool(a == b)
        if op == "!=":
            return bool(a != b)
        if op == "in":
            return b[0] == "l" and a[0] != "l" and a in b[1]
        if op == "has":
            return a[0] == "l" and b[0] != "l" and b in a[1]
        kind = a[0]
        if kind != b[0] or (kind != "n" and kind != "s"):
            return False
        x, y = a[1], b[1]
        if op == "<":
            return bool(x < y)
        if op == "<=":
            return bool(x <= y)
        if op == ">":
            return bool(x > y)
        return bool(x >= y)


class _Not(_Node):
    __slots__ = ("inner",)

    def __init__(self, inner: _Node) -> None:
        self.inner = inner

    def test(self, agent: dict[str, Any], bound: tuple[Any, ...]) -> bool:
        return not self.inner.test(agent, bound)


class _And(_Node):
    __slots__ = ("parts",)

    def __init__(self, parts: list[_Node]) -> None:
        self.parts = parts

    def test(self, agent: dict[str, Any], bound: tuple[Any, ...]) -> bool:
        for p in self.parts:  # noqa: SIM110 (a plain loop: no generator)
            if not p.test(agent, bound):
                return False
        return True


class _Or(_Node):
    __slots__ = ("parts",)

    def __init__(self, parts: list[_Node]) -> None:
        self.parts = parts

    def test(self, agent: dict[str, Any], bound: tuple[Any, ...]) -> bool:
        for p in self.parts:  # noqa: SIM110 (a plain loop: no generator)
            if p.test(agent, bound):
                return True
        return False


# ---------------------------------------------------------------------- tokens


class _Token:
    __slots__ = ("column", "kind", "text", "value")

    def __init__(self, kind: str, text: str, column: int, value: Any = None) -> None:
        self.kind = kind  # "name", "string", "number", "op", "keyword", "end"
        self.text = text
        self.column = column
        self.value = value


_DIGITS_DOT = "0123456789."
_SINGLE = {"(": "(", ")": ")", "[": "[", "]": "]", ",": ",", ".": ".", "<": "<", ">": ">"}
_HINTS = {"=": "==", "&&": "and", "||": "or", "!": "not", "&": "and", "|": "or"}


def _tokens(text: str) -> list[_Token]:
    out: list[_Token] = []
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        col = i + 1
        if c in " \t\r\n":
            i += 1
            continue
        if c == "'" or c == '"':
            j = i + 1
            chars: list[str] = []
            while j < n and text[j] != c:
                if text[j] == "\\" and j + 1 < n:
                    j += 1
                chars.append(text[j])
                j += 1
            if j >= n:
                raise TargetError(col, "a string that is never closed")
            out.append(_Token("string", text[i : j + 1], col, "".join(chars)))
            i = j + 1
            continue
        if c.isdigit() or (
            c == "-" and i + 1 < n and (text[i + 1].isdigit() or text[i + 1] == ".")
        ):
            j = i + 1
            while j < n and (
                text[j].isdigit() or text[j] in ".eE" or (text[j] in "+-" and text[j - 1] in "eE")
            ):
                j += 1
            raw = text[i:j]
            try:
                num: int | float = int(raw)
            except ValueError:
                try:
                    num = float(raw)
                except ValueError:
                    raise TargetError(col, f"{raw!r} is not a number") from None
            if isinstance(num, float) and num - num != 0.0:
                raise TargetError(col, f"{raw!r} is not a finite number")
            out.append(_Token("number", raw, col, num))
            i = j
            continue
        if c.isalpha() or c == "_":
            j = i + 1
            while j < n and (text[j].isalnum() or text[j] in "_-"):
                j += 1
            word = text[i:j]
            low = word.lower()
            if low in _KEYWORDS:
                out.append(_Token("keyword", word, col, low))
            else:
                out.append(_Token("name", word, col, word))
            i = j
            continue
        two = text[i : i + 2]
        if two in ("==", "!=", "<=", ">="):
            out.append(_Token("op", two, col, two))
            i += 2
            continue
        if two in _HINTS:
            raise TargetError(col, f"unknown operator {two!r}; use {_HINTS[two]!r}")
        if c in _SINGLE:
            out.append(_Token("op", c, col, c))
            i += 1
            continue
        if c in _HINTS:
            raise TargetError(col, f"unknown operator {c!r}; use {_HINTS[c]!r}")
        raise TargetError(col, f"unexpected character {c!r}")
    out.append(_Token("end", "", n + 1))
    return out


def _describe(tok: _Token) -> str:
    return "the end" if tok.kind == "end" else repr(tok.text)


# ---------------------------------------------------------------------- parser


class _Parser:
    __slots__ = ("depth", "inquiry", "pos", "toks")

    def __init__(self, toks: list[_Token]) -> None:
        self.toks = toks
        self.pos = 0
        self.depth = 0
        self.inquiry: list[_InquiryAttr] = []

    def peek(self) -> _Token:
        return self.toks[self.pos]

    def take(self) -> _Token:
        tok = self.toks[self.pos]
        if tok.kind != "end":
            self.pos += 1
        return tok

    def is_kw(self, word: str) -> bool:
        tok = self.toks[self.pos]
        return tok.kind == "keyword" and tok.value == word

    def is_op(self, op: str) -> bool:
        tok = self.toks[self.pos]
        return tok.kind == "op" and tok.value == op

    def expr(self) -> _Node:
        parts = [self.term()]
        while self.is_kw("or"):
            self.take()
            parts.append(self.term())
        return parts[0] if len(parts) == 1 else _Or(parts)

    def term(self) -> _Node:
        parts = [self.factor()]
        while self.is_kw("and"):
            self.take()
            parts.append(self.factor())
        return parts[0] if len(parts) == 1 else _And(parts)

    def factor(self) -> _Node:
        tok = self.peek()
        if self.is_kw("not") or self.is_op("("):
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise TargetError(tok.column, f"nested deeper than {MAX_DEPTH} levels")
            self.take()
            if tok.kind == "keyword":
                node: _Node = _Not(self.factor())
            else:
                node = self.expr()
                close = self.peek()
                if not self.is_op(")"):
                    raise TargetError(
                        close.column,
                        f"expected ')' to close the '(' at column {tok.column}, "
                        f"found {_describe(close)}",
                    )
                self.take()
            self.depth -= 1
            return node
        left = self.operand("a condition")
        nxt = self.peek()
        op = None
        if (nxt.kind == "op" and nxt.value in _COMPARE) or (
            nxt.kind == "keyword" and nxt.value in ("in", "has")
        ):
            op = nxt.value
        if op is None:
            if left.kind not in (_BOOL, _ANY):
                raise TargetError(
                    left.column, f"a {left.kind} is not a condition; compare it with ==, <, in..."
                )
            return _Truth(left)
        self.take()
        right = self.operand(f"a value after {nxt.text!r}")
        after = self.peek()
        if (after.kind == "op" and after.value in _COMPARE) or (
            after.kind == "keyword" and after.value in ("in", "has")
        ):
            raise TargetError(after.column, "comparisons do not chain; join them with 'and'")
        _check_types(op, left, right, nxt.column)
        return _Compare(op, left, right)

    def operand(self, wanted: str) -> _Operand:
        tok = self.take()
        if tok.kind == "string":
            return _Literal(("s", tok.value), _STR, tok.column)
        if tok.kind == "number":
            return _Literal(("n", tok.value), _NUM, tok.column)
        if tok.kind == "keyword" and tok.value in ("true", "false"):
            return _Literal(("b", tok.value == "true"), _BOOL, tok.column)
        if tok.kind == "op" and tok.value == "[":
            return self.list_literal(tok)
        if tok.kind == "name":
            if tok.value == "inquiry":
                dot = self.peek()
                if not self.is_op("."):
                    raise TargetError(
                        dot.column, "write inquiry.NAME for an attribute of the inquiry"
                    )
                self.take()
                name = self.take()
                if name.kind not in ("name", "keyword"):
                    raise TargetError(
                        name.column,
                        f"expected an attribute name after 'inquiry.', found {_describe(name)}",
                    )
                attr = _InquiryAttr(name.text, tok.column)
                self.inquiry.append(attr)
                return attr
            return _AgentAttr(tok.value, tok.column)
        raise TargetError(tok.column, f"expected {wanted}, found {_describe(tok)}")

    def list_literal(self, opening: _Token) -> _Literal:
        items: list[Any] = []
        if self.is_op("]"):
            self.take()
            return _Literal(("l", ()), _LIST, opening.column)
        while True:
            tok = self.take()
            if tok.kind == "string":
                items.append(("s", tok.value))
            elif tok.kind == "number":
                items.append(("n", tok.value))
            elif tok.kind == "keyword" and tok.value in ("true", "false"):
                items.append(("b", tok.value == "true"))
            else:
                raise TargetError(
                    tok.column,
                    f"a list holds literals (strings, numbers, true, false), "
                    f"found {_describe(tok)}",
                )
            sep = self.take()
            if sep.kind == "op" and sep.value == "]":
                return _Literal(("l", tuple(items)), _LIST, opening.column)
            if not (sep.kind == "op" and sep.value == ","):
                raise TargetError(
                    sep.column,
                    f"expected ',' or ']' in the list at column {opening.column}, "
                    f"found {_describe(sep)}",
                )


def _check_types(op: str, left: _Operand, right: _Operand, column: int) -> None:
    lk, rk = left.kind, right.kind
    if op == "in":
        if rk not in (_LIST, _ANY):
            raise TargetError(right.column, f"'in' needs a list on its right, not a {rk}")
        if lk == _LIST:
            raise TargetError(left.column, "'in' tests one value, not a list; use 'has'")
        return
    if op == "has":
        if lk not in (_LIST, _ANY):
            raise TargetError(left.column, f"'has' needs a list on its left, not a {lk}")
        if rk == _LIST:
            raise TargetError(right.column, "'has' tests one value, not a list")
        return
    if op in ("==", "!="):
        if lk != _ANY and rk != _ANY and lk != rk:
            raise TargetError(column, f"a {lk} is never equal to a {rk}")
        return
    for side in (left, right):
        if side.kind in (_LIST, _BOOL):
            raise TargetError(side.column, f"{op!r} orders numbers or strings, not a {side.kind}")
    if lk != _ANY and rk != _ANY and lk != rk:
        raise TargetError(column, f"{op!r} cannot order a {lk} against a {rk}")


# ---------------------------------------------------------------------- target


class Target:
    """A compiled ``match`` expression: which agents may serve which inquiries."""

    __slots__ = ("agent_names", "inquiry_names", "root", "text")

    def __init__(
        self, text: str, root: _Node, inquiry_names: tuple[str, ...], agent_names: tuple[str, ...]
    ) -> None:
        self.text = text
        self.root = root
        #: the inquiry attributes the expression reads: the part of the pool key it adds
        self.inquiry_names = inquiry_names
        self.agent_names = agent_names

    def bind(self, attrs: dict[str, Any] | None) -> tuple[Any, ...]:
        """An inquiry's canonical values of :attr:`inquiry_names` (None where absent)."""
        names = self.inquiry_names
        if not attrs:
            return (None,) * len(names)
        if len(names) == 1:  # the common case, once per arrival: no generator
            v = attrs.get(names[0])
            return (("s", v) if type(v) is str else canon(v),)
        return tuple([canon(attrs.get(n)) for n in names])

    def admits(self, agent_attrs: dict[str, Any] | None, bound: tuple[Any, ...]) -> bool:
        """Whether an agent with these (plain) attributes serves inquiries bound to ``bound``."""
        return self.root.test(canon_map(agent_attrs), bound)

    def matches(
        self, agent_attrs: dict[str, Any] | None, inquiry_attrs: dict[str, Any] | None
    ) -> bool:
        """Whether an agent serves an inquiry, from both plain attribute mappings."""
        return self.admits(agent_attrs, self.bind(inquiry_attrs))

    def __repr__(self) -> str:
        return f"Target({self.text!r})"


def parse_target(text: str) -> Target:
    """Parse and type-check ``text``; raises :class:`TargetError` naming the column."""
    if len(text) > MAX_LENGTH:
        raise TargetError(MAX_LENGTH + 1, f"longer than {MAX_LENGTH} characters")
    toks = _tokens(text)
    if toks[0].kind == "end":
        raise TargetError(1, "empty expression; leave match out to accept every agent")
    p = _Parser(toks)
    root = p.expr()
    tail = p.peek()
    if tail.kind != "end":
        raise TargetError(tail.column, f"expected 'and', 'or' or the end, found {_describe(tail)}")
    names = tuple(sorted({a.name for a in p.inquiry}))
    index = {n: i for i, n in enumerate(names)}
    for a in p.inquiry:
        a.index = index[a.name]
    agent_names: set[str] = set()
    _collect_agent_names(root, agent_names)
    return Target(text, root, names, tuple(sorted(agent_names)))


def _collect_agent_names(node: _Node, out: set[str]) -> None:
    if isinstance(node, _Truth):
        operands: list[_Operand] = [node.operand]
    elif isinstance(node, _Compare):
        operands = [node.left, node.right]
    elif isinstance(node, _Not):
        _collect_agent_names(node.inner, out)
        return
    elif isinstance(node, _And | _Or):
        for part in node.parts:
            _collect_agent_names(part, out)
        return
    else:  # pragma: no cover - every node kind is above
        return
    for o in operands:
        if isinstance(o, _AgentAttr):
            out.add(o.name)


_CACHE: dict[str, Target] = {}


def compile_target(text: str) -> Target:
    """:func:`parse_target`, memoised: a config reload re-uses the compiled expressions."""
    found = _CACHE.get(text)
    if found is None:
        if len(_CACHE) > 4096:
            _CACHE.clear()
        found = _CACHE[text] = parse_target(text)
    return found
