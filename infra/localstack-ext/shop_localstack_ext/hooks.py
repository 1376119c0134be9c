"""LocalStack's ``on_infra_start`` hook decorator, typed (LocalStack's own is not annotated)."""

from __future__ import annotations

from collections.abc import Callable

from localstack.runtime import hooks

Hook = Callable[[], None]


def on_infra_start(hook: Hook) -> Hook:
    """Run ``hook`` when LocalStack starts, before it serves a request (its entry point in the
    ``localstack.hooks.on_infra_start`` namespace names the function)."""
    registered: Hook = hooks.on_infra_start()(hook)
    return registered
