"""Static geometry of the four WBAI 2017 mazes, loaded from ``tasks/data/geometry.json``, and of the open arena.

A maze is a set of vertical prisms (``Box``: a convex floor footprint extruded between two
heights) plus the distal landmarks that show above the 2 m walls. The same data feeds the
physics (footprints only), the renderer (footprints, heights, materials) and the analysis
(maps), so that there is exactly one description of the world.

The open arena (``"openfield"``, for path integration and grid cells; ``tasks.arena``) is built
here from the constants below rather than read from the 2017 file: a 2.2 m square box (as in
Banino et al. 2018) with 0.5 m dark walls, one coloured cue card on each wall (white north, red
east, blue south, yellow west, each of its own width and off-centre, so that no rotation or
mirror of the box looks the same) and distal landmarks beyond the walls.

Coordinates are Unity's: metres, x east, z north, y up; the floor surface is at y = 0.4.
Dynamic objects (food cubes, the invisible 2-2/2-3 goal) are not part of a ``Maze``: the task
rules own them and hand them to the renderer as extra ``Box`` objects (see ``cube_box``).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

GEOMETRY_FILE = Path(__file__).parent / "data" / "geometry.json"
FLOOR_Y = 0.4

# Maze name -> (prefab key in geometry.json, layouts allowed, default layout).
# The layout names the Unity scene family whose extra blockers are added to the prefab;
# "ArrowMaze" is the bare prefab (every corridor open), used for maps and place-cell centres.
_MAZES: dict[str, tuple[str, tuple[str, ...], str]] = {
    "onedim": ("prefab:Maze", ("OneDimTask",), "OneDimTask"),
    "onedim_colourless": ("prefab:OneDimOneColorMaze", ("OneDimTask",), "OneDimTask"),
    "cross": ("prefab:CrossMaze", ("CrossMazeTask",), "CrossMazeTask"),
    "arrow": (
        "prefab:AllowMaze",
        ("ArrowMaze", "ArrowMazeTask1", "ArrowMazeTask2", "ArrowMazeTask3"),
        "ArrowMaze",
    ),
    "openfield": ("", ("OpenField",), "OpenField"),  # built from the ARENA_* constants, not geometry.json
}
MAZE_NAMES: tuple[str, ...] = tuple(_MAZES)


def _light_towards_north(elevation_deg: float) -> tuple[float, float, float]:
    """Unit direction of a light shining towards +z and down at ``elevation_deg`` (SPEC 1.9)."""
    e = math.radians(elevation_deg)
    return (0.0, -math.sin(e), math.cos(e))


# SPEC 1.9: 1-D 30 deg below the horizon, Cross 35 deg, Arrow 60 deg.
_LIGHT_ELEVATION_DEG = {"onedim": 30.0, "onedim_colourless": 30.0, "cross": 35.0, "arrow": 60.0, "openfield": 50.0}
_SKY = {"onedim": "plain", "onedim_colourless": "plain", "cross": "procedural", "arrow": "procedural",
        "openfield": "procedural"}

TOWER_COLOUR = (200, 45, 40)  # red/white lattice seen from afar: mostly red
BUILDING_COLOUR = (225, 225, 220)
PYRAMID_COLOUR = (196, 170, 112)  # sand
MOUNTAIN_COLOUR = (112, 104, 96)  # rock


@dataclass(frozen=True, eq=False)
class Box:
    """One wall, pillar, cube or blocker: a vertical prism over a convex floor footprint."""

    name: str
    material: str  # key of MATERIALS
    footprint: np.ndarray  # float64 [4, 2] (x, z) corners, counter-clockwise
    y_min: float
    y_max: float


@dataclass(frozen=True, eq=False)
class Landmark:
    """A distal cue above the walls (SPEC 1.9); drawn as a simple solid over an axis-aligned base."""

    kind: str  # "tower" | "building" | "pyramid" | "mountain"
    footprint: np.ndarray  # [4, 2] axis-aligned base corners (x, z), counter-clockwise
    height: float  # metres above the floor
    colour: tuple[int, int, int]


@dataclass(frozen=True, eq=False)
class Maze:
    """Everything static in one task scene."""

    name: str  # "onedim", "onedim_colourless", "cross", "arrow"
    layout: str  # which scene extras are included, e.g. "OneDimTask", "ArrowMazeTask2"
    boxes: tuple[Box, ...]  # every active collider box of the prefab + the scene's blockers
    landmarks: tuple[Landmark, ...]
    floor_y: float
    light_direction: tuple[float, float, float]
    sky: str  # "plain" (solid (49, 77, 121) background) or "procedural"


def _readonly(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


def rect(x0: float, x1: float, z0: float, z1: float) -> np.ndarray:
    """Counter-clockwise corners of the axis-aligned rectangle [x0, x1] x [z0, z1]."""
    return _readonly(np.array([[x0, z0], [x1, z0], [x1, z1], [x0, z1]], dtype=np.float64))


def cube_box(name: str, x: float, z: float, material: str = "Food.mat", size: float = 1.0) -> Box:
    """A ``size`` m cube resting on the floor, centred at (x, z): the food cubes of every task."""
    h = size / 2.0
    return Box(name, material, rect(x - h, x + h, z - h, z + h), FLOOR_Y, FLOOR_Y + size)


@lru_cache(maxsize=1)
def _geometry() -> dict:
    with open(GEOMETRY_FILE, encoding="utf-8") as f:
        return json.load(f)


def _boxes(key: str) -> list[Box]:
    out = []
    for item in _geometry()[key]:
        if not (item["active"] and item["collider"]):
            continue
        fp = _readonly(np.asarray(item["footprint_xz"], dtype=np.float64))
        out.append(Box(item["name"], item["material"], fp, float(item["y_min"]), float(item["y_max"])))
    return out


def _landmark(kind: str, x0: float, x1: float, z0: float, z1: float, height: float) -> Landmark:
    colour = {"tower": TOWER_COLOUR, "building": BUILDING_COLOUR, "pyramid": PYRAMID_COLOUR,
              "mountain": MOUNTAIN_COLOUR}[kind]
    return Landmark(kind, rect(x0, x1, z0, z1), height, colour)


def _mountain(cx: float, cz: float) -> Landmark:
    # The real mesh is ~200 m across with ~25 m peaks; a 60 m base keeps the simplified solid
    # outside every maze while still filling the same part of the horizon.
    return _landmark("mountain", cx - 30.0, cx + 30.0, cz - 30.0, cz + 30.0, 25.0 - FLOOR_Y)


def _landmarks(maze: str) -> tuple[Landmark, ...]:
    """SPEC 1.9 table: footprints and origins exact, mesh sizes inferred; heights above the floor."""
    if maze in ("onedim", "onedim_colourless"):
        return (
            _landmark("tower", -14.9, -9.9, 20.1, 25.2, 1.0 + 11.8 - FLOOR_Y),
            _landmark("building", 5.8, 11.2, 7.0, 11.1, 4.2 + 10.0 - FLOOR_Y),
            _landmark("pyramid", 0.19 - 6.7, 0.19 + 6.7, -12.2 - 6.7, -12.2 + 6.7, 8.6 - FLOOR_Y),
            _mountain(10.1, 87.1),
        )
    if maze == "cross":
        return (_landmark("tower", 0.1, 5.2, 30.1, 35.2, 11.8 - FLOOR_Y), _mountain(-50.7, 2.2))
    return (_landmark("tower", 18.5, 23.6, 13.6, 18.7, 11.8 - FLOOR_Y), _mountain(-50.7, 2.2))


# --- the open arena --------------------------------------------------------------------------
ARENA = "openfield"
ARENA_SIZE = 2.2  # metres between the inner faces of opposite walls (Banino et al. 2018)
ARENA_WALL_HEIGHT = 0.5  # metres above the floor
ARENA_WALL_THICKNESS = 0.1
ARENA_WALL_MATERIAL = "ArenaWall.mat"
#: Cue cards, as (wall, from, to, material): a stretch of the wall's inner face, full wall height, in
#: metres along x (north, south walls) or z (east, west walls) from the arena centre.
ARENA_CUES: tuple[tuple[str, float, float, str], ...] = (
    ("north", -0.7, 0.1, "CueWhite.mat"),
    ("east", 0.2, 0.6, "CueRed.mat"),
    ("south", 0.3, 0.9, "CueBlue.mat"),
    ("west", -0.8, -0.5, "CueYellow.mat"),
)
_ARENA_MATERIALS = {
    ARENA_WALL_MATERIAL: {"rgb": [0.25, 0.25, 0.27], "texture": None},
    "CueWhite.mat": {"rgb": [0.97, 0.97, 0.97], "texture": None},
    "CueRed.mat": {"rgb": [0.85, 0.1, 0.1], "texture": None},
    "CueBlue.mat": {"rgb": [0.1, 0.2, 0.9], "texture": None},
    "CueYellow.mat": {"rgb": [0.95, 0.85, 0.1], "texture": None},
}


def _arena_boxes() -> tuple[Box, ...]:
    """The four walls of the arena, each cut into plain stretches and its cue card (coplanar, touching)."""
    h, t = ARENA_SIZE / 2.0, ARENA_WALL_THICKNESS
    y0, y1 = FLOOR_Y, FLOOR_Y + ARENA_WALL_HEIGHT
    # wall -> (span along the wall, the wall's extent across it, whether the span runs along x)
    walls = {"north": ((-h - t, h + t), (h, h + t), True), "south": ((-h - t, h + t), (-h - t, -h), True),
             "east": ((-h, h), (h, h + t), False), "west": ((-h, h), (-h - t, -h), False)}
    boxes = []
    for wall, ((lo, hi), (a, b), along_x) in walls.items():
        cuts = sorted((start, end, material) for side, start, end, material in ARENA_CUES if side == wall)
        pieces, at = [], lo
        for start, end, material in cuts:
            pieces += [(at, start, ARENA_WALL_MATERIAL), (start, end, material)]
            at = end
        pieces.append((at, hi, ARENA_WALL_MATERIAL))
        for k, (u0, u1, material) in enumerate(pieces):
            footprint = rect(u0, u1, a, b) if along_x else rect(a, b, u0, u1)
            boxes.append(Box(f"{wall} wall {k}", material, footprint, y0, y1))
    return tuple(boxes)


def _arena_landmarks() -> tuple[Landmark, ...]:
    """Distal cues beyond the walls: a tower to the north-east, a building to the west, a pyramid to the south."""
    return (
        _landmark("tower", 9.0, 12.0, 12.0, 15.0, 9.0),
        _landmark("building", -16.0, -12.0, -4.0, 3.0, 8.0),
        _landmark("pyramid", -5.0, 5.0, -22.0, -12.0, 6.0),
        _mountain(25.0, 70.0),
    )


MATERIALS: dict[str, dict] = {**_geometry()["materials"], **_ARENA_MATERIALS}


def load_maze(name: str, layout: str | None = None) -> Maze:
    """The static maze ``name`` with the blockers of scene family ``layout`` (cached, shared, read-only).

    ``layout`` defaults to the maze's plain scene; "ArrowMaze" is the Arrow prefab with every
    corridor open, "ArrowMazeTask1".."3" add the blockers of tasks 2-1..2-3.

    Example:
        >>> len(load_maze("arrow", "ArrowMazeTask2").boxes)
        83
    """
    if name not in _MAZES:
        raise ValueError(f"unknown maze {name!r}; valid mazes: {', '.join(MAZE_NAMES)}")
    _, layouts, default = _MAZES[name]
    layout = default if layout is None else layout
    if layout not in layouts:
        raise ValueError(f"maze {name!r} has no layout {layout!r}; valid layouts: {', '.join(layouts)}")
    return _load(name, layout)


@lru_cache(maxsize=None)
def _load(name: str, layout: str) -> Maze:
    if name == ARENA:
        return Maze(name=name, layout=layout, boxes=_arena_boxes(), landmarks=_arena_landmarks(), floor_y=FLOOR_Y,
                    light_direction=_light_towards_north(_LIGHT_ELEVATION_DEG[name]), sky=_SKY[name])
    boxes = _boxes(_MAZES[name][0])
    extra = f"scene_extra:{layout}"
    if extra in _geometry():
        boxes += _boxes(extra)
    return Maze(
        name=name,
        layout=layout,
        boxes=tuple(boxes),
        landmarks=_landmarks(name),
        floor_y=FLOOR_Y,
        light_direction=_light_towards_north(_LIGHT_ELEVATION_DEG[name]),
        sky=_SKY[name],
    )
