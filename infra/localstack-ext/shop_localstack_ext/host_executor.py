"""A Lambda runtime executor that runs each execution environment as a host Python process."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import TypeVar

import requests
from localstack import config
from localstack.services.lambda_.invocation.executor_endpoint import (
    ExecutorEndpoint,
    InvokeSendError,
)
from localstack.services.lambda_.invocation.lambda_models import FunctionVersion, InvocationResult
from localstack.services.lambda_.invocation.plugins import RuntimeExecutorPlugin
from localstack.services.lambda_.invocation.runtime_executor import (
    LambdaRuntimeException,
    RuntimeExecutor,
)
from localstack.utils.net import get_free_tcp_port

LOG = logging.getLogger(__name__)
T = TypeVar("T")

BOOTSTRAP = Path(__file__).with_name("bootstrap.py")
HOST = "127.0.0.1"
TIMEOUT_GRACE_S = 0.5
STARTUP_TIMEOUT_S = 30.0
# The runtime only queues an invoke and answers at once: a runtime that takes longer is stuck.
INVOKE_SEND_TIMEOUT_S = 5.0
POLL_S = 0.05
KEPT_ENVIRONMENT = ("PATH", "LANG", "LC_ALL", "TZ", "SSL_CERT_FILE")


def host_python() -> str:
    """The base interpreter (not LocalStack's virtual environment), unless configured."""
    base: str = getattr(sys, "_base_executable", sys.executable)
    return os.environ.get("LAMBDA_HOST_PYTHON") or base


class HostRuntimeExecutor(RuntimeExecutor):
    """One `python -I -S bootstrap.py` process per execution environment, restarted on timeout."""

    def __init__(self, id: str, function_version: FunctionVersion) -> None:
        super().__init__(id=id, function_version=function_version)
        self.endpoint = ExecutorEndpoint(id, container_address=HOST)
        self.process: subprocess.Popen[bytes] | None = None
        self.env_vars: dict[str, str] = {}
        self.log_file = Path(tempfile.gettempdir()) / f"localstack-lambda-{id}.log"
        self.lock = threading.RLock()

    def start(self, env_vars: dict[str, str]) -> None:
        self.env_vars = {key: str(value) for key, value in env_vars.items()}
        self.endpoint.start()
        self._spawn()
        self._await_startup()

    def _spawn(self) -> None:
        code_dir = str(self.function_version.config.code.get_unzipped_code_location())
        port = get_free_tcp_port()
        self.endpoint.container_port = port
        env = {key: os.environ[key] for key in KEPT_ENVIRONMENT if key in os.environ}
        env.update(self.env_vars)
        env.update(
            LAMBDA_TASK_ROOT=code_dir,
            LAMBDA_RUNTIME_DIR=str(BOOTSTRAP.parent),
            LOCALSTACK_HOST_EXECUTOR_PORT=str(port),
            PYTHONUNBUFFERED="1",
        )
        with self.log_file.open("ab") as log:
            self.process = subprocess.Popen(
                [host_python(), "-I", "-S", str(BOOTSTRAP)],
                cwd=code_dir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def _restart(self) -> None:
        self._kill()
        self.endpoint.startup_future = Future()
        self._spawn()
        self._await_startup()

    def _await_startup(self) -> None:
        started = self.endpoint.startup_future
        if started is None or self._await(started, STARTUP_TIMEOUT_S) is None:
            self._kill()
            raise LambdaRuntimeException(f"Environment {self.id} did not start; see its log")

    def _await(self, future: Future[T], seconds: float) -> T | None:
        """The future's result, or None once the process has exited or the time is up."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                return future.result(timeout=POLL_S)
            except FutureTimeout:
                if self.process is None or self.process.poll() is not None:
                    with contextlib.suppress(FutureTimeout):
                        return future.result(timeout=POLL_S)
                    return None
        return None

    def _kill(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)

    def stop(self) -> None:
        self._kill()
        try:
            self.endpoint.shutdown()
        except Exception as error:
            LOG.debug("Error while shutting down executor endpoint %s: %s", self.id, error)
        self.log_file.unlink(missing_ok=True)

    def get_address(self) -> str:
        return HOST

    def get_endpoint_from_executor(self) -> str:
        return HOST

    def get_runtime_endpoint(self) -> str:
        port = config.GATEWAY_LISTEN[0].port
        return f"http://{HOST}:{port}{self.endpoint.get_endpoint_prefix()}"

    def invoke(self, payload: dict[str, str]) -> InvocationResult:
        with self.lock:
            if self.process is None or self.process.poll() is not None:
                self._restart()
            future: Future[InvocationResult] = Future()
            self.endpoint.invocation_future = future
            self.endpoint.logs = None
            url = f"http://{HOST}:{self.endpoint.container_port}/invoke"
            try:
                response = requests.post(
                    url,
                    json=payload,
                    proxies={"http": "", "https": ""},
                    timeout=INVOKE_SEND_TIMEOUT_S,
                )
            except requests.RequestException as error:
                self._kill()  # so that the next invoke starts a fresh process
                raise InvokeSendError(f"Invoke to {url} failed: {error}") from error
            if not response.ok:
                raise InvokeSendError(f"Invoke to {url} answered {response.status_code}")
            timeout = float(self.function_version.config.timeout)
            result = self._await(future, timeout + TIMEOUT_GRACE_S)
            if result is not None:
                return result
            exit_code = self.process.poll() if self.process else None
            self._kill()
            request_id = payload["invoke-id"]
            if exit_code is None:
                error_type = "Sandbox.Timedout"
                reason = f"Task timed out after {timeout:.2f} seconds"
            else:
                error_type = "Runtime.ExitError"
                reason = f"Runtime exited with error: exit status {exit_code}"
            message = f"RequestId: {request_id} Error: {reason}"
            body = {"errorType": error_type, "errorMessage": message}
            return InvocationResult(
                request_id, json.dumps(body).encode(), is_error=True, logs=message + "\n"
            )

    def get_logs(self) -> str:
        try:
            return self.log_file.read_text(errors="replace")
        except OSError:
            return ""

    @classmethod
    def prepare_version(cls, function_version: FunctionVersion) -> None:
        runtime = function_version.config.runtime or ""
        if not runtime.startswith("python"):
            raise LambdaRuntimeException(f"The host executor runs only Python, not {runtime!r}")
        if function_version.config.code:
            function_version.config.code.prepare_for_execution()

    @classmethod
    def cleanup_version(cls, function_version: FunctionVersion) -> None:
        pass


class HostRuntimeExecutorPlugin(RuntimeExecutorPlugin):
    name = "host"

    def load(self, *args: object, **kwargs: object) -> type[RuntimeExecutor]:
        return HostRuntimeExecutor
