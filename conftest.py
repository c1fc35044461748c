"""Fixtures every test folder may use (at the root: pytest --doctest-modules would import a tests/conftest.py as a
module named like the folders' own conftest files)."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture
def one_thread():
    """One torch thread, as training's workers: the tiny brain steps in a millisecond, not tens on busy cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
