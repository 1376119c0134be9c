"""The drills' stack (one per run, on ``DRILL_LOCALSTACK_PORT``), their checker and the table of
their rows, printed at the end of the run (each row travels as a report property, so the table
shows under xdist too)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.drills.checker import Stores
from tests.drills.drills import DrillRow, Drills, table
from tests.drills.harness import DrillStack, drill_stack

DEAD_LETTER_OUTPUTS = (
    "InventoryDlqUrl",
    "EmailDlqUrl",
    "AnalyticsDlqUrl",
    "PaymentsDlqUrl",
    "OrderUpdatesDlqUrl",
    "FraudDlqUrl",
)
ROW_PROPERTY = "drill_row"


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DrillStack]:
    with drill_stack(tmp_path_factory.mktemp("drill-databases")) as running:
        yield running


@pytest.fixture(scope="session")
def stores(stack: DrillStack) -> Iterator[Stores]:
    opened = Stores(
        stack.databases, stack.aws("sqs"), [stack.outputs[name] for name in DEAD_LETTER_OUTPUTS]
    )
    yield opened
    opened.close()


@pytest.fixture(scope="session")
def drills(stack: DrillStack, stores: Stores) -> Drills:
    warmed = Drills(stack, stores)
    warmed.warm_up()
    return warmed


@pytest.fixture
def report_row(record_property: Callable[[str, object], None]) -> Callable[[DrillRow], None]:
    """Put a drill's row into the table of the run."""
    return lambda row: record_property(ROW_PROPERTY, row.as_json())


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    rows = [
        DrillRow.from_json(value)
        for reports in terminalreporter.stats.values()
        for report in reports
        if getattr(report, "when", None) == "call"
        for name, value in getattr(report, "user_properties", [])
        if name == ROW_PROPERTY
    ]
    if rows:
        terminalreporter.write_sep("=", "fault drills")
        terminalreporter.write_line(table(rows))
