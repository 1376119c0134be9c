"""LocalStack runs zip Lambdas as host processes (LAMBDA_RUNTIME_EXECUTOR=host, no Docker)."""

from __future__ import annotations

import base64
import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from shared.tests.lambda_zip import zip_of
from shared.tests.queues import receive_bodies

pytestmark = pytest.mark.integration

ROLE = "arn:aws:iam::000000000000:role/lambda-role"

HANDLER = """
import importlib.util, json, logging, os, sys, time

import helper

logger = logging.getLogger("app")
logger.addHandler(logging.StreamHandler(sys.stdout))
logger.setLevel(logging.INFO)


def handler(event, context):
    action = event.get("action") if isinstance(event, dict) else None
    if action == "fail":
        raise ValueError("order 42 is broken")
    if action == "exit":
        os._exit(3)
    if action == "sleep":
        time.sleep(event["seconds"])
    print("handled", json.dumps(event))
    logger.info("logged %s", json.dumps(event))
    return {
        "echo": event,
        "greeting": os.environ.get("GREETING"),
        "helper": helper.VALUE,
        "request_id": context.aws_request_id,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "cwd_first_on_path": sys.path[0] == os.getcwd() == os.environ["LAMBDA_TASK_ROOT"],
        "project_importable": importlib.util.find_spec("shared") is not None,
    }
"""

SQS_HANDLER = """
import json, os


def handler(event, context):
    failures = []
    for record in event["Records"]:
        body = json.loads(record["body"])
        if body.get("poison"):
            failures.append({"itemIdentifier": record["messageId"]})
            continue
        with open(os.environ["SEEN_FILE"], "a") as seen:
            seen.write(record["body"] + "\\n")
    return {"batchItemFailures": failures}
"""


@pytest.fixture
def functions(localstack: Any) -> Iterator[Callable[..., str]]:
    """Create Python functions that are deleted after the test."""
    client = localstack.client("lambda")
    created: list[str] = []

    def create(name: str, files: dict[str, str], handler: str = "app.handler", **extra: Any) -> str:
        client.create_function(
            FunctionName=name,
            Runtime="python3.11",
            Role=ROLE,
            Handler=handler,
            Code={"ZipFile": zip_of(files)},
            **extra,
        )
        created.append(name)
        client.get_waiter("function_active_v2").wait(FunctionName=name)
        return name

    yield create
    for name in created:
        client.delete_function(FunctionName=name)


def invoke(localstack: Any, name: str, event: object) -> tuple[dict[str, Any], Any]:
    reply = localstack.client("lambda").invoke(
        FunctionName=name, Payload=json.dumps(event).encode(), LogType="Tail"
    )
    return reply, json.loads(reply["Payload"].read() or b"null")


def test_direct_invoke_returns_the_handler_result(
    localstack: Any, functions: Callable[..., str], unique_name: str
) -> None:
    name = functions(
        unique_name,
        {"app.py": HANDLER, "helper.py": "VALUE = 7\n"},
        Environment={"Variables": {"GREETING": "hello"}},
    )

    reply, result = invoke(localstack, name, {"order": 1})
    again_reply, again = invoke(localstack, name, {"order": 2})

    assert "FunctionError" not in reply
    assert result["echo"] == {"order": 1} and again["echo"] == {"order": 2}
    assert result["greeting"] == "hello" and result["helper"] == 7
    assert 0 < result["remaining_ms"] <= 3000
    assert result["request_id"] != again["request_id"]
    assert result["cwd_first_on_path"] and not result["project_importable"]
    assert 'handled {"order": 1}' in base64.b64decode(reply["LogResult"]).decode()
    later_log = base64.b64decode(again_reply["LogResult"]).decode()
    assert 'logged {"order": 2}' in later_log, "a logger made at import logs every invocation"
    assert '{"order": 1}' not in later_log


def test_missing_import_fails_like_aws(
    localstack: Any, functions: Callable[..., str], unique_name: str
) -> None:
    name = functions(unique_name, {"app.py": HANDLER})

    reply, error = invoke(localstack, name, {})

    assert reply["FunctionError"] == "Unhandled"
    assert error["errorType"] == "Runtime.ImportModuleError"
    assert "No module named 'helper'" in error["errorMessage"]


def test_exception_is_a_function_error_with_message_and_trace(
    localstack: Any, functions: Callable[..., str], unique_name: str
) -> None:
    name = functions(unique_name, {"app.py": HANDLER, "helper.py": "VALUE = 1\n"})

    reply, error = invoke(localstack, name, {"action": "fail"})

    assert reply["FunctionError"] == "Unhandled"
    assert error["errorType"] == "ValueError"
    assert error["errorMessage"] == "order 42 is broken"
    assert any("app.py" in line for line in error["stackTrace"])


