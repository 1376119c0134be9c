"""Names the deploy and the stack runner agree on (no dependencies: `make down` runs without the
project's virtual environment)."""

from __future__ import annotations


def site_domain_name(stack_name: str) -> str:
    """The site's name on the emulator: ``shop.localhost`` for the stack ``shop``, and a name of
    its own for every other stack, so that stacks side by side never share a hosted zone name."""
    return "shop.localhost" if stack_name == "shop" else f"{stack_name}.localhost"
