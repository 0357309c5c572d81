"""Finds private attributes of other libraries' objects in src/: the check behind `make check`.

Two things are reported, read from the syntax tree of every module:

- an attribute access ``obj._name`` where ``obj`` is not ``self`` or ``cls`` and ``_name`` is not a
  dunder (``__name__``): an object's private attribute, reached from outside it;
- in a class built on another library's class, ``self._name`` (or ``cls._name``) where the class
  itself never defines ``_name``: the base class's private attribute, reached through inheritance;
- an import from a private module (``uvicorn._types``, ``from redis import _x``), and a private name
  imported from a module that is not ours.

A module of our own may read its own private names (``_LOCK``) and a private name of another
module of ours is reported as well: the check cannot tell a third-party object from one of ours,
so it stays strict and each exception is written down. An exception goes in
``tools/private_access_allowlist.toml`` as ``"path:attribute" = "reason"``; an entry that no
longer matches anything fails the check too, so the list cannot go stale.

Run: ``python tools/private_access.py [ROOT ...]`` (default ``src``); exit status 1 on a finding.
"""

from __future__ import annotations

import ast
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ALLOWLIST = Path(__file__).with_name("private_access_allowlist.toml")
OWN_PACKAGE = "pessoas"
_OWNERS = {"self", "cls"}


@dataclass(frozen=True, order=True)
class Finding:
    path: str
    line: int
    name: str
    what: str

    @property
    def key(self) -> str:
        return f"{self.path}:{self.name}"

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.what} {self.name}"


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _private_module(module: str) -> bool:
    return any(_private(part) for part in module.split("."))


def _foreign_names(tree: ast.Module) -> set[str]:
    """The names this module binds by importing another package (``redis``, ``APIRoute``, ...)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] != OWN_PACKAGE:
                    names.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and _foreign(node.module):
            names.update(alias.asname or alias.name for alias in node.names)
    return names


def _foreign(module: str | None) -> bool:
    return module is not None and module.split(".")[0] != OWN_PACKAGE


def _root(node: ast.expr) -> str | None:
    while isinstance(node, ast.Attribute):
        node = node.value
    if isinstance(node, ast.Subscript):  # Generic[T], Base[Any]
        return _root(node.value)
    return node.id if isinstance(node, ast.Name) else None


def _defined_by(cls: ast.ClassDef) -> set[str]:
    """The names a class gives itself: methods, class attributes, ``self.x = ...`` in its methods."""
    names: set[str] = set()
    for node in ast.walk(cls):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node in cls.body:
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store | ast.Del):
            if isinstance(node.value, ast.Name) and node.value.id in _OWNERS:
                names.add(node.attr)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            names.add(node.value)  # __slots__ entries
    return names


def _inherited(tree: ast.Module, path: str) -> Iterator[Finding]:
    foreign = _foreign_names(tree)
    for cls in ast.walk(tree):
        if not isinstance(cls, ast.ClassDef) or not any(_root(b) in foreign for b in cls.bases):
            continue
        own = _defined_by(cls)
        for node in ast.walk(cls):
            if (
                isinstance(node, ast.Attribute)
                and _private(node.attr)
                and isinstance(node.value, ast.Name)
                and node.value.id in _OWNERS
                and node.attr not in own
            ):
                yield Finding(path, node.lineno, node.attr, f"private attribute inherited by {cls.name}")


def findings_in(source: str, path: str) -> Iterator[Finding]:
    """Every private access and private import in one module's source."""
    tree = ast.parse(source, filename=path)
    yield from _inherited(tree, path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _private(node.attr):
            owner = node.value
            if not (isinstance(owner, ast.Name) and owner.id in _OWNERS):
                yield Finding(path, node.lineno, node.attr, "private attribute")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if _private_module(alias.name):
                    yield Finding(path, node.lineno, alias.name, "import of a private module")
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module is not None:
            if _private_module(node.module):
                yield Finding(path, node.lineno, node.module, "import from a private module")
            elif node.module.split(".")[0] != OWN_PACKAGE:
                for alias in node.names:
                    if _private(alias.name):
                        yield Finding(
                            path, node.lineno, f"{node.module}.{alias.name}", "private name imported"
                        )


def scan(roots: list[Path], base: Path) -> list[Finding]:
    found: list[Finding] = []
    for root in roots:
        for file in sorted(root.rglob("*.py")):
            path = file.relative_to(base).as_posix() if file.is_relative_to(base) else file.as_posix()
            found.extend(findings_in(file.read_text(encoding="utf-8"), path))
    return sorted(found)


def load_allowlist(path: Path = ALLOWLIST) -> dict[str, str]:
    """``"path:attribute"`` -> reason; an entry without a reason is refused."""
    if not path.exists():
        return {}
    entries = tomllib.loads(path.read_text(encoding="utf-8")).get("allowed", {})
    for key, reason in entries.items():
        if not isinstance(reason, str) or not reason.strip():
            raise SystemExit(f"{path}: {key!r} needs a reason")
    return dict(entries)


def check(roots: list[Path], base: Path, allowlist: dict[str, str]) -> list[str]:
    """The problems to report: findings not allowed, and allowlist entries that match nothing."""
    found = scan(roots, base)
    problems = [str(f) for f in found if f.key not in allowlist]
    matched = {f.key for f in found}
    problems += [
        f"allowlist entry matches nothing (remove it): {key}" for key in allowlist if key not in matched
    ]
    return problems


def main(argv: list[str]) -> int:
    base = Path.cwd()
    roots = [Path(arg) for arg in argv] or [Path("src")]
    problems = check(roots, base, load_allowlist())
    for problem in problems:
        print(problem)
    if problems:
        print(
            f"{len(problems)} private access(es): use the library's public API, or allow one in "
            f"{ALLOWLIST.relative_to(base) if ALLOWLIST.is_relative_to(base) else ALLOWLIST} with its reason"
        )
        return 1
    print("private access: none in " + ", ".join(str(r) for r in roots))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
