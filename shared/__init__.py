"""The project's shared package: event envelope and contracts, settings, AWS clients."""
