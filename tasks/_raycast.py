"""Numba kernels of the first-person renderer (see ``tasks.render``).

Every maze object is either a vertical prism (walls, pillars, cubes, the building) or a convex
solid over a rectangle (tower, pyramid, mountain). With the camera pitch fixed at 0, every image
column is one vertical plane, so a prism covers one contiguous run of rows per column: the kernel
intersects each column's ray with each prism footprint in 2-D (a few multiply-adds) instead of
testing every pixel. The convex solids are rare and small on screen, so they are ray-clipped per
pixel against their half-spaces. A z-buffer of perpendicular depth (distance along the optical
axis, as in a GPU depth buffer) resolves occlusion, so objects may be drawn in any order.

Packed layouts (float64 rows, one per object) are defined by the constants below and filled by
``tasks.render``; keeping them in one array each keeps the numba call cheap.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

# ---- prism rows -------------------------------------------------------------------------------
MAX_VERTS = 8
P_NV, P_YMIN, P_YMAX, P_MAT, P_LAM_TOP, P_LAM_BOTTOM = 0, 1, 2, 3, 4, 5
P_OX, P_OZ, P_AX, P_AZ, P_LEN0, P_LEN1 = 6, 7, 8, 9, 10, 11  # cap texture frame
P_VERT = 12  # first per-vertex field; vertex k occupies P_VERT + k * V_FIELDS ...
V_X, V_Z, V_NX, V_NZ, V_C, V_LEN, V_UX, V_UZ, V_LAM = range(9)
V_FIELDS = 9
P_FIELDS = P_VERT + MAX_VERTS * V_FIELDS

# ---- convex solid rows (landmarks) --------------------------------------------------------------
MAX_PLANES = 6
S_NPLANES, S_MAT, S_X0, S_X1, S_Z0, S_Z1, S_Y0, S_Y1 = range(8)
S_PLANE = 8  # plane j: (nx, ny, nz, c, lam) at S_PLANE + 5 j; inside means n . p <= c
S_FIELDS = S_PLANE + 5 * MAX_PLANES

# ---- material rows ---------------------------------------------------------------------------------
M_KIND, M_R1, M_G1, M_B1, M_R2, M_G2, M_B2, M_PARAM = range(8)
M_FIELDS = 8
KIND_PLAIN, KIND_DISCS, KIND_CHECKER, KIND_WINDOWS, KIND_BANDS, KIND_INVISIBLE = range(6)

AMBIENT = 0.6  # share of the albedo lit by the sky whatever the face orientation
DIFFUSE = 0.5  # share added by the directional light on a face that faces it squarely
NEAR = 0.3  # Unity near clip plane (SPEC 1.4): nothing closer is drawn (the default ``near`` of the kernels)
_BIG = 1e30


@njit(cache=True, inline="always")
def _frac(a: float) -> float:
    return a - math.floor(a)


@njit(cache=True)
def _albedo(mats: np.ndarray, mid: int, u: float, v: float, u_m: float, h_m: float):
    """Texture colour (0..255) of material ``mid`` at face coordinates u, v in [0, 1] (v up).

    ``u_m`` / ``h_m`` are the same coordinates in metres, for textures defined in world units.
    """
    kind = int(mats[mid, M_KIND])
    second = False
    if kind == KIND_DISCS:  # two discs of diameter 1/4 face width at u = 1/4, 3/4, v = 1/2
        du1 = u - 0.25
        du2 = u - 0.75
        dv = v - 0.5
        second = du1 * du1 + dv * dv < 0.015625 or du2 * du2 + dv * dv < 0.015625
    elif kind == KIND_CHECKER:  # 2 columns x 4 rows, top-left cell coloured
        col = min(max(int(u * 2.0), 0), 1)
        row = min(max(int((1.0 - v) * 4.0), 0), 3)
        second = (col + row) % 2 == 1
    elif kind == KIND_WINDOWS:  # window grid every 1.4 m across, 1.6 m up, from 1 m above ground
        a = _frac(u_m / 1.4)
        b = _frac(h_m / 1.6)
        second = h_m > 1.0 and 0.3 < a < 0.75 and 0.35 < b < 0.8
    elif kind == KIND_BANDS:  # horizontal bands of height PARAM
        second = int(h_m / mats[mid, M_PARAM]) % 2 == 1
    if second:
        return mats[mid, M_R2], mats[mid, M_G2], mats[mid, M_B2]
    return mats[mid, M_R1], mats[mid, M_G1], mats[mid, M_B1]


@njit(cache=True, inline="always")
def _put(rgb: np.ndarray, r: int, c: int, red: float, green: float, blue: float, lam: float,
         light: np.ndarray) -> None:
    red *= AMBIENT + DIFFUSE * lam * light[0]
    green *= AMBIENT + DIFFUSE * lam * light[1]
    blue *= AMBIENT + DIFFUSE * lam * light[2]
    rgb[0, r, c] = np.uint8(min(red + 0.5, 255.0))
    rgb[1, r, c] = np.uint8(min(green + 0.5, 255.0))
    rgb[2, r, c] = np.uint8(min(blue + 0.5, 255.0))


@njit(cache=True, inline="always")
def _row_of(y: float, t: float, eye: float, f: float, half: float) -> float:
    """Continuous row index of the point at height y and depth t (row 0 at the top)."""
    return half - f * (y - eye) / t - 0.5


@njit(cache=True, inline="always")
def _clamp_row(a: float, n: int) -> int:
    if a < 0.0:
        return 0
    if a > n - 1:
        return n - 1
    return int(a)


@njit(cache=True, inline="always")
def _cut(num: float, den: float, k: int, t_in: float, t_out: float, enter: int):
    """Clip the ray's span ``[t_in, t_out]`` by the half-space ``n . x <= c`` (``num = c - n . eye``,
    ``den = n . direction``); ``enter`` is the face the ray last entered through. A ray parallel to
    the face and outside it misses: ``t_in`` becomes ``_BIG``."""
    if den == 0.0:
        if num < 0.0:
            t_in = _BIG
    elif den < 0.0:
        t = num / den
        if t > t_in:
            t_in = t
            enter = k
    else:
        t = num / den
        if t < t_out:
            t_out = t
    return t_in, t_out, enter


@njit(cache=True)
def _column_range(xs: np.ndarray, zs: np.ndarray, n: int, cx: float, cz: float, fx: float, fz: float,
                  rx: float, rz: float, f: float, half: float, size: int, near: float):
    """Image columns that the footprint with corners (xs, zs)[:n] may cover; (1, 0) if none."""
    lo = _BIG
    hi = -_BIG
    behind = 0
    straddle = False
    for k in range(n):
        dx = xs[k] - cx
        dz = zs[k] - cz
        depth = dx * fx + dz * fz
        lateral = dx * rx + dz * rz
        if depth < near:
            behind += 1
            straddle = True
            continue
        s = half + f * lateral / depth - 0.5
        lo = min(lo, s)
        hi = max(hi, s)
    if behind == n:
        return 1, 0
    if straddle:
        return 0, size - 1
    c0 = int(math.floor(lo)) + 1 if lo > -1.0 else 0
    c1 = int(math.floor(hi)) if hi < size else size - 1
    return max(c0, 0), min(c1, size - 1)


@njit(cache=True)
def render_frame(cx: float, cz: float, heading: float, eye: float, fov_tan: float,
                 floor_y: float, floor_bounds: np.ndarray, floor_rgb: np.ndarray, floor_lam: float,
                 prisms: np.ndarray, n_prisms: int, solids: np.ndarray, mats: np.ndarray,
                 light: np.ndarray, sky_base: np.ndarray, sun_dir: np.ndarray, sun_cos: float,
                 far: float, near: float, shade: bool, rgb: np.ndarray, zbuf: np.ndarray) -> None:
    """Render one square view into ``zbuf`` [S, S] (perpendicular depth, inf = sky) and, when
    ``shade``, into ``rgb`` uint8 [3, S, S].

    The camera sits at (cx, eye, cz), looks along ``heading`` (0 = +z, pi/2 = +x) with pitch 0;
    ``fov_tan`` = tan(fov / 2). ``sky_base`` [3, S, S] is the heading-independent sky colour;
    ``sun_cos`` > 1 disables the sun disc. Surfaces deeper than ``far`` (the far clip plane;
    inf = none) are clipped: those pixels show the sky, as in a camera with that far plane; nothing
    nearer than ``near`` (the near clip plane, ``NEAR`` for the 2017 cameras) is drawn.
    """
    size = zbuf.shape[0]
    half = 0.5 * size
    f = half / fov_tan
    fx = math.sin(heading)
    fz = math.cos(heading)
    rx = fz
    rz = -fx
    ys = np.empty(size)
    for r in range(size):
        ys[r] = (half - (r + 0.5)) / f
    zbuf[:, :] = np.inf

    # Floor: a horizontal plane, so its depth depends on the row only.
    if eye > floor_y:
        for r in range(size):
            if ys[r] >= 0.0:
                continue
            t = (floor_y - eye) / ys[r]
            if t < near:
                continue
            for c in range(size):
                lat = (c + 0.5 - half) / f
                px = cx + t * (fx + lat * rx)
                pz = cz + t * (fz + lat * rz)
                if floor_bounds[0] <= px <= floor_bounds[1] and floor_bounds[2] <= pz <= floor_bounds[3]:
                    zbuf[r, c] = t
                    if shade:
                        _put(rgb, r, c, floor_rgb[0], floor_rgb[1], floor_rgb[2], floor_lam, light)

    vx = np.empty(MAX_VERTS)
    vz = np.empty(MAX_VERTS)
    for b in range(n_prisms):
        mid = int(prisms[b, P_MAT])
        kind = int(mats[mid, M_KIND])
        if shade and kind == KIND_INVISIBLE:
            continue
        nv = int(prisms[b, P_NV])
        for k in range(nv):
            vx[k] = prisms[b, P_VERT + k * V_FIELDS + V_X]
            vz[k] = prisms[b, P_VERT + k * V_FIELDS + V_Z]
        c0, c1 = _column_range(vx, vz, nv, cx, cz, fx, fz, rx, rz, f, half, size, near)
        y_min = prisms[b, P_YMIN]
        y_max = prisms[b, P_YMAX]
        height = y_max - y_min
        for c in range(c0, c1 + 1):
            lat = (c + 0.5 - half) / f
            dx = fx + lat * rx
            dz = fz + lat * rz
            t_in = -_BIG
            t_out = _BIG
            enter = -1
            for k in range(nv):
                base = P_VERT + k * V_FIELDS
                nx = prisms[b, base + V_NX]
                nz = prisms[b, base + V_NZ]
                t_in, t_out, enter = _cut(prisms[b, base + V_C] - (nx * cx + nz * cz),
                                          nx * dx + nz * dz, k, t_in, t_out, enter)
                if t_in == _BIG:
                    break
            if t_in > t_out or t_out <= near:
                continue
            if t_in >= near and enter >= 0:  # the face the ray enters through
                top = _row_of(y_max, t_in, eye, f, half)
                bottom = _row_of(y_min, t_in, eye, f, half)
                if bottom >= 0.0 and top <= size - 1:
                    r0 = _clamp_row(math.ceil(top), size)
                    r1 = _clamp_row(math.floor(bottom), size)
                    base = P_VERT + enter * V_FIELDS
                    s = ((cx + t_in * dx - prisms[b, base + V_X]) * prisms[b, base + V_UX]
                         + (cz + t_in * dz - prisms[b, base + V_Z]) * prisms[b, base + V_UZ])
                    length = prisms[b, base + V_LEN]
                    lam = prisms[b, base + V_LAM]
                    for r in range(r0, r1 + 1):
                        if t_in < zbuf[r, c]:
                            zbuf[r, c] = t_in
                            if shade:
                                h = eye + ys[r] * t_in - y_min
                                red, green, blue = _albedo(mats, mid, s / length, h / height, s, h)
                                _put(rgb, r, c, red, green, blue, lam, light)
            # The top face (seen from above) or bottom face (from below), between entry and exit.
            if eye > y_max:
                y_cap = y_max
                lam = prisms[b, P_LAM_TOP]
            elif eye < y_min:
                y_cap = y_min
                lam = prisms[b, P_LAM_BOTTOM]
            else:
                continue
            ta = max(t_in, near)
            ra = _row_of(y_cap, ta, eye, f, half)
            rb = _row_of(y_cap, t_out, eye, f, half)
            r0 = _clamp_row(math.ceil(min(ra, rb)), size)
            r1 = _clamp_row(math.floor(max(ra, rb)), size)
            if max(ra, rb) < 0.0 or min(ra, rb) > size - 1:
                continue
            for r in range(r0, r1 + 1):
                if ys[r] == 0.0:
                    continue
                t = (y_cap - eye) / ys[r]
                if t < ta or t > t_out or t >= zbuf[r, c]:
                    continue
                zbuf[r, c] = t
                if shade:
                    ox = cx + t * dx - prisms[b, P_OX]
                    oz = cz + t * dz - prisms[b, P_OZ]
                    a = ox * prisms[b, P_AX] + oz * prisms[b, P_AZ]
                    d = -ox * prisms[b, P_AZ] + oz * prisms[b, P_AX]
                    red, green, blue = _albedo(mats, mid, a / prisms[b, P_LEN0], d / prisms[b, P_LEN1], a, d)
                    _put(rgb, r, c, red, green, blue, lam, light)

    for j in range(solids.shape[0]):
        _draw_solid(solids, j, mats, cx, cz, eye, fx, fz, rx, rz, f, half, ys, near, shade, light, rgb, zbuf)

    if far < np.inf:  # everything behind a clipped surface lies beyond the far plane too
        for r in range(size):
            for c in range(size):
                if zbuf[r, c] > far:
                    zbuf[r, c] = np.inf

    if shade:
        _fill_sky(sky_base, sun_dir, sun_cos, fx, fz, rx, rz, f, half, ys, rgb, zbuf)


@njit(cache=True)
def _draw_solid(solids: np.ndarray, j: int, mats: np.ndarray, cx: float, cz: float, eye: float,
                fx: float, fz: float, rx: float, rz: float, f: float, half: float, ys: np.ndarray,
                near: float, shade: bool, light: np.ndarray, rgb: np.ndarray, zbuf: np.ndarray) -> None:
    """Ray-clip every pixel that the bounding box of convex solid ``j`` may cover."""
    size = zbuf.shape[0]
    x0, x1 = solids[j, S_X0], solids[j, S_X1]
    z0, z1 = solids[j, S_Z0], solids[j, S_Z1]
    y0, y1 = solids[j, S_Y0], solids[j, S_Y1]
    mid = int(solids[j, S_MAT])
    n_planes = int(solids[j, S_NPLANES])
    xs = np.array((x0, x1, x1, x0))
    zs = np.array((z0, z0, z1, z1))
    c0, c1 = _column_range(xs, zs, 4, cx, cz, fx, fz, rx, rz, f, half, size, near)
    for c in range(c0, c1 + 1):
        lat = (c + 0.5 - half) / f
        dx = fx + lat * rx
        dz = fz + lat * rz
        # 2-D slab test against the base rectangle bounds the rows worth testing.
        ta = -_BIG
        tb = _BIG
        if dx != 0.0:
            a = (x0 - cx) / dx
            b = (x1 - cx) / dx
            ta = max(ta, min(a, b))
            tb = min(tb, max(a, b))
        elif not x0 <= cx <= x1:
            continue
        if dz != 0.0:
            a = (z0 - cz) / dz
            b = (z1 - cz) / dz
            ta = max(ta, min(a, b))
            tb = min(tb, max(a, b))
        elif not z0 <= cz <= z1:
            continue
        if ta > tb or tb <= near:
            continue
        ta = max(ta, near)
        top = min(_row_of(y1, ta, eye, f, half), _row_of(y1, tb, eye, f, half))
        bottom = max(_row_of(y0, ta, eye, f, half), _row_of(y0, tb, eye, f, half))
        if bottom < 0.0 or top > size - 1:
            continue
        for r in range(_clamp_row(math.ceil(top), size), _clamp_row(math.floor(bottom), size) + 1):
            dy = ys[r]
            t_in = -_BIG
            t_out = _BIG
            enter = -1
            for p in range(n_planes):
                base = S_PLANE + 5 * p
                nx = solids[j, base]
                ny = solids[j, base + 1]
                nz = solids[j, base + 2]
                t_in, t_out, enter = _cut(solids[j, base + 3] - (nx * cx + ny * eye + nz * cz),
                                          nx * dx + ny * dy + nz * dz, p, t_in, t_out, enter)
                if t_in == _BIG:
                    break
            if enter < 0 or t_in > t_out or t_in < near or t_in >= zbuf[r, c]:
                continue
            zbuf[r, c] = t_in
            if shade:
                h = eye + dy * t_in - y0
                red, green, blue = _albedo(mats, mid, 0.0, h / (y1 - y0), 0.0, h)
                _put(rgb, r, c, red, green, blue, solids[j, S_PLANE + 5 * enter + 4], light)


@njit(cache=True)
def _fill_sky(sky_base: np.ndarray, sun_dir: np.ndarray, sun_cos: float, fx: float, fz: float,
              rx: float, rz: float, f: float, half: float, ys: np.ndarray, rgb: np.ndarray,
              zbuf: np.ndarray) -> None:
    """Colour the pixels nothing covered: the precomputed sky gradient plus the sun disc."""
    size = zbuf.shape[0]
    glow = 1.0 - sun_cos
    for r in range(size):
        for c in range(size):
            if zbuf[r, c] != np.inf:
                continue
            red = sky_base[0, r, c]
            green = sky_base[1, r, c]
            blue = sky_base[2, r, c]
            if sun_cos <= 1.0:
                lat = (c + 0.5 - half) / f
                dx = fx + lat * rx
                dz = fz + lat * rz
                norm = math.sqrt(dx * dx + dz * dz + ys[r] * ys[r])
                cos_sun = (dx * sun_dir[0] + ys[r] * sun_dir[1] + dz * sun_dir[2]) / norm
                if cos_sun > 1.0 - 4.0 * glow:  # disc plus a halo four times its (1 - cos) size
                    w = 1.0 if cos_sun >= sun_cos else (cos_sun - (1.0 - 4.0 * glow)) / (3.0 * glow)
                    w = w * w
                    red += w * (255.0 - red)
                    green += w * (250.0 - green)
                    blue += w * (235.0 - blue)
            rgb[0, r, c] = np.uint8(red + 0.5)
            rgb[1, r, c] = np.uint8(green + 0.5)
            rgb[2, r, c] = np.uint8(blue + 0.5)
