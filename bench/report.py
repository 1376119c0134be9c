"""The figures of ``make bench`` as text tables, with PASS/FAIL beside each target."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bench import targets
from bench.stats import latency_summary


def verdict(passed: bool | None) -> str:
    return "-" if passed is None else ("PASS" if passed else "FAIL")


def format_table(rows: Sequence[Sequence[str]], header: Sequence[str]) -> str:
    """Left-aligned first column, the others right-aligned, widths from the content."""
    all_rows = [list(header), *[list(row) for row in rows]]
    columns = max(len(row) for row in all_rows)
    for row in all_rows:
        row.extend([""] * (columns - len(row)))
    widths = [max(len(row[i]) for row in all_rows) for i in range(columns)]
    lines = []
    for row in all_rows:
        cells = [row[0].ljust(widths[0])] + [
            cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)
        ]
        lines.append("  ".join(cells).rstrip())
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def _fmt(value: float | None, digits: int = 2, scale: float = 1.0) -> str:
    return "-" if value is None else f"{value * scale:.{digits}f}"


def _mib(value: float | None) -> str:
    return "-" if value is None else f"{value / 1024**2:.0f}"


# --- the local cloud ----------------------------------------------------------------------


def render_startup(figures: Mapping[str, Any]) -> str:
    out = [f"{'figure':<34}{'median':>10}{'p95':>10}{'target':>10}"]
    for name, values in figures.items():
        if name == "measured_at":
            continue
        p95 = f"{values['p95']:.1f}" if "p95" in values else "-"
        out.append(f"{name:<34}{values['median']:>10.2f}{p95:>10}{values['target']:>10.1f}")
    return "\n".join(out)


# --- placement and relay ------------------------------------------------------------------


def render_placement(figures: Mapping[str, Any]) -> str:
    target = targets.PLACEMENT_TO_BARE_INSERT
    placement = figures["placement"]
    out = [
        f"placement vs bare insert (row of {placement['row_bytes']} bytes); load generator in "
        f"its own process; median of {placement['rounds']} alternating runs of "
        f"{placement['seconds']:.0f} s, {placement['concurrency']} concurrent clients; "
        f"machine load average {placement['load_average_before']:.1f} at the start",
        f"orders API placement limit in force: {placement['placement_limit']}"
        " (the bench's ORDERS_RATE_LIMIT_PLACEMENTS_PER_SECOND)",
        f"{'database':<12}{'endpoint':<12}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'errors':>8}",
    ]
    for kind in ("sqlite", "postgresql"):
        if kind not in placement:
            continue
        for name in ("bare", "placement"):
            row = placement[kind][name]
            out.append(
                f"{kind:<12}{name:<12}{row['rate_per_s']:>10.1f}{row['p50_ms']:>10.1f}"
                f"{row['p99_ms']:>10.1f}{row['errors']:>8}"
            )
        ratio = placement[kind]["ratio"]
        judged = "ok" if ratio >= target else "below target"
        out.append(f"{kind:<12}{'ratio':<12}{ratio:>9.0%} (target >= {target:.0%}: {judged})")
    relay = figures.get("relay")
    if relay:
        out.append("")
        out.append(
            f"relay: {relay['messages']} messages in {relay['seconds']:.2f} s = "
            f"{relay['messages_per_s']:.0f} messages/s (SNS + payments FIFO + EventBridge)"
        )
        out.append(
            f"relay latency, order committed -> OrderPlaced in a subscribed queue: "
            f"p50 {relay['commit_to_queue_p50_ms']:.0f} ms, "
            f"max {relay['commit_to_queue_max_ms']:.0f} ms"
        )
    return "\n".join(out)


# --- the pipeline -------------------------------------------------------------------------


def _ceilings(ceilings: Mapping[str, Any]) -> list[str]:
    mapping = ceilings["sqs_lambda_sqs"]["mapping"]
    rows = []
    for name, key in (
        ("SQS -> Lambda -> SQS", "sqs_lambda_sqs"),
        ("FIFO (group/msg) -> Lambda", "fifo_lambda_sqs"),
        ("SNS -> SQS -> receive", "sns_sqs"),
    ):
        loop = ceilings[key]
        rows.append(
            [
                name,
                _fmt(loop["messages_per_s"], 1),
                _fmt(loop["light"]["p50_s"], 0, 1000),
                _fmt(loop["light"]["p95_s"], 0, 1000),
                _fmt(loop["burst"]["latency"]["p50_s"], 0, 1000),
                str(loop["duplicates"]),
            ]
        )
    return [
        f"Emulator ceilings (no application code; mapping batch {mapping['batch_size']}, "
        f"window {mapping['batching_window_s']} s, concurrency {mapping['maximum_concurrency']},"
        f" from {mapping['source']})",
        format_table(rows, ["loop", "msgs/s", "p50 ms", "p95 ms", "burst p50 ms", "duplicates"]),
    ]


def _end_to_end(stack: Mapping[str, Any], checks: Mapping[str, Any]) -> list[str]:
    light = stack["light"]
    lat = light["latency"]
    rows = [
        [
            "warm-up (cold Lambdas)",
            str(light["warm_up"]["orders"]),
            "-",
            _fmt(light["warm_up"]["p50_s"]),
            "-",
            "-",
            "",
        ],
        [
            "light (one at a time)",
            str(lat["count"]),
            "-",
            f"{_fmt(lat['p50_s'])} {verdict(checks['light_p50_s']['passed'])}",
            _fmt(lat["p95_s"]),
            f"{_fmt(lat['p99_s'])} {verdict(checks['light_p99_s']['passed'])}",
            "; ".join(light["problems"]) or "ok",
        ],
    ]
    for step in stack["steps"]:
        lat = step.get("latency") or latency_summary([])
        rows.append(
            [
                f"step {step['rate']:g}/s x {step.get('seconds', 0):.0f} s",
                str(step.get("orders", 0)),
                _fmt(step.get("placed_per_s")),
                _fmt(lat["p50_s"]),
                _fmt(lat["p95_s"]),
                _fmt(lat["p99_s"]),
                f"{verdict(step['passed'])} "
                + ("; ".join(step["problems"]) or "")
                + (
                    " | after draining: "
                    + ("; ".join(step["after_drain_problems"]) or "all done once")
                    if "after_drain_problems" in step
                    else ""
                ),
            ]
        )
    return [
        "End to end: POST /api/orders (through the edge) -> OrderConfirmed recorded",
        format_table(rows, ["run", "orders", "placed/s", "p50 s", "p95 s", "p99 s", "outcome"]),
        f"targets: light p50 <= {targets.LIGHT_P50_S:g} s, light p99 <= {targets.LIGHT_P99_S:g} s",
    ]


def _sustained(sustained: Mapping[str, Any] | None, ceiling: float, ratio: Any) -> list[str]:
    if not sustained:
        return ["Sustained: no rate step passed: FAIL"]
    deliveries = sustained["sqs_deliveries"]
    return [
        f"Sustained: {sustained['rate']:g} orders/s for {sustained['seconds']:.0f} s, every "
        "order confirmed with its effects once in every store",
        f"pipeline message rate {sustained['messages_per_s']:.1f}/s "
        f"({sustained['messages_per_order']:.1f} per order) = "
        f"{sustained['lambda_invocations']['total']} Lambda invocations "
        f"({sustained['lambda_invocations']['source']}) + {deliveries['total']} SQS "
        f"deliveries ({sum(deliveries['lambdas'].values())} to Lambdas, from their logs; "
        f"{deliveries['order_updates']} order updates, from the order streams) "
        f"in {sustained['seconds']:.0f} s",
        f"  = {ratio['value']:.1%} of the bare SQS -> Lambda ceiling {ceiling:.1f}/s "
        f"(target >= {targets.CEILING_RATIO:.0%}): {verdict(ratio['passed'])}",
    ]


def _stages(runs: Sequence[tuple[str, Mapping[str, Any]]]) -> list[str]:
    kinds = list(dict.fromkeys(kind for _, run in runs for kind in run.get("stages", {})))
    rows = [
        [kind]
        + [
            f"{_fmt(run['stages'][kind]['p50_s'])} / {_fmt(run['stages'][kind]['p95_s'])}"
            if kind in run.get("stages", {})
            else "-"
            for _, run in runs
        ]
        for kind in kinds
    ]
    return [
        "Where an order's time goes: POST -> event recorded, p50 / p95 s",
        format_table(rows, ["event", *(name for name, _ in runs)]),
    ]


def _handlers(profiled: Sequence[tuple[str, Mapping[str, Any]]]) -> list[str]:
    functions = sorted({f for _, step in profiled for f in step["handler_durations"]})
    rows = []
    for function in functions:
        row = [function]
        for _, step in profiled:
            handler = step["handler_durations"].get(function)
            row.append(
                "-"
                if handler is None or not handler["count"]
                else f"{handler['count']}  {_fmt(handler['p50_s'], 0, 1000)}  "
                f"{100 * handler['busy_s'] / step['seconds']:.0f}%"
            )
        rows.append(row)
    return [
        "",
        "Lambda handlers: invocations, p50 ms, busy % of the step (one environment each)",
        format_table(rows, ["function", *(name for name, _ in profiled)]),
    ]


def _resources(
    idle: Mapping[str, Any], resources: Mapping[str, Any] | None, memory: Mapping[str, Any]
) -> list[str]:
    rows = []
    labels = sorted(set(idle["processes"]) | set(resources["processes"] if resources else {}))
    for label in labels:
        at_idle = idle["processes"].get(label, {})
        loaded = resources["processes"].get(label, {}) if resources else {}
        rows.append(
            [
                label,
                str(max(at_idle.get("pids", 0), loaded.get("pids", 0))),
                _fmt(at_idle.get("cpu_percent"), 1),
                _fmt(loaded.get("cpu_percent"), 1),
                _mib(max(at_idle.get("peak_rss_bytes", 0), loaded.get("peak_rss_bytes", 0))),
            ]
        )
    rows.append(
        [
            "total",
            "",
            _fmt(idle["cpu_percent"], 1),
            _fmt(resources["cpu_percent"] if resources else None, 1),
            _mib(memory["value"]),
        ]
    )
    return [
        "Stack processes (CPU % of one core; RSS peak; 2 cores here)",
        format_table(rows, ["process", "pids", "cpu idle", "cpu load", "RSS MiB"]),
        f"stack memory <= {_mib(targets.STACK_MEMORY_BYTES)} MiB: {verdict(memory['passed'])}",
    ]


def render_pipeline(figures: Mapping[str, Any]) -> str:
    ceilings = figures["ceilings"]
    stack = figures["stack"]
    checks = figures["targets"]
    light = stack["light"]
    sustained = stack["sustained"]
    ceiling = ceilings["sqs_lambda_sqs"]["messages_per_s"]
    runs = [("light", light)] + ([(f"{sustained['rate']:g}/s", sustained)] if sustained else [])
    failed = [step for step in stack["steps"] if not step["passed"] and "handler_durations" in step]
    profiled = ([(f"{sustained['rate']:g}/s", sustained)] if sustained else []) + [
        (f"{step['rate']:g}/s (failed)", step) for step in failed[:1]
    ]
    up = figures.get("up_to_ready_s")
    lost = checks["nothing_lost_or_duplicated"]
    out = [
        f"orders API placement limit in force: {figures['placement_limit']}"
        " (through the edge every order comes from one address)",
        "",
        *_ceilings(ceilings),
        "",
        *_end_to_end(stack, checks),
        "",
        *_sustained(sustained, ceiling, checks["ceiling_ratio"]),
        "",
        *_stages(runs),
        *(_handlers(profiled) if profiled else []),
        "",
        "nothing lost or duplicated (orders, reservations + stock, payments, e-mail records + SES "
        f"mailbox, fraud verdicts, analytics): {verdict(lost['passed'])}",
        "",
        *_resources(
            figures["idle"],
            sustained["resources"] if sustained else None,
            checks["stack_memory_bytes"],
        ),
        f"up to ready: {up:.1f} s"
        if up is not None
        else "up to ready: - (the stack was already up)",
        f"bench time: {figures['bench_seconds']:.0f} s",
    ]
    return "\n".join(out)
