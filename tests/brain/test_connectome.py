"""Connectome loading and validation: one clear error per problem, at the right file and line."""

from __future__ import annotations

import pytest

from brain import Brain, ConnectomeError
from brain.connectome import find_connectome, load_connectome


def line_of(text: str, snippet: str) -> int:
    """1-based line of the first line of ``text`` containing ``snippet``."""
    return next(i for i, line in enumerate(text.splitlines(), 1) if snippet in line)


def error_of(path, **kwargs) -> ConnectomeError:
    with pytest.raises(ConnectomeError) as info:
        Brain.from_connectome(path, **kwargs)
    return info.value


def assert_points_at(err: ConnectomeError, path, line: int, field: str | None = None, *words: str) -> None:
    message = str(err)
    assert message.startswith(f"{path}:{line}: "), message
    assert err.file == str(path) and err.line == line
    if field is not None:
        assert err.field == field, message
    assert "Fix: " in message
    for word in words:
        assert word in message, (word, message)


def test_the_tiny_connectome_is_valid(tiny):
    assert load_connectome(tiny).name == "tiny"


def test_yaml_syntax_error_names_line_and_column(write):
    path = write("name: x\nregions:\n  a: {type: [unclosed\nconnections: []\n")
    err = error_of(path)
    assert err.line is not None and err.line >= 3
    assert "YAML syntax error at column" in str(err) and "indentation" in str(err)


def test_unknown_top_level_key_lists_the_known_keys(broken):
    path, text = broken("policy: actor.logits", "policy: actor.logits\nmotor: actor.logits")
    err = error_of(path)
    assert_points_at(err, path, line_of(text, "motor:"), "motor", "unknown top-level key `motor`",
                     "connections", "extends", "remove it")


def test_missing_required_field_says_what_to_add(broken):
    path, _ = broken("value: actor.value\n", "")
    err = error_of(path)
    assert err.field == "value" and "missing required field `value`" in str(err)
    assert "add `value:`" in str(err) and "basal_ganglia.value" in str(err)


def test_unknown_region_type_lists_known_types(broken):
    path, text = broken("type: test_gru", "type: test_gruu")
    err = error_of(path)
    assert_points_at(err, path, line_of(text, "test_gruu"), "regions.memory.type", "unknown region type 'test_gruu'",
                     "test_gru", "test_linear", "@register")


def test_unknown_region_in_a_connection(broken):
    path, text = broken("sense.y -> loop.x", "sense.y -> lopo.x")
    err = error_of(path)
    assert_points_at(err, path, line_of(text, "lopo"), "connections[1]", "unknown region 'lopo'",
                     "define 'lopo' under `regions:`")


def test_unknown_input_port_lists_the_region_ports(broken):
    path, text = broken("sense.y -> memory.x", "sense.y -> memory.input")
    err = error_of(path)
    assert_points_at(err, path, line_of(text, "memory.input"), "connections[3]",
                     "unknown input port 'memory.input'", "has input ports x", "use one of those ports")


def test_unknown_output_port_lists_the_region_outputs(broken):
    path, text = broken("sense.y -> memory.x", "sense.out -> memory.x")
    err = error_of(path)
    assert_points_at(err, path, line_of(text, "sense.out"), "connections[3]", "unknown output port 'sense.out'",
                     "has output ports y")


def test_unknown_environment_port(broken):
    path, text = broken("env.obs -> sense.x", "env.camera -> sense.x")
    err = error_of(path)
    assert_points_at(err, path, line_of(text, "env.camera"), "connections[0]", "unknown environment port",
                     "obs, reward", "inputs:")


def test_connection_string_syntax(broken):
    path, text = broken("sense.y -> loop.x", "sense.y => loop.x")
    err = error_of(path)
    assert_points_at(err, path, line_of(text, "=>"), "connections[1]", "bad connection 'sense.y => loop.x'",
                     "source.port -> target.port")


def test_required_input_without_source(broken):
    path, text = broken("  - sense.y -> memory.x\n", "")
    err = error_of(path)
    assert_points_at(err, path, line_of(text, "memory: {type"), "regions.memory",
                     "required input 'memory.x' has no source", "-> memory.x")


