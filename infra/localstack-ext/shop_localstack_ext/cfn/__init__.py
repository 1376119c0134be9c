"""CloudFormation resource providers for the types community LocalStack lacks."""
