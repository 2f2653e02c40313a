"""Fixtures of the object-storage tests."""
from __future__ import annotations

import pytest


@pytest.fixture
def no_instance_metadata(monkeypatch):
    """Never let botocore's credential chain look for an EC2 metadata service (off-host). The modules
    that build S3 clients use it for every test (`pytestmark = pytest.mark.usefixtures(...)`)."""
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
