"""Small AST predicates the insecure-code checks share (names, literals, built strings, file modes)."""

from __future__ import annotations

import ast

from agentloop.detectors._ast_util import Imports, is_literal, string_constants


def _is_constant_name(node: ast.expr) -> bool:
    return isinstance(node, ast.Name) and node.id.isupper()


def _func(node: ast.expr) -> ast.expr:
    return node.func if isinstance(node, ast.Call) else node


def _is_false(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value in (False, 0, None)


def _is_secret_literal(node: ast.expr | None) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str) and len(node.value) >= 4 and " " not in node.value


def _names_and_attrs(node: ast.AST) -> list[str]:
    return [n.id if isinstance(n, ast.Name) else n.attr for n in ast.walk(node) if isinstance(n, (ast.Name, ast.Attribute))]


def _attr_names(node: ast.AST) -> set[str]:
    return {n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)}


def _is_built_string(node: ast.expr) -> bool:
    if isinstance(node, ast.JoinedStr):
        return any(isinstance(v, ast.FormattedValue) for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mod, ast.Add)):
        return not is_literal(node)
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format"


def _interpolated(node: ast.expr) -> list[ast.expr]:
    if isinstance(node, ast.JoinedStr):
        return [v.value for v in node.values if isinstance(v, ast.FormattedValue)]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
        right = node.right
        return list(right.elts) if isinstance(right, ast.Tuple) else [right]
    if isinstance(node, ast.BinOp):
        return [*_interpolated_add(node.left), *_interpolated_add(node.right)]
    if isinstance(node, ast.Call):
        return [*node.args, *(k.value for k in node.keywords)]
    return [node]


def _interpolated_add(node: ast.expr) -> list[ast.expr]:
    if isinstance(node, ast.Constant):
        return []
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return [*_interpolated_add(node.left), *_interpolated_add(node.right)]
    return [node]


def _literal_text(node: ast.AST) -> str:
    return " ".join(string_constants(node))


def _world_writable(mode: ast.expr | None, imports: Imports) -> bool:
    if isinstance(mode, ast.Constant) and isinstance(mode.value, int):
        return bool(mode.value & 0o002)
    return mode is not None and any((imports.qualname(n) or "").endswith("S_IWOTH") for n in ast.walk(mode))
