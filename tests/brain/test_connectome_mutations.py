"""Property: one hand edit of wba.yaml is either refused with one message or gives a brain that can take a step.

A researcher edits connectomes by hand all day. Whatever one edit does (drop a key, change a
value's type, a size, a port name or a delay), ``python -m brain.run --check`` must either refuse
it (exit code 2, one message, no traceback) or accept it, and then the brain it accepted must
build and take a step with finite outputs: never a crash, a hang or a NaN after the check passed.
"""

from __future__ import annotations

import contextlib
import copy
import io
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from brain import Brain, run

WBA = yaml.safe_load((Path(__file__).resolve().parents[2] / "connectome" / "wba.yaml").read_text())
Path_ = tuple[Any, ...]


def paths(node: Any, prefix: Path_ = ()) -> list[Path_]:
    """Every key and list index of a YAML document, depth first."""
    found: list[Path_] = []
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        found.append((*prefix, key))
        found += paths(value, (*prefix, key))
    return found


def get(doc: Any, path: Path_) -> Any:
    for part in path:
        doc = doc[part]
    return doc


ALL_PATHS = paths(WBA)
NUMBER_PATHS = [path for path in ALL_PATHS
                if isinstance(get(WBA, path), (int, float)) and not isinstance(get(WBA, path), bool)]
NAMES = sorted({part for connection in WBA["connections"] if isinstance(connection, str)
                for part in connection.replace("->", " ").replace(".", " ").split()} | {"nope", "env"})


@st.composite
def mutated_wba(draw) -> tuple[str, dict]:
    """wba.yaml with one edit, and what the edit was (hypothesis prints it when the property fails)."""
    doc = copy.deepcopy(WBA)
    kind = draw(st.sampled_from(["drop", "retype", "size", "port", "delay"]))
    if kind in ("drop", "retype"):
        path = draw(st.sampled_from(ALL_PATHS))
        parent = get(doc, path[:-1])
        if kind == "drop":
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(st.sampled_from([None, "text", [1, 2], {"a": 1}, 3, 2.5, True, -1, ""]))
    elif kind == "size":
        path = draw(st.sampled_from(NUMBER_PATHS))
        get(doc, path[:-1])[path[-1]] = draw(st.sampled_from(
            [-1, 0, 1, 2, 5, 33, 1000, 10**6, 10**9, 10**13, 0.5, float("nan"), float("inf")]))
    else:
        index = draw(st.integers(0, len(doc["connections"]) - 1))
        connection = doc["connections"][index]
        source, target = ((connection["from"], connection["to"]) if isinstance(connection, dict)
                          else [part.strip() for part in connection.split("->")])
        if kind == "port":
            parts = [*source.split("."), *target.split(".")]
            parts[draw(st.integers(0, 3))] = draw(st.sampled_from(NAMES))
            doc["connections"][index] = f"{parts[0]}.{parts[1]} -> {parts[2]}.{parts[3]}"
        else:
            delay = draw(st.sampled_from([-1, 0, 1, 3, 10_000, 10_001, 10**7, 2.5, "1", None]))
            doc["connections"][index] = {"from": source, "to": target, "delay": delay}
    return kind, doc


def finite_step(path: Path) -> None:
    """Build the accepted brain and take one step from zero observations."""
    brain = Brain.from_connectome(path)
    obs = {key: torch.zeros(1, *shape) for key, shape in brain.input_shapes.items()}
    out, _ = brain.step(obs, brain.initial_state(1), torch.tensor([True]))
    assert out.logits.shape == (1, 3)
    assert torch.isfinite(out.logits).all() and torch.isfinite(out.value).all()


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("mutations")


@settings(max_examples=20, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(mutation=mutated_wba())
def test_an_edited_wba_is_refused_with_one_message_or_builds_a_brain_that_steps(mutation, folder: Path):
    kind, doc = mutation
    path = folder / "edited.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = run.main(["--connectome", str(path), "--check", "--workers", "1", "--max-memory-gb", "1.5"])
        except SystemExit as exit_:
            code = exit_.code
    message = err.getvalue()
    assert "Traceback" not in message, message
    if code == 0:
        finite_step(path)
    else:
        assert code == 2, (kind, message)
        assert message.startswith("error: ") and message.count("\n") == 1, message
        assert "Fix: " in message or "--" in message, message
