"""Deploy-time class of a function from its Python source, read with `ast` (never imported).

Gaia's Execution Mode Identifier (the paper, and `cmd/static-analysis` of its `func` fork),
per file, first match wins:

1. `gpu`: an explicit GPU call anywhere in the file: `.cuda()`, `.to("cuda")`,
   `device("cuda")` (`torch.device`, `tf.device` or a bare `device`), a literal device;
2. `gpu_preferred`: a framework import (torch, tensorflow, transformers) and a
   tensor-creating call of at least `large_tensor_elements` literal elements;
3. `cpu_preferred`: a framework import (with small, unsized or no tensor calls);
4. `cpu` otherwise.

Across files the strongest class wins; no files at all is `cpu_preferred`. Differences from
the original's code, each on purpose: every explicit call counts (its visitor keeps only
the last call it visits, the paper counts them all); `json` is no framework (listed in its
code as a leftover to remove); imports of submodules count (`import torch.nn`);
`"cuda:N"` is as explicit as `"cuda"`; names are resolved through the file's imports
(`import torch as t; t.zeros(...)`); a file that is not Python is an error, not `cpu`.
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from testbed.errors import UserError
from testbed.platform.node.runtime.config import DEFAULT_CONFIG, GaiaConfig
from testbed.platform.node.runtime.modes import FunctionClass

FRAMEWORKS = ("torch", "tensorflow", "transformers")
"""Deep-learning imports that make a function a candidate for a GPU."""
TORCH_TENSOR_CALLS = ("tensor", "randn", "zeros", "ones", "empty")
TF_TENSOR_CALLS = ("constant", "zeros", "ones", "fill", "random.uniform", "random.normal")
_CUDA = re.compile(r"cuda(:\d+)?")


@dataclass(frozen=True)
class Evidence:
    """One finding behind a class, for the records."""

    file: str
    line: int
    reason: str
    supports: FunctionClass

    def __str__(self) -> str:
        return f"{self.file}:{self.line} {self.reason}"


@dataclass(frozen=True)
class Classification:
    """The class and the findings that decided it."""

    function_class: FunctionClass
    evidence: tuple[Evidence, ...]

    @property
    def summary(self) -> str:
        """One line for a decision's reason."""
        if not self.evidence:
            return f"{self.function_class.name} (no torch/tensorflow/transformers use found)"
        return f"{self.function_class.name} ({self.evidence[0]})"


def classify_files(paths: Iterable[Path], config: GaiaConfig = DEFAULT_CONFIG) -> Classification:
    """Classify a function from the source files it ships."""
    return classify_sources({str(path): path.read_text() for path in paths}, config)


def classify_sources(
    sources: Mapping[str, str], config: GaiaConfig = DEFAULT_CONFIG
) -> Classification:
    """Classify a function from its sources, keyed by the file name shown in the evidence."""
    if not sources:
        return Classification(FunctionClass.cpu_preferred, ())
    per_file = [_classify_file(name, _parse(name, text), config) for name, text in sources.items()]
    return max(per_file, key=lambda found: found.function_class)


def _parse(name: str, text: str) -> ast.Module:
    try:
        return ast.parse(text, filename=name)
    except SyntaxError as error:
        problem = f"{name}:{error.lineno}: cannot classify, not Python: {error.msg}"
        raise UserError(problem) from error


def _classify_file(name: str, tree: ast.Module, config: GaiaConfig) -> Classification:
    aliases = _aliases(tree)
    imports, explicit, large, small = [], [], [], []
    for node in ast.walk(tree):
        line = getattr(node, "lineno", 0)
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            imports += [
                Evidence(name, line, f"imports {module}", FunctionClass.cpu_preferred)
                for module in _framework_modules(node)
            ]
        elif isinstance(node, ast.Call):
            call = _explicit_gpu_call(node)
            if call is not None:
                explicit.append(Evidence(name, line, call, FunctionClass.gpu))
            found = _tensor_call(node, aliases)
            if found is not None:
                qualified, elements = found
                if elements >= config.large_tensor_elements:
                    reason = f"{qualified}: {elements} elements >= {config.large_tensor_elements}"
                    large.append(Evidence(name, line, reason, FunctionClass.gpu_preferred))
                else:
                    reason = f"{qualified}: {elements} elements < {config.large_tensor_elements}"
                    small.append(Evidence(name, line, reason, FunctionClass.cpu_preferred))
    if explicit:
        return _decided(FunctionClass.gpu, explicit)
    if imports and large:
        return _decided(FunctionClass.gpu_preferred, large + imports)
    if imports:
        return _decided(FunctionClass.cpu_preferred, imports + small)
    return Classification(FunctionClass.cpu, ())


def _decided(function_class: FunctionClass, evidence: list[Evidence]) -> Classification:
    # dict.fromkeys: two findings on one line with one reason are one for the records
    ordered = sorted(dict.fromkeys(evidence), key=lambda found: (found.line, found.reason))
    strongest = [found for found in ordered if found.supports is function_class]
    rest = [found for found in ordered if found.supports is not function_class]
    return Classification(function_class, tuple(strongest + rest))


