"""How many elements a tensor-creating call makes, from its literal arguments alone.

Sizes that are not literal (a request field, a function argument) are unknown; an unknown
dimension counts as 1, its smallest non-empty value, so `at_least` is a true lower bound
and a call only counts as large when its known dimensions already make it large.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

IntScope = Mapping[str, int]
"""Names bound once to an integer literal expression (`N = 1000`), usable as sizes."""

_BINARY: dict[type[ast.operator], Callable[[int, int], int]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.FloorDiv: operator.floordiv,
    ast.Pow: operator.pow,
}
_MAX_EXPONENT = 64


@dataclass(frozen=True)
class ElementCount:
    """A lower bound on the elements; `exact` when every size was literal."""

    at_least: int
    exact: bool


def literal_int(node: ast.expr, scope: IntScope) -> int | None:
    """The value of an integer expression of literals and known names, else None."""
    if isinstance(node, ast.Constant):
        value = node.value
        return value if isinstance(value, int) and not isinstance(value, bool) else None
    if isinstance(node, ast.Name):
        return scope.get(node.id)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        operand = literal_int(node.operand, scope)
        return None if operand is None else -operand
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = literal_int(node.left, scope), literal_int(node.right, scope)
        if left is None or right is None or (isinstance(node.op, ast.FloorDiv) and right == 0):
            return None
        if isinstance(node.op, ast.Pow) and not 0 <= right <= _MAX_EXPONENT:
            return None
        return _BINARY[type(node.op)](left, right)
    return None


def _dims(nodes: Sequence[ast.expr], scope: IntScope) -> ElementCount:
    values = [literal_int(node, scope) for node in nodes]
    known = [max(value, 0) for value in values if value is not None]
    return ElementCount(math.prod(known), exact=len(known) == len(values))


def _sequence(node: ast.expr | None) -> list[ast.expr] | None:
    return list(node.elts) if isinstance(node, (ast.Tuple, ast.List)) else None


def _keyword(call: ast.Call, *names: str) -> ast.expr | None:
    return next((kw.value for kw in call.keywords if kw.arg in names), None)


def _argument(call: ast.Call, index: int, *names: str) -> ast.expr | None:
    if index < len(call.args):
        return call.args[index]
    return _keyword(call, *names)


def _unknown() -> ElementCount:
    return ElementCount(1, exact=False)


def _first_shape(call: ast.Call, scope: IntScope) -> ElementCount:
    """`full((64, 64), 0.5)`, `normal([50, 50])`, `zeros(shape=[50, 50])`."""
    shape = _argument(call, 0, "size", "shape", "dims")
    if shape is None:
        return _unknown()
    elements = _sequence(shape)
    return _dims([shape] if elements is None else elements, scope)


def _varargs_shape(call: ast.Call, scope: IntScope) -> ElementCount:
    """`randn(64, 64)` as well as `randn((64, 64))` and `randn(size=(64, 64))`."""
    if call.args and _sequence(call.args[0]) is None:
        return _dims(call.args, scope)
    return _first_shape(call, scope)


def _trailing_shape(call: ast.Call, scope: IntScope) -> ElementCount:
    """`randint(low, high, (64, 64))`: the shape is the `size` keyword or the last sequence."""
    shape = _keyword(call, "size") or next(
        (arg for arg in reversed(call.args) if _sequence(arg) is not None), None
    )
    elements = _sequence(shape)
    return _unknown() if elements is None else _dims(elements, scope)


def _eye(call: ast.Call, scope: IntScope) -> ElementCount:
    rows = _argument(call, 0, "n", "num_rows")
    columns = _argument(call, 1, "m", "num_columns") or rows
    return _unknown() if rows is None or columns is None else _dims([rows, columns], scope)


def _range(call: ast.Call, scope: IntScope) -> ElementCount:
    """`arange(end)`, `arange(start, end[, step])`, or the same as keywords."""
    positional = [literal_int(arg, scope) for arg in call.args]
    start, end, step = 0, None, 1
    if len(positional) == 1:
        end = positional[0]
    elif len(positional) >= 2:
        start, end = positional[0], positional[1]
        step = positional[2] if len(positional) > 2 else 1
    else:
        end = _keyword_int(call, scope, "end", "limit")
    if start is None or end is None or not step:
        return _unknown()
    return ElementCount(max(math.ceil((end - start) / step), 0), exact=True)


def _keyword_int(call: ast.Call, scope: IntScope, *names: str) -> int | None:
    node = _keyword(call, *names)
    return None if node is None else literal_int(node, scope)


def _steps(call: ast.Call, scope: IntScope) -> ElementCount:
    """`linspace(start, end, steps)` (torch) or `linspace(start, stop, num)` (tensorflow)."""
    steps = _argument(call, 2, "steps", "num")
    return _unknown() if steps is None else _dims([steps], scope)


def _data(call: ast.Call, scope: IntScope) -> ElementCount:
    """`tensor([[1, 2], [3, 4]])`: the leaves of a literal nested list."""
    data = _argument(call, 0, "data", "value", "initial_value")
    return _unknown() if data is None else _leaves(data)


def _leaves(node: ast.expr) -> ElementCount:
    elements = _sequence(node)
    if elements is None:
        return ElementCount(1, exact=isinstance(node, ast.Constant))
    counts = [_leaves(element) for element in elements]
    return ElementCount(
        sum(count.at_least for count in counts), exact=all(count.exact for count in counts)
    )


Counter = Callable[[ast.Call, IntScope], ElementCount]

_TORCH: dict[str, Counter] = {
    **dict.fromkeys(["randn", "rand", "zeros", "ones", "empty"], _varargs_shape),
    "full": _first_shape,
    "randint": _trailing_shape,
    "eye": _eye,
    "arange": _range,
    "linspace": _steps,
    **dict.fromkeys(["tensor", "as_tensor"], _data),
}
_TENSORFLOW: dict[str, Counter] = {
    **dict.fromkeys(
        ["random.normal", "random.uniform", "zeros", "ones", "fill", "random.truncated_normal"],
        _first_shape,
    ),
    "eye": _eye,
    "range": _range,
    "linspace": _steps,
    **dict.fromkeys(["constant", "Variable", "convert_to_tensor"], _data),
}
TENSOR_CREATORS: dict[str, Counter] = {
    **{f"torch.{name}": counter for name, counter in _TORCH.items()},
    **{f"tensorflow.{name}": counter for name, counter in _TENSORFLOW.items()},
}
"""Qualified names of the calls that create a tensor, with how to count its elements."""


def count_elements(qualified_name: str, call: ast.Call, scope: IntScope) -> ElementCount | None:
    """The elements `call` creates, or None when it does not create a tensor."""
    counter = TENSOR_CREATORS.get(qualified_name)
    return None if counter is None else counter(call, scope)
