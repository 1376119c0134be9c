"""What each figure of ``make bench`` is measured against."""

from __future__ import annotations

PLACEMENT_TO_BARE_INSERT = 0.6
"""Order placement's request rate as a fraction of the bare insert endpoint's."""

LIGHT_P50_S = 1.5
LIGHT_P99_S = 4.0
"""POST to OrderConfirmed, one order at a time."""

CEILING_RATIO = 0.5
"""The pipeline's message rate at its sustained step over the bare SQS -> Lambda ceiling."""

STACK_MEMORY_BYTES = 2 * 1024**3

LOCALSTACK_START_S = 5.0
WARM_INVOKE_MS = 20.0
DEPLOY_S = 30.0
