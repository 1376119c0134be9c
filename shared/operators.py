"""Named operators, each with a credential of their own, kept in SSM Parameter Store.

Operator ``alice`` is the parameter ``<OPERATORS_PATH>/alice`` holding the SHA-256 of her
credential (``shared.credentials``); the credential itself is shown once, when she is added, and
stored nowhere. Every part that admits operators (the orders API, the analytics reader) asks
``Operators.identify`` who a bearer credential belongs to; it reads the directory through
powertools parameters with a short cache, so a removed operator is refused once the cache
(``OPERATORS_CACHE_SECONDS``) has expired. The same code runs on LocalStack and on AWS.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from aws_lambda_powertools.utilities.parameters import SSMProvider
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared import aws
from shared.credentials import digest_of, matches, new_credential
from shared.settings import AwsSettings

OPERATOR_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
PARAMETER_PATH = r"^(/[A-Za-z0-9_.-]+)+$"


class OperatorSettings(BaseSettings):
    """Where the operators are (``OPERATORS_PATH``, e.g. ``/shop/operators``) and how long their
    list is cached (``OPERATORS_CACHE_SECONDS``): the longest a removed operator still gets in."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore")

    operators_path: str = Field(pattern=PARAMETER_PATH)
    operators_cache_seconds: int = Field(default=5, ge=0, le=300)


@dataclass(frozen=True)
class Operator:
    name: str


class DirectoryUnavailable(RuntimeError):
    """The operators could not be read; nobody can be admitted as an operator meanwhile."""


class InvalidOperatorName(ValueError):
    def __init__(self, name: str) -> None:
        super().__init__(
            f"operator name {name!r} must be 1-64 letters, digits, '.', '_' or '-'"
            " (starting with a letter or digit)"
        )


class OperatorExists(ValueError):
    def __init__(self, name: str) -> None:
        super().__init__(f"operator {name!r} exists; replace its credential to issue a new one")


class OperatorDirectory(Protocol):
    def digests(self) -> Mapping[str, str]:
        """Every operator's name and credential digest; raises ``DirectoryUnavailable``."""
        ...


class ParameterStoreDirectory:
    """The operators under a Parameter Store path, cached for ``max_age`` seconds."""

    def __init__(self, ssm_client: Any, path: str, max_age: int) -> None:
        self.provider = SSMProvider(boto3_client=ssm_client)
        self.path = path
        self.max_age = max_age

    def digests(self) -> Mapping[str, str]:
        try:
            found = self.provider.get_multiple(self.path, max_age=self.max_age, recursive=False)
        except GetParameterError as error:
            raise DirectoryUnavailable(f"cannot read the operators under {self.path}") from error
        return {name: str(value) for name, value in found.items()}


class Operators:
    """Who a bearer credential belongs to."""

    def __init__(self, directory: OperatorDirectory) -> None:
        self.directory = directory

    def identify(self, credential: str) -> Operator | None:
        """The operator whose credential this is, or None. Compares with every operator's
        digest in constant time, so the time taken says nothing about which one was close."""
        found = None
        for name, digest in self.directory.digests().items():
            if matches(credential, digest):
                found = name
        return None if found is None else Operator(found)


class OperatorRegistry:
    """Adds and removes operators (``python -m services.orders operators ...``)."""

    def __init__(self, ssm_client: Any, path: str) -> None:
        self.ssm = ssm_client
        self.path = path

    def add(self, name: str, *, replace: bool = False) -> str:
        """Store the digest of a new credential for ``name`` and return the credential (shown
        once: it is stored nowhere). ``replace`` issues a new one to an existing operator."""
        if not OPERATOR_NAME.fullmatch(name):
            raise InvalidOperatorName(name)
        credential = new_credential()
        try:
            self.ssm.put_parameter(
                Name=self._parameter(name),
                Value=digest_of(credential),
                Type="String",
                Overwrite=replace,
                Description=f"SHA-256 of operator {name}'s credential",
            )
        except self.ssm.exceptions.ParameterAlreadyExists as error:
            raise OperatorExists(name) from error
        return credential

    def remove(self, name: str) -> bool:
        """Revoke ``name`` (refused everywhere once the caches expire); False if unknown."""
        if not OPERATOR_NAME.fullmatch(name):
            raise InvalidOperatorName(name)
        try:
            self.ssm.delete_parameter(Name=self._parameter(name))
        except self.ssm.exceptions.ParameterNotFound:
            return False
        return True

    def names(self) -> list[str]:
        return sorted(ParameterStoreDirectory(self.ssm, self.path, max_age=0).digests())

    def _parameter(self, name: str) -> str:
        return f"{self.path}/{name}"


def operators(settings: OperatorSettings, aws_settings: AwsSettings | None = None) -> Operators:
    """The operators under ``settings.operators_path``, read with the project's SSM client."""
    ssm = aws.client("ssm", aws_settings)
    return Operators(
        ParameterStoreDirectory(ssm, settings.operators_path, settings.operators_cache_seconds)
    )


def registry(
    settings: OperatorSettings, aws_settings: AwsSettings | None = None
) -> OperatorRegistry:
    return OperatorRegistry(aws.client("ssm", aws_settings), settings.operators_path)
