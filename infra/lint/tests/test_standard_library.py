"""The `standard_library_only` contract on a small import graph."""

from __future__ import annotations

from grimp import ImportGraph

from infra.lint.standard_library import StandardLibraryOnlyContract


def graph_with(*imports: tuple[str, str]) -> ImportGraph:
    graph = ImportGraph()
    for module in ("shop", "shop.domain", "shop.domain.model", "shop.domain.money", "shop.db"):
        graph.add_module(module)
    for external in ("dataclasses", "collections", "sqlalchemy"):
        graph.add_module(external, is_squashed=True)
    for line, (importer, imported) in enumerate(imports, start=1):
        graph.add_import(
            importer=importer, imported=imported, line_number=line, line_contents="import"
        )
    return graph


def contract() -> StandardLibraryOnlyContract:
    return StandardLibraryOnlyContract(
        name="domain is pure", session_options={}, contract_options={"modules": ["shop.domain"]}
    )


def test_the_standard_library_and_the_package_itself_are_allowed() -> None:
    graph = graph_with(
        ("shop.domain.model", "dataclasses"),
        ("shop.domain.model", "shop.domain.money"),
        ("shop.domain", "collections"),
        ("shop.db", "sqlalchemy"),
    )
    assert contract().check(graph, verbose=False).kept


def test_third_party_and_other_first_party_imports_break_it() -> None:
    graph = graph_with(
        ("shop.domain.model", "sqlalchemy"),
        ("shop.domain.money", "shop.db"),
        ("shop.domain.model", "dataclasses"),
    )
    check = contract().check(graph, verbose=False)
    assert not check.kept
    assert check.metadata["foreign"] == [
        {"importer": "shop.domain.model", "imported": "sqlalchemy", "lines": [1]},
        {"importer": "shop.domain.money", "imported": "shop.db", "lines": [2]},
    ]
