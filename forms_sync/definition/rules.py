"""Cross-field rules: a tiny expression language, parsed from data and evaluated column-wise.

A rule is data, never code: the text is parsed with Python's `ast` (mode="eval") and only the node
kinds FORMAT.md §1 allows are accepted; evaluation walks that tree over whole pandas columns.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass

import numpy as np
import pandas as pd

_CMP = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">="}
_BIN = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
FUNCTIONS = ("abs", "sum")
MAX_DEPTH = 100  # levels of nesting; deeper trees would exhaust the stack when checked or evaluated


class RuleSyntaxError(ValueError):
    pass


@dataclass(frozen=True)
class ParsedRule:
    tree: ast.expr
    fields: tuple[str, ...]


def parse_rule(text: str) -> ParsedRule:
    """Parse and whitelist a rule expression; raise RuleSyntaxError saying what is not allowed.

    A rule must be a condition: a comparison, or comparisons joined with and/or/not.
    """
    if len(text) > 2000:
        raise RuleSyntaxError("expression is too long (2000 characters at most)")
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except SyntaxError as exc:
        raise RuleSyntaxError(f"not a valid expression ({exc.msg}); use field names, numbers, "
                              "+ - * /, comparisons, and/or/not, abs(), sum()") from None
    except (RecursionError, MemoryError):
        raise RuleSyntaxError(_TOO_DEEP) from None
    if _depth(tree) > MAX_DEPTH:
        raise RuleSyntaxError(_TOO_DEEP)
    names: list[str] = []
    _check(tree, names)
    _condition(tree)
    return ParsedRule(tree, tuple(dict.fromkeys(names)))


_TOO_DEEP = (f"expression is nested too deeply (more than {MAX_DEPTH} levels); "
             "write it more simply, e.g. sum(a, b, c, ...) instead of a long a + b + c + ...")
_NOT_CONDITION = ("must be a condition: a comparison (== != < <= > >=), or comparisons joined with "
                  "and/or/not, e.g. total == a + b")


def _depth(tree: ast.AST) -> int:
    """Depth of the expression tree, measured without recursion."""
    deepest = 0
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > MAX_DEPTH:
            break
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.expr):
                stack.append((child, depth + 1))
    return deepest


def _condition(node: ast.AST) -> None:
    """A condition is a comparison of values, or conditions joined with and/or/not."""
    if isinstance(node, ast.Compare):
        for operand in (node.left, *node.comparators):
            _value(operand)
    elif isinstance(node, ast.BoolOp):
        for v in node.values:
            _condition(v)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        _condition(node.operand)
    else:
        raise RuleSyntaxError(f"{ast.unparse(node)!r} is not a condition; the rule {_NOT_CONDITION}")


def _value(node: ast.AST) -> None:
    """A value is a number: field names and numbers joined with + - * /, abs(), sum()."""
    if isinstance(node, (ast.Name, ast.Constant)):
        return
    if isinstance(node, ast.BinOp):
        _value(node.left)
        _value(node.right)
        if isinstance(node.op, ast.Div) and _is_zero(node.right):
            raise RuleSyntaxError(f"{ast.unparse(node)!r} divides by 0")
    elif isinstance(node, ast.UnaryOp) and not isinstance(node.op, ast.Not):
        _value(node.operand)
    elif isinstance(node, ast.Call):
        for a in node.args:
            _value(a)
    else:
        raise RuleSyntaxError(f"{ast.unparse(node)!r} is a condition where a number is expected; "
                              "compare numbers, and join comparisons with and/or/not")


def _is_zero(node: ast.AST) -> bool:
    while isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        node = node.operand
    return isinstance(node, ast.Constant) and node.value == 0


def _check(node: ast.AST, names: list[str]) -> None:
    if isinstance(node, ast.Name):
        names.append(node.id)
    elif isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
            raise RuleSyntaxError(f"only numbers are allowed as constants, not {node.value!r}")
    elif isinstance(node, ast.BinOp) and type(node.op) in _BIN:
        _check(node.left, names)
        _check(node.right, names)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd, ast.Not)):
        _check(node.operand, names)
    elif isinstance(node, ast.BoolOp):
        for v in node.values:
            _check(v, names)
    elif isinstance(node, ast.Compare) and all(type(op) in _CMP for op in node.ops):
        _check(node.left, names)
        for c in node.comparators:
            _check(c, names)
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in FUNCTIONS:
        if node.keywords or not node.args or (node.func.id == "abs" and len(node.args) != 1):
            raise RuleSyntaxError(f"{node.func.id}() takes {'one value' if node.func.id == 'abs' else 'values'} "
                                  "and no keywords")
        for a in node.args:
            _check(a, names)
    else:
        what = f"{_WORDS.get(type(node).__name__, 'this')} ({_excerpt(node)})"
        if isinstance(node, ast.Call):
            what = f"function {ast.unparse(node.func)}()"
        elif isinstance(node, (ast.BinOp, ast.Compare)):
            what = f"operator in {ast.unparse(node)!r}"
        raise RuleSyntaxError(f"{what} is not allowed; use field names, numbers, + - * /, "
                              "== != < <= > >=, and/or/not, abs(), sum()")


# What a central admin would call the Python constructs a rule may not use.
_WORDS = {"Attribute": "a dot (.)", "Subscript": "indexing with [ ]", "IfExp": "if/else",
          "NamedExpr": ":=", "JoinedStr": "an f-string", "Constant": "text in quotes",
          "Lambda": "lambda", "List": "a list [ ]", "Tuple": "a tuple ( , )", "Dict": "a dict { }",
          "Set": "a set { }", "ListComp": "a list comprehension", "GeneratorExp": "a generator",
          "DictComp": "a dict comprehension", "SetComp": "a set comprehension", "Starred": "*",
          "Await": "await", "Yield": "yield", "YieldFrom": "yield", "Slice": "a slice (:)"}


def _excerpt(node: ast.AST) -> str:
    text = ast.unparse(node)
    return repr(text if len(text) <= 40 else text[:37] + "...")


def evaluate(rule: ParsedRule, frame: pd.DataFrame) -> pd.Series:
    """Evaluate over a frame of typed columns; returns a boolean Series (True = rule holds)."""
    result = _eval(rule.tree, frame)
    if not isinstance(result, pd.Series):
        result = pd.Series(bool(result), index=frame.index)
    return result.fillna(False).astype(bool)


def _num(x):
    if isinstance(x, pd.Series):
        return x.astype("float64")
    return float(x)


def _eval(node: ast.AST, frame: pd.DataFrame):
    if isinstance(node, ast.Name):
        return _num(frame[node.id])
    if isinstance(node, ast.Constant):
        return float(node.value)
    if isinstance(node, ast.BinOp):
        a, b = _eval(node.left, frame), _eval(node.right, frame)
        op = _BIN[type(node.op)]
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        with np.errstate(divide="ignore", invalid="ignore"):
            return a / b
    if isinstance(node, ast.UnaryOp):
        v = _eval(node.operand, frame)
        if isinstance(node.op, ast.Not):
            return ~v.astype(bool) if isinstance(v, pd.Series) else not v
        return -v if isinstance(node.op, ast.USub) else v
    if isinstance(node, ast.BoolOp):
        values = [_as_bool(_eval(v, frame), frame) for v in node.values]
        out = values[0]
        for v in values[1:]:
            out = (out & v) if isinstance(node.op, ast.And) else (out | v)
        return out
    if isinstance(node, ast.Compare):
        left = _eval(node.left, frame)
        out = None
        for op, comp in zip(node.ops, node.comparators):
            right = _eval(comp, frame)
            res = _compare(_CMP[type(op)], left, right)
            out = res if out is None else (out & res)
            left = right
        return out
    if isinstance(node, ast.Call):
        args = [_eval(a, frame) for a in node.args]
        if node.func.id == "abs":
            return abs(args[0])
        total = args[0]
        for a in args[1:]:
            total = total + a
        return total
    raise RuleSyntaxError(type(node).__name__)  # unreachable: parse_rule whitelists


def _as_bool(v, frame):
    if isinstance(v, pd.Series):
        return v.fillna(False).astype(bool)
    return pd.Series(bool(v), index=frame.index)


def _compare(op: str, a, b):
    """Comparisons with a relative tolerance, so 0.1 + 0.2 == 0.3 holds as people expect."""
    if op in ("==", "!="):
        close = np.isclose(a, b, rtol=1e-9, atol=1e-9)
        close = pd.Series(close, index=a.index if isinstance(a, pd.Series) else b.index) \
            if isinstance(a, pd.Series) or isinstance(b, pd.Series) else bool(close)
        return close if op == "==" else ~close
    tol_eq = np.isclose(a, b, rtol=1e-9, atol=1e-9)
    if op == "<":
        return (a < b) & ~tol_eq
    if op == ">":
        return (a > b) & ~tol_eq
    if op == "<=":
        return (a <= b) | tol_eq
    return (a >= b) | tol_eq
