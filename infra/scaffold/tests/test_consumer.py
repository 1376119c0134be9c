"""`make new-consumer` writes a consumer that passes its own tests (its packaged Lambda on
LocalStack included) and joins the template; `make remove-consumer` leaves the tree as it was."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.cloudformation.packaging import BUILD_DIR
from infra.scaffold.consumer import (
    CONSUMERS_MODULE,
    ROOT,
    TEMPLATE_DIR,
    NewConsumer,
    ScaffoldError,
    _with_entry,
)


@pytest.mark.parametrize("name", ["", "Demo", "1demo", "demo--x", "demo_", "class", "x" * 25])
def test_a_name_that_cannot_be_a_service_is_refused_saying_why(name: str) -> None:
    with pytest.raises(ScaffoldError, match="NAME"):
        NewConsumer.named(name)


def test_a_hyphenated_name_becomes_the_package_and_class_names() -> None:
    consumer = NewConsumer.named("demo-consumer")

    assert (consumer.package, consumer.class_prefix) == ("demo_consumer", "DemoConsumer")


def test_every_placeholder_of_the_template_is_filled() -> None:
    consumer = NewConsumer.named("demo-consumer")
    for template in TEMPLATE_DIR.rglob("*.tmpl"):
        assert "$" not in consumer.render(template.read_text()), template.name


def test_the_entry_goes_last_into_the_consumers_list() -> None:
    source = 'CONSUMERS = [\n    Consumer("a", "h"),\n]\n\n\ndef after() -> None: ...\n'

    assert _with_entry(source, '    Consumer("b", "h"),\n') == (
        'CONSUMERS = [\n    Consumer("a", "h"),\n    Consumer("b", "h"),\n]\n\n\n'
        "def after() -> None: ...\n"
    )


@pytest.fixture
def repository_copy(tmp_path: Path) -> Path:
    """The files of this tree that git does not ignore, committed in a repository of their own,
    with the installed Lambda dependencies linked in."""
    tracked = git(ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    copy = tmp_path / "repo"
    for name in filter(None, tracked.split("\0")):
        source = ROOT / name
        if source.is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, copy / name)
    git(copy, "init", "-q")
    git(copy, "add", "-A")
    git(copy, "-c", "user.name=test", "-c", "user.email=test@example.com", "commit", "-qm", "copy")
    (copy / "build" / "lambda").mkdir(parents=True)
    (copy / "build" / "lambda" / "deps").symlink_to(BUILD_DIR / "deps")
    return copy


def git(copy: Path, *arguments: str) -> str:
    return subprocess.run(  # nosec B607  # the developer's own git, found on PATH
        ["git", *arguments], cwd=copy, capture_output=True, check=True, text=True
    ).stdout


def run(copy: Path, *command: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PYTHONPATH": str(copy)}
    return subprocess.run(
        [sys.executable, *command], cwd=copy, env=environment, capture_output=True, text=True
    )


@pytest.mark.integration
@pytest.mark.xdist_group("new-consumer")
def test_a_new_consumer_passes_its_own_tests_joins_the_template_and_is_removed_cleanly(
    repository_copy: Path, localstack: Any
) -> None:
    made = run(repository_copy, "-m", "infra.scaffold.consumer", "new", "demo-probe-long-name-abc")
    assert made.returncode == 0, made.stderr

    folder = repository_copy / "services" / "demo_probe_long_name_abc"
    assert {"domain.py", "service.py", "adapters.py", "handler.py"} <= {
        path.name for path in folder.iterdir()
    }
    checked = run(repository_copy, "-m", "ruff", "check", "services/demo_probe_long_name_abc")
    assert checked.returncode == 0, checked.stdout
    tested = run(
        repository_copy,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "services/demo_probe_long_name_abc",
    )
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "5 passed" in tested.stdout, tested.stdout
    template = yaml.safe_load((repository_copy / "infra/cloudformation/template.yaml").read_text())
    for resource in (
        "DemoProbeLongNameAbcQueue",
        "DemoProbeLongNameAbcDeadLetterQueue",
        "DemoProbeLongNameAbcFunction",
    ):
        assert resource in template["Resources"], resource
    assert "DemoProbeLongNameAbcDatabaseUrl" in template["Parameters"]
    policy = run(
        repository_copy,
        *("-m", "pytest", "-q", "-p", "no:cacheprovider"),
        "infra/cloudformation/tests/test_template_policy.py",
    )
    assert policy.returncode == 0, policy.stdout

    removed = run(
        repository_copy, "-m", "infra.scaffold.consumer", "remove", "demo-probe-long-name-abc"
    )
    assert removed.returncode == 0, removed.stderr
    assert git(repository_copy, "status", "--porcelain") == ""
    assert (repository_copy / CONSUMERS_MODULE).read_text() == (ROOT / CONSUMERS_MODULE).read_text()
