"""Custom import-linter contracts of this repository (configured in pyproject.toml)."""
