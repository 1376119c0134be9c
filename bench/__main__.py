"""``python -m bench [startup] [placement] [pipeline]``: the figures of ``make bench``.

- startup: LocalStack start to healthy, a warm invoke, a deploy from nothing and an unchanged
  second deploy, on a LocalStack of its own on ``--scratch-port`` (``bench.startup``);
- placement: order placement against a bare insert (``bench.placement``), then the outbox
  relay's rate and latency on LocalStack (``bench.relay``: ``--relay-endpoint``, else a
  LocalStack of its own on ``--scratch-port``);
- pipeline: the emulator's ceilings, end-to-end latency and the sustained rate of the stack at
  ``--port`` / ``--api-port`` when it answers, else of a stack of its own on ``--own-port`` /
  ``--own-api-port`` (``bench.pipeline``).

With no part named, all three run in that order. Each prints its tables and writes its figures
as JSON under ``build/``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from bench import pipeline, placement, relay, report, startup
from bench.databases import postgres_answers
from bench.processes import ROOT
from bench.ramp import STEP_SECONDS
from bench.stack_target import BENCH_API_PORT, BENCH_PORT, Target

PARTS = ("startup", "placement", "pipeline")
PLACEMENT_RESULTS = ROOT / "build" / "bench-placement.json"


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("parts", nargs="*", metavar="part", help=f"{', '.join(PARTS)} (all)")
    parser.add_argument(
        "--scratch-port",
        type=int,
        default=startup.PORT,
        help="free port for the LocalStacks startup and relay start and stop (default %(default)s)",
    )
    placing = parser.add_argument_group("placement")
    placing.add_argument("--relay-endpoint", help="a running LocalStack for the relay figure")
    placing.add_argument("--seconds", type=float, default=3.0, help="measured seconds per run")
    placing.add_argument("--rounds", type=int, default=5, help="runs per server, alternating")
    placing.add_argument("--concurrency", type=int, default=32)
    placing.add_argument("--relay-orders", type=int, default=1000)
    piping = parser.add_argument_group("pipeline")
    piping.add_argument("--port", type=int, default=int(os.environ.get("LOCALSTACK_PORT", 4566)))
    piping.add_argument("--stack", default=os.environ.get("STACK_NAME", "shop"))
    piping.add_argument("--api-port", type=int, default=int(os.environ.get("API_PORT", 8000)))
    piping.add_argument("--site-host", help="Host header of the site (default: the stack's)")
    piping.add_argument("--own-port", type=int, default=BENCH_PORT, help="for a stack of its own")
    piping.add_argument("--own-api-port", type=int, default=BENCH_API_PORT)
    piping.add_argument(
        "--budget", type=float, default=pipeline.DEFAULT_BUDGET_S, help="seconds in all"
    )
    piping.add_argument("--step-seconds", type=float, default=STEP_SECONDS)
    piping.add_argument("--light-orders", type=int, default=20)
    piping.add_argument("--ceilings-only", action="store_true", help="only the emulator ceilings")
    piping.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    return parser


def _write(figures: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(figures, indent=2, default=str))
    print(f"\nwritten to {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")


def run_startup(args: argparse.Namespace) -> None:
    figures = startup.measure(args.scratch_port)
    print("\n" + report.render_startup(figures))
    _write(figures, startup.RESULTS)


def run_placement(args: argparse.Namespace) -> None:
    kinds = ["sqlite", *(["postgresql"] if postgres_answers() else [])]
    figures: dict[str, Any] = {
        "placement": placement.measure_placement(kinds, args.seconds, args.concurrency, args.rounds)
    }
    if args.relay_endpoint is not None:
        figures["relay"] = relay.measure_relay(args.relay_endpoint, args.relay_orders)
    else:
        figures["relay"] = relay.measure_relay_on_own_localstack(
            args.scratch_port, args.relay_orders
        )
    print("\n" + report.render_placement(figures))
    _write(figures, PLACEMENT_RESULTS)


def run_pipeline(args: argparse.Namespace) -> bool:
    """The pipeline's figures; whether every target was met."""
    wanted = Target.of(args.stack, args.port, args.api_port, args.site_host)
    if args.ceilings_only:
        from bench.ceilings import measure_ceilings

        print(json.dumps(measure_ceilings(wanted.endpoint, wanted.stack), indent=2))
        return True
    figures = pipeline.measure(
        wanted,
        args.budget,
        args.step_seconds,
        args.light_orders,
        args.own_port,
        args.own_api_port,
    )
    print()
    print(report.render_pipeline(figures))
    _write(figures, pipeline.RESULTS)
    return all(t["passed"] is True for t in figures["targets"].values())


def main(argv: list[str] | None = None) -> int:
    command = parser()
    args = command.parse_args(argv)
    if unknown := set(args.parts) - set(PARTS):
        command.error(f"unknown part(s) {', '.join(sorted(unknown))}: choose from {PARTS}")
    for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ.setdefault(variable, "test")
    parts = args.parts or PARTS
    met = True
    if "startup" in parts:
        run_startup(args)
    if "placement" in parts:
        run_placement(args)
    if "pipeline" in parts:
        met = run_pipeline(args)
    return 1 if args.strict and not met else 0


if __name__ == "__main__":
    sys.exit(main())
