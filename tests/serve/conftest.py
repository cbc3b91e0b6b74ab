"""The registry-backed deployment of tests/canary, for the scoring tests."""

from tests.canary.conftest import deployment, mlflow_template, two_versions

__all__ = ["deployment", "mlflow_template", "two_versions"]
