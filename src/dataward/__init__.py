"""Dataward: GDPR and SOC 2 controls by default for APIs that handle personal data."""

__version__ = "0.1.0"
__all__ = ["__version__"]
