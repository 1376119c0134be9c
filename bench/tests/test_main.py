"""``python -m bench``: which parts run."""

from __future__ import annotations

import pytest

from bench.__main__ import main as bench
from bench.__main__ import parser


def test_an_unknown_part_is_refused_before_anything_runs(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exit:
        bench(["placment"])
    assert exit.value.code == 2
    assert "unknown part(s) placment" in capsys.readouterr().err


def test_every_port_the_bench_starts_something_on_can_be_set() -> None:
    args = parser().parse_args(
        ["--scratch-port", "4585", "--port", "4584", "--own-port", "4584", "--own-api-port", "8584"]
    )
    assert (args.scratch_port, args.port, args.own_port, args.own_api_port) == (
        4585,
        4584,
        4584,
        8584,
    )
    defaults = parser().parse_args([])
    assert (defaults.scratch_port, defaults.own_port, defaults.own_api_port) == (4568, 4671, 8071)