def test_size_mismatch_against_a_declared_shape(broken):
    path, text = broken("  actor:", "  fixed: {type: test_fixed}\n  actor:")
    path.write_text(text + "  - sense.y -> fixed.x\n")
    err = error_of(path)
    assert_points_at(err, path, len(text.splitlines()) + 1, "connections[7]", "size mismatch",
                     "'fixed.x' needs shape [4]", "'sense.y' [8]")


def test_ndim_mismatch(broken):
    path, text = broken("  actor:", "  eye: {type: test_image}\n  actor:")
    path.write_text(text + "  - env.obs -> eye.image\n")
    err = error_of(path)
    assert_points_at(err, path, len(text.splitlines()) + 1, "connections[7]", "'eye.image' takes 3-axis input",
                     "'env.obs' has shape [4]")


def test_images_of_different_shapes_cannot_be_concatenated(broken):
    path, text = broken("inputs: {obs: [4], reward: [1]}",
                        "inputs: {obs: [4], reward: [1], rgb: [3, 8, 8], depth: [1, 4, 4]}")
    text = text.replace("  actor:", "  eye: {type: test_image}\n  actor:") + "  - env.rgb -> eye.image\n" \
        "  - env.depth -> eye.image\n"
    path.write_text(text)
    err = error_of(path)
    assert_points_at(err, path, line_of(text, "env.depth -> eye.image"), "connections[8]",
                     "cannot concatenate 'env.rgb' [3, 8, 8] and 'env.depth' [1, 4, 4]", "matching shapes")


def test_zero_delay_cycle_is_named_with_the_fix(broken):
    path, text = broken("{from: loop.y, to: loop.previous, delay: 1}", "{from: memory.h, to: sense.extra}")
    err = error_of(path)
    message = str(err)
    assert "zero-delay cycle" in message and "sense -> memory -> sense" in message.replace("memory -> sense -> memory",
                                                                                          "sense -> memory -> sense")
    assert "delay: 1" in message
    assert err.line in (line_of(text, "memory.h, to: sense.extra"), line_of(text, "sense.y -> memory.x"))


def test_self_loop_without_delay_is_a_cycle(broken):
    path, _ = broken("{from: loop.y, to: loop.previous, delay: 1}", "loop.y -> loop.previous")
    assert "zero-delay cycle loop -> loop" in str(error_of(path))


def test_lesion_of_an_unknown_region(broken):
    path, text = broken("connections:", "lesions: {hipocampus: remove}\nconnections:")
    err = error_of(path)
    assert_points_at(err, path, line_of(text, "hipocampus"), "lesions.hipocampus",
                     "lesion of an unknown region 'hipocampus'", "sense, loop, memory, actor")


def test_lesion_from_the_command_line_names_the_flag(tiny):
    err = error_of(tiny, lesions={"nowhere": "silence"})
    assert str(err).startswith("--lesion: lesions.nowhere: lesion of an unknown region")


def test_bad_lesion_mode(broken):
    path, text = broken("connections:", "lesions:\n  memory: 1.5\nconnections:")
    err = error_of(path)
    assert_points_at(err, path, line_of(text, "memory: 1.5"), "lesions.memory", "bad lesion mode 1.5",
                     "`remove`, `silence` or a fraction in (0, 1)")


def test_lesion_of_an_unknown_connection(broken):
    path, text = broken("connections:", "lesions: {'sense.y -> actor.state': remove}\nconnections:")
    err = error_of(path)
    assert_points_at(err, path, line_of(text, "lesions:"), None, "lesion of an unknown connection")


def test_policy_port_must_exist(broken):
    path, text = broken("policy: actor.logits", "policy: actor.logit")
    err = error_of(path)
    assert_points_at(err, path, line_of(text, "policy:"), "policy", "unknown output port 'actor.logit'",
                     "logits, value")


def test_policy_must_name_a_region(broken):
    path, text = broken("policy: actor.logits", "policy: cortex.logits")
    assert_points_at(error_of(path), path, line_of(text, "policy:"), "policy", "names no region")


