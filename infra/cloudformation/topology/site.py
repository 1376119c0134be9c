"""The site: the private frontend bucket behind CloudFront (origin access control), the
distribution with an origin per HTTP reader and the orders API, the security headers of every
response, and the Route 53 alias records."""

from __future__ import annotations

from collections.abc import Sequence

from infra.cloudformation.topology.blocks import DISTRIBUTION_ARN, Json, get_att, pascal, ref, sub
from infra.cloudformation.topology.builder import TemplateBuilder
from infra.cloudformation.topology.firewall import web_acl_id
from infra.cloudformation.topology.http_readers import HttpReader

CLOUDFRONT_ALIAS_ZONE_ID = "Z2FDTNDATAQYW2"
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
ALL_VIEWER_EXCEPT_HOST_HEADER = "b689b0a8-53d0-40ab-baf2-68738e2966ac"
ALL_METHODS = ["GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"]
TWO_YEARS = 63_072_000
# The page's policy (it loads its own scripts, styles and images, and talks to its own origin
# only), sent as a header because a <meta> policy cannot set frame-ancestors. No path of the site
# is meant to be framed, not even by the site itself, so no behaviour allows 'self' framing.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
READ_METHODS = ["GET", "HEAD"]


def add_site(builder: TemplateBuilder, readers: Sequence[HttpReader]) -> None:
    add_frontend_bucket(builder)
    add_security_headers(builder)
    add_function_url_origin_access(builder)
    add_distribution(builder, readers)
    add_alias_records(builder)
    builder.output("FrontendBucketName", ref("FrontendBucket"), "Bucket of the static site")
    builder.output("DistributionId", ref("Distribution"), "The CloudFront distribution")
    builder.output(
        "DistributionDomainName", get_att("Distribution", "DomainName"), "Its domain name"
    )
    builder.output("HostedZoneId", ref("HostedZone"), "Hosted zone of the site")
    builder.output("SiteDomainName", ref("SiteDomainName"), "Name of the site")
    builder.output("SenderEmail", ref("SenderEmail"), "Address the email service sends from")


def add_frontend_bucket(builder: TemplateBuilder) -> None:
    """The private bucket, readable only by the distribution through its origin access control."""
    builder.add(
        "FrontendBucket",
        "AWS::S3::Bucket",
        {
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True,
                "BlockPublicPolicy": True,
                "IgnorePublicAcls": True,
                "RestrictPublicBuckets": True,
            },
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [
                    {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
                ]
            },
            "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
            "VersioningConfiguration": {"Status": "Enabled"},
        },
        UpdateReplacePolicy="Retain",
        DeletionPolicy="Delete",
    )
    builder.add(
        "FrontendOriginAccessControl",
        "AWS::CloudFront::OriginAccessControl",
        {
            "OriginAccessControlConfig": {
                "Name": sub("${AWS::StackName}-frontend"),
                "Description": "CloudFront reads the private frontend bucket",
                "OriginAccessControlOriginType": "s3",
                "SigningBehavior": "always",
                "SigningProtocol": "sigv4",
            }
        },
    )
    bucket_objects = sub("${FrontendBucket.Arn}/*")
    builder.add(
        "FrontendBucketPolicy",
        "AWS::S3::BucketPolicy",
        {
            "Bucket": ref("FrontendBucket"),
            "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "CloudFrontReadsThroughOriginAccessControl",
                        "Effect": "Allow",
                        "Principal": {"Service": "cloudfront.amazonaws.com"},
                        "Action": "s3:GetObject",
                        "Resource": bucket_objects,
                        "Condition": {"StringEquals": {"AWS:SourceArn": DISTRIBUTION_ARN}},
                    },
                    {
                        "Sid": "DenyInsecureTransport",
                        "Effect": "Deny",
                        "Principal": {"AWS": "*"},
                        "Action": "s3:GetObject",
                        "Resource": bucket_objects,
                        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                    },
                ],
            },
        },
    )


def add_security_headers(builder: TemplateBuilder) -> None:
    """The response headers policy of every behaviour: the page and the APIs alike."""
    builder.add(
        "SecurityHeadersPolicy",
        "AWS::CloudFront::ResponseHeadersPolicy",
        {
            "ResponseHeadersPolicyConfig": {
                "Name": sub("${AWS::StackName}-security-headers"),
                "Comment": "HSTS, nosniff, referrer policy, no framing, the page's CSP",
                "SecurityHeadersConfig": {
                    "StrictTransportSecurity": {
                        "AccessControlMaxAgeSec": TWO_YEARS,
                        "IncludeSubdomains": True,
                        "Preload": False,
                        "Override": True,
                    },
                    "ContentTypeOptions": {"Override": True},
                    "ReferrerPolicy": {
                        "ReferrerPolicy": "strict-origin-when-cross-origin",
                        "Override": True,
                    },
                    "FrameOptions": {"FrameOption": "DENY", "Override": True},
                    "ContentSecurityPolicy": {
                        "ContentSecurityPolicy": CONTENT_SECURITY_POLICY,
                        "Override": True,
                    },
                },
            }
        },
    )


def add_function_url_origin_access(builder: TemplateBuilder) -> None:
    """The origin access control of the readers' function URLs: CloudFront signs every request
    to them (SigV4, replacing a viewer's ``Authorization``), which is all their ``AWS_IAM`` URLs
    take (`http_readers.py`)."""
    builder.add(
        "FunctionUrlOriginAccessControl",
        "AWS::CloudFront::OriginAccessControl",
        {
            "OriginAccessControlConfig": {
                "Name": sub("${AWS::StackName}-function-urls"),
                "Description": "CloudFront signs its requests to the readers' function URLs",
                "OriginAccessControlOriginType": "lambda",
                "SigningBehavior": "always",
                "SigningProtocol": "sigv4",
            }
        },
    )


