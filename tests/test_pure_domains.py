"""Every service's domain logic is pure: the standard library, its own package and the wire
contracts, nothing else (no boto3, SQLAlchemy, FastAPI or powertools), so it is unit-tested
without I/O."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

SERVICES = Path(__file__).resolve().parents[1] / "services"
PURE_MODULES = {
    "orders": sorted(path.name for path in (SERVICES / "orders" / "domain").glob("*.py")),
    "inventory": ["domain.py"],
    "payments": ["domain.py"],
    "email": ["domain.py", "service.py"],
    "analytics": ["domain.py"],
    "fraud": ["scoring.py"],
}
CASES = [(service, module) for service, modules in PURE_MODULES.items() for module in modules]


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            names.add(node.module or "")
    return names


def module_path(service: str, module: str) -> Path:
    folder = SERVICES / service / "domain" if service == "orders" else SERVICES / service
    return folder / module


@pytest.mark.parametrize(("service", "module"), CASES, ids=[f"{s}/{m}" for s, m in CASES])
def test_the_logic_imports_only_the_standard_library_its_package_and_the_contracts(
    service: str, module: str
) -> None:
    foreign = {
        name
        for name in imported_modules(module_path(service, module))
        if name.split(".")[0] not in sys.stdlib_module_names
        and name not in {"__future__", "shared.contracts"}
        and not name.startswith(f"services.{service}")
    }
    assert not foreign, f"services/{service}: {module} imports {sorted(foreign)}"