def test_value_port_must_have_one_unit(broken):
    path, text = broken("value: actor.value", "value: actor.logits")
    err = error_of(path)
    assert_points_at(err, path, line_of(text, "value:"), "value", "has shape [3], expected [1]")


def test_policy_must_be_written_region_dot_port(broken):
    path, text = broken("policy: actor.logits", "policy: actor")
    assert_points_at(error_of(path), path, line_of(text, "policy:"), "policy", "expected a port `region.port`")


def test_bad_region_params_name_the_accepted_ones(broken):
    path, text = broken("params: {units: 6}", "params: {unit: 6}")
    err = error_of(path)
    assert_points_at(err, path, line_of(text, "unit: 6"), "regions.memory.params", "could not be built",
                     "accepted: units")


def test_duplicate_key(broken):
    path, text = broken("  actor:", "  sense: {type: test_linear}\n  actor:")
    err = error_of(path)
    assert err.line == line_of(text, "  sense: {type: test_linear}") == 10
    assert "duplicate key 'sense' (first written at line 7)" in str(err)


def test_duplicate_connection(broken):
    path, text = broken("  - loop.y -> actor.state\n", "  - loop.y -> actor.state\n  - loop.y -> actor.state\n")
    err = error_of(path)
    assert "duplicate connection loop.y -> actor.state (also at line" in str(err)


def test_missing_extends_file(write):
    path = write("extends: nowhere.yaml\nname: variant\n")
    err = error_of(path)
    assert_points_at(err, path, 1, "extends", "no connectome file 'nowhere.yaml'", "wba.yaml")


def test_unknown_connectome_name_lists_the_bundled_ones():
    err = error_of("no_such_brain")
    assert "no connectome file 'no_such_brain'" in str(err) and "wba.yaml" in str(err)


def test_extends_merges_deeply_appends_connections_and_keeps_lines(write, tiny):
    variant = write("""\
        extends: tiny.yaml
        name: variant
        regions:
          memory: {params: {units: 9}}
        connections+:
          - env.obs -> sense.extra
        lesions: {loop: silence}
        """, "variant.yaml")
    connectome = load_connectome(variant)
    assert connectome.name == "variant" and connectome.description == "test brain"
    assert connectome.regions["memory"].type == "test_gru" and connectome.regions["memory"].params == {"units": 9}
    assert str(connectome.connections[-1]) == "env.obs -> sense.extra" and len(connectome.connections) == 8
    assert connectome.lesions == {"loop": "silence"}
    assert connectome.where(("connections", 0)).file == str(tiny)
    assert connectome.where(("connections", 7)).file == str(variant)
    assert connectome.where(("connections", 7)).line == 6


def test_an_error_in_the_base_points_at_the_base_file(broken, write):
    base, text = broken("sense.y -> loop.x", "sense.y -> loop.z", "base.yaml")
    variant = write("extends: base.yaml\nname: variant\n", "variant.yaml")
    assert_points_at(error_of(variant), base, line_of(text, "loop.z"), "connections[1]", "unknown input port")


def test_extends_loop_is_an_error(write):
    write("extends: b.yaml\nname: a\n", "a.yaml")
    path = write("extends: a.yaml\nname: b\n", "b.yaml")
    assert "a loop of extends" in str(error_of(path))


def test_resolved_connectome_round_trips_through_yaml(write, tiny):
    variant = write("extends: tiny.yaml\nname: v\nlesions: {'loop.y -> loop.previous': remove, memory: 0.5}\n",
                    "v.yaml")
    connectome = load_connectome(variant)
    dumped = write(connectome.to_yaml(), "resolved.yaml")
    assert "extends" not in dumped.read_text()
    assert load_connectome(dumped) == connectome


def test_bundled_connectomes_are_found_by_name_with_or_without_suffix():
    assert find_connectome("wba") == find_connectome("wba.yaml") != None  # noqa: E711
    assert load_connectome("wba").space == "allen_ccf_v3_um"
