"""Shared fixtures: the lifetimes package folder and fitted models, built once per session."""

from pathlib import Path

import pytest

from clv.datasets import _lifetimes_dir


@pytest.fixture(scope="session")
def lifetimes_dir() -> Path:
    return _lifetimes_dir()
