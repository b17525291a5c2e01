"""The street itself: its layout, sky, distant skyline, road and sidewalks, building facades."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from utils.synthetic.camera import FAR, Z_NEAR, Canvas, _ground, _plane
from utils.synthetic.classes import BUILDING, ROAD, SIDEWALK, SKY, TERRAIN, VEGETATION
from utils.synthetic.colours import (
    _green,
    _grey,
    _hsv,
    _jitter,
    _paving_colour,
    _shade,
    _surface_colour,
)
from utils.synthetic.plants import _tree, _tree_row


@dataclass
class Street:
    """Lateral positions (metres, camera at x = 0) of the street's parts and its far end."""

    road_left: float
    road_right: float
    walk: tuple[float, float]  # sidewalk widths left, right
    verge: tuple[float, float]  # terrain / extra strip between sidewalk and facades
    end: float  # depth where the street ends in a cross facade (FAR: open)
    lanes: int

    def curb(self, side: int) -> float:
        """x of the curb on side -1 (left) or +1 (right)."""
        return self.road_left if side < 0 else self.road_right

    def walk_outer(self, side: int) -> float:
        """x of the sidewalk's outer edge."""
        return self.curb(side) + side * self.walk[side > 0]

    def facade(self, side: int) -> float:
        """x of the building line."""
        return self.walk_outer(side) + side * self.verge[side > 0]


