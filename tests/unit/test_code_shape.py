"""The shape every module of src/allotment keeps (migrations aside): at most 400 lines, no
function over 60, and none of the tricks that bypass Python's own object model or memory
management (`tuple.__new__`, `object.__new__`, `object.__setattr__` outside a dataclass's
`__post_init__`, `gc.disable`, `gc.freeze`)."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[2] / "src" / "allotment"
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


@dataclass(frozen=True)
class Finding:
    module: str
    line: int
    what: str

    def __str__(self) -> str:
        return f"{self.module}:{self.line}: {self.what}"


def modules() -> list[tuple[str, str]]:
    found = []
    for path in sorted(SOURCE.rglob("*.py")):
        relative = path.relative_to(SOURCE).as_posix()
        if not relative.startswith("adapters/database/migrations/"):
            found.append((relative, path.read_text(encoding="utf-8")))
    return found


FORBIDDEN_CALLS = {
    ("tuple", "__new__"): "tuple.__new__",
    ("object", "__new__"): "object.__new__",
    ("gc", "disable"): "gc.disable",
    ("gc", "freeze"): "gc.freeze",
}


class _Tricks(ast.NodeVisitor):
    def __init__(self, module: str) -> None:
        self.module = module
        self.functions: list[str] = []
        self.found: list[Finding] = []

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self.functions.append(node.name)
        self.generic_visit(node)
        self.functions.pop()

    visit_FunctionDef = _function
    visit_AsyncFunctionDef = _function

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if isinstance(node.value, ast.Name):
            pair = (node.value.id, node.attr)
            if pair in FORBIDDEN_CALLS:
                self.found.append(Finding(self.module, node.lineno, FORBIDDEN_CALLS[pair]))
            in_post_init = bool(self.functions) and self.functions[-1] == "__post_init__"
            if pair == ("object", "__setattr__") and not in_post_init:
                what = "object.__setattr__ outside __post_init__"
                self.found.append(Finding(self.module, node.lineno, what))
        self.generic_visit(node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.module == "gc" and any(a.name in {"disable", "freeze"} for a in node.names):
            self.found.append(Finding(self.module, node.lineno, "gc.disable or gc.freeze"))


def sizes(module: str, text: str) -> list[Finding]:
    found = []
    lines = len(text.splitlines())
    if lines > MAX_MODULE_LINES:
        found.append(Finding(module, 1, f"{lines} lines (at most {MAX_MODULE_LINES})"))
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            assert node.end_lineno is not None
            length = node.end_lineno - node.lineno + 1
            if length > MAX_FUNCTION_LINES:
                what = f"{node.name} is {length} lines (at most {MAX_FUNCTION_LINES})"
                found.append(Finding(module, node.lineno, what))
    return found


def tricks(module: str, text: str) -> list[Finding]:
    visitor = _Tricks(module)
    visitor.visit(ast.parse(text))
    return visitor.found


def findings() -> list[str]:
    return [
        str(finding)
        for module, text in modules()
        for finding in (*sizes(module, text), *tricks(module, text))
    ]


def test_the_checks_see_what_they_look_for() -> None:
    sample = (
        "import gc\n"
        "def long():\n" + "    x = 1\n" * 60 + "def f():\n    gc.freeze()\n    tuple.__new__(t)\n"
        "class C:\n    def __post_init__(self):\n        object.__setattr__(self, 'a', 1)\n"
        "    def other(self):\n        object.__setattr__(self, 'a', 1)\n"
    )
    seen = [f.what for f in (*sizes("m.py", sample), *tricks("m.py", sample))]
    assert seen == [
        "long is 61 lines (at most 60)",
        "gc.freeze",
        "tuple.__new__",
        "object.__setattr__ outside __post_init__",
    ]
    assert sizes("m.py", "x = 1\n" * 401)[0].what == "401 lines (at most 400)"


def test_every_module_keeps_the_shape() -> None:
    assert findings() == []
