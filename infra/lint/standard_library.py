"""An import-linter contract: the given packages import the standard library and themselves only.

    [[tool.importlinter.contracts]]
    type = "standard_library_only"
    modules = ["services.orders.domain", "services.*.domain"]

Each module (with its descendants) may import its own modules and the standard library
(`sys.stdlib_module_names`), nothing else: no third-party package, no other first-party module.
Needs `include_external_packages = true`, so that imports of other distributions are in the graph.
"""

from __future__ import annotations

import sys

from grimp import ImportGraph
from importlinter.application import output
from importlinter.domain import fields
from importlinter.domain.contract import Contract, ContractCheck
from importlinter.domain.helpers import module_expressions_to_modules


class StandardLibraryOnlyContract(Contract):
    type_name = "standard_library_only"

    modules = fields.SetField(subfield=fields.ModuleExpressionField())

    def check(self, graph: ImportGraph, verbose: bool) -> ContractCheck:
        foreign: list[dict[str, object]] = []
        packages = module_expressions_to_modules(graph, self.modules)  # type: ignore[arg-type]
        for package in sorted(module.name for module in packages):
            own = {package, *graph.find_descendants(package)}
            for importer in sorted(own):
                for imported in sorted(graph.find_modules_directly_imported_by(importer)):
                    if imported in own or imported.split(".")[0] in sys.stdlib_module_names:
                        continue
                    details = graph.get_import_details(importer=importer, imported=imported)
                    lines = sorted(detail["line_number"] for detail in details)
                    foreign.append({"importer": importer, "imported": imported, "lines": lines})
        return ContractCheck(kept=not foreign, metadata={"foreign": foreign})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for entry in check.metadata["foreign"]:
            lines = ", ".join(f"l.{line}" for line in entry["lines"])
            output.print_error(f"{entry['importer']} imports {entry['imported']} ({lines})")
            output.new_line()
