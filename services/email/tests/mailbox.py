"""LocalStack's SES mailbox (``GET /_aws/ses``): the messages SES accepted."""

from __future__ import annotations

import json
import urllib.request
from typing import Any


def mailbox(endpoint: str, recipient: str) -> list[dict[str, Any]]:
    """The messages sent to ``recipient`` (tests use a recipient of their own)."""
    with urllib.request.urlopen(f"{endpoint}/_aws/ses", timeout=5) as response:  # nosec B310  # emulator
        messages = json.load(response)["messages"]
    return [
        message
        for message in messages
        if recipient in message.get("Destination", {}).get("ToAddresses", [])
    ]
