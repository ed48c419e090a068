"""Fixtures for the service tests: one app for the module (the shipped default model and `cnn`), and apps
with other settings made by a factory."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from deepcolor.serve import Settings, create_app

# Where the test clients send their requests: a host the server serves (it refuses other Host headers).
BASE_URL = "http://127.0.0.1:8000"


@pytest.fixture(scope="session")
def client() -> Iterator[TestClient]:
    with TestClient(create_app(Settings(workers=2, models=["cnn"])), base_url=BASE_URL) as test_client:
        yield test_client


@pytest.fixture
def make_client() -> Iterator[Callable[..., TestClient]]:
    """make_client(**settings) -> a started TestClient for an app with those settings (default model only)."""
    opened: list[TestClient] = []

    def make(**settings: object) -> TestClient:
        settings.setdefault("models", [])
        settings.setdefault("workers", 1)
        test_client = TestClient(create_app(Settings(**settings)), base_url=BASE_URL)
        test_client.__enter__()
        opened.append(test_client)
        return test_client

    yield make
    for test_client in opened:
        test_client.__exit__(None, None, None)
