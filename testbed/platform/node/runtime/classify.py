"""Deploy-time class of a function from its Python source, read with `ast` (never imported).

`gpu`: an explicit CUDA placement (`.cuda()`, `.to("cuda")`, `torch.device("cuda")`,
`device="cuda"`); `gpu_preferred`: torch or tensorflow plus a tensor-creating call of at
least `large_tensor_elements`; `cpu_preferred`: the framework with small or unknown-size
tensors only; `cpu` otherwise. Across files the strongest class wins.
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from testbed.errors import UserError
from testbed.platform.node.runtime.config import DEFAULT_CONFIG, GaiaConfig
from testbed.platform.node.runtime.modes import FunctionClass
from testbed.platform.node.runtime.sizes import IntScope, count_elements, literal_int

FRAMEWORKS = ("torch", "tensorflow")
_CUDA_DEVICE = re.compile(r"(cuda|/?(device:)?gpu)(:\d+)?", re.IGNORECASE)
_DEVICE_CALLS = {"torch.device", "tensorflow.device"}


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
    """The class and the findings that decided it (those supporting the winning class)."""

    function_class: FunctionClass
    evidence: tuple[Evidence, ...]

    @property
    def summary(self) -> str:
        """One line for a decision's reason."""
        if not self.evidence:
            return f"{self.function_class.name} (no torch/tensorflow use found)"
        return f"{self.function_class.name} ({self.evidence[0]})"


def classify_files(paths: Iterable[Path], config: GaiaConfig = DEFAULT_CONFIG) -> Classification:
    """Classify a function from the source files it ships."""
    return classify_sources({str(path): path.read_text() for path in paths}, config)


def classify_sources(
    sources: Mapping[str, str], config: GaiaConfig = DEFAULT_CONFIG
) -> Classification:
    """Classify a function from its sources, keyed by the file name shown in the evidence."""
    findings = [
        finding
        for name, text in sources.items()
        for finding in sorted(
            _FileScan(name, _parse(name, text), config).findings(), key=lambda found: found.line
        )
    ]
    strongest = max((finding.supports for finding in findings), default=FunctionClass.cpu)
    # dict.fromkeys: two placements on one line are one finding for the records
    deciding = tuple(dict.fromkeys(f for f in findings if f.supports is strongest))
    return Classification(strongest, deciding)


def _parse(name: str, text: str) -> ast.Module:
    try:
        return ast.parse(text, filename=name)
    except SyntaxError as error:
        problem = f"{name}:{error.lineno}: cannot classify, not Python: {error.msg}"
        raise UserError(problem) from error


class _FileScan:
    """The findings of one file: imports, CUDA placements and tensor sizes."""

    def __init__(self, name: str, tree: ast.Module, config: GaiaConfig) -> None:
        self._name = name
        self._tree = tree
        self._config = config
        self._aliases = _aliases(tree)
        self._constants = _constants(tree)
        self._cuda_names: set[str] = set()
        self._collect_cuda_names()

    def findings(self) -> Iterator[Evidence]:
        for node in ast.walk(self._tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                yield from self._framework_imports(node)
            elif isinstance(node, ast.Call):
                finding = self._placement(node) or self._tensor(node)
                if finding is not None:
                    yield finding

    def _evidence(self, node: ast.AST, reason: str, supports: FunctionClass) -> Evidence:
        return Evidence(self._name, getattr(node, "lineno", 0), reason, supports)

    def _framework_imports(self, node: ast.Import | ast.ImportFrom) -> Iterator[Evidence]:
        modules = (
            [node.module or ""]
            if isinstance(node, ast.ImportFrom)
            else [alias.name for alias in node.names]
        )
        for module in modules:
            if module.split(".")[0] in FRAMEWORKS:
                yield self._evidence(node, f"imports {module}", FunctionClass.cpu_preferred)

    def _placement(self, call: ast.Call) -> Evidence | None:
        """An explicit CUDA placement: `.cuda()`, `.to(cuda)`, `device(cuda)`, `device=cuda`."""
        method = call.func.attr if isinstance(call.func, ast.Attribute) else None
        reason = None
        if method == "cuda":
            reason = "calls .cuda()"
        elif method == "to" and call.args and self._is_cuda(call.args[0]):
            reason = f".to({ast.unparse(call.args[0])}) moves to a CUDA device"
        elif (
            self._qualified(call.func) in _DEVICE_CALLS
            and call.args
            and self._is_cuda(call.args[0])
        ):
            reason = f"{ast.unparse(call)} names a CUDA device"
        else:
            device = next((kw.value for kw in call.keywords if kw.arg == "device"), None)
            if device is not None and self._is_cuda(device):
                reason = f"device={ast.unparse(device)} names a CUDA device"
        return None if reason is None else self._evidence(call, reason, FunctionClass.gpu)

    def _tensor(self, call: ast.Call) -> Evidence | None:
        qualified = self._qualified(call.func)
        count = None if qualified is None else count_elements(qualified, call, self._constants)
        if qualified is None or count is None:
            return None
        short = qualified.replace("tensorflow.", "tf.", 1)
        limit = self._config.large_tensor_elements
        elements = f"{'' if count.exact else 'at least '}{count.at_least} elements"
        if count.at_least >= limit:
            reason = f"{short}: {elements} >= {limit}"
            return self._evidence(call, reason, FunctionClass.gpu_preferred)
        detail = f"{elements} < {limit}" if count.exact else f"size not literal, {elements}"
        return self._evidence(call, f"{short}: {detail}", FunctionClass.cpu_preferred)

    def _qualified(self, node: ast.expr) -> str | None:
        """`tf.random.normal` -> `tensorflow.random.normal`, through the file's imports."""
        parts: list[str] = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name) or node.id not in self._aliases:
            return None
        return ".".join([self._aliases[node.id], *reversed(parts)])

    def _is_cuda(self, node: ast.expr) -> bool:
        """A CUDA device: a literal, a name bound to one, `device("cuda")`, or `a if c else b`
        with a CUDA branch (the usual `"cuda" if torch.cuda.is_available() else "cpu"`)."""
        if isinstance(node, ast.Constant):
            return isinstance(node.value, str) and _CUDA_DEVICE.fullmatch(node.value) is not None
        if isinstance(node, ast.Name):
            return node.id in self._cuda_names
        if isinstance(node, ast.IfExp):
            return self._is_cuda(node.body) or self._is_cuda(node.orelse)
        if isinstance(node, ast.Call):
            return (
                self._qualified(node.func) in _DEVICE_CALLS
                and bool(node.args)
                and self._is_cuda(node.args[0])
            )
        return False

    def _collect_cuda_names(self) -> None:
        """Names assigned a CUDA device anywhere in the file, following `b = a` chains."""
        bindings = list(_name_bindings(self._tree))
        while True:
            found = {name for name, value in bindings if self._is_cuda(value)} - self._cuda_names
            if not found:
                return
            self._cuda_names |= found


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


def _name_bindings(tree: ast.Module) -> Iterator[tuple[str, ast.expr]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    yield target.id, node.value
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value:
            yield node.target.id, node.value


def _constants(tree: ast.Module) -> IntScope:
    """Names bound exactly once, to an integer expression of literals (`N = 1000`)."""
    bindings = list(_name_bindings(tree))
    once = {name for name, times in Counter(name for name, _ in bindings).items() if times == 1}
    scope: dict[str, int] = {}
    for name, value in bindings:
        number = literal_int(value, scope) if name in once else None
        if number is not None:
            scope[name] = number
    return scope
