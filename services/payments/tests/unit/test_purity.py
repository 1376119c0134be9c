import ast
import sys
from pathlib import Path

SERVICE = Path(__file__).resolve().parents[2]
ALLOWED = {"__future__", "shared.contracts"}


def test_the_logic_imports_only_the_standard_library_and_the_contracts() -> None:
    tree = ast.parse((SERVICE / "domain.py").read_text())
    imported = {
        name
        for node in ast.walk(tree)
        for name in (
            [alias.name for alias in node.names]
            if isinstance(node, ast.Import)
            else [node.module or ""]
            if isinstance(node, ast.ImportFrom)
            else []
        )
    }
    foreign = {
        name
        for name in imported
        if name.split(".")[0] not in sys.stdlib_module_names and name not in ALLOWED
    }
    assert not foreign, f"domain.py imports {sorted(foreign)}"
