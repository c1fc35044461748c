"""The viewer writes readable PNGs of the view and the map."""

import struct
import zlib

import numpy as np
import pytest

from tasks.play import main
from tasks.png import write_png


def read_png(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, {}
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos:pos + 4])
        chunks[data[pos + 4:pos + 8]] = data[pos + 8:pos + 8 + n]
        pos += 12 + n
    w, h = struct.unpack(">II", chunks[b"IHDR"][:8])
    raw = np.frombuffer(zlib.decompress(chunks[b"IDAT"]), np.uint8).reshape(h, 1 + 3 * w)
    return raw[:, 1:].reshape(h, w, 3)


def test_png_round_trip(tmp_path):
    image = np.random.default_rng(0).integers(0, 256, size=(5, 7, 3), dtype=np.uint8)
    write_png(tmp_path / "a.png", image)
    assert np.array_equal(read_png(tmp_path / "a.png"), image)
    with pytest.raises(ValueError, match="uint8"):
        write_png(tmp_path / "b.png", image.astype(float))


def test_play_reference_solution_saves_images(tmp_path, capsys):
    assert main(["1-2", "--out", str(tmp_path), "--every", "5"]) == 0
    assert "1-2: success after 11 steps" in capsys.readouterr().out
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["step_0000.png", "step_0005.png", "step_0010.png", "step_0011.png"]
    image = read_png(tmp_path / "step_0011.png")
    assert image.shape[1] > image.shape[0] and image.std() > 10


def test_play_rejects_bad_actions(tmp_path):
    with pytest.raises(SystemExit):
        main(["1-2", "--actions", "22x", "--out", str(tmp_path)])


def test_frames_go_to_a_named_folder_under_runs_by_default(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["1-2", "--every", "100"]) == 0
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.png")) == [
        "runs/play/1-2/step_0000.png", "runs/play/1-2/step_0011.png"]
    assert "images in runs/play/1-2/" in capsys.readouterr().out


def test_play_the_arena_along_a_foraging_path_or_with_small_steps(tmp_path, capsys):
    assert main(["openfield", "--steps", "20", "--every", "10", "--out", str(tmp_path / "a")]) == 0
    assert "openfield: unfinished after 20 steps, 200 ticks" in capsys.readouterr().out
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["step_0000.png", "step_0010.png", "step_0020.png"]
    assert main(["watermaze", "--actions", "2222", "--every", "4", "--out", str(tmp_path / "b")]) == 0
    assert "watermaze: unfinished after 4 steps" in capsys.readouterr().out
    image = read_png(tmp_path / "b" / "step_0004.png")
    assert image.shape[1] > image.shape[0] and image.std() > 10
