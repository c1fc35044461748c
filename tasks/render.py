"""First-person RGB and depth views of a maze, rendered on the CPU without OpenGL.

The 2017 tasks were seen through two Unity cameras (SPEC 1.4): a 90 deg colour camera and a
32 x 32 depth camera, both 0.2 m above the agent with pitch 0. Everything in the mazes is a
vertical prism on a flat floor, so a column ray caster (``tasks._raycast``) renders both views
in well under a millisecond, which keeps the embedded simulator fast enough for A3C.

Appearance follows SPEC 1.9 in spirit (not pixel-identical to Unity): textured walls
(white discs on black, colour/black checkerboards), black pillars, a bright blue floor, a plain
or gradient sky with the sun, Lambert shading from the scene's directional light, and simple
solids for the distal landmarks.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from tasks import _raycast as rc
from tasks.geometry import MATERIALS, Box, Landmark, Maze

CUES: tuple[str, ...] = ("circle", "triangle", "square")
INVISIBLE_MATERIAL = "Fade.mat"  # the 2-2/2-3 "BasicFadeReward" cube: in the depth image only
PLAIN_SKY_RGB = (49, 77, 121)  # camera background of the 1-D scenes (SPEC 1.9)
# The 2017 cameras (SPEC 1.4, 5): far clip plane in metres and the background colour that the
# 1-D scenes (no skybox material) clear to. The near planes (0.3 / 0.01 m) make no difference:
# the agent's collider keeps every surface in view at least 0.33 m deep.
CAMERAS: dict[str, dict] = {
    "dec2017": {"far": 1000.0, "plain_sky_rgb": PLAIN_SKY_RGB},
    "sep2017": {"far": 20.0, "plain_sky_rgb": (255, 255, 255)},
}
FLOOR_RGB = (0.0, 0.388 * 255.0, 255.0)
FLOOR_CENTRE_XZ = (0.0, -0.11)  # 100 m x 100 m plane (SPEC 1.9)
FLOOR_HALF_SIZE = 50.0
LIGHT_RGB = (1.0, 0.957, 0.839)
SUN_RADIUS_DEG = 2.5
UNITY8_SKY = 74.0  # grey level of the depth camera's background colour (49, 77, 121)

_BLACK = (0.0, 0.0, 0.0)
_WHITE = (255.0, 255.0, 255.0)
# Textured wall materials: (texture kind, first colour, second colour), colours of the texture as
# seen under the material tint (SPEC 1.9). Untextured materials take MATERIALS[name]["rgb"].
_TEXTURED: dict[str, tuple[int, tuple[float, ...], tuple[float, ...]]] = {
    "Wall_Circles.mat": (rc.KIND_DISCS, _BLACK, _WHITE),
    "Red.mat": (rc.KIND_CHECKER, (255.0, 0.0, 0.0), _BLACK),
    "Green.mat": (rc.KIND_CHECKER, (0.0, 255.0, 0.0), _BLACK),
    "Blue.mat": (rc.KIND_CHECKER, (0.0, 0.0, 255.0), _BLACK),
    "RedWall.mat": (rc.KIND_CHECKER, (255.0, 0.0, 0.0), _BLACK),
    "GreenWall.mat": (rc.KIND_CHECKER, (0.0, 255.0, 0.0), _BLACK),
}
_WINDOW_RGB = (80.0, 92.0, 110.0)
_TOWER_SECOND_RGB = (235.0, 235.0, 235.0)
_TOWER_BANDS = 8
# Half-size of a landmark's top relative to its base (0 = pointed). The building is a prism.
_TAPER = {"tower": 0.15, "pyramid": 0.0, "mountain": 0.0}
_SKY_HORIZON = np.array((205.0, 212.0, 222.0))
_SKY_ZENITH = np.array((78.0, 128.0, 198.0))
_SKY_GROUND = np.array((105.0, 100.0, 96.0))


def encode_depth_unity8(depth_m: np.ndarray, sky: np.ndarray | None = None) -> np.ndarray:
    """The 2017 8-bit depth code (SPEC 1.4) as float32 values in 0..255.

    clip((d - 0.6) / 10, 0, 1) * 255 rounded, and 74 where nothing was hit. ``sky`` is a boolean
    mask of the sky pixels (``Renderer.last_sky_mask``); without it, +inf depths count as sky.
    Pass the mask: a depth clipped to ``max_depth`` cannot tell a far wall from the sky.
    """
    d = np.asarray(depth_m, dtype=np.float32)
    code = np.floor(np.clip((d - 0.6) / 10.0, 0.0, 1.0) * 255.0 + 0.5)
    mask = np.isinf(d) if sky is None else np.asarray(sky, dtype=bool)
    if mask.shape != d.shape:
        raise ValueError(f"sky mask shape {mask.shape} differs from depth shape {d.shape}; "
                         "pass Renderer.last_sky_mask from the same render call")
    return np.where(mask, np.float32(UNITY8_SKY), code).astype(np.float32)


class Renderer:
    """Renders the views of one maze; construct once per environment (it precompiles and packs).

    ``render`` returns fresh arrays, so callers may keep them. After each call
    ``last_sky_mask`` (bool [1, d, d]) marks the depth pixels that saw only sky.
    """

    def __init__(self, maze: Maze, rgb_size: int = 84, depth_size: int = 32, fov_deg: float = 90.0,
                 max_depth: float = 10.0, camera: str = "dec2017", near: float = rc.NEAR) -> None:
        """``camera`` picks the 2017 camera settings (``CAMERAS``): ``"dec2017"`` (HEAD: far plane
        1000 m, 1-D sky (49, 77, 121)) or ``"sep2017"`` (hackathon: far plane 20 m, so the far end
        of the 24 m corridor and distant landmarks are clipped to sky; white 1-D sky).
        ``near`` is the near clip plane in metres (the 2017 cameras' 0.3 m by default); an agent that
        comes closer to a wall than about 1.4 x ``near`` would see through it (the open arena's small
        agent uses 0.05 m)."""
        if not isinstance(maze, Maze):
            raise TypeError(f"maze must be a tasks.geometry.Maze (use load_maze), got {type(maze).__name__}")
        for field, value in (("rgb_size", rgb_size), ("depth_size", depth_size)):
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{field} must be a positive integer, got {value!r}")
        if not 0.0 < fov_deg < 180.0:
            raise ValueError(f"fov_deg must lie in (0, 180), got {fov_deg!r}")
        if not 0.0 < near:
            raise ValueError(f"near (the near clip plane, metres) must be positive, got {near!r}")
        if not max_depth > near:
            raise ValueError(f"max_depth must exceed the near plane {near} m, got {max_depth!r}")
        if camera not in CAMERAS:
            raise ValueError(f"unknown camera {camera!r}; valid cameras: {', '.join(CAMERAS)}")
        self.maze = maze
        self.camera = camera
        self.far = float(CAMERAS[camera]["far"])
        self._plain_sky_rgb = tuple(float(v) for v in CAMERAS[camera]["plain_sky_rgb"])
        self.rgb_size = int(rgb_size)
        self.depth_size = int(depth_size)
        self.fov_deg = float(fov_deg)
        self.max_depth = float(max_depth)
        self.near = float(near)
        self._fov_tan = math.tan(math.radians(fov_deg) / 2.0)
        light = np.asarray(maze.light_direction, dtype=np.float64)
        self._light_dir = light / np.linalg.norm(light)
        self._light_rgb = np.array(LIGHT_RGB)

        self._mat_rows: list[np.ndarray] = []
        self._mat_index: dict[str, int] = {}
        for name in (*sorted(MATERIALS), INVISIBLE_MATERIAL):  # so that extra boxes need no new rows
            self._box_material(name)
        statics = [self._pack_box(box) for box in maze.boxes]
        solids = []
        for i, mark in enumerate(maze.landmarks):
            if mark.kind == "building":
                statics.append(self._pack_building(mark, i))
            else:
                solids.append(self._pack_solid(mark, i))
        self._mats = np.array(self._mat_rows)
        self._n_static = len(statics)
        self._prisms = np.zeros((self._n_static + 4, rc.P_FIELDS))
        self._prisms[: self._n_static] = statics
        self._solids = np.array(solids, dtype=np.float64).reshape(-1, rc.S_FIELDS)
        self._extras: tuple[Box, ...] = ()
        self._extra_rows: dict[int, tuple[Box, np.ndarray]] = {}

        floor_lam = max(0.0, -float(self._light_dir[1]))
        self._floor = (np.array([-FLOOR_HALF_SIZE, FLOOR_HALF_SIZE, -FLOOR_HALF_SIZE, FLOOR_HALF_SIZE])
                       + np.repeat(FLOOR_CENTRE_XZ, 2), np.array(FLOOR_RGB), floor_lam)
        self._sky_base, self._sun_cos = self._sky(self.rgb_size)
        self._sun_dir = -self._light_dir
        self._cues = {name: _cue_image(name, self.rgb_size) for name in CUES}
        self._zrgb = np.empty((self.rgb_size, self.rgb_size))
        self._zdepth = np.empty((self.depth_size, self.depth_size))
        self._no_rgb = np.empty((3, 1, 1), dtype=np.uint8)
        self.last_sky_mask = np.zeros((1, self.depth_size, self.depth_size), dtype=bool)
        self.render(0.0, 0.0, 0.0, maze.floor_y + 1.2)  # compile or load the kernels now, not mid-episode

    # ---- public -------------------------------------------------------------------------------
    def render(self, x: float, z: float, heading: float, eye_y: float, extra_boxes: Sequence[Box] = (),
               cue: str | None = None) -> tuple[np.ndarray, np.ndarray]:
        """RGB uint8 [3, S, S] and depth float32 [1, d, d] from the eye at world (x, eye_y, z).

        ``eye_y`` is a world height (floor at ``maze.floor_y``; 2017 camera: 1.6, or 1.32 in 1-1/3-1).

        ``heading`` in radians, 0 = facing north (+z), +pi/2 = facing east. Depth is the distance
        along the optical axis in metres, clipped to ``max_depth`` (sky and anything beyond the
        camera's far plane -> ``max_depth``).
        ``extra_boxes`` are dynamic objects (food cubes; material ``INVISIBLE_MATERIAL`` makes a
        box that only the depth camera sees, like the 2-2/2-3 invisible goal). ``cue`` ("circle" | "triangle" |
        "square") replaces the RGB frame by the black-on-white shape; depth is unaffected.
        """
        for field, value in (("x", x), ("z", z), ("heading", heading), ("eye_y", eye_y)):
            if not math.isfinite(value):
                raise ValueError(f"render: {field} must be a finite number, got {value!r}")
        if cue is not None and cue not in self._cues:
            raise ValueError(f"render: unknown cue {cue!r}; valid cues: {', '.join(CUES)} or None")
        n_prisms = self._load_extras(tuple(extra_boxes))
        args = (float(x), float(z), float(heading), float(eye_y), self._fov_tan, self.maze.floor_y,
                *self._floor, self._prisms, n_prisms, self._solids, self._mats, self._light_rgb)
        if cue is None:
            rgb = np.empty((3, self.rgb_size, self.rgb_size), dtype=np.uint8)
            rc.render_frame(*args, self._sky_base, self._sun_dir, self._sun_cos, self.far, self.near, True, rgb,
                            self._zrgb)
        else:
            rgb = self._cues[cue].copy()
        rc.render_frame(*args, self._sky_base, self._sun_dir, self._sun_cos, self.far, self.near, False,
                        self._no_rgb, self._zdepth)
        self.last_sky_mask = np.isinf(self._zdepth)[None]
        depth = np.minimum(self._zdepth, self.max_depth).astype(np.float32)[None]
        return rgb, depth

    # ---- packing ------------------------------------------------------------------------------
    def _material(self, key: str, kind: int, first, second=_BLACK, param: float = 0.0) -> int:
        if key not in self._mat_index:
            self._mat_index[key] = len(self._mat_rows)
            self._mat_rows.append(np.array((kind, *first, *second, param), dtype=np.float64))
        return self._mat_index[key]

    def _box_material(self, name: str) -> int:
        if name in _TEXTURED:
            kind, first, second = _TEXTURED[name]
            return self._material(name, kind, first, second)
        if name == INVISIBLE_MATERIAL:
            return self._material(name, rc.KIND_INVISIBLE, _BLACK)
        if name in MATERIALS:
            return self._material(name, rc.KIND_PLAIN, tuple(255.0 * c for c in MATERIALS[name]["rgb"]))
        valid = sorted({*MATERIALS, INVISIBLE_MATERIAL})
        raise ValueError(f"box material {name!r} is unknown; valid materials: {', '.join(valid)}")

    def _lam(self, normal: np.ndarray) -> float:
        """Lambert factor of a face with unit ``normal`` (x, y, z) under the scene's light."""
        return max(0.0, -float(np.dot(normal, self._light_dir)))

    def _pack_box(self, box: Box, material: int | None = None) -> np.ndarray:
        fp = np.asarray(box.footprint, dtype=np.float64)
        if fp.ndim != 2 or fp.shape[1] != 2 or not 3 <= fp.shape[0] <= rc.MAX_VERTS:
            raise ValueError(f"box {box.name!r}: footprint must be [K, 2] with 3 <= K <= {rc.MAX_VERTS}, "
                             f"got shape {fp.shape}")
        if not box.y_max > box.y_min:
            raise ValueError(f"box {box.name!r}: y_max ({box.y_max}) must exceed y_min ({box.y_min})")
        nxt = np.roll(fp, -1, axis=0)
        area = 0.5 * float(np.sum(fp[:, 0] * nxt[:, 1] - nxt[:, 0] * fp[:, 1]))
        if abs(area) < 1e-9:
            raise ValueError(f"box {box.name!r}: footprint has zero area")
        if area < 0.0:  # accept clockwise corners
            fp = fp[::-1]
            nxt = np.roll(fp, -1, axis=0)
        row = np.zeros(rc.P_FIELDS)
        row[rc.P_NV] = len(fp)
        row[rc.P_YMIN], row[rc.P_YMAX] = box.y_min, box.y_max
        row[rc.P_MAT] = self._box_material(box.material) if material is None else material
        row[rc.P_LAM_TOP] = self._lam(np.array((0.0, 1.0, 0.0)))
        row[rc.P_LAM_BOTTOM] = self._lam(np.array((0.0, -1.0, 0.0)))
        for k, (p0, p1) in enumerate(zip(fp, nxt)):
            length = float(np.hypot(*(p1 - p0)))
            if length < 1e-9:
                raise ValueError(f"box {box.name!r}: footprint corners {k} and {k + 1} coincide")
            ux, uz = (p1 - p0) / length
            nx, nz = uz, -ux  # outward for counter-clockwise corners
            base = rc.P_VERT + k * rc.V_FIELDS
            row[base + rc.V_X], row[base + rc.V_Z] = p0
            row[base + rc.V_NX], row[base + rc.V_NZ] = nx, nz
            row[base + rc.V_C] = nx * p0[0] + nz * p0[1]
            row[base + rc.V_LEN] = length
            row[base + rc.V_UX], row[base + rc.V_UZ] = ux, uz
            row[base + rc.V_LAM] = self._lam(np.array((nx, 0.0, nz)))
        first = rc.P_VERT
        ux, uz = row[first + rc.V_UX], row[first + rc.V_UZ]
        rel = fp - fp[0]
        row[rc.P_OX], row[rc.P_OZ] = fp[0]
        row[rc.P_AX], row[rc.P_AZ] = ux, uz
        row[rc.P_LEN0] = row[first + rc.V_LEN]
        row[rc.P_LEN1] = max(float(np.max(-rel[:, 0] * uz + rel[:, 1] * ux)), 1e-9)
        return row

    def _pack_building(self, mark: Landmark, index: int) -> np.ndarray:
        mid = self._material(f"landmark{index}", rc.KIND_WINDOWS, tuple(map(float, mark.colour)), _WINDOW_RGB)
        box = Box(f"landmark{index}:building", "", mark.footprint, self.maze.floor_y,
                  self.maze.floor_y + mark.height)
        return self._pack_box(box, material=mid)

    def _pack_solid(self, mark: Landmark, index: int) -> np.ndarray:
        """A frustum over the landmark's base rectangle, as half-spaces n . p <= c."""
        if mark.kind not in _TAPER:
            raise ValueError(f"landmark {index}: unknown kind {mark.kind!r}; valid kinds: "
                             f"building, {', '.join(_TAPER)}")
        if mark.kind == "tower":
            mid = self._material(f"landmark{index}", rc.KIND_BANDS, tuple(map(float, mark.colour)),
                                 _TOWER_SECOND_RGB, mark.height / _TOWER_BANDS)
        else:
            mid = self._material(f"landmark{index}", rc.KIND_PLAIN, tuple(map(float, mark.colour)))
        fp = np.asarray(mark.footprint, dtype=np.float64)
        x0, z0 = fp.min(axis=0)
        x1, z1 = fp.max(axis=0)
        y0, y1 = self.maze.floor_y, self.maze.floor_y + mark.height
        shrink = 1.0 - _TAPER[mark.kind]
        kx = shrink * (x1 - x0) / 2.0 / mark.height  # inward slope of the x faces per metre up
        kz = shrink * (z1 - z0) / 2.0 / mark.height
        planes = [
            ((0.0, -1.0, 0.0), -y0),
            ((0.0, 1.0, 0.0), y1),
            ((-1.0, kx, 0.0), -x0 + kx * y0),
            ((1.0, kx, 0.0), x1 + kx * y0),
            ((0.0, kz, -1.0), -z0 + kz * y0),
            ((0.0, kz, 1.0), z1 + kz * y0),
        ]
        row = np.zeros(rc.S_FIELDS)
        row[: rc.S_PLANE] = (len(planes), mid, x0, x1, z0, z1, y0, y1)
        for j, (normal, c) in enumerate(planes):
            n = np.asarray(normal)
            norm = float(np.linalg.norm(n))
            unit = n / norm
            row[rc.S_PLANE + 5 * j: rc.S_PLANE + 5 * j + 5] = (*unit, c / norm, self._lam(unit))
        return row

    def _load_extras(self, extras: tuple[Box, ...]) -> int:
        """Write the dynamic boxes after the static ones; returns the number of prisms to draw."""
        n = self._n_static + len(extras)
        if len(extras) == len(self._extras) and all(a is b for a, b in zip(extras, self._extras)):
            return n
        if n > len(self._prisms):
            grown = np.zeros((n + 4, rc.P_FIELDS))
            grown[: self._n_static] = self._prisms[: self._n_static]
            self._prisms = grown
        if len(self._extra_rows) > 256:  # boxes come and go with trials; forget old ones
            self._extra_rows.clear()
        for i, box in enumerate(extras):
            cached = self._extra_rows.get(id(box))
            if cached is None or cached[0] is not box:
                if not isinstance(box, Box):
                    raise TypeError(f"extra_boxes[{i}] must be a tasks.geometry.Box, got {type(box).__name__}")
                cached = (box, self._pack_box(box))
                self._extra_rows[id(box)] = cached
            self._prisms[self._n_static + i] = cached[1]
        self._extras = extras
        return n

    def _sky(self, size: int) -> tuple[np.ndarray, float]:
        """Heading-independent sky colours [3, S, S] and the cosine of the sun radius (> 1: none)."""
        if self.maze.sky == "plain":
            base = np.broadcast_to(np.array(self._plain_sky_rgb, dtype=np.float64)[:, None, None], (3, size, size))
            return np.ascontiguousarray(base), 2.0
        if self.maze.sky != "procedural":
            raise ValueError(f"maze {self.maze.name!r}: unknown sky {self.maze.sky!r}; valid: plain, procedural")
        centres = (np.arange(size) + 0.5 - size / 2.0) * (self._fov_tan / (size / 2.0))
        lat, up = np.meshgrid(centres, -centres)
        sin_elev = up / np.sqrt(1.0 + lat**2 + up**2)
        above = np.sqrt(np.clip(sin_elev, 0.0, 1.0))[..., None]
        below = np.clip(-sin_elev * 8.0, 0.0, 1.0)[..., None]
        rgb = np.where(sin_elev[..., None] >= 0.0,
                       _SKY_HORIZON + above * (_SKY_ZENITH - _SKY_HORIZON),
                       _SKY_HORIZON + below * (_SKY_GROUND - _SKY_HORIZON))
        return np.ascontiguousarray(rgb.transpose(2, 0, 1)), math.cos(math.radians(SUN_RADIUS_DEG))


def _cue_image(shape: str, size: int) -> np.ndarray:
    """The 1-7 / 1-8d cue: a black ``shape`` centred on white, uint8 [3, S, S]."""
    c = (np.arange(size) + 0.5) / size - 0.5  # pixel centres in [-0.5, 0.5], y down
    x, y = np.meshgrid(c, c)
    if shape == "circle":
        inside = x**2 + y**2 <= 0.3**2
    elif shape == "square":
        inside = (np.abs(x) <= 0.28) & (np.abs(y) <= 0.28)
    else:  # equilateral triangle, apex up, side 0.7, centred on its centroid
        side = 0.7
        h = side * math.sqrt(3.0) / 2.0
        top, bottom = -2.0 * h / 3.0, h / 3.0
        half_width = (y - top) / h * side / 2.0
        inside = (y >= top) & (y <= bottom) & (np.abs(x) <= half_width)
    img = np.where(inside, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(np.broadcast_to(img, (3, size, size)))
