"""Constant folding and effect-aware name resolution for the static detectors.

A name built at run time from constants is the same name: `"py" + "test"`, `"".join(["_e", "xit"])`,
`"tsetyp"[::-1]`, `bytes([112, 121]).decode()`, `"".join(map(chr, [112, 121]))`, f-strings,
`.format`, base64/rot13/hex decodes. `Resolver` (a drop-in for `Imports`) uses that to see through
`importlib.import_module`, `__import__`, `sys.modules[...]`, `getattr(x, ...)`, `operator.attrgetter`,
`vars()`/`globals()`/`__dict__` lookups and aliases (`im = importlib; m = im.import_module(...)`), so a
rule written against `os._exit` also fires on `getattr(__import__("o" + "s"), "_ex" + "it")`.
"""

from __future__ import annotations

import ast
import base64
import binascii
import codecs
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from agentloop.detectors._ast_util import Imports, arg, kwarg

__all__ = ["UNKNOWN", "Resolver", "evaluate", "fold"]


class _Unknown:
    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Any = _Unknown()
_MAX_LEN = 10_000  # longest string or sequence the evaluator builds
_MAX_DEPTH = 40
_STR_METHODS = {
    "upper", "lower", "strip", "lstrip", "rstrip", "title", "capitalize", "swapcase", "casefold", "replace",
    "join", "format", "decode", "encode", "split", "rsplit", "removeprefix", "removesuffix", "zfill", "center",
    "ljust", "rjust", "partition", "rpartition", "splitlines", "translate",
}  # fmt: skip
_DECODERS: dict[str, Callable[[Any], Any]] = {
    "base64.b64decode": base64.b64decode, "base64.standard_b64decode": base64.standard_b64decode,
    "base64.urlsafe_b64decode": base64.urlsafe_b64decode, "base64.b32decode": base64.b32decode,
    "base64.b16decode": base64.b16decode, "base64.b85decode": base64.b85decode, "base64.a85decode": base64.a85decode,
    "binascii.unhexlify": binascii.unhexlify, "binascii.a2b_hex": binascii.a2b_hex,
    "binascii.a2b_base64": binascii.a2b_base64, "bytes.fromhex": bytes.fromhex, "bytearray.fromhex": bytes.fromhex,
}  # fmt: skip
_PURE_BUILTINS: dict[str, Callable[..., Any]] = {
    "chr": chr, "ord": ord, "str": str, "bytes": bytes, "bytearray": bytes, "reversed": lambda x: list(reversed(x)),
    "list": list, "tuple": tuple, "sorted": sorted, "int": int, "len": len, "hex": hex, "oct": oct,
    "sum": sum, "abs": abs, "min": min, "max": max, "repr": repr,
}  # fmt: skip
_BINOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b,
    ast.Mod: lambda a, b: a % b, ast.BitXor: lambda a, b: a ^ b, ast.BitAnd: lambda a, b: a & b,
    ast.BitOr: lambda a, b: a | b, ast.FloorDiv: lambda a, b: a // b, ast.LShift: lambda a, b: a << b,
    ast.RShift: lambda a, b: a >> b,
}  # fmt: skip


def _small(value: Any) -> Any:
    if isinstance(value, (str, bytes, list, tuple, dict)) and len(value) > _MAX_LEN:
        return UNKNOWN
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 1 << 64:
        return UNKNOWN
    return value


def evaluate(node: ast.AST | None, env: dict[str, Any] | None = None, qual: Callable[[ast.AST], str | None] | None = None,
             depth: int = 0) -> Any:
    """The value of a side-effect-free expression built from constants, or UNKNOWN.

    `env` maps names to already-known values; `qual` resolves a call's dotted name (import aliases).
    """
    if node is None or depth > _MAX_DEPTH:
        return UNKNOWN
    env = env or {}
    try:
        return _small(_eval(node, env, qual, depth))
    except Exception:  # noqa: BLE001 - any error while folding means "not statically known"
        return UNKNOWN


