"""The `fields` system parameter: partial responses such as "items(itemId,title),revisionId".

Sub-fields may be written with "/" or "." ("sheets/properties" = "sheets.properties").
"""
from __future__ import annotations

import re

from forms_sync.google.emulator.errors import invalid_argument

Tree = dict  # name -> subtree, or None for "the whole value"


def parse_fields(text: str) -> Tree | None:
    """Parse a field selector; None selects everything ("*" or empty)."""
    text = text.replace(" ", "")
    if not text or text == "*":
        return None
    tree, pos = _parse_list(text, 0)
    if pos != len(text):
        raise invalid_argument(f"Invalid field selection {text}")
    return tree


def _parse_list(text: str, pos: int) -> tuple[Tree, int]:
    tree: Tree = {}
    while True:
        start = pos
        while pos < len(text) and text[pos] not in ",()":
            pos += 1
        path = text[start:pos]
        if not path:
            raise invalid_argument(f"Invalid field selection {text}")
        sub = None
        if pos < len(text) and text[pos] == "(":
            sub, pos = _parse_list(text, pos + 1)
            if pos >= len(text) or text[pos] != ")":
                raise invalid_argument(f"Invalid field selection {text}")
            pos += 1
        _insert(tree, re.split(r"[/.]", path), sub)
        if pos < len(text) and text[pos] == ",":
            pos += 1
            continue
        return tree, pos


def _insert(tree: Tree, parts: list[str], sub: Tree | None) -> None:
    head, rest = parts[0], parts[1:]
    if head == "*":
        tree.clear()
        tree["*"] = None
        return
    node = sub if not rest else {}
    if rest:
        _insert(node, rest, sub)
    if head in tree:
        old = tree[head]
        tree[head] = None if old is None or node is None else {**old, **node}
    else:
        tree[head] = node


def select(value, tree: Tree | None):
    """The parts of a JSON value that the selector names."""
    if tree is None or "*" in tree:
        return value
    if isinstance(value, list):
        return [select(v, tree) for v in value]
    if isinstance(value, dict):
        return {k: select(value[k], sub) for k, sub in tree.items() if k in value}
    return value
