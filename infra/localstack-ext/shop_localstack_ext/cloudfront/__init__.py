"""A CloudFront control plane for LocalStack community: every operation is answered by moto."""
