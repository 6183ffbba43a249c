"""An import-linter contract type: no module uses another module's private names.

import-linter's own contracts work on modules (layers, independence, private *modules*); what the
house style also forbids is reaching into another module for a name that starts with an
underscore (``from genesis_pipeline.stages.render.reencode import _plan``, or ``smart._mux``
through an imported module). When two modules share a thing, it is public in the lower one.

Registered in ``pyproject.toml`` under ``[tool.importlinter]`` as ``no_private_names``; it reads
the source of every module in the graph's root packages (the graph holds no names, only modules).
"""

from __future__ import annotations

import ast
import importlib.util
from dataclasses import dataclass
from pathlib import Path

import grimp
from importlinter import Contract, ContractCheck, fields, output


@dataclass(frozen=True, order=True)
class Violation:
    """One use of a private name: where, whose, which."""

    importer: str
    line: int
    owner: str
    name: str


def is_private(name: str) -> bool:
    """``_name`` is private; ``__dunder__`` names (``__version__``) are not."""
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def module_file(module: str) -> Path | None:
    """The source file of ``module`` found without importing it (its root package's folder)."""
    root, _, rest = module.partition(".")
    spec = importlib.util.find_spec(root)
    if spec is None or not spec.submodule_search_locations:
        return None
    base = Path(next(iter(spec.submodule_search_locations)))
    parts = rest.split(".") if rest else []
    package = base.joinpath(*parts, "__init__.py")
    if package.is_file():
        return package
    plain = base.joinpath(*parts[:-1], f"{parts[-1]}.py") if parts else None
    return plain if plain is not None and plain.is_file() else None


def resolve(importer: str, is_package: bool, node: ast.ImportFrom) -> str:
    """The absolute module an ``ImportFrom`` names (relative imports resolved)."""
    if not node.level:
        return node.module or ""
    parts = importer.split(".")
    if not is_package:
        parts = parts[:-1]
    parts = parts[: len(parts) - (node.level - 1)]
    return ".".join([*parts, node.module] if node.module else parts)


def violations_in(module: str, source: str, is_package: bool, roots: set[str]) -> list[Violation]:
    """Private names of other modules (inside ``roots``) that ``module``'s source uses."""
    found: list[Violation] = []
    modules_bound: dict[str, str] = {}  # local name -> module it stands for

    def ours(name: str) -> bool:
        return name.split(".")[0] in roots

    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            owner = resolve(module, is_package, node)
            if not ours(owner) or owner == module:
                continue
            for alias in node.names:
                if is_private(alias.name):
                    found.append(Violation(module, node.lineno, owner, alias.name))
                elif module_file(f"{owner}.{alias.name}") is not None:
                    modules_bound[alias.asname or alias.name] = f"{owner}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if ours(alias.name) and alias.asname:
                    modules_bound[alias.asname] = alias.name
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in modules_bound
            and is_private(node.attr)
        ):
            found.append(Violation(module, node.lineno, modules_bound[node.value.id], node.attr))
    return found


class NoPrivateNamesContract(Contract):
    """Modules of ``containers`` use no private name of any other module of the root packages.

    Configuration options:
        - containers: the packages whose modules are checked as importers.
        - ignore_modules: modules (exact names) left unchecked, with a reason in a comment.
    """

    type_name = "no_private_names"

    containers = fields.ListField(subfield=fields.StringField())
    ignore_modules = fields.ListField(subfield=fields.StringField(), required=False)

    def check(self, graph: grimp.ImportGraph, verbose: bool) -> ContractCheck:
        # import-linter types a contract's fields as the Field objects declared on the class;
        # on the instance they hold the parsed values (lists of str here).
        containers: list[str] = list(self.containers)  # type: ignore[call-overload]
        ignored: set[str] = set(self.ignore_modules or ())  # type: ignore[arg-type]
        roots = {m.split(".")[0] for m in graph.modules if "." not in m}
        found: list[Violation] = []
        for module in sorted(graph.modules):
            inside = any(module == c or module.startswith(c + ".") for c in containers)
            if not inside or module in ignored:
                continue
            path = module_file(module)
            if path is None:
                continue
            output.verbose_print(verbose, f"Reading {module}")
            found += violations_in(module, path.read_text(), path.name == "__init__.py", roots)
        return ContractCheck(kept=not found, metadata={"violations": sorted(found)})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for v in check.metadata["violations"]:
            output.print_error(
                f"{v.importer}:{v.line} uses {v.owner}.{v.name}, a private name of another "
                "module: make it public where it belongs, or keep it to its module.",
                bold=False,
            )
            output.new_line()
