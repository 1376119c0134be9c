"""LocalStack extensions of the shop (loaded inside LocalStack's own virtual environment)."""
