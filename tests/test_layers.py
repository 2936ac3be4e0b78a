"""The package's dependencies point one way (docs: README's layout). Every `import` of ``ltccodec`` modules — at the
top of a file or inside a function, but not under ``if TYPE_CHECKING`` — is read with `ast`, and:

* nothing imports the command line (`cli`), and nothing outside `cli` imports the lab (`lab`: torch);
* the format knows no coder, model or media; the coders know no format, model or media; the lattices know only the
  kernels; the runtime (model files, registry) never reaches up to the codec, files or batch;
* the modules form no import cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "ltccodec"

# module prefix -> prefixes it must not import (a prefix matches the module itself and everything under it)
FORBIDDEN = {
    "ltccodec.format": ["ltccodec.coding", "ltccodec.runtime", "ltccodec.media", "ltccodec.lattice", "ltccodec.codec",
                        "ltccodec.files", "ltccodec.batch", "ltccodec.kernels", "ltccodec.keyed"],
    "ltccodec.coding": ["ltccodec.format", "ltccodec.runtime", "ltccodec.media", "ltccodec.codec", "ltccodec.files",
                        "ltccodec.batch", "ltccodec.keyed", "ltccodec.randomness"],
    "ltccodec.lattice": ["ltccodec.coding", "ltccodec.format", "ltccodec.runtime", "ltccodec.media",
                         "ltccodec.codec", "ltccodec.files", "ltccodec.batch", "ltccodec.randomness"],
    "ltccodec.media": ["ltccodec.coding", "ltccodec.format", "ltccodec.runtime", "ltccodec.lattice", "ltccodec.codec",
                       "ltccodec.files", "ltccodec.batch"],
    "ltccodec.runtime": ["ltccodec.codec", "ltccodec.files", "ltccodec.batch"],
    "ltccodec.codec": ["ltccodec.files", "ltccodec.batch"],
    "ltccodec.files": ["ltccodec.batch"],
}


def _module_of(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking_only(node: ast.If) -> bool:
    test = node.test
    return isinstance(test, ast.Name) and test.id == "TYPE_CHECKING" or \
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


def _imports(path: Path) -> set[str]:
    """The ltccodec modules ``path`` imports (a ``from X import y`` counts as X.y when X.y is a module)."""
    found: set[str] = set()
    skip: set[int] = set()
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _type_checking_only(node):
            skip.update(id(n) for n in ast.walk(node))
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("ltccodec"))
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("ltccodec") and not node.level:
            for alias in node.names:
                child = f"{node.module}.{alias.name}"
                found.add(child if _exists(child) else node.module)
    return found


def _exists(module: str) -> bool:
    base = PACKAGE.parent / Path(*module.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file() or \
        base.with_suffix(".c").is_file()  # the compiled extension, from its source


GRAPH = {_module_of(p): _imports(p) for p in PACKAGE.rglob("*.py")}


def _under(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def test_the_graph_was_read():
    assert "ltccodec.codec" in GRAPH and "ltccodec.format.container" in GRAPH["ltccodec.codec"]
    assert "ltccodec.coding.rangecoder" in GRAPH["ltccodec.coding.box"]


def test_nothing_but_the_command_line_imports_the_lab_and_nothing_imports_the_command_line():
    for module, imported in GRAPH.items():
        if module == "ltccodec.__main__":
            continue
        assert not any(_under(i, "ltccodec.cli") for i in imported) or _under(module, "ltccodec.cli"), module
        if not (_under(module, "ltccodec.lab") or _under(module, "ltccodec.cli")):
            assert not any(_under(i, "ltccodec.lab") for i in imported), (module, imported)


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_a_layer_never_imports_the_layers_above_it(layer):
    for module, imported in GRAPH.items():
        if _under(module, layer):
            bad = sorted(i for i in imported for f in FORBIDDEN[layer] if _under(i, f))
            assert bad == [], f"{module} imports {bad}"


def test_the_modules_form_no_cycle():
    """Package ``__init__`` files that only re-export are edges like any other."""
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(module: str) -> None:
        state[module] = 1
        path.append(module)
        for child in sorted(GRAPH.get(module, ())):
            if child not in GRAPH or child == module:
                continue
            if state.get(child) == 1:
                raise AssertionError("import cycle: " + " -> ".join(path[path.index(child):] + [child]))
            if child not in state:
                visit(child)
        path.pop()
        state[module] = 2

    for module in sorted(GRAPH):
        if module not in state:
            visit(module)