def test_timeout_is_reported_and_the_environment_recovers(
    localstack: Any, functions: Callable[..., str], unique_name: str
) -> None:
    name = functions(unique_name, {"app.py": HANDLER, "helper.py": "VALUE = 1\n"}, Timeout=1)

    began = time.monotonic()
    reply, error = invoke(localstack, name, {"action": "sleep", "seconds": 30})
    elapsed = time.monotonic() - began
    after, result = invoke(localstack, name, {"order": 3})

    assert reply["FunctionError"] == "Unhandled"
    assert "Task timed out after 1.00 seconds" in error["errorMessage"]
    assert elapsed < 10
    assert "FunctionError" not in after and result["echo"] == {"order": 3}


def test_runtime_exit_is_reported_and_the_environment_recovers(
    localstack: Any, functions: Callable[..., str], unique_name: str
) -> None:
    name = functions(unique_name, {"app.py": HANDLER, "helper.py": "VALUE = 1\n"})

    reply, error = invoke(localstack, name, {"action": "exit"})
    after, result = invoke(localstack, name, {"order": 4})

    assert reply["FunctionError"] == "Unhandled"
    assert error["errorType"] == "Runtime.ExitError"
    assert "exit status 3" in error["errorMessage"]
    assert "FunctionError" not in after and result["echo"] == {"order": 4}


def wait_for_lines(path: Path, expected: int, deadline_s: float) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if path.exists() and len(path.read_text().splitlines()) >= expected:
            return
        time.sleep(0.05)


def test_sqs_partial_batch_failure_sends_poison_to_dlq_and_processes_others_once(
    localstack: Any,
    functions: Callable[..., str],
    queues: Callable[..., str],
    unique_name: str,
    tmp_path: Path,
) -> None:
    sqs, lambda_client = localstack.client("sqs"), localstack.client("lambda")
    dlq = queues(f"{unique_name}-dlq")
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    source = queues(
        unique_name,
        VisibilityTimeout="1",
        RedrivePolicy=json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "2"}),
    )
    source_arn = sqs.get_queue_attributes(QueueUrl=source, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    seen = tmp_path / "seen.jsonl"
    name = functions(
        unique_name, {"app.py": SQS_HANDLER}, Environment={"Variables": {"SEEN_FILE": str(seen)}}
    )
    mapping = lambda_client.create_event_source_mapping(
        FunctionName=name,
        EventSourceArn=source_arn,
        BatchSize=10,
        FunctionResponseTypes=["ReportBatchItemFailures"],
    )["UUID"]
    try:
        for number in range(5):
            sqs.send_message(QueueUrl=source, MessageBody=json.dumps({"n": number}))
        sqs.send_message(QueueUrl=source, MessageBody=json.dumps({"n": 99, "poison": True}))

        dead = receive_bodies(sqs, dlq, count=1, timeout=30)
        wait_for_lines(seen, expected=5, deadline_s=5)
        wait_for_lines(seen, expected=6, deadline_s=2)
        processed = seen.read_text().splitlines() if seen.exists() else []
    finally:
        lambda_client.delete_event_source_mapping(UUID=mapping)

    assert [json.loads(body)["n"] for body in dead] == [99]
    counts = Counter(json.loads(body)["n"] for body in processed)
    assert counts == Counter(range(5))


def test_an_environment_ends_when_localstack_is_killed(tmp_path: Path) -> None:
    """A stand-in for LocalStack starts the runtime and is killed (-9): the runtime follows."""
    import os
    import signal
    import subprocess
    import sys

    from infra.local.localstack_runner import ROOT

    bootstrap = ROOT / "infra/localstack-ext/shop_localstack_ext/bootstrap.py"
    pid_file, ready_file = tmp_path / "runtime.pid", tmp_path / "ready"
    stand_in = f"""
import os, subprocess, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class Accept(BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path.endswith("/ready"):
            open({str(ready_file)!r}, "w").close()
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()

server = ThreadingHTTPServer(("127.0.0.1", 0), Accept)
threading.Thread(target=server.serve_forever, daemon=True).start()
os.environ["LOCALSTACK_RUNTIME_ENDPOINT"] = f"http://127.0.0.1:{{server.server_port}}"
child = subprocess.Popen([sys.executable, "-I", "-S", {str(bootstrap)!r}])
open({str(pid_file)!r}, "w").write(str(child.pid))
time.sleep(300)
"""
    parent = subprocess.Popen(
        [sys.executable, "-c", stand_in],
        env={
            "LOCALSTACK_RUNTIME_ID": "test",
            "LAMBDA_TASK_ROOT": str(tmp_path),
            "LOCALSTACK_HOST_EXECUTOR_PORT": "0",
            "_HANDLER": "app.handler",
        },
    )
    deadline = time.monotonic() + 10
    while not ready_file.exists():
        assert time.monotonic() < deadline, "the runtime never said it was ready"
        time.sleep(0.05)
    runtime = int(pid_file.read_text())
    assert not _is_zombie(runtime), "the runtime waits for invocations"

    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()

    deadline = time.monotonic() + 10
    while Path(f"/proc/{runtime}").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not Path(f"/proc/{runtime}").exists() or _is_zombie(runtime)


def _is_zombie(pid: int) -> bool:
    return Path(f"/proc/{pid}/stat").read_text().split(")")[1].split()[0] == "Z"
