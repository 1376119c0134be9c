"""Policy checks on the CloudFormation template and its parameters: no AWS, no LocalStack."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import lint_file

from infra.cloudformation.operations import DEAD_LETTER_QUEUES
from infra.cloudformation.profiles import (
    PROFILES,
    TEST_PROFILE,
    emulator_parameters,
    parse_parameter_flags,
    resolve_parameters,
)
from infra.cloudformation.target import DeployError, Target
from infra.cloudformation.template import TEMPLATE_PATH, build_template, render
from infra.cloudformation.topology.blocks import pascal
from infra.cloudformation.topology.consumers import CONSUMERS
from infra.cloudformation.topology.http_readers import HTTP_READERS
from infra.cloudformation.topology.messaging import ALARMS_QUEUE
from infra.cloudformation.topology.parameters import VISIBILITY_TO_FUNCTION_TIMEOUT
from services.fraud.public import FraudPolicy

TEMPLATE = build_template()
QUEUE_KINDS = ("Queue", "DeadLetterQueue")
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]
PARAMETERS: dict[str, Any] = TEMPLATE["Parameters"]


def of_type(resource_type: str) -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource["Properties"]
        for logical_id, resource in RESOURCES.items()
        if resource["Type"] == resource_type
    }


def walk(value: Any) -> Iterator[Any]:
    """Every dict and list nested in `value`, itself included."""
    yield value
    if isinstance(value, dict):
        for item in value.values():
            yield from walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from walk(item)


def statements() -> Iterator[tuple[str, dict[str, Any]]]:
    """(logical id, statement) of every policy document in the template, `Fn::If` branches too."""
    for logical_id, resource in RESOURCES.items():
        for node in walk(resource["Properties"]):
            if isinstance(node, dict) and "Statement" in node:
                for candidate in walk(node["Statement"]):
                    if isinstance(candidate, dict) and "Effect" in candidate:
                        yield logical_id, candidate


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def referenced_arn_targets(key: str) -> set[str]:
    """Logical ids named by `{"Fn::GetAtt": [id, "Arn"]}` under any `key` in the template."""
    found = set()
    for node in walk(RESOURCES):
        if isinstance(node, dict) and key in node:
            target = node[key]
            if isinstance(target, dict) and "Fn::GetAtt" in target:
                found.add(target["Fn::GetAtt"][0])
    return found


def test_template_file_is_generated_from_the_python_definition() -> None:
    assert TEMPLATE_PATH.read_text() == render(), "run `python -m infra.cloudformation.template`"


def test_cfn_lint_finds_nothing() -> None:
    assert [str(match) for match in lint_file(TEMPLATE_PATH)] == []


def dead_letter_queues() -> set[str]:
    """Queues something sends its failures to: SQS and SNS redrive policies, Lambda's
    asynchronous and EventBridge targets' `DeadLetterConfig`."""
    return (
        referenced_arn_targets("deadLetterTargetArn")  # SQS and SNS redrive policies
        | referenced_arn_targets("TargetArn")  # Lambda asynchronous DeadLetterConfig
        | {
            node["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0]  # EventBridge target DLQs
            for node in walk(RESOURCES)
            if isinstance(node, dict) and "Arn" in node.get("DeadLetterConfig", {})
        }
    )


def senders_admitted(queue: str, service: str) -> list[Any]:
    """The source ARNs on whose behalf `service` may send to `queue` (its queue policies)."""
    admitted: list[Any] = []
    for properties in of_type("AWS::SQS::QueuePolicy").values():
        if {"Ref": queue} not in properties["Queues"]:
            continue
        for statement in properties["PolicyDocument"]["Statement"]:
            if statement["Principal"] == {"Service": service}:
                assert statement["Action"] == "sqs:SendMessage", queue
                admitted += statement["Condition"]["ArnEquals"]["aws:SourceArn"]
    return admitted


def test_every_queue_has_a_dead_letter_queue_or_is_one() -> None:
    queues = of_type("AWS::SQS::Queue")
    consumer_queues = {
        f"{pascal(consumer.service)}{kind}" for consumer in CONSUMERS for kind in QUEUE_KINDS
    }
    assert consumer_queues | {"OrderUpdatesQueue", ALARMS_QUEUE} <= set(queues)
    dead_letters = dead_letter_queues()
    assert dead_letters <= set(queues)
    for logical_id, properties in queues.items():
        if logical_id in dead_letters:
            assert "RedrivePolicy" not in properties, logical_id
            assert properties["MessageRetentionPeriod"] == 14 * 24 * 3600, logical_id
            assert f"{logical_id}DepthAlarm" in RESOURCES, f"{logical_id} has no alarm"
        elif logical_id == ALARMS_QUEUE:
            # read without consuming: receives must not move its messages anywhere
            assert "RedrivePolicy" not in properties
        else:
            assert properties["RedrivePolicy"]["maxReceiveCount"] == {"Ref": "MaxReceiveCount"}


def test_every_source_queue_long_polls_and_every_queue_states_its_retention() -> None:
    queues = of_type("AWS::SQS::Queue")
    dead_letters = dead_letter_queues()
    sources = set(queues) - dead_letters
    assert sources
    for logical_id in sources:
        properties = queues[logical_id]
        assert properties["ReceiveMessageWaitTimeSeconds"] == {"Ref": "QueueReceiveWaitSeconds"}
        assert properties["MessageRetentionPeriod"] == {"Ref": "QueueRetentionSeconds"}
    assert PARAMETERS["QueueReceiveWaitSeconds"]["Default"] == 20
    # a dead-letter queue outlives what it keeps: its retention is the longest a source allows
    assert PARAMETERS["QueueRetentionSeconds"]["MaxValue"] == 14 * 24 * 3600
    assert all("MessageRetentionPeriod" in queues[dlq] for dlq in dead_letters)


def test_every_rule_target_retries_then_sends_to_a_dead_letter_queue_it_may_write() -> None:
    rules = of_type("AWS::Events::Rule")
    targets = [
        (rule, target) for rule, properties in rules.items() for target in properties["Targets"]
    ]
    assert {rule for rule, _ in targets} == set(rules)
    for rule, target in targets:
        assert target["RetryPolicy"] == {
            "MaximumRetryAttempts": {"Ref": "RuleTargetMaximumRetryAttempts"},
            "MaximumEventAgeInSeconds": {"Ref": "RuleTargetMaximumEventAgeSeconds"},
        }, rule
        dlq = target["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0]
        assert RESOURCES[dlq]["Type"] == "AWS::SQS::Queue", rule
        assert {"Fn::GetAtt": [rule, "Arn"]} in senders_admitted(dlq, "events.amazonaws.com")


def test_every_subscription_redrives_to_a_dead_letter_queue_it_may_write() -> None:
    subscriptions = of_type("AWS::SNS::Subscription")
    assert subscriptions
    for logical_id, properties in subscriptions.items():
        dlq = properties["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
        assert RESOURCES[dlq]["Type"] == "AWS::SQS::Queue", logical_id
        assert properties["TopicArn"] in senders_admitted(dlq, "sns.amazonaws.com"), logical_id
        if properties["Protocol"] == "sqs":
            endpoint = properties["Endpoint"]["Fn::GetAtt"][0]
            assert properties["TopicArn"] in senders_admitted(endpoint, "sns.amazonaws.com")


def test_the_alarm_topic_has_a_queue_subscription_and_mails_only_on_aws_with_an_address() -> None:
    alarm_topics = {
        action["Ref"]
        for properties in of_type("AWS::CloudWatch::Alarm").values()
        for action in properties["AlarmActions"]
    }
    assert alarm_topics == {"OpsAlertsTopic"}
    subscriptions = [
        (RESOURCES[logical_id].get("Condition"), properties)
        for logical_id, properties in of_type("AWS::SNS::Subscription").items()
        if properties["TopicArn"] == {"Ref": "OpsAlertsTopic"}
    ]
    by_protocol = {properties["Protocol"]: (c, properties) for c, properties in subscriptions}
    assert set(by_protocol) == {"sqs", "email"}
    condition, queue_subscription = by_protocol["sqs"]
    assert condition is None
    assert queue_subscription["Endpoint"] == {"Fn::GetAtt": [ALARMS_QUEUE, "Arn"]}
    assert TEMPLATE["Outputs"]["AlarmsQueueUrl"]["Value"] == {"Ref": ALARMS_QUEUE}
    condition, mail = by_protocol["email"]
    assert mail["Endpoint"] == {"Ref": "AlarmEmail"}
    assert PARAMETERS["AlarmEmail"]["Default"] == ""
    assert TEMPLATE["Conditions"][condition] == {
        "Fn::And": [
            {"Condition": "IsAws"},
            {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]},
        ]
    }
    assert TEMPLATE["Conditions"]["IsAws"] == {"Fn::Equals": [{"Ref": "DeploymentTarget"}, "aws"]}


def test_every_dead_letter_queue_can_be_redriven() -> None:
    outputs = TEMPLATE["Outputs"]
    dead_letter_outputs = {dlq for dlq, _ in DEAD_LETTER_QUEUES.values()}
    assert dead_letter_outputs == {name for name in outputs if name.endswith("DlqUrl")}
    sources = {source for _, source in DEAD_LETTER_QUEUES.values() if source is not None}
    assert sources <= set(outputs)


def test_fifo_queues_send_to_fifo_dead_letter_queues() -> None:
    queues = of_type("AWS::SQS::Queue")
    for logical_id, properties in queues.items():
        if "RedrivePolicy" in properties:
            dlq = properties["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
            assert properties.get("FifoQueue") == queues[dlq].get("FifoQueue"), logical_id


def test_every_event_source_mapping_reports_batch_item_failures() -> None:
    mappings = of_type("AWS::Lambda::EventSourceMapping")
    assert set(mappings) == {
        f"{pascal(consumer.service)}EventSourceMapping" for consumer in CONSUMERS
    }
    for logical_id, properties in mappings.items():
        assert properties["FunctionResponseTypes"] == ["ReportBatchItemFailures"], logical_id
        assert properties["ScalingConfig"] == {"MaximumConcurrency": {"Ref": "MaximumConcurrency"}}


def test_no_policy_grants_wildcard_actions() -> None:
    checked = 0
    for logical_id, statement in statements():
        for action in as_list(statement.get("Action", [])):
            checked += 1
            assert "*" not in action, f"{logical_id} grants {action}"
    assert checked > 40


def test_role_policies_name_their_resources() -> None:
    """Only X-Ray, which has no resource-level permissions, may use Resource "*"."""
    for role_id, properties in of_type("AWS::IAM::Role").items():
        for policy in properties["Policies"]:
            for statement in walk(policy["PolicyDocument"]["Statement"]):
                if not (isinstance(statement, dict) and "Effect" in statement):
                    continue
                if statement["Resource"] == "*":
                    actions = as_list(statement["Action"])
                    assert all(a.startswith("xray:") for a in actions), f"{role_id}: {actions}"


def test_frontend_bucket_is_private_and_encrypted() -> None:
    bucket = RESOURCES["FrontendBucket"]["Properties"]
    assert set(bucket["PublicAccessBlockConfiguration"].values()) == {True}
    assert len(bucket["PublicAccessBlockConfiguration"]) == 4
    (rule,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in {"AES256", "aws:kms"}
    assert "AccessControl" not in bucket and "WebsiteConfiguration" not in bucket
    policy = RESOURCES["FrontendBucketPolicy"]["Properties"]["PolicyDocument"]
    allows = [s for s in policy["Statement"] if s["Effect"] == "Allow"]
    assert allows and all(
        s["Principal"] == {"Service": "cloudfront.amazonaws.com"}
        and "AWS:SourceArn" in s["Condition"]["StringEquals"]
        for s in allows
    )


def test_function_urls_answer_only_the_distribution_on_every_target() -> None:
    """Each reader's URL takes signed requests only, its function admits CloudFront on behalf of
    the stack's distribution and no one else, and the distribution signs the requests to its
    origin with an origin access control for Lambda. No condition touches any of it, so it
    holds on every target."""
    distribution = {
        "Fn::Sub": "arn:${AWS::Partition}:cloudfront::${AWS::AccountId}"
        ":distribution/${Distribution}"
    }
    urls = of_type("AWS::Lambda::Url")
    permissions = of_type("AWS::Lambda::Permission")
    config = RESOURCES["Distribution"]["Properties"]["DistributionConfig"]
    origins = {origin["Id"]: origin for origin in config["Origins"]}
    controls = of_type("AWS::CloudFront::OriginAccessControl")
    functions = {f"{pascal(reader.name)}Function": reader.name for reader in HTTP_READERS}
    assert functions
    assert {url["TargetFunctionArn"]["Fn::GetAtt"][0] for url in urls.values()} == set(functions)
    assert {url["AuthType"] for url in urls.values()} == {"AWS_IAM"}
    for function, reader in functions.items():
        granted = [p for p in permissions.values() if p["FunctionName"] == {"Ref": function}]
        assert sorted((p["Action"], p.get("InvokedViaFunctionUrl")) for p in granted) == [
            ("lambda:InvokeFunction", True),
            ("lambda:InvokeFunctionUrl", None),
        ], reader
        for permission in granted:
            assert permission["Principal"] == "cloudfront.amazonaws.com", reader
            assert permission["SourceArn"] == distribution, reader
        control_id = origins[reader]["OriginAccessControlId"]["Fn::GetAtt"][0]
        control = controls[control_id]["OriginAccessControlConfig"]
        assert control["OriginAccessControlOriginType"] == "lambda", reader
        assert (control["SigningBehavior"], control["SigningProtocol"]) == ("always", "sigv4")
    assert all(p["Principal"] != "*" for p in permissions.values())
    for logical_id, resource in RESOURCES.items():
        if resource["Type"] in {"AWS::Lambda::Url", "AWS::Lambda::Permission"}:
            assert "Condition" not in resource and "Fn::If" not in json.dumps(resource), logical_id


def test_topics_and_queues_are_encrypted_in_both_encryption_modes() -> None:
    for logical_id, properties in of_type("AWS::SNS::Topic").items():
        assert "KmsMasterKeyId" in properties, logical_id
    for logical_id, properties in of_type("AWS::SQS::Queue").items():
        key, managed = properties["KmsMasterKeyId"], properties["SqsManagedSseEnabled"]
        # customer-managed key in one branch, SQS-managed SSE in the other
        assert key["Fn::If"][1] == {"Ref": "MessagingKey"}, logical_id
        assert managed["Fn::If"][2] is True, logical_id


def test_physical_names_derive_from_the_stack_name() -> None:
    name_keys = {"QueueName", "TopicName", "FunctionName", "AlarmName", "LogGroupName"}
    for logical_id, resource in RESOURCES.items():
        properties = resource["Properties"]
        names = [properties[key] for key in name_keys if key in properties]
        if resource["Type"] in {"AWS::Events::Rule", "AWS::Events::EventBus"}:
            names.append(properties["Name"])
        for name in names:
            if isinstance(name, dict) and "Ref" in name:
                continue  # a reference to another resource's (derived) name
            assert "${AWS::StackName}" in name.get("Fn::Sub", ""), f"{logical_id}: {name}"


def test_queue_visibility_is_six_function_timeouts_in_every_profile() -> None:
    def default(name: str) -> int:
        return int(PARAMETERS[name]["Default"])

    for profile in PROFILES.values():
        timeout = int(profile.get("FunctionTimeoutSeconds", default("FunctionTimeoutSeconds")))
        visibility = int(
            profile.get("QueueVisibilityTimeoutSeconds", default("QueueVisibilityTimeoutSeconds"))
        )
        assert visibility >= VISIBILITY_TO_FUNCTION_TIMEOUT * timeout


def test_profiles_and_emulator_values_name_template_parameters() -> None:
    for profile in PROFILES.values():
        assert set(profile) <= set(PARAMETERS)
    assert set(emulator_parameters("shop", 8000)) <= set(PARAMETERS)


def test_every_function_has_its_configuration_and_a_log_group_with_retention() -> None:
    functions = of_type("AWS::Lambda::Function")
    assert set(functions) == {
        *(f"{pascal(consumer.service)}Function" for consumer in CONSUMERS),
        "FraudFunction",
        "InventoryCatalogueFunction",
        "AnalyticsDashboardFunction",
    }
    for logical_id, properties in functions.items():
        variables = properties["Environment"]["Variables"]
        assert {
            "DATABASE_URL",
            "EVENT_BUS_NAME",
            "POWERTOOLS_SERVICE_NAME",
            "POWERTOOLS_METRICS_NAMESPACE",
            "POWERTOOLS_TRACE_DISABLED",
            "POWERTOOLS_LOG_LEVEL",
        } <= set(variables), logical_id
        assert properties["Runtime"] == "python3.11"
        log_group = RESOURCES[logical_id.removesuffix("Function") + "LogGroup"]["Properties"]
        assert log_group["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    assert "SENDER_EMAIL" in functions["EmailFunction"]["Environment"]["Variables"]


def resolved_pattern(logical_id: str, threshold: int, countries: str) -> dict[str, Any]:
    """A rule's `Fn::Sub` pattern with the parameters substituted as CloudFormation would."""
    text, variables = RESOURCES[logical_id]["Properties"]["EventPattern"]["Fn::Sub"]
    assert variables["Threshold"] == {"Ref": "FraudThresholdMinorUnits"}
    countries_source = variables["AllowedCountriesJoined"]["Fn::Join"][1]["Fn::Split"][1]
    assert countries_source == {"Ref": "FraudAllowedCountries"}
    text = text.replace("${Threshold}", str(threshold))
    text = text.replace("${AllowedCountriesJoined}", '","'.join(countries.split(",")))
    pattern: dict[str, Any] = json.loads(text)
    return pattern


@pytest.mark.parametrize(("threshold", "countries"), [(50000, "AT,DE,FR"), (1, "NL")])
def test_both_fraud_rules_come_from_the_one_policy(threshold: int, countries: str) -> None:
    policy = FraudPolicy(threshold, tuple(countries.split(",")))
    assert resolved_pattern("FraudScreeningRule", threshold, countries) == policy.screening()
    assert resolved_pattern("FraudFastPassRule", threshold, countries) == policy.fast_pass()


def test_fraud_policy_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="positive"):
        FraudPolicy(0, ("DE",))
    with pytest.raises(ValueError, match="alpha-2"):
        FraudPolicy(100, ("Germany",))
    with pytest.raises(ValueError, match="at least one"):
        FraudPolicy(100, ())


EMULATOR = Target("shop", "us-east-1", "http://127.0.0.1:4566")
AWS = Target("shop", "us-east-1", None)


def test_emulator_parameters_point_at_local_databases_and_the_local_site() -> None:
    values = resolve_parameters(EMULATOR, "test", {}, orders_api_port=8123)
    assert values["InventoryDatabaseUrl"].endswith("/.data/shop/inventory.db")
    assert values["InventoryDatabaseUrl"].startswith("sqlite:////")
    assert (values["SiteDomainName"], values["OrdersApiPort"]) == ("shop.localhost", "8123")
    assert values["MaxReceiveCount"] == TEST_PROFILE["MaxReceiveCount"]


def test_aws_needs_every_database_url() -> None:
    with pytest.raises(DeployError, match="InventoryDatabaseUrl, EmailDatabaseUrl"):
        resolve_parameters(AWS, "default", {}, orders_api_port=443)
    urls = {f"{name}DatabaseUrl": "postgresql+psycopg://db/x" for name in ("Inventory", "Email")}
    urls |= {f"{name}DatabaseUrl": "postgresql+psycopg://db/x" for name in ("Analytics", "Fraud")}
    with pytest.raises(DeployError, match="PaymentsDatabaseUrl"):
        resolve_parameters(AWS, "default", urls, orders_api_port=443)


def test_bad_configuration_is_named() -> None:
    with pytest.raises(DeployError, match="less than 6 x FunctionTimeoutSeconds 30"):
        resolve_parameters(EMULATOR, "default", {"QueueVisibilityTimeoutSeconds": "60"}, 8000)
    with pytest.raises(DeployError, match="NoSuchParameter is not a template parameter"):
        parse_parameter_flags(["NoSuchParameter=1"])
    with pytest.raises(DeployError, match="is not Key=Value"):
        parse_parameter_flags(["MaxReceiveCount"])
    with pytest.raises(DeployError, match="unknown profile"):
        resolve_parameters(EMULATOR, "fast", {}, 8000)
    with pytest.raises(DeployError, match="stack name 'my_stack'"):
        Target("my_stack", "us-east-1", None)


def test_parameter_store_is_read_only_on_the_operators_path() -> None:
    """The operators' digests are readable by the readers that admit operators (and, on AWS,
    through a managed policy for the orders service); nothing writes Parameter Store."""
    readers: set[str] = set()
    for logical_id, statement in statements():
        actions = as_list(statement["Action"])
        if not any(action.startswith("ssm:") for action in actions):
            continue
        readers.add(logical_id)
        assert set(actions) <= {"ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath"}
        resource = statement["Resource"]["Fn::Sub"]
        path = resource.split(":parameter", 1)[1]
        assert path in {"/${AWS::StackName}/operators", "/${AWS::StackName}/operators/*"}
    assert readers == {"AnalyticsDashboardRole", "OrdersServiceOperatorsPolicy"}
    assert RESOURCES["OrdersServiceOperatorsPolicy"]["Condition"] == "IsAws"
    variables = of_type("AWS::Lambda::Function")["AnalyticsDashboardFunction"]["Environment"]
    assert variables["Variables"]["OPERATORS_PATH"] == {"Fn::Sub": "/${AWS::StackName}/operators"}
    assert TEMPLATE["Outputs"]["OperatorsPath"]["Value"] == variables["Variables"]["OPERATORS_PATH"]


def test_only_the_buckets_403_falls_back_to_the_single_page_app() -> None:
    """Custom error responses apply to the API behaviours too: an API's 404 (an unknown order, a
    wrong token) must reach the client; the APIs never answer 403."""
    config = RESOURCES["Distribution"]["Properties"]["DistributionConfig"]
    assert [error["ErrorCode"] for error in config["CustomErrorResponses"]] == [403]


def distribution_behaviours() -> list[dict[str, Any]]:
    config = RESOURCES["Distribution"]["Properties"]["DistributionConfig"]
    return [config["DefaultCacheBehavior"], *config["CacheBehaviors"]]


def test_every_behaviour_sends_the_security_headers() -> None:
    """The page (default behaviour) and every API behaviour carry the one headers policy."""
    (policy_id,) = of_type("AWS::CloudFront::ResponseHeadersPolicy")
    behaviours = distribution_behaviours()
    assert {b.get("PathPattern", "*") for b in behaviours} >= {"*", "/api/*"}
    for behaviour in behaviours:
        assert behaviour["ResponseHeadersPolicyId"] == {"Ref": policy_id}, behaviour


def test_security_headers_policy_names_every_header_and_forbids_framing() -> None:
    ((_, properties),) = of_type("AWS::CloudFront::ResponseHeadersPolicy").items()
    headers = properties["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    hsts = headers["StrictTransportSecurity"]
    assert hsts["AccessControlMaxAgeSec"] >= 31_536_000
    assert hsts["IncludeSubdomains"] is True
    assert "ContentTypeOptions" in headers
    assert headers["ReferrerPolicy"]["ReferrerPolicy"] in {
        "strict-origin-when-cross-origin",
        "no-referrer",
    }
    assert headers["FrameOptions"]["FrameOption"] == "DENY"
    directives = [
        d.strip() for d in headers["ContentSecurityPolicy"]["ContentSecurityPolicy"].split(";")
    ]
    assert "frame-ancestors 'none'" in directives
    assert "script-src 'self'" in directives
    assert all(setting["Override"] is True for setting in headers.values())


def test_the_page_leaves_its_content_security_policy_to_the_header() -> None:
    """A <meta> policy cannot set frame-ancestors, and two policies would both apply."""
    page = (Path(__file__).resolve().parents[3] / "frontend" / "index.html").read_text()
    assert "Content-Security-Policy" not in page


def test_viewers_on_aws_need_tls_1_2_and_a_certificate_of_the_site() -> None:
    """The default certificate (TLS 1.0 allowed) only without a certificate, which the rule
    refuses on AWS before CloudFormation changes anything."""
    config = RESOURCES["Distribution"]["Properties"]["DistributionConfig"]
    condition, with_certificate, without = config["ViewerCertificate"]["Fn::If"]
    has_certificate = {"Fn::Not": [{"Fn::Equals": [{"Ref": "CertificateArn"}, ""]}]}
    assert TEMPLATE["Conditions"][condition] == has_certificate
    assert with_certificate == {
        "AcmCertificateArn": {"Ref": "CertificateArn"},
        "SslSupportMethod": "sni-only",
        "MinimumProtocolVersion": "TLSv1.2_2021",
    }
    assert without == {"CloudFrontDefaultCertificate": True}
    rule = TEMPLATE["Rules"]["CertificateOnAws"]
    assert rule["RuleCondition"] == {"Fn::Equals": [{"Ref": "DeploymentTarget"}, "aws"]}
    assert [assertion["Assert"] for assertion in rule["Assertions"]] == [has_certificate]
