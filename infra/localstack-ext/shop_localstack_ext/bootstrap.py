"""Python Lambda runtime for one host execution environment (run as `python -I bootstrap.py`).

Speaks LocalStack's executor endpoint protocol: reports ready, takes `/invoke` on its own port,
and posts logs and then the response or the error back to LOCALSTACK_RUNTIME_ENDPOINT.
"""

from __future__ import annotations

import importlib
import io
import json
import os
import queue
import sys
import threading
import time
import traceback
import urllib.request
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ENDPOINT = os.environ["LOCALSTACK_RUNTIME_ENDPOINT"]
RUNTIME_ID = os.environ["LOCALSTACK_RUNTIME_ID"]
TASK_ROOT = os.environ["LAMBDA_TASK_ROOT"]

Handler = Callable[[Any, Any], Any]


def post(path: str, body: bytes) -> None:
    request = urllib.request.Request(
        f"{ENDPOINT}{path}", data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as reply:  # nosec B310  # LocalStack's http URL
        reply.read()


def error_body(error_type: str, message: str, stack: list[str]) -> dict[str, Any]:
    return {"errorMessage": message, "errorType": error_type, "requestId": "", "stackTrace": stack}


def load_handler() -> Handler | dict[str, Any]:
    """The handler function, or the error AWS reports on every invoke when it cannot be loaded."""
    spec = os.environ.get("_HANDLER", "")
    module_name, _, function_name = spec.rpartition(".")
    if not module_name:
        return error_body("Runtime.MalformedHandlerName", f"Bad handler '{spec}'", [])
    try:
        module = importlib.import_module(module_name.replace("/", "."))
    except ImportError as error:
        message = f"Unable to import module '{module_name}': {error}"
        return error_body("Runtime.ImportModuleError", message, [])
    except Exception as error:
        stack = traceback.format_list(traceback.extract_tb(error.__traceback__))
        kind = (
            "Runtime.UserCodeSyntaxError" if isinstance(error, SyntaxError) else "Runtime.Unknown"
        )
        return error_body(kind, f"{type(error).__name__}: {error}", stack)
    handler: Handler | None = getattr(module, function_name, None)
    if not callable(handler):
        message = f"Handler '{function_name}' missing on module '{module_name}'"
        return error_body("Runtime.HandlerNotFound", message, [])
    return handler


class Context:
    def __init__(self, request_id: str, arn: str, deadline: float) -> None:
        self.aws_request_id = request_id
        self.invoked_function_arn = arn
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.identity = None
        self.client_context = None
        self._deadline = deadline

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.time()) * 1000))


class Capture(io.TextIOBase):
    """The process's stdout or stderr for its whole life (loggers keep the stream they were
    given at import): written through, and copied to the running invocation's log."""

    def __init__(self, target: Any) -> None:
        self.target = target
        self.invocation_log: io.StringIO | None = None

    def write(self, text: str) -> int:
        if self.invocation_log is not None:
            self.invocation_log.write(text)
        self.target.write(text)
        return len(text)

    def flush(self) -> None:
        self.target.flush()


STDOUT, STDERR = Capture(sys.stdout), Capture(sys.stderr)


def invoke(handler: Handler | dict[str, Any], invocation: dict[str, Any]) -> None:
    request_id = invocation["invoke-id"]
    timeout = float(os.environ.get("AWS_LAMBDA_FUNCTION_TIMEOUT", "3"))
    os.environ["_X_AMZN_TRACE_ID"] = invocation.get("trace-id") or ""
    captured = io.StringIO()
    STDOUT.invocation_log = STDERR.invocation_log = captured
    print(f"START RequestId: {request_id} Version: $LATEST")
    began = time.monotonic()
    failed = True
    try:
        if isinstance(handler, dict):
            result: Any = {**handler, "requestId": request_id}
            print(f"[ERROR] {handler['errorType']}: {handler['errorMessage']}")
        else:
            try:
                event = json.loads(invocation["payload"] or "null")
                context = Context(
                    request_id, invocation["invoked-function-arn"], time.time() + timeout
                )
                result = json.dumps(handler(event, context))
                failed = False
            except Exception as error:
                stack = traceback.format_list(traceback.extract_tb(error.__traceback__)[1:])
                result = error_body(type(error).__name__, str(error), stack)
                result["requestId"] = request_id
                print(f"[ERROR] {type(error).__name__}: {error}")
                traceback.print_exc()
    finally:
        elapsed_ms = (time.monotonic() - began) * 1000
        print(f"END RequestId: {request_id}")
        print(f"REPORT RequestId: {request_id}\tDuration: {elapsed_ms:.2f} ms")
        STDOUT.invocation_log = STDERR.invocation_log = None
    prefix = f"/invocations/{request_id}"
    post(f"{prefix}/logs", json.dumps({"logs": captured.getvalue()}).encode())
    if failed:
        post(f"{prefix}/error", json.dumps(result).encode())
    else:
        post(f"{prefix}/response", result.encode())


def exit_with_parent(parent: int) -> None:
    """End this environment when LocalStack is gone (killed before it could stop it)."""
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(0)


def main() -> None:
    sys.stdout, sys.stderr = STDOUT, STDERR
    threading.Thread(target=exit_with_parent, args=(os.getppid(),), daemon=True).start()
    os.chdir(TASK_ROOT)
    sys.path.insert(0, TASK_ROOT)
    invocations: queue.Queue[dict[str, Any]] = queue.Queue()

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path != "/invoke":
                self.send_response(404)
            else:
                invocations.put(json.loads(body))
                self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(
        ("127.0.0.1", int(os.environ["LOCALSTACK_HOST_EXECUTOR_PORT"])), Receiver
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    handler = load_handler()
    post(f"/status/{RUNTIME_ID}/ready", b"{}")
    while True:
        invoke(handler, invocations.get())


if __name__ == "__main__":
    main()
