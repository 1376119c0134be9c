"""The parameter values of a deploy: template defaults (production), then the emulator values,
then a profile, then `--parameter` flags."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path

from infra.cloudformation.names import site_domain_name
from infra.cloudformation.target import DeployError, Target
from infra.cloudformation.template import LAMBDA_SERVICES, build_template
from infra.cloudformation.topology.blocks import Json, pascal
from infra.cloudformation.topology.parameters import VISIBILITY_TO_FUNCTION_TIMEOUT

DATA_DIR = Path(__file__).resolve().parents[2] / ".data"
# A distribution's web ACL (topology.firewall) and certificate can only be created there.
AWS_REGION = "us-east-1"

# Short timings for tests and demos; every other value keeps the template's production default.
TEST_PROFILE = {
    "FunctionTimeoutSeconds": "3",
    "QueueVisibilityTimeoutSeconds": "18",
    "MaxReceiveCount": "2",
    "MaximumBatchingWindowSeconds": "0",
    "MaximumConcurrency": "5",
    "QueueReceiveWaitSeconds": "1",
    "RuleTargetMaximumRetryAttempts": "0",
    "RuleTargetMaximumEventAgeSeconds": "60",
    "FraudFunctionRetryAttempts": "0",
    "ArchiveRetentionDays": "1",
    "LogRetentionDays": "1",
    "AlarmPeriodSeconds": "10",
    "PowertoolsLogLevel": "DEBUG",
}
PROFILES: dict[str, dict[str, str]] = {"default": {}, "test": TEST_PROFILE}

# The orders service's settings per profile: it runs beside the stack (`infra.local.stack`), not
# in it. Load generators send every request from one address, so the test and drill profiles
# name rate limits they never reach by accident; the default profile keeps the production limits
# of `RateLimitSettings` (services/orders/settings.py). Variables set in the environment win.
ORDERS_SERVICE_PROFILES: dict[str, dict[str, str]] = {
    "default": {},
    "test": {
        "ORDERS_RATE_LIMIT_PLACEMENTS_PER_SECOND": "1000",
        "ORDERS_RATE_LIMIT_OPERATOR_REQUESTS_PER_SECOND": "1000",
    },
    "drill": {
        "ORDERS_RATE_LIMIT_PLACEMENTS_PER_SECOND": "5000",
        "ORDERS_RATE_LIMIT_OPERATOR_REQUESTS_PER_SECOND": "5000",
    },
}


@cache
def template_parameters() -> Json:
    """The template's parameter declarations (name -> Type, Default, ...)."""
    declarations: Json = build_template()["Parameters"]
    return declarations


def parse_parameter_flags(flags: Iterable[str]) -> dict[str, str]:
    """`Key=Value` flags, each key a parameter of the template."""
    known = set(template_parameters())
    result: dict[str, str] = {}
    for flag in flags:
        key, separator, value = flag.partition("=")
        if not separator:
            raise DeployError(f"--parameter {flag!r} is not Key=Value")
        if key not in known:
            raise DeployError(
                f"--parameter {key} is not a template parameter; known: {sorted(known)}"
            )
        result[key] = value
    return result


def local_data_dir(stack_name: str) -> Path:
    """Where the SQLite databases of a stack on the emulator live."""
    return DATA_DIR / stack_name


def emulator_parameters(stack_name: str, orders_api_port: int) -> dict[str, str]:
    """What differs on LocalStack: local databases, site name, plain HTTP origins."""
    data_dir = local_data_dir(stack_name)
    databases = {
        f"{pascal(service)}DatabaseUrl": f"sqlite:///{data_dir / f'{service}.db'}"
        for service in LAMBDA_SERVICES
    }
    return {
        "DeploymentTarget": "emulator",
        "SiteDomainName": site_domain_name(stack_name),
        # The stack creates and deletes its sender identity: one address per stack, so that
        # deleting a stack leaves the senders of other stacks on the same emulator verified.
        "SenderEmail": f"orders@{stack_name.lower()}.shop.localhost",
        "OrdersApiDomain": "127.0.0.1",
        "OrdersApiPort": str(orders_api_port),
        "OrdersApiProtocol": "http-only",
        "FunctionUrlOriginProtocol": "http-only",
        "ViewerProtocolPolicy": "allow-all",
        "PowertoolsTraceDisabled": "true",
        **databases,
    }


def resolve_parameters(
    target: Target, profile: str, overrides: Mapping[str, str], orders_api_port: int
) -> dict[str, str]:
    """Emulator values, then the profile, then overrides; fails naming missing parameters."""
    if profile not in PROFILES:
        raise DeployError(f"unknown profile {profile!r}; choose one of {sorted(PROFILES)}")
    if not target.is_emulator and target.region != AWS_REGION:
        raise DeployError(
            f"the AWS target deploys to {AWS_REGION}, not {target.region}: the distribution's"
            " web ACL (scope CLOUDFRONT) can only be created there (set AWS_REGION)"
        )
    values: dict[str, str] = {}
    if target.is_emulator:
        values |= emulator_parameters(target.stack_name, orders_api_port)
    values |= PROFILES[profile]
    values |= overrides
    missing = [
        name
        for name, spec in template_parameters().items()
        if "Default" not in spec
        and name not in values
        and not name.endswith("CodeKey")
        and name != "ArtifactsBucket"
    ]
    if missing:
        raise DeployError(
            "these parameters have no value (give --parameter Name=value): " + ", ".join(missing)
        )
    check_visibility_timeout(values)
    return values


def check_visibility_timeout(values: Mapping[str, str]) -> None:
    """Queue visibility must be at least six function timeouts, or messages run twice."""

    def value_of(name: str) -> int:
        text = values.get(name, str(template_parameters()[name]["Default"]))
        try:
            return int(text)
        except ValueError as error:
            raise DeployError(f"parameter {name} must be a whole number, got {text!r}") from error

    timeout = value_of("FunctionTimeoutSeconds")
    visibility = value_of("QueueVisibilityTimeoutSeconds")
    if visibility < VISIBILITY_TO_FUNCTION_TIMEOUT * timeout:
        raise DeployError(
            f"QueueVisibilityTimeoutSeconds {visibility} is less than "
            f"{VISIBILITY_TO_FUNCTION_TIMEOUT} x FunctionTimeoutSeconds {timeout}"
        )
