"""Time the first-person renderer (``tasks.render``) per maze, and optionally save sample views.

    python benchmarks/render_speed.py                      # 84x84 RGB + 32x32 depth, every maze
    python benchmarks/render_speed.py --rgb-size 227       # the 2017 RGB resolution
    python benchmarks/render_speed.py --samples /tmp/render_samples   # also write PNGs to look at

Poses are drawn at random (seeded) from the space the agent can occupy (``free_space_points``)
with random headings, and a food cube stands somewhere in the maze; one core, single thread.
"""

from __future__ import annotations

import argparse
import struct
import time
import zlib
from pathlib import Path

import numpy as np

from tasks import free_space_points
from tasks.geometry import FLOOR_Y, MAZE_NAMES, cube_box, load_maze
from tasks.render import CUES, Renderer

EYE_Y = FLOOR_Y + 1.2
# (maze, x, z, heading deg, file stem): the views worth eyeballing.
SAMPLES = (
    ("onedim", 0.0, 0.0, 0.0, "onedim_start_north"),
    ("onedim", 0.0, 8.0, 90.0, "onedim_blue_east"),
    ("onedim", 0.0, 14.0, -90.0, "onedim_green_west"),
    ("onedim", 0.0, 16.0, -45.0, "onedim_tower_northwest"),
    ("onedim", 0.0, 20.0, 180.0, "onedim_red_south_pyramid"),
    ("onedim_colourless", 0.0, 8.0, 60.0, "colourless_building"),
    ("arrow", -7.28, 8.14, 0.0, "arrow_start_north"),
    ("arrow", -7.28, 8.14, 110.0, "arrow_start_v"),
    ("arrow", 1.0, 18.2, 90.0, "arrow_north_arm_east"),
    ("cross", 0.0, 12.5, 0.0, "cross_centre_north"),
    ("cross", 0.0, 12.5, -90.0, "cross_centre_west"),
    ("cross", 0.0, 12.5, 180.0, "cross_centre_south_sun"),
)


def write_png(path: Path, rgb: np.ndarray) -> None:
    """Write an uint8 [H, W, 3] image as PNG with the standard library only."""
    h, w, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[r].tobytes() for r in range(h))

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    header = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw))
                     + chunk(b"IEND", b""))


def side_by_side(rgb: np.ndarray, depth: np.ndarray, max_depth: float, scale: int = 4) -> np.ndarray:
    """RGB next to the depth image (white = near) at the same height, enlarged ``scale`` times."""
    img = rgb.transpose(1, 2, 0).repeat(scale, 0).repeat(scale, 1)
    grey = (255.0 * (1.0 - depth[0] / max_depth)).astype(np.uint8)
    k = img.shape[0] // grey.shape[0]
    d = grey.repeat(k, 0).repeat(k, 1)
    pad = np.zeros((img.shape[0], img.shape[0], 3), np.uint8)
    pad[: d.shape[0], : d.shape[1]] = d[..., None]
    gap = np.full((img.shape[0], 4, 3), 128, np.uint8)
    return np.concatenate([img, gap, pad], axis=1)


def save_samples(out: Path, rgb_size: int) -> None:
    out.mkdir(parents=True, exist_ok=True)
    renderers = {}
    for maze, x, z, heading, stem in SAMPLES:
        if maze not in renderers:
            renderers[maze] = Renderer(load_maze(maze), rgb_size=rgb_size)
        r = renderers[maze]
        rgb, depth = r.render(x, z, np.radians(heading), EYE_Y)
        write_png(out / f"{stem}.png", side_by_side(rgb, depth, r.max_depth))
    r = renderers["onedim"]
    food = cube_box("food", 0.0, 23.0)
    rgb, depth = r.render(0.0, 18.0, 0.0, EYE_Y, extra_boxes=(food,))
    write_png(out / "onedim_food_ahead.png", side_by_side(rgb, depth, r.max_depth))
    for cue in CUES:
        rgb, depth = r.render(0.0, 0.0, 0.0, EYE_Y, cue=cue)
        write_png(out / f"cue_{cue}.png", side_by_side(rgb, depth, r.max_depth))
    print(f"wrote {len(list(out.glob('*.png')))} PNGs to {out}")


def bench(maze_name: str, rgb_size: int, depth_size: int, frames: int, seed: int) -> float:
    """Mean seconds per render call at random reachable poses."""
    maze = load_maze(maze_name)
    r = Renderer(maze, rgb_size=rgb_size, depth_size=depth_size)
    xs, zs = free_space_points(maze, frames, seed).T
    hs = np.random.default_rng(seed).uniform(-np.pi, np.pi, frames)
    food = (cube_box("food", float(xs[-1]), float(zs[-1])),)
    for i in range(min(frames, 50)):  # warm caches
        r.render(xs[i], zs[i], hs[i], EYE_Y, food)
    start = time.perf_counter()
    for i in range(frames):
        r.render(xs[i], zs[i], hs[i], EYE_Y, food)
    return (time.perf_counter() - start) / frames


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rgb-size", type=int, default=84)
    p.add_argument("--depth-size", type=int, default=32)
    p.add_argument("--frames", type=int, default=3000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--samples", type=Path, default=None, help="folder to write sample PNGs to")
    args = p.parse_args()
    print(f"render {args.rgb_size}x{args.rgb_size} RGB + {args.depth_size}x{args.depth_size} depth, "
          f"{args.frames} random poses per maze, one core")
    for name in MAZE_NAMES:
        t = bench(name, args.rgb_size, args.depth_size, args.frames, args.seed)
        print(f"  {name:18s} {t * 1e3:7.3f} ms/frame  ({1.0 / t:8.0f} frames/s)")
    if args.samples is not None:
        save_samples(args.samples, args.rgb_size)


if __name__ == "__main__":
    main()