def _eval(node: ast.AST, env: dict[str, Any], qual: Callable[[ast.AST], str | None] | None, depth: int) -> Any:
    def ev(n: ast.AST | None) -> Any:
        value = evaluate(n, env, qual, depth + 1)
        if value is UNKNOWN:
            raise ValueError("unknown")
        return value

    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        if node.id in env:
            return env[node.id]
        return UNKNOWN
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        return [ev(e) for e in node.elts]
    if isinstance(node, ast.Dict):
        return {ev(k): ev(v) for k, v in zip(node.keys, node.values)}
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        left, right = ev(node.left), ev(node.right)
        if isinstance(node.op, ast.Mult) and any(isinstance(x, int) and x > _MAX_LEN for x in (left, right)):
            return UNKNOWN
        return _BINOPS[type(node.op)](left, tuple(right) if isinstance(right, list) else right)
    if isinstance(node, ast.UnaryOp):
        operand = ev(node.operand)
        return {ast.USub: lambda v: -v, ast.UAdd: lambda v: +v, ast.Invert: lambda v: ~v, ast.Not: lambda v: not v}[
            type(node.op)](operand)
    if isinstance(node, ast.JoinedStr):
        return "".join(str(ev(v)) for v in node.values)
    if isinstance(node, ast.FormattedValue):
        value = ev(node.value)
        value = {115: str, 114: repr, 97: ascii}.get(node.conversion, lambda v: v)(value)
        return format(value, ev(node.format_spec) if node.format_spec is not None else "")
    if isinstance(node, ast.Subscript):
        return _subscript(ev(node.value), node.slice, ev)
    if isinstance(node, (ast.GeneratorExp, ast.ListComp, ast.SetComp)):
        return _comprehension(node, env, qual, depth)
    if isinstance(node, ast.Call):
        return _call(node, env, qual, ev)
    return UNKNOWN


def _subscript(value: Any, index: ast.AST, ev: Callable[[ast.AST | None], Any]) -> Any:
    if isinstance(index, ast.Slice):
        parts = [ev(p) if p is not None else None for p in (index.lower, index.upper, index.step)]
        return value[slice(*parts)]
    return value[ev(index)]


def _comprehension(node: ast.GeneratorExp | ast.ListComp | ast.SetComp, env: dict[str, Any],
                   qual: Callable[[ast.AST], str | None] | None, depth: int) -> Any:
    if len(node.generators) != 1 or not isinstance(node.generators[0].target, ast.Name):
        return UNKNOWN
    gen = node.generators[0]
    items = evaluate(gen.iter, env, qual, depth + 1)
    if items is UNKNOWN or isinstance(items, dict) or len(items) > _MAX_LEN:
        return UNKNOWN
    out = []
    for item in items:
        local = {**env, gen.target.id: item}
        if all(evaluate(cond, local, qual, depth + 1) is True for cond in gen.ifs) or not gen.ifs:
            value = evaluate(node.elt, local, qual, depth + 1)
            if value is UNKNOWN:
                return UNKNOWN
            if not gen.ifs or all(evaluate(c, local, qual, depth + 1) for c in gen.ifs):
                out.append(value)
    return out


def _call(node: ast.Call, env: dict[str, Any], qual: Callable[[ast.AST], str | None] | None,
          ev: Callable[[ast.AST | None], Any]) -> Any:
    if any(isinstance(a, ast.Starred) for a in node.args):
        return UNKNOWN
    name = (qual(node.func) if qual else None) or ""
    func = node.func
    if name in _DECODERS:
        return _DECODERS[name](ev(node.args[0]))
    if name in {"codecs.decode", "codecs.encode"}:
        value, encoding = ev(node.args[0]), ev(arg(node, 1, "encoding")) if len(node.args) > 1 or kwarg(node, "encoding") else "utf-8"
        return codecs.decode(value, encoding) if name == "codecs.decode" else codecs.encode(value, encoding)
    if isinstance(func, ast.Name) and func.id in _PURE_BUILTINS and func.id not in env:
        if func.id == "str" and node.args and isinstance(ev(node.args[0]), bytes):
            return UNKNOWN  # str(b"...") is the repr, almost never what a name builder wants
        return _PURE_BUILTINS[func.id](*[ev(a) for a in node.args])
    if isinstance(func, ast.Name) and func.id == "map" and len(node.args) == 2:
        fn = node.args[0]
        if isinstance(fn, ast.Name) and fn.id in _PURE_BUILTINS:
            return [_PURE_BUILTINS[fn.id](x) for x in ev(node.args[1])]
        return UNKNOWN
    if isinstance(func, ast.Attribute) and func.attr in _STR_METHODS:
        obj = ev(func.value)
        if not isinstance(obj, (str, bytes)):
            return UNKNOWN
        args = [ev(a) for a in node.args]
        kwargs = {k.arg: ev(k.value) for k in node.keywords if k.arg}
        if func.attr == "join":
            args = [[x for x in args[0]]]
        if func.attr == "translate":
            return UNKNOWN
        return getattr(obj, func.attr)(*args, **kwargs)
    return UNKNOWN