def function_url_origin(reader: HttpReader) -> Json:
    url = get_att(f"{pascal(reader.name)}Url", "FunctionUrl")
    return {
        "Id": reader.name,
        "DomainName": {"Fn::Select": [2, {"Fn::Split": ["/", url]}]},
        "OriginAccessControlId": get_att("FunctionUrlOriginAccessControl", "Id"),
        "CustomOriginConfig": {
            "OriginProtocolPolicy": ref("FunctionUrlOriginProtocol"),
            "HTTPPort": 80,
            "HTTPSPort": 443,
            "OriginSSLProtocols": ["TLSv1.2"],
        },
    }


def api_behaviour(path_pattern: str, origin_id: str, methods: list[str]) -> Json:
    return {
        "PathPattern": path_pattern,
        "TargetOriginId": origin_id,
        "ViewerProtocolPolicy": ref("ViewerProtocolPolicy"),
        "AllowedMethods": methods,
        "CachedMethods": ["GET", "HEAD"],
        "CachePolicyId": CACHING_DISABLED,
        "OriginRequestPolicyId": ALL_VIEWER_EXCEPT_HOST_HEADER,
        "ResponseHeadersPolicyId": ref("SecurityHeadersPolicy"),
        "Compress": True,
    }


def add_distribution(builder: TemplateBuilder, readers: Sequence[HttpReader]) -> None:
    origins = [
        {
            "Id": "frontend",
            "DomainName": get_att("FrontendBucket", "RegionalDomainName"),
            "S3OriginConfig": {"OriginAccessIdentity": ""},
            "OriginAccessControlId": get_att("FrontendOriginAccessControl", "Id"),
        },
        *(function_url_origin(reader) for reader in readers),
        {
            "Id": "orders-api",
            "DomainName": ref("OrdersApiDomain"),
            "CustomOriginConfig": {
                "OriginProtocolPolicy": ref("OrdersApiProtocol"),
                "HTTPPort": ref("OrdersApiPort"),
                "HTTPSPort": ref("OrdersApiPort"),
                "OriginSSLProtocols": ["TLSv1.2"],
            },
        },
    ]
    behaviours = [
        # The readers answer GET only; any other method, with a body CloudFront cannot sign
        # unless the viewer sends its SHA-256, is refused at the edge.
        *(api_behaviour(reader.path_pattern, reader.name, READ_METHODS) for reader in readers),
        api_behaviour("/api/*", "orders-api", ALL_METHODS),
    ]
    # Viewers get TLS 1.2 or later, which needs a certificate of the site's own (CloudFront's
    # default certificate still allows TLS 1.0): the rule CertificateOnAws refuses AWS without
    # one, so only the emulator, which serves plain HTTP, keeps the default certificate.
    certificate = {
        "Fn::If": [
            "HasCertificate",
            {
                "AcmCertificateArn": ref("CertificateArn"),
                "SslSupportMethod": "sni-only",
                "MinimumProtocolVersion": "TLSv1.2_2021",
            },
            {"CloudFrontDefaultCertificate": True},
        ]
    }
    builder.add(
        "Distribution",
        "AWS::CloudFront::Distribution",
        {
            "DistributionConfig": {
                "Enabled": True,
                "Comment": sub("${AWS::StackName} shop"),
                "Aliases": [ref("SiteDomainName")],
                "DefaultRootObject": "index.html",
                "HttpVersion": "http2",
                "IPV6Enabled": True,
                "PriceClass": "PriceClass_100",
                "Origins": origins,
                "DefaultCacheBehavior": {
                    "TargetOriginId": "frontend",
                    "ViewerProtocolPolicy": ref("ViewerProtocolPolicy"),
                    "AllowedMethods": ["GET", "HEAD"],
                    "CachedMethods": ["GET", "HEAD"],
                    "CachePolicyId": CACHING_OPTIMIZED,
                    "ResponseHeadersPolicyId": ref("SecurityHeadersPolicy"),
                    "Compress": True,
                },
                "CacheBehaviors": behaviours,
                # Error responses apply to every behaviour, the APIs too. The bucket answers a
                # missing key with 403 (read through the origin access control, never listed):
                # that is the single-page app's fallback. The APIs never answer 403, so their
                # 404s (an unknown order, a wrong token) reach clients as they are (a reader's
                # URL answers 403 only to a request the distribution did not sign).
                "CustomErrorResponses": [
                    {
                        "ErrorCode": 403,
                        "ResponseCode": 200,
                        "ResponsePagePath": "/index.html",
                        "ErrorCachingMinTTL": 10,
                    }
                ],
                "ViewerCertificate": certificate,
                "WebACLId": web_acl_id(),
            }
        },
    )


def add_alias_records(builder: TemplateBuilder) -> None:
    builder.add("HostedZone", "AWS::Route53::HostedZone", {"Name": ref("SiteDomainName")})
    for record_type in ("A", "AAAA"):
        builder.add(
            f"SiteAlias{record_type}",
            "AWS::Route53::RecordSet",
            {
                "HostedZoneId": ref("HostedZone"),
                "Name": ref("SiteDomainName"),
                "Type": record_type,
                "AliasTarget": {
                    "DNSName": get_att("Distribution", "DomainName"),
                    "HostedZoneId": CLOUDFRONT_ALIAS_ZONE_ID,
                    "EvaluateTargetHealth": False,
                },
            },
        )