def _sky(cv: Canvas) -> None:
    """Vertical gradient sky, maybe clouds; the whole image starts as sky."""
    rng, s = cv.rng, cv.size
    kind = rng.random()
    if kind < 0.5:  # blue
        top = _hsv(rng.uniform(0.55, 0.62), rng.uniform(0.35, 0.7), rng.uniform(0.6, 0.95))
        low = _hsv(rng.uniform(0.52, 0.6), rng.uniform(0.05, 0.3), rng.uniform(0.8, 1.0))
    elif kind < 0.85:  # overcast
        top, low = _grey(rng, 150, 235, 8), _grey(rng, 175, 250, 8)
    else:  # dusk / hazy
        top = _hsv(rng.uniform(0.55, 0.7), rng.uniform(0.2, 0.5), rng.uniform(0.4, 0.8))
        low = _hsv(rng.uniform(0.03, 0.12), rng.uniform(0.2, 0.5), rng.uniform(0.7, 1.0))
    t = np.clip(np.arange(s, dtype=np.float32) / max(cv.cam.horizon, 1.0), 0, 1)[:, None]
    grad = np.array(top, np.float32) * (1 - t) + np.array(low, np.float32) * t
    cv.photo[:] = grad[:, None, :].astype(np.uint8)
    cv.ids[:] = SKY
    if kind < 0.85 and rng.random() < 0.6:
        mask = np.zeros((s // 4, s // 4), np.float32)
        for _ in range(rng.integers(2, 7)):
            cx, cy = rng.uniform(0, s // 4), rng.uniform(0, cv.cam.horizon / 4)
            for _ in range(rng.integers(3, 9)):
                r = rng.uniform(1.5, 6)
                c = (int(cx + rng.normal(0, 5)), int(cy + rng.normal(0, 1.5)))
                cv2.circle(mask, c, int(r), 1.0, -1)
        mask = cv2.resize(cv2.GaussianBlur(mask, (0, 0), 1.5), (s, s))[..., None]
        cloud = np.array(_grey(rng, 200, 255, 5), np.float32)
        a = rng.uniform(0.4, 0.9)
        cv.photo[:] = (cv.photo * (1 - a * mask) + cloud * a * mask).astype(np.uint8)


def _skyline(cv: Canvas, st: Street) -> None:
    """Distant buildings and tree lines along the horizon, and open ground below it."""
    rng, cam = cv.rng, cv.cam
    ground = _green(rng, rng.random()) if rng.random() < 0.6 else _grey(rng, 70, 150)
    cv.fill_world([_ground(-400, 400, 1.0, FAR)], ground, TERRAIN)  # seen through gaps
    x = -300.0
    depth = rng.uniform(150, 400)
    while x < 300:
        w = rng.uniform(10, 60)
        if rng.random() < 0.65:
            h = rng.uniform(6, 35)
            col = _shade(_surface_colour(rng), rng.uniform(0.7, 1.0))
            cv.fill_world(_plane((x, 0, depth), (1, 0, 0), [[0, w]], [[0, h]]), col, BUILDING)
        elif rng.random() < 0.7:
            col = _green(rng, 0.3)
            top = cam.uv(np.array([[x, 0, depth], [x + w, rng.uniform(5, 15), depth]]))
            for _ in range(6):
                u = rng.uniform(top[0, 0], top[1, 0])
                r = abs(top[1, 1] - top[0, 1]) * rng.uniform(0.3, 0.6) + 0.5
                cv.circle((u, top[0, 1] - r * 0.8), r, _jitter(rng, col, 15), VEGETATION)
        x += w


def _road(cv: Canvas, st: Street) -> None:
    """Road, sidewalks with curbs, verges, lane markings and maybe a crossing."""
    rng = cv.rng
    end = min(st.end, FAR)
    asphalt = _grey(rng, 45, 150, 8)
    cv.fill_world([_ground(st.road_left, st.road_right, Z_NEAR, end)], asphalt, ROAD)
    # darker wheel tracks / patches on the asphalt (photo only)
    for _ in range(rng.integers(0, 4)):
        x = rng.uniform(st.road_left, st.road_right - 1)
        z = rng.uniform(2, 40)
        patch = _ground(x, x + rng.uniform(0.5, 3), z, z + rng.uniform(2, 20))
        cv.fill_world([patch], _shade(asphalt, rng.uniform(0.75, 1.2)), None)
    walk_col = _paving_colour(rng)
    for side in (-1, 1):
        curb, outer, fac = st.curb(side), st.walk_outer(side), st.facade(side)
        if st.verge[side > 0] > 0:
            if rng.random() < 0.6:
                col = _green(rng, rng.random())
                cv.fill_world([_ground(outer, fac, Z_NEAR, end)], col, TERRAIN)
            else:
                col = _grey(rng, 60, 180)
                cv.fill_world([_ground(outer, fac, Z_NEAR, end)], col, SIDEWALK)
        wc = _jitter(rng, walk_col, 10)
        cv.fill_world([_ground(min(curb, outer), max(curb, outer), Z_NEAR, end)], wc, SIDEWALK)
        # tile joints across the sidewalk (photo only)
        step = rng.uniform(1.0, 3.0)
        zs = np.arange(rng.uniform(1, 3), min(end, 60), step)
        if len(zs):
            joints = np.stack(
                [_ground(min(curb, outer), max(curb, outer), z, z + 0.05) for z in zs]
            )
            cv.fill_world(joints, _shade(wc, 0.8), None)
        # curb stone: a light strip along the road edge (photo only)
        x0 = curb - side * 0.15
        cv.fill_world([_ground(min(x0, curb), max(x0, curb), Z_NEAR, end)], _shade(wc, 1.15), None)
        # terrain patches in the sidewalk (tree pits, grass) sometimes
        if rng.random() < 0.3:
            for _ in range(rng.integers(1, 4)):
                z = rng.uniform(3, 40)
                col = _green(rng, rng.random())
                x1 = curb + side * rng.uniform(0.3, 1.0)
                x2 = x1 + side * rng.uniform(0.8, 1.5)
                cv.fill_world(
                    [_ground(min(x1, x2), max(x1, x2), z, z + rng.uniform(1.5, 5))], col, TERRAIN
                )
    paint = _grey(rng, 170, 240, 10) if rng.random() < 0.9 else _hsv(0.14, 0.6, 0.9)
    width = st.road_right - st.road_left
    dash, gap = rng.uniform(2, 4), rng.uniform(3, 8)
    for k in range(1, st.lanes):
        x = st.road_left + width * k / st.lanes
        solid = rng.random() < 0.25
        z0 = np.arange(rng.uniform(1, dash + gap), min(end, 200), dash + gap)
        quads = [_ground(x - 0.07, x + 0.07, z, z + (dash + gap if solid else dash)) for z in z0]
        if quads:
            cv.fill_world(np.stack(quads), paint, None)
    if rng.random() < 0.5:  # edge lines
        for x in (st.road_left + 0.3, st.road_right - 0.3):
            cv.fill_world([_ground(x - 0.06, x + 0.06, Z_NEAR, end)], paint, None)
    if rng.random() < 0.3:  # zebra crossing
        z = rng.uniform(6, 25)
        xs = np.arange(st.road_left + 0.3, st.road_right - 0.3, 1.0)
        cv.fill_world(np.stack([_ground(x, x + 0.5, z, z + 3) for x in xs]), paint, None)
    if st.end < FAR:  # cross street at the end: sidewalk across
        cv.fill_world([_ground(-200, 200, st.end - 3, st.end)], walk_col, SIDEWALK)
        cv.fill_world([_ground(-200, 200, st.end - 12, st.end - 3)], asphalt, ROAD)


def _facade(
    cv: Canvas, o: Sequence[float], u: Sequence[float], length: float, height: float, lit: float
) -> None:
    """One building front with floors of windows, maybe shop windows and a cornice."""
    rng = cv.rng
    base = _shade(_surface_colour(rng), lit)
    cv.fill_world(_plane(o, u, [[0, length]], [[0, height]]), base, BUILDING)
    floor_h = rng.uniform(2.8, 3.8)
    shop = rng.random() < 0.5
    first = floor_h if shop else rng.uniform(0.6, 1.2)
    win_w, win_h = rng.uniform(0.8, 1.7), rng.uniform(1.2, 2.0)
    pitch = win_w + rng.uniform(0.7, 2.5)
    floors = np.arange(first + rng.uniform(0.5, 0.9), height - win_h - 0.3, floor_h)
    cols = np.arange(rng.uniform(0.4, 1.2), length - win_w - 0.2, pitch)
    near = min(o[2], o[2] + length * u[2])
    if cv.cam.f / near * win_w < 1.2:  # windows under a pixel or so: not worth drawing
        floors = cols = ()
    if len(floors) and len(cols):
        ss, tt = np.meshgrid(cols, floors)
        s = np.stack([ss.ravel(), ss.ravel() + win_w], 1)
        t = np.stack([tt.ravel(), tt.ravel() + win_h], 1)
        glass = (
            _shade(_grey(rng, 25, 110, 15), lit)
            if rng.random() < 0.7
            else _jitter(rng, (120, 140, 160), 30)
        )
        group = rng.integers(0, 3, len(s))
        if rng.random() < 0.6:  # window frames
            frame = _shade(base, rng.uniform(0.6, 1.35))
            cv.fill_world(_plane(o, u, s + [-0.12, 0.12], t + [-0.12, 0.12]), frame, None)
        for g, k in enumerate((1.0, 0.8, 1.25)):
            sel = group == g
            if sel.any():
                cv.fill_world(_plane(o, u, s[sel], t[sel]), _shade(glass, k), None)
    if shop:
        n = max(1, int(length // rng.uniform(3, 6)))
        edges = np.linspace(0.3, length - 0.3, n + 1)
        s = np.stack([edges[:-1] + 0.3, edges[1:] - 0.3], 1)
        t = np.tile([0.3, floor_h - 0.6], (n, 1))
        cv.fill_world(_plane(o, u, s, t), _shade(_grey(rng, 20, 90, 15), lit), None)
        if rng.random() < 0.5:  # awning / shop sign band
            band = _plane(o, u, [[0, length]], [[floor_h - 0.5, floor_h - 0.05]])
            cv.fill_world(band, _surface_colour(rng), None)
    if rng.random() < 0.6:  # cornice
        cv.fill_world(
            _plane(o, u, [[0, length]], [[height - 0.5, height]]),
            _shade(base, rng.uniform(0.55, 1.3)),
            None,
        )


def _buildings(cv: Canvas, st: Street) -> None:
    """Rows of facades on both sides, gaps with trees, and a cross facade at a closed end."""
    rng = cv.rng
    for side in (-1, 1):
        if rng.random() < 0.08:  # open side: park / field
            _tree_row(cv, st.facade(side) + side * 3, 5, 120, rng.uniform(5, 10))
            continue
        x = st.facade(side)
        lit = cv.light if side < 0 else 2.0 - cv.light  # left facades face right
        z = rng.uniform(0.5, 3.0)
        stop = min(st.end - 12, rng.uniform(50, 180)) if st.end < FAR else rng.uniform(50, 180)
        base_h = rng.uniform(8, 25)
        while z < stop:
            length = rng.uniform(6, 25)
            if rng.random() < 0.12:  # gap between buildings: a tree or open space
                if rng.random() < 0.6:
                    _tree(cv, x + side * rng.uniform(1, 5), z + length / 2, rng.uniform(5, 11))
                z += length
                continue
            h = float(np.clip(base_h * rng.uniform(0.7, 1.3), 4, 40))
            o = (x, 0.0, z) if side < 0 else (x, 0.0, z + length)
            u = (0.0, 0.0, 1.0) if side < 0 else (0.0, 0.0, -1.0)
            _facade(cv, o, u, length, h, lit)
            z += length
    if st.end < FAR:
        x0 = st.facade(-1) - 80
        h = rng.uniform(10, 30)
        _facade(cv, (x0, 0, st.end), (1, 0, 0), st.facade(1) + 80 - x0, h, 1.0)