def fold(node: ast.AST | None, env: dict[str, Any] | None = None, qual: Callable[[ast.AST], str | None] | None = None
         ) -> str | None:
    """The string a name-building expression always yields (bytes decoded as latin-1), or None."""
    value = evaluate(node, env, qual)
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return value if isinstance(value, str) else None


# --- effect-aware names ----------------------------------------------------------------------------

_IMPORTERS = {"importlib.import_module", "__import__", "builtins.__import__", "importlib.__import__"}
_NAMESPACE_CALLS = {"vars", "globals", "locals", "builtins.vars", "builtins.globals"}


@dataclass
class Resolver(Imports):
    """`Imports` that also resolves names built at run time and names bound to modules or attributes.

    `values` holds names bound to a constant (once in the file: a rebinding makes the name unknown);
    `aliases` gains names bound to anything that resolves (`m = importlib.import_module("pytest")`).
    """

    values: dict[str, Any] = field(default_factory=dict)
    # node -> its qualname: `_dynamic` and `Imports.qualname` both resolve a call's callee, so without it a
    # chain like `s.strip().strip()...` costs ~3^depth (an answer of 320 tokens hung an experiment for hours);
    # cleared whenever `values` or `aliases` change. AST nodes hash by identity and the dict keeps them alive.
    _memo: dict[ast.AST, str | None] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def of(cls, tree: ast.AST) -> Resolver:
        base = Imports.of(tree)
        res = cls(dict(base.aliases))
        bindings: dict[str, list[ast.expr]] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign):
                pairs = [(t, node.value) for t in node.targets]
            elif isinstance(node, (ast.AnnAssign, ast.NamedExpr)) and node.value is not None:
                pairs = [(node.target, node.value)]
            elif isinstance(node, (ast.AugAssign, ast.For, ast.AsyncFor, ast.comprehension)):
                pairs = [(node.target, None)]  # rebinding from a loop or an update: not a constant
            elif isinstance(node, ast.arguments):
                every = [*node.posonlyargs, *node.args, *node.kwonlyargs, node.vararg, node.kwarg]
                pairs = [(ast.Name(a.arg), None) for a in every if a is not None]
            elif isinstance(node, ast.withitem) and node.optional_vars is not None:
                pairs = [(node.optional_vars, None)]
            elif isinstance(node, ast.ExceptHandler) and node.name:
                pairs = [(ast.Name(node.name), None)]
            else:
                continue
            for target, value in pairs:
                for n in ast.walk(target):
                    if isinstance(n, ast.Name) and isinstance(getattr(n, "ctx", ast.Store()), ast.Store):
                        bindings.setdefault(n.id, []).append(value if n is target else None)  # type: ignore[arg-type]
        for _ in range(4):  # chains: a = "py"; b = a + "test"; m = __import__(b)
            for name, values in bindings.items():
                if len(values) != 1 or values[0] is None or name in base.aliases:
                    continue
                value = evaluate(values[0], res.values, res.qualname)
                if value is not UNKNOWN:
                    res.values[name] = value
                    res._memo.clear()
                    continue
                q = res.qualname(values[0])
                if q is not None and not q.endswith("()") and not isinstance(values[0], ast.Constant):
                    res.aliases[name] = q
                    res._memo.clear()
        return res

    def fold(self, node: ast.AST | None) -> str | None:
        return fold(node, self.values, self.qualname)

    def qualname(self, node: ast.AST) -> str | None:
        if node in self._memo:
            return self._memo[node]
        q = self._qualname(node)
        if q is not None and q.split(".")[0] == "__builtins__":
            q = "builtins" + q[len("__builtins__"):]
        self._memo[node] = q
        return q

    def _qualname(self, node: ast.AST) -> str | None:
        if isinstance(node, ast.Call):
            dynamic = self._dynamic(node)
            if dynamic is not None:
                return dynamic
        if isinstance(node, ast.Subscript):
            key = self.fold(node.slice)
            base = self._namespace_of(node.value)
            if key is not None and base is not None:
                return key if base == "" else f"{base}.{key}"
        if isinstance(node, ast.Attribute) and node.attr == "__dict__":
            return self.qualname(node.value)  # X.__dict__ stands for X: writes to it are writes to X
        if isinstance(node, ast.Attribute) and isinstance(node.value, (ast.Call, ast.Subscript)):
            inner = self.qualname(node.value)
            if inner is not None and not inner.endswith("()"):
                return f"{inner}.{node.attr}"
        return super().qualname(node)

    def _namespace_of(self, node: ast.AST) -> str | None:
        """`sys.modules` -> "" (keys are module names); `vars(x)`/`x.__dict__` -> x; `globals()` -> ""."""
        if isinstance(node, ast.Call):
            name = super().qualname(node.func) or ""
            if name in _NAMESPACE_CALLS:
                if node.args:
                    return self.qualname(node.args[0])
                return ""
            return None
        if isinstance(node, ast.Attribute) and node.attr == "__dict__":
            return self.qualname(node.value)
        q = super().qualname(node)
        if q == "sys.modules":
            return ""
        if q in {"__builtins__", "builtins"}:
            return "builtins"
        return None

    def _dynamic(self, call: ast.Call) -> str | None:
        name = super().qualname(call.func) or ""
        if isinstance(call.func, ast.Name) and call.func.id in self.aliases:
            name = self.aliases[call.func.id]
        elif isinstance(call.func, (ast.Call, ast.Subscript, ast.Attribute)):
            name = self.qualname(call.func) or name
        if name in _IMPORTERS and call.args:
            target = self.fold(call.args[0])
            if target is None:
                return None
            if target.startswith(".") and name == "importlib.import_module":
                package = self.fold(arg(call, 1, "package"))
                return f"{package}{target}" if package else None
            fromlist = arg(call, 3, "fromlist")
            if name != "importlib.import_module" and not (fromlist is not None and evaluate(fromlist)):
                return target.split(".")[0]  # __import__("a.b") returns the package a
            return target
        if name in {"getattr", "builtins.getattr"} and len(call.args) >= 2:
            attr = self.fold(call.args[1])
            obj = self.qualname(call.args[0])
            return f"{obj}.{attr}" if attr is not None and obj is not None else None
        if name in {"sys.modules.get", "sys.modules.__getitem__"} and call.args:
            return self.fold(call.args[0])
        if name in {"vars", "globals"} and not call.args:
            return None
        if isinstance(call.func, ast.Call):  # operator.attrgetter("x")(obj)
            inner = super().qualname(call.func.func) or ""
            if inner == "operator.attrgetter" and call.func.args and call.args:
                attr, obj = self.fold(call.func.args[0]), self.qualname(call.args[0])
                return f"{obj}.{attr}" if attr is not None and obj is not None else None
        return None

    def is_module_ref(self, node: ast.AST, modules: Any) -> bool:
        """As `Imports.is_module_ref`, and also for modules reached by import_module/getattr/sys.modules."""
        q = self.qualname(node)
        if q is None or q.split(".")[0] not in set(modules):
            return False
        base = node
        while isinstance(base, ast.Attribute):
            base = base.value
        if isinstance(base, ast.Name):
            return base.id in self.aliases or base.id == "__builtins__"
        return isinstance(base, (ast.Call, ast.Subscript)) and not (self.qualname(base) or "").endswith("()")