def _framework_modules(node: ast.Import | ast.ImportFrom) -> Iterator[str]:
    if isinstance(node, ast.ImportFrom):
        modules = [] if node.level else [node.module or ""]
    else:
        modules = [alias.name for alias in node.names]
    yield from (module for module in modules if module.split(".")[0] in FRAMEWORKS)


def _is_cuda(node: ast.expr) -> bool:
    return (
        isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and _CUDA.fullmatch(node.value) is not None
    )


def _explicit_gpu_call(call: ast.Call) -> str | None:
    """`.cuda()`, `.to("cuda")`, `device("cuda")`: the literal forms the paper lists."""
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    first = call.args[0] if call.args else None
    if name == "cuda" and isinstance(func, ast.Attribute):
        return "calls .cuda()"
    if name == "to" and isinstance(func, ast.Attribute) and first is not None and _is_cuda(first):
        return f".to({ast.unparse(first)}) names a CUDA device"
    if name == "device" and first is not None and _is_cuda(first):
        return f"{ast.unparse(call)} names a CUDA device"
    return None


def _aliases(tree: ast.Module) -> dict[str, str]:
    """Local name -> qualified module or object, for the frameworks' imports."""
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    aliases[alias.asname] = alias.name
                else:
                    root = alias.name.split(".")[0]
                    aliases[root] = root
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return {name: target for name, target in aliases.items() if target.split(".")[0] in FRAMEWORKS}


def _qualified(node: ast.expr, aliases: Mapping[str, str]) -> str | None:
    """`tf.random.normal` -> `tensorflow.random.normal`, through the file's imports."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name) or node.id not in aliases:
        return None
    return ".".join([aliases[node.id], *reversed(parts)])


def _tensor_call(call: ast.Call, aliases: Mapping[str, str]) -> tuple[str, int] | None:
    """(short name, elements) of a tensor-creating call sized by literals; None for other
    calls and for sizes that are not literal (a request field, a variable)."""
    qualified = _qualified(call.func, aliases)
    if qualified is None:
        return None
    if qualified.startswith("torch.") and qualified.endswith(
        tuple(f".{op}" for op in TORCH_TENSOR_CALLS)
    ):
        elements = _torch_elements(call, tensor=qualified.endswith(".tensor"))
        return None if elements is None else (qualified, elements)
    if qualified.startswith("tensorflow.") and qualified.endswith(
        tuple(f".{op}" for op in TF_TENSOR_CALLS)
    ):
        elements = _tf_elements(call, constant=qualified == "tensorflow.constant")
        short = qualified.replace("tensorflow.", "tf.", 1)
        return None if elements is None else (short, elements)
    return None


def _literal_shape(node: ast.Tuple | ast.List) -> int | None:
    dims = [elt.value for elt in node.elts if _is_int(elt)]  # type: ignore[attr-defined]
    if len(dims) != len(node.elts) or not dims:
        return None
    return math.prod(dims)


def _is_int(node: ast.expr) -> bool:
    return (
        isinstance(node, ast.Constant)
        and isinstance(node.value, int)
        and not isinstance(node.value, bool)
    )


def _torch_elements(call: ast.Call, tensor: bool) -> int | None:
    """`torch.tensor([[1, 2], [3, 4]])`: the literal elements; `torch.zeros((2, 3))` or
    `torch.zeros(2, 3)`: the product of the dimensions; any non-literal size: unknown."""
    elements, shaped = 1, False
    for arg in call.args:
        if tensor and isinstance(arg, ast.List):
            count = _list_elements(arg)
            return count if count > 0 else None
        if isinstance(arg, (ast.Tuple, ast.List)):
            shape = _literal_shape(arg)
            if shape is None:
                return None
            elements, shaped = elements * shape, True
        elif _is_int(arg):
            elements, shaped = elements * arg.value, True  # type: ignore[attr-defined]
        elif isinstance(arg, (ast.Name, ast.Call, ast.Starred)):
            return None
    return elements if shaped else None


def _tf_elements(call: ast.Call, constant: bool) -> int | None:
    """`tf.constant([...])`: its literal elements; `tf.zeros([2, 3])`: the shape's product."""
    if constant:
        return _list_elements(call.args[0]) if call.args else None
    for arg in call.args:
        if isinstance(arg, (ast.Tuple, ast.List)):
            return _literal_shape(arg)
        if isinstance(arg, (ast.ListComp, ast.Call)):
            return None
    return None


def _list_elements(node: ast.expr) -> int:
    """Constants in a nested list literal (0 for anything else)."""
    if not isinstance(node, ast.List):
        return 0
    return sum(1 if isinstance(elt, ast.Constant) else _list_elements(elt) for elt in node.elts)
