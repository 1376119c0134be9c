"""What every Lambda entry point shares: it is built on its first invocation (the cold start),
so importing a handler module reads no configuration and needs no AWS."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

LambdaEvent = dict[str, Any]
LambdaHandler = Callable[[LambdaEvent, Any], dict[str, Any]]


class EntryPoint(ABC):
    """A module-level ``handler``: ``build()`` wires it from the environment once, on the first
    call; tests call ``build`` with settings (and clients) of their own."""

    _built: LambdaHandler | None = None

    @abstractmethod
    def build(self) -> LambdaHandler: ...

    def __call__(self, event: LambdaEvent, context: Any = None) -> dict[str, Any]:
        if self._built is None:
            self._built = self.build()
        return self._built(event, context)
