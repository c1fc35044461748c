"""The test configuration hides third-party deprecation notices and nothing of the project's own."""

from __future__ import annotations

import tomllib
import warnings
from pathlib import Path

import pytest
from _pytest.config import parse_warning_filter

FILTERS = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"][
    "filterwarnings"]


def shown(category: type[Warning], module: str) -> bool:
    """Whether a warning of ``category`` raised in ``module`` survives the configured filters."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for line in FILTERS:
            warnings.filterwarnings(*parse_warning_filter(line, escape=False))
        warnings.warn_explicit("old API", category, f"{module.replace('.', '/')}.py", 1, module=module)
    return bool(caught)


@pytest.mark.parametrize("module", ["mlagents_envs.communicator_objects.unity_rl_input_pb2", "mlagents_envs.environment",
                                    "google.protobuf.descriptor", "ray._private.worker"])
def test_third_party_deprecation_warnings_are_filtered(module):
    assert not shown(DeprecationWarning, module)


@pytest.mark.parametrize("module", ["brain.training.trainer", "analysis.report", "regions.dnd", "tasks.env"])
def test_the_projects_own_warnings_stay_visible(module):
    assert shown(DeprecationWarning, module) and shown(UserWarning, module)


def test_other_warnings_of_third_parties_stay_visible():
    assert shown(RuntimeWarning, "mlagents_envs.environment")
