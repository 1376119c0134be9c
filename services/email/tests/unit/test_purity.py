import ast
import sys
from pathlib import Path

import pytest

SERVICE = Path(__file__).resolve().parents[2]
PURE_MODULES = ["domain.py", "service.py"]
ALLOWED = {"__future__", "services", "shared.contracts"}


def imported_modules(module: Path) -> set[str]:
    tree = ast.parse(module.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            names.add(node.module or "")
    return names


@pytest.mark.parametrize("module", PURE_MODULES)
def test_the_logic_imports_only_the_standard_library_and_the_contracts(module: str) -> None:
    foreign = {
        name
        for name in imported_modules(SERVICE / module)
        if name.split(".")[0] not in sys.stdlib_module_names
        and name not in ALLOWED
        and name.split(".")[0] != "services"
    }
    assert not foreign, f"{module} imports {sorted(foreign)}"
