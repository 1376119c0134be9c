"""The stack's resources, one module per concern; `infra.cloudformation.template` assembles them.

A new SQS consumer is one `Consumer` entry in `consumers.CONSUMERS`.
"""
