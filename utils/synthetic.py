"""Procedurally drawn street scenes in the Kaggle ``cityscapes-image-pairs`` format.

Each scene is a 256x256 street photo and its label image in the official Cityscapes colours
(taken from ``utils.labels``), drawn with the same geometry in one pass: a pinhole camera over a
flat street (road with lane markings, sidewalks, terrain strips), building facades with windows,
trees and hedges, poles with signs and traffic lights, cars, buses, trams, people and cyclists,
sorted far to near; sometimes the recording car's bonnet (void) at the bottom edge. Photo colours
are drawn per image from wide, overlapping ranges, then texture, shadows, haze, global brightness /
contrast / colour cast, blur and sensor noise are added, so a model has to use shape and context,
not a colour lookup. The label is drawn at twice the size and area-averaged down (anti-aliased
borders, as in the downscaled Kaggle labels). Pairs are saved side by side as 512x256 JPEGs with
the Kaggle files' quality and 4:2:0 chroma, so label borders blur the same way.

    python -m utils.synthetic --out DIR --train 200 --val 50 --seed 0

Every image has its own seed derived from ``(seed, split, index)``, so asking for more images
keeps the first ones byte for byte.
"""

from __future__ import annotations

import argparse
import colorsys
import functools
import json
import os
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from utils import labels

GENERATOR_VERSION = 1  # bump when scenes change, so cached samples are regenerated
DEFAULT_TRAIN = 200
DEFAULT_VAL = 50
IMAGE_SIZE = 256
# The Kaggle files use the quality-95 quantisation tables (measured on train/1.jpg) and 4:2:0
# chroma subsampling, which is OpenCV's default.
JPEG_QUALITY = 95
MANIFEST = "manifest.json"
SPLITS = ("train", "val")

VOID = labels.IGNORE_ID
ROAD = labels.class_id("road")
SIDEWALK = labels.class_id("sidewalk")
BUILDING = labels.class_id("building")
WALL = labels.class_id("wall")
FENCE = labels.class_id("fence")
POLE = labels.class_id("pole")
LIGHT = labels.class_id("traffic light")
SIGN = labels.class_id("traffic sign")
VEGETATION = labels.class_id("vegetation")
TERRAIN = labels.class_id("terrain")
SKY = labels.class_id("sky")
PERSON = labels.class_id("person")
RIDER = labels.class_id("rider")
CAR = labels.class_id("car")
TRUCK = labels.class_id("truck")
BUS = labels.class_id("bus")
TRAIN = labels.class_id("train")
MOTORCYCLE = labels.class_id("motorcycle")
BICYCLE = labels.class_id("bicycle")

SHIFT = 4  # OpenCV drawing with 4 fractional bits: sub-pixel geometry
ONE = 1 << SHIFT
# The label is drawn at twice the size and area-averaged down, which blends the colours of the
# border pixels as the Kaggle files' downscaled labels do. The same fixed-point coordinates serve
# both canvases: one fractional bit fewer doubles them.
LABEL_BITS = 1
LABEL_SHIFT = SHIFT - LABEL_BITS
# Then a slight blur: after JPEG, 77 % of the real label pixels within 2 px of a class border are
# more than 10 RGB units off the official colours; with this blur 70 % of the synthetic ones are
# (58 % without it; measured on 20 files each).
LABEL_BLUR = 0.8
Z_NEAR = 0.3  # metres: nearer points are clamped (everything that near is off screen anyway)
FAR = 2000.0  # metres: "at the horizon"

Colour = tuple[int, int, int]


# --------------------------------------------------------------------------- colours
def _clip(c: Sequence[float]) -> Colour:
    """A float RGB triple -> int triple in 0..255."""
    return (int(min(255, max(0, c[0]))), int(min(255, max(0, c[1]))), int(min(255, max(0, c[2]))))


def _hsv(h: float, s: float, v: float) -> Colour:
    """HSV in [0, 1] -> RGB 0..255."""
    r, g, b = colorsys.hsv_to_rgb(h % 1.0, s, v)
    return _clip((r * 255, g * 255, b * 255))


def _shade(c: Colour, k: float) -> Colour:
    """A colour times ``k`` (darker below 1, lighter above)."""
    return _clip((c[0] * k, c[1] * k, c[2] * k))


def _jitter(rng: np.random.Generator, c: Sequence[float], amount: float) -> Colour:
    """A colour with independent uniform noise of +- ``amount`` per channel."""
    d = rng.uniform(-amount, amount, 3)
    return _clip((c[0] + d[0], c[1] + d[1], c[2] + d[2]))


def _grey(rng: np.random.Generator, lo: float, hi: float, tint: float = 10) -> Colour:
    """A grey between ``lo`` and ``hi`` with a small random tint."""
    v = rng.uniform(lo, hi)
    return _jitter(rng, (v, v, v), tint)


def _surface_colour(rng: np.random.Generator) -> Colour:
    """A man-made surface colour (facade, car body, clothes): grey, beige, brick, pastel, dark."""
    kind = rng.random()
    if kind < 0.35:
        return _grey(rng, 50, 215, 12)
    if kind < 0.55:
        return _hsv(rng.uniform(0.07, 0.13), rng.uniform(0.15, 0.45), rng.uniform(0.55, 0.9))
    if kind < 0.7:
        return _hsv(rng.uniform(0.0, 0.06), rng.uniform(0.35, 0.7), rng.uniform(0.35, 0.7))
    if kind < 0.9:
        return _hsv(rng.random(), rng.uniform(0.1, 0.35), rng.uniform(0.45, 0.9))
    return _hsv(rng.random(), rng.uniform(0.5, 0.9), rng.uniform(0.3, 0.8))


def _paving_colour(rng: np.random.Generator) -> Colour:
    """A sidewalk colour: grey concrete mostly, else beige, red-brown or dark paving."""
    kind = rng.random()
    if kind < 0.65:
        return _grey(rng, 75, 200, 12)
    if kind < 0.8:
        return _hsv(rng.uniform(0.07, 0.12), rng.uniform(0.1, 0.35), rng.uniform(0.5, 0.85))
    if kind < 0.92:
        return _hsv(rng.uniform(0.0, 0.05), rng.uniform(0.25, 0.5), rng.uniform(0.35, 0.65))
    return _grey(rng, 40, 80, 8)


def _green(rng: np.random.Generator, season: float) -> Colour:
    """A foliage colour; ``season`` 0 = fresh green .. 1 = dry / autumn."""
    h = rng.uniform(0.2, 0.33) - 0.12 * season * rng.random()
    return _hsv(h, rng.uniform(0.3, 0.75), rng.uniform(0.2, 0.6))


# --------------------------------------------------------------------------- camera and canvas
@dataclass
class Camera:
    """Pinhole camera ``height`` metres above a flat ground; x right, y up, z forward."""

    f: float  # focal length in pixels
    cx: float  # vanishing point column
    horizon: float  # vanishing point row
    height: float

    def uv(self, pts: np.ndarray) -> np.ndarray:
        """Project world points ``(..., 3)`` to pixel coordinates ``(..., 2)``."""
        pts = np.asarray(pts, dtype=np.float64)
        k = self.f / np.maximum(pts[..., 2], Z_NEAR)
        out = np.empty(pts.shape[:-1] + (2,))
        out[..., 0] = self.cx + k * pts[..., 0]
        out[..., 1] = self.horizon + k * (self.height - pts[..., 1])
        return out

    def ground_row(self, z: float) -> float:
        """Image row of ground points at depth ``z``."""
        return self.horizon + self.f * self.height / max(z, Z_NEAR)


@dataclass
class Canvas:
    """The photo and the class-id image, drawn together with the same geometry."""

    photo: np.ndarray  # (S, S, 3) uint8 RGB
    ids: np.ndarray  # (2S, 2S) uint8 train ids, VOID = IGNORE_ID, at twice the photo's size
    cam: Camera
    rng: np.random.Generator
    light: float = 1.0  # sun side factor: facades facing right are lit by this much
    items: list[tuple[float, Callable[[], None]]] = field(default_factory=list)

    def small_ids(self) -> np.ndarray:
        """The class ids at the photo's size (nearest sample of the label canvas)."""
        step = 1 << LABEL_BITS
        return self.ids[step // 2 :: step, step // 2 :: step]

    @property
    def size(self) -> int:
        """Side of the square canvas in pixels."""
        return self.photo.shape[0]

    def fill(self, polys: np.ndarray | list, colour: Colour, cls: int | None) -> None:
        """Fill polygons ``(N, K, 2)`` (pixel coords) in the photo, and ``cls`` in the ids."""
        if len(polys) == 0:
            return
        fixed = np.asarray(polys, dtype=np.float64) * ONE  # fixed point with SHIFT fraction bits
        pts = list(np.rint(fixed, out=fixed).astype(np.int32))
        cv2.fillPoly(self.photo, pts, colour, cv2.LINE_AA, SHIFT)
        if cls is not None:
            cv2.fillPoly(self.ids, pts, int(cls), cv2.LINE_8, LABEL_SHIFT)

    def fill_world(self, polys: np.ndarray | list, colour: Colour, cls: int | None) -> None:
        """Fill world-space polygons ``(N, K, 3)``; in batches, drops those under 0.1 pixel."""
        uv = self.cam.uv(polys)
        if uv.ndim == 2:
            uv = uv[None]
        elif len(uv) > 1:
            span = uv.max(axis=1) - uv.min(axis=1)
            uv = uv[(span > 0.1).all(axis=1)]
        self.fill(uv, colour, cls)

    def circle(
        self, centre: Sequence[float], radius: float, colour: Colour, cls: int | None
    ) -> None:
        """Filled disc in pixel coordinates."""
        c = (int(centre[0] * ONE + 0.5), int(centre[1] * ONE + 0.5))
        r = max(1, int(radius * ONE + 0.5))
        cv2.circle(self.photo, c, r, colour, -1, cv2.LINE_AA, SHIFT)
        if cls is not None:
            cv2.circle(self.ids, c, r, int(cls), -1, cv2.LINE_8, LABEL_SHIFT)

    def ellipse(
        self, centre: Sequence[float], axes: Sequence[float], colour: Colour, cls: int | None
    ) -> None:
        """Filled axis-aligned ellipse in pixel coordinates."""
        c = (int(centre[0] * ONE + 0.5), int(centre[1] * ONE + 0.5))
        a = (max(1, int(axes[0] * ONE + 0.5)), max(1, int(axes[1] * ONE + 0.5)))
        cv2.ellipse(self.photo, c, a, 0, 0, 360, colour, -1, cv2.LINE_AA, SHIFT)
        if cls is not None:
            cv2.ellipse(self.ids, c, a, 0, 0, 360, int(cls), -1, cv2.LINE_8, LABEL_SHIFT)

    def line(
        self, p: Sequence[float], q: Sequence[float], width: float, colour: Colour, cls: int | None
    ) -> None:
        """A thick segment, drawn as a quad so that sub-pixel widths stay thin."""
        p, q = np.asarray(p, float), np.asarray(q, float)
        d = q - p
        n = np.array([-d[1], d[0]]) / max(np.hypot(*d), 1e-6) * max(width, 0.7) / 2
        self.fill([np.array([p + n, q + n, q - n, p - n])], colour, cls)

    def add(self, depth: float, draw: Callable[[], None]) -> None:
        """Queue an object; objects are drawn far to near."""
        self.items.append((depth, draw))


def _plane(o: Sequence[float], u: Sequence[float], s: np.ndarray, t: np.ndarray) -> np.ndarray:
    """World quads ``(N, 4, 3)`` on a vertical plane: origin ``o``, horizontal unit ``u``.

    ``s`` (N, 2) are horizontal and ``t`` (N, 2) vertical (height) extents of each quad.
    """
    if isinstance(s, list) and len(s) == 1:  # one quad: plain Python is 5x faster than NumPy
        (s0, s1), (t0, t1) = s[0], t[0]
        return np.array(
            [
                [o[0] + s0 * u[0], o[1] + t0, o[2] + s0 * u[2]],
                [o[0] + s0 * u[0], o[1] + t1, o[2] + s0 * u[2]],
                [o[0] + s1 * u[0], o[1] + t1, o[2] + s1 * u[2]],
                [o[0] + s1 * u[0], o[1] + t0, o[2] + s1 * u[2]],
            ]
        )[None]
    o, u = np.asarray(o, float), np.asarray(u, float)
    s, t = np.atleast_2d(s), np.atleast_2d(t)
    corners_s = s[:, [0, 0, 1, 1]]
    corners_t = t[:, [0, 1, 1, 0]]
    pts = o + corners_s[..., None] * u
    pts[..., 1] += corners_t
    return pts


def _box_top(x0: float, x1: float, y: float, z0: float, z1: float) -> np.ndarray:
    """A horizontal quad ``(4, 3)`` at height ``y`` (a roof or a bonnet)."""
    return np.array([[x0, y, z0], [x1, y, z0], [x1, y, z1], [x0, y, z1]], float)


def _ground(x0: float, x1: float, z0: float, z1: float) -> np.ndarray:
    """A ground quad ``(4, 3)`` between lateral ``x0..x1`` and depth ``z0..z1``."""
    return np.array([[x0, 0, z0], [x1, 0, z0], [x1, 0, z1], [x0, 0, z1]], float)


# --------------------------------------------------------------------------- street layout
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


# --------------------------------------------------------------------------- objects
def _tree(cv: Canvas, x: float, z: float, height: float) -> None:
    """Queue a tree: trunk and a crown of leafy blobs, all vegetation."""
    rng = cv.rng
    crown_r = height * rng.uniform(0.2, 0.35)
    leaves = _green(rng, rng.uniform(0, 0.8))
    bark = _grey(rng, 40, 100, 10)
    offsets = rng.normal(0, 0.55, (int(rng.integers(14, 30)), 2))
    radii = rng.uniform(0.35, 0.6, len(offsets))
    shades = rng.uniform(0.65, 1.35, len(offsets))
    trunk_w = rng.uniform(0.2, 0.45)

    def draw() -> None:
        cam = cv.cam
        base = cam.uv(np.array([x, 0, z]))
        top = cam.uv(np.array([x, height - crown_r, z]))
        cv.line(base, top, trunk_w * cam.f / z, bark, VEGETATION)
        scale = crown_r * cam.f / z
        for (dx, dy), r, k in zip(offsets, radii, shades, strict=True):
            cv.circle(
                (top[0] + dx * scale, top[1] + dy * scale * 0.9),
                r * scale + 0.3,
                _shade(leaves, k),
                VEGETATION,
            )

    cv.add(z, draw)


def _tree_row(cv: Canvas, x: float, z0: float, z1: float, step: float) -> None:
    """Trees along a line of constant x."""
    for z in np.arange(z0 + cv.rng.uniform(0, step), z1, step):
        _tree(cv, x + cv.rng.normal(0, 0.4), float(z), cv.rng.uniform(5, 11))


def _hedge(cv: Canvas, x: float, z0: float, z1: float, height: float) -> None:
    """Queue a hedge or bush row along the facade line (vegetation)."""
    rng = cv.rng
    col = _green(rng, rng.uniform(0, 0.5))
    bumps = rng.uniform(0.5, 1.0, max(2, int((z1 - z0) / 0.6)))

    def draw() -> None:
        cv.fill_world(_plane((x, 0, z0), (0, 0, 1), [[0, z1 - z0]], [[0, height]]), col, VEGETATION)
        for k, zz in enumerate(np.linspace(z0, z1, len(bumps))):
            c = cv.cam.uv(np.array([x, height, zz]))
            cv.circle(c, bumps[k] * 0.4 * cv.cam.f / zz, _shade(col, rng_shade[k]), VEGETATION)

    rng_shade = rng.uniform(0.75, 1.25, len(bumps))
    cv.add(z0, draw)


def _pole(cv: Canvas, x: float, z: float, kind: str) -> None:
    """Queue a pole: street lamp, sign post or traffic light post."""
    rng = cv.rng
    height = rng.uniform(3.0, 4.0) if kind != "lamp" else rng.uniform(6, 9)
    metal = _grey(rng, 60, 170, 10)
    width = rng.uniform(0.08, 0.2)
    sign_kind = rng.integers(0, 4)
    sign_col = [
        _hsv(0.0, 0.85, 0.85),
        _hsv(0.6, 0.85, 0.7),
        _hsv(0.13, 0.9, 0.95),
        _grey(rng, 220, 250, 5),
    ][sign_kind]
    arm = rng.uniform(1.0, 2.5) * (-np.sign(x) if x else 1)
    lit = rng.integers(0, 3)

    def draw() -> None:
        cam = cv.cam
        k = cam.f / z
        base, top = cam.uv(np.array([x, 0, z])), cam.uv(np.array([x, height, z]))
        cv.line(base, top, width * k, metal, POLE)
        if kind == "lamp":
            end = cam.uv(np.array([x + arm, height, z]))
            cv.line(top, end, width * k * 0.8, metal, POLE)
            cv.fill(
                [end + [[-0.3 * k, 0], [0.3 * k, 0], [0.2 * k, 0.15 * k], [-0.2 * k, 0.15 * k]]],
                _grey(rng, 180, 240),
                POLE,
            )
        elif kind == "sign":
            c = top + [0, 0.3 * k]
            r = 0.33 * k
            if sign_kind == 2:  # diamond / triangle
                cv.fill([c + np.array([[0, -r], [r, 0], [0, r], [-r, 0]]) * 1.2], sign_col, SIGN)
            elif sign_kind == 3:  # rectangle
                cv.fill(
                    [
                        c
                        + np.array([[-r, -r * 0.6], [r, -r * 0.6], [r, r * 0.6], [-r, r * 0.6]])
                        * 1.3
                    ],
                    _hsv(0.6, 0.8, 0.6),
                    SIGN,
                )
            else:
                cv.circle(c, r, sign_col, SIGN)
                cv.circle(c, r * 0.7, (235, 235, 235) if sign_kind == 0 else sign_col, None)
        else:  # traffic light
            w, h = 0.3 * k, 0.9 * k
            box = top + [[-w / 2, -h], [w / 2, -h], [w / 2, 0], [-w / 2, 0]]
            cv.fill([box], _grey(rng, 15, 60, 5), LIGHT)
            for j, col in enumerate(((230, 40, 30), (240, 180, 30), (40, 220, 90))):
                lamp = col if j == lit else _shade(col, 0.25)
                cv.circle((top[0], top[1] - h * (0.8 - 0.3 * j)), w * 0.33, lamp, None)

    cv.add(z, draw)


def _vehicle(cv: Canvas, x0: float, z: float, kind: str, facing_away: bool) -> None:
    """Queue a vehicle box seen from behind (or the front) with its near side face."""
    rng = cv.rng
    cls, width, length, height, body_top = {
        "car": (
            CAR,
            rng.uniform(1.65, 1.95),
            rng.uniform(3.8, 4.9),
            rng.uniform(1.4, 1.6),
            rng.uniform(0.85, 1.05),
        ),
        "truck": (TRUCK, 2.3, rng.uniform(6, 9), rng.uniform(2.6, 3.4), 1.6),
        "bus": (BUS, 2.5, rng.uniform(10, 13), rng.uniform(2.9, 3.3), 1.0),
        "train": (TRAIN, 2.4, rng.uniform(20, 30), 3.4, 1.0),
    }[kind]
    x1 = x0 + width
    if kind == "car":
        paint = _surface_colour(rng) if rng.random() < 0.6 else _grey(rng, 15, 235, 8)
    elif kind == "train":
        paint = _hsv(rng.choice([0.0, 0.15, 0.55]), rng.uniform(0.4, 0.9), rng.uniform(0.5, 0.9))
    else:
        paint = _surface_colour(rng)
    glass = _grey(rng, 20, 80, 10)
    tyre = _grey(rng, 10, 35, 4)
    lamp = (220, 30, 30) if facing_away else (245, 240, 210)
    cabin_z = (0.9, length - 1.1) if kind == "car" else (0.0, length)
    inset = 0.12 if kind == "car" else 0.0
    taper, slope = (rng.uniform(0.1, 0.25), rng.uniform(0.2, 0.5)) if kind == "car" else (0.0, 0.0)
    side = 1 if x1 < 0 else (-1 if x0 > 0 else 0)  # visible side face: +1 its right, -1 its left
    xs = x1 if side > 0 else x0
    sun = cv.light if side > 0 else 2.0 - cv.light

    def draw() -> None:
        cam = cv.cam
        zc, zr = z + cabin_z[0], z + cabin_z[1]
        # contact shadow on the ground (photo only)
        cv.fill_world([_ground(x0 - 0.1, x1 + 0.1, z - 0.2, z + length)], (25, 25, 25), None)
        if side:  # body side, then its wheels
            face = _plane((xs, 0, z), (0, 0, 1), [[0, length]], [[0.25, body_top]])
            cv.fill_world(face, _shade(paint, 0.8 * sun), cls)
            wheels = (0.8, length - 0.8) if kind != "train" else (2, 5, length - 5, length - 2)
            for wz in wheels:
                c = cam.uv(np.array([xs, 0.33, z + wz]))
                r = 0.33 * cam.f / (z + wz)
                half_w = r * min(1.0, abs(c[0] - cam.cx) / max(r, 1e-3) * 0.08 + 0.3)
                cv.ellipse(c, (half_w, r), tyre, cls)
        if cam.height > body_top:  # boot / bonnet surface
            cv.fill_world([_box_top(x0, x1, body_top, z, z + length)], _shade(paint, 1.1), cls)
        if side:  # cabin side with its windows
            xc = xs - side * inset
            cabin = np.array(
                [
                    [xc, body_top, zc],
                    [xc, height, zc + slope],
                    [xc, height, zr - slope],
                    [xc, body_top, zr],
                ]
            )
            cv.fill_world([cabin], _shade(paint, 0.85 * sun), cls)
            if kind == "car":
                mid = (zc + zr) / 2
                panes = [
                    [
                        [xc, body_top + 0.08, zc + 0.15],
                        [xc, height - 0.07, zc + slope + 0.1],
                        [xc, height - 0.07, mid - 0.05],
                        [xc, body_top + 0.08, mid - 0.05],
                    ],
                    [
                        [xc, body_top + 0.08, mid + 0.05],
                        [xc, height - 0.07, mid + 0.05],
                        [xc, height - 0.07, zr - slope - 0.1],
                        [xc, body_top + 0.08, zr - 0.15],
                    ],
                ]
                cv.fill_world(np.array(panes), _shade(glass, 1.1), None)
            else:
                n = int(length // 2.5)
                s = np.stack([np.arange(n) * 2.5 + 0.5, np.arange(n) * 2.5 + 2.2], 1)
                t = np.tile([body_top + 0.2, height - 0.4], (n, 1))
                cv.fill_world(_plane((xs, 0, z), (0, 0, 1), s, t), glass, None)
        if cam.height > height:  # roof
            roof = _box_top(x0 + inset + taper, x1 - inset - taper, height, zc + slope, zr - slope)
            cv.fill_world([roof], _shade(paint, 1.05), cls)
        # rear (or front) window, sloping back, then the body's rear face with tyres and lights
        cab = np.array(
            [
                [x0 + inset, body_top - 0.05, zc],
                [x1 - inset, body_top - 0.05, zc],
                [x1 - inset - taper, height, zc + slope],
                [x0 + inset + taper, height, zc + slope],
            ]
        )
        cv.fill_world([cab], _shade(paint, 0.95), cls)
        pane = cab + [[0.1, 0.1, 0], [-0.1, 0.1, 0], [-0.1, -0.07, 0], [0.1, -0.07, 0]]
        cv.fill_world([pane], glass, None)
        for tx in (x0 + 0.1, x1 - 0.35):
            cv.fill_world(_plane((tx, 0, z), (1, 0, 0), [[0, 0.25]], [[0, 0.3]]), tyre, cls)
        cv.fill_world(_plane((x0, 0, z), (1, 0, 0), [[0, width]], [[0.25, body_top]]), paint, cls)
        for lx in (x0 + 0.1, x1 - 0.4):
            light = _plane((lx, 0, z), (1, 0, 0), [[0, 0.3]], [[body_top - 0.3, body_top - 0.12]])
            cv.fill_world(light, lamp, None)
        plate = _plane((x0 + width / 2 - 0.26, 0, z), (1, 0, 0), [[0, 0.52]], [[0.35, 0.47]])
        cv.fill_world(plate, (225, 225, 225), None)

    cv.add(z, draw)


def _person(cv: Canvas, x: float, z: float, cls: int = PERSON) -> None:
    """Queue a pedestrian: legs, torso, arms and head, in random clothes."""
    rng = cv.rng
    height = rng.uniform(1.55, 1.95)
    shirt, trousers = (
        _surface_colour(rng),
        _grey(rng, 20, 120, 20) if rng.random() < 0.6 else _surface_colour(rng),
    )
    skin = _hsv(rng.uniform(0.04, 0.1), rng.uniform(0.25, 0.6), rng.uniform(0.35, 0.95))
    hair = _grey(rng, 10, 120, 25)
    stride = rng.uniform(-0.25, 0.25)
    swing = rng.uniform(-0.2, 0.2)
    bag = rng.random() < 0.3

    def draw() -> None:
        k = cv.cam.f / z
        foot = cv.cam.uv(np.array([x, 0, z]))
        hip = foot - [0, 0.5 * height * k]
        neck = foot - [0, 0.82 * height * k]
        sh = 0.2 * height * k * 0.55
        for d in (-1, 1):
            cv.line(hip + [d * 0.06 * k, 0], foot + [d * stride * k, 0], 0.14 * k, trousers, cls)
        torso = np.array(
            [neck + [-sh, 0], neck + [sh, 0], hip + [sh * 0.8, 0], hip + [-sh * 0.8, 0]]
        )
        cv.fill([torso], shirt, cls)
        for d in (-1, 1):
            hand = hip + [d * (sh + swing * k * d), 0.05 * k]
            cv.line(neck + [d * sh * 0.9, 0.04 * k], hand, 0.09 * k, _shade(shirt, 0.9), cls)
        head = neck - [0, 0.1 * height * k]
        cv.circle(head, 0.065 * height * k, skin, cls)
        cv.circle(head - [0, 0.03 * k], 0.055 * height * k, hair, cls)
        if bag:
            cv.fill(
                [
                    hip
                    + np.array(
                        [
                            [sh, -0.1 * k],
                            [sh + 0.2 * k, -0.1 * k],
                            [sh + 0.2 * k, 0.15 * k],
                            [sh, 0.15 * k],
                        ]
                    )
                ],
                _surface_colour(rng),
                cls,
            )

    cv.add(z, draw)


def _cyclist(cv: Canvas, x: float, z: float, motor: bool) -> None:
    """Queue a rider on a bicycle or motorcycle, seen from the side."""
    rng = cv.rng
    frame_col, clothes = _surface_colour(rng), _surface_colour(rng)
    skin = _hsv(rng.uniform(0.04, 0.1), rng.uniform(0.25, 0.6), rng.uniform(0.35, 0.95))
    direction = 1 if rng.random() < 0.5 else -1
    cls = MOTORCYCLE if motor else BICYCLE

    def draw() -> None:
        k = cv.cam.f / z
        ground = cv.cam.uv(np.array([x, 0, z]))
        r = (0.32 if motor else 0.35) * k
        wb = (1.35 if motor else 1.05) * k
        back, front = ground + [-direction * wb / 2, -r], ground + [direction * wb / 2, -r]
        for c in (back, front):
            cv.circle(c, r, (20, 20, 20), cls)
            cv.circle(
                c,
                r * (0.55 if motor else 0.8),
                (150, 150, 150) if not motor else (40, 40, 40),
                None,
            )
        seat = ground + [-direction * 0.15 * k, -0.95 * k]
        bar = front + [-direction * 0.1 * k, -0.6 * k]
        if motor:
            body = np.array([back + [0, -0.2 * k], seat, bar, front + [-direction * 0.2 * k, 0]])
            cv.fill([body], frame_col, cls)
        else:
            for p, q in (
                (back, seat),
                (seat, bar),
                (bar, front),
                (seat, ground + [0, -r]),
                (back, ground + [0, -r]),
                (ground + [0, -r], bar),
            ):
                cv.line(p, q, 0.05 * k, frame_col, cls)
        hip = seat + [0, -0.05 * k]
        shoulder = hip + [direction * 0.25 * k, -0.55 * k]
        cv.line(hip, ground + [0, -r * 0.8], 0.13 * k, _grey(rng, 20, 90), RIDER)
        cv.line(hip, shoulder, 0.3 * k, clothes, RIDER)
        cv.line(shoulder, bar, 0.08 * k, clothes, RIDER)
        head = shoulder + [direction * 0.05 * k, -0.17 * k]
        cv.circle(head, 0.12 * k, skin, RIDER)
        if motor or rng.random() < 0.5:  # helmet
            cv.circle(head - [0, 0.03 * k], 0.125 * k, _surface_colour(rng), RIDER)

    cv.add(z, draw)


def _static(cv: Canvas, x: float, z: float) -> None:
    """Queue a bin or bollard: 'static' clutter, void in the labels as in Cityscapes."""
    rng = cv.rng
    w, h = rng.uniform(0.25, 0.6), rng.uniform(0.6, 1.1)
    col = _surface_colour(rng)

    def draw() -> None:
        cv.fill_world(_plane((x - w / 2, 0, z), (1, 0, 0), [[0, w]], [[0, h]]), col, VOID)

    cv.add(z, draw)


def _barrier(cv: Canvas, x: float, z0: float, z1: float, cls: int) -> None:
    """Queue a low wall or a fence along the outer sidewalk edge."""
    rng = cv.rng
    h = rng.uniform(0.8, 2.0)
    col = _surface_colour(rng) if cls == WALL else _grey(rng, 50, 170, 20)

    def draw() -> None:
        cv.fill_world(_plane((x, 0, z0), (0, 0, 1), [[0, z1 - z0]], [[0, h]]), col, cls)
        if cls == FENCE:
            zs = np.arange(z0, z1, 0.3)
            posts = np.stack([zs, zs + 0.06], 1)
            cv.fill_world(
                _plane((x, 0, 0), (0, 0, 1), posts, np.tile([0, h], (len(zs), 1))),
                _shade(col, 0.6),
                None,
            )
        else:
            cv.fill_world(
                _plane((x, 0, z0), (0, 0, 1), [[0, z1 - z0]], [[h - 0.12, h]]),
                _shade(col, 1.2),
                None,
            )

    cv.add(z0, draw)


def _populate(cv: Canvas, st: Street) -> None:
    """Queue trees, hedges, poles, vehicles, people and clutter along the street."""
    rng = cv.rng
    far = min(st.end - 3, 90.0)
    for side in (-1, 1):
        curb, outer, fac = st.curb(side), st.walk_outer(side), st.facade(side)
        if rng.random() < 0.6:
            step = rng.uniform(7, 15)
            for z in np.arange(rng.uniform(2, step), far, step):
                if rng.random() < 0.85:
                    _tree(cv, curb + side * rng.uniform(0.6, 1.2), float(z), rng.uniform(4, 11))
        if rng.random() < 0.4:
            z0 = rng.uniform(2, 20)
            _hedge(cv, fac - side * 0.8, z0, z0 + rng.uniform(5, 30), rng.uniform(0.6, 1.6))
        if rng.random() < 0.2:
            z0 = rng.uniform(2, 15)
            _barrier(cv, outer, z0, z0 + rng.uniform(4, 25), WALL if rng.random() < 0.5 else FENCE)
        step = rng.uniform(12, 30)
        for z in np.arange(rng.uniform(3, step), far, step):
            kind = rng.choice(["lamp", "sign", "sign", "light"], p=[0.4, 0.3, 0.1, 0.2])
            _pole(cv, curb + side * rng.uniform(0.3, 0.6), float(z), str(kind))
        if rng.random() < 0.7:  # parked row
            z = rng.uniform(2, 8)
            while z < min(far, 60):
                if rng.random() < 0.8:
                    x0 = curb + 0.3 if side < 0 else curb - 2.1
                    _vehicle(cv, x0, z, "car", True)
                z += rng.uniform(5, 9)
        for _ in range(rng.poisson(2.0)):
            x = rng.uniform(min(curb, outer) + 0.3, max(curb, outer) - 0.3)
            _person(cv, x, rng.uniform(3, 45))
        for _ in range(rng.poisson(0.6)):
            x = rng.uniform(min(curb, outer) + 0.3, max(curb, outer) - 0.3)
            _static(cv, x, rng.uniform(3, 40))
    lane_w = (st.road_right - st.road_left) / st.lanes
    for _ in range(rng.poisson(1.5)):
        lane = rng.integers(0, st.lanes)
        x0 = st.road_left + lane * lane_w + (lane_w - 1.8) / 2 + rng.normal(0, 0.2)
        roll = rng.random()
        kind = (
            "car"
            if roll < 0.8
            else ("bus" if roll < 0.9 else ("truck" if roll < 0.96 else "train"))
        )
        _vehicle(cv, x0, rng.uniform(6, 70), kind, facing_away=x0 > -1)
    for _ in range(rng.poisson(0.4)):
        _cyclist(
            cv,
            rng.uniform(st.road_left + 1, st.road_right - 1),
            rng.uniform(5, 30),
            rng.random() < 0.25,
        )
    for _ in range(rng.poisson(0.4)):  # pedestrians crossing
        _person(cv, rng.uniform(st.road_left, st.road_right), rng.uniform(6, 30))


# --------------------------------------------------------------------------- photo effects
def _cast_shadows(cv: Canvas, st: Street) -> None:
    """Darken the ground on one side where the facades would shade it (photo only)."""
    rng = cv.rng
    if rng.random() < 0.45:
        return
    side = -1 if cv.light > 1 else 1
    reach = rng.uniform(2, st.road_right - st.road_left + 4)
    edge = st.facade(side) - side * reach
    quad = _ground(
        min(edge, st.facade(side)), max(edge, st.facade(side)), Z_NEAR, rng.uniform(15, 200)
    )
    mask = np.zeros(cv.photo.shape[:2], np.uint8)
    uv = np.round(cv.cam.uv(quad) * ONE).astype(np.int32)
    cv2.fillPoly(mask, [uv], 1, cv2.LINE_8, SHIFT)
    ground = np.isin(cv.small_ids(), (ROAD, SIDEWALK, TERRAIN)) & (mask > 0)
    cv.photo[ground] = (cv.photo[ground] * rng.uniform(0.45, 0.75)).astype(np.uint8)


def _ego_vehicle(cv: Canvas) -> None:
    """The bonnet of the recording car at the bottom edge: void, as in the real data."""
    rng, s = cv.rng, cv.size
    rise = rng.uniform(0.04, 0.1) * s
    centre = (s / 2 + rng.normal(0, 0.05 * s), s + rng.uniform(0, 0.5) * rise)
    axes = (rng.uniform(0.7, 1.0) * s, rise + centre[1] - s)
    c = (int(centre[0] * ONE), int(centre[1] * ONE))
    a = (int(axes[0] * ONE), int(axes[1] * ONE))
    col = _grey(rng, 10, 60, 6)
    cv2.ellipse(cv.photo, c, a, 0, 0, 360, col, -1, cv2.LINE_AA, SHIFT)
    cv2.ellipse(cv.ids, c, a, 0, 0, 360, int(VOID), -1, cv2.LINE_8, LABEL_SHIFT)
    hl = (int(centre[0] * ONE), int((centre[1] + 2) * ONE))
    cv2.ellipse(
        cv.photo, hl, (a[0] // 2, a[1] // 3), 0, 180, 360, _shade(col, 2.0), 2, cv2.LINE_AA, SHIFT
    )


def _texture_table(rng: np.random.Generator) -> np.ndarray:
    """Per-class amplitudes (256, 3) of fine, leafy and blotchy noise for this image."""
    amp = np.empty((256, 3), np.float32)
    amp[:] = rng.uniform(1, 4), rng.uniform(0, 3), rng.uniform(2, 6)
    amp[ROAD] = rng.uniform(3, 10), rng.uniform(0, 4), rng.uniform(3, 12)
    amp[SIDEWALK] = rng.uniform(3, 10), rng.uniform(0, 4), rng.uniform(3, 10)
    amp[BUILDING] = rng.uniform(2, 8), rng.uniform(0, 4), rng.uniform(4, 12)
    amp[VEGETATION] = rng.uniform(4, 10), rng.uniform(12, 30), rng.uniform(4, 12)
    amp[TERRAIN] = rng.uniform(5, 12), rng.uniform(4, 15), rng.uniform(5, 14)
    amp[SKY] = rng.uniform(0, 2), 0, rng.uniform(2, 6)
    return amp


@functools.cache
def _noise_bank(size: int) -> tuple[np.ndarray, ...]:
    """Fixed noise images (twice the canvas side) that each scene crops at random offsets.

    Drawing fresh Gaussian noise for every image was a third of the generation time; random
    crops of a fixed bank (plus flips) look just as random at this scale and cost nothing.
    """
    rng = np.random.default_rng(20240601)
    n = 2 * size
    fine = rng.standard_normal((n, n), dtype=np.float32)
    leafy = cv2.GaussianBlur(rng.standard_normal((n, n), dtype=np.float32), (0, 0), 1.2) * 2.5
    blotch = cv2.resize(
        rng.standard_normal((n // 16, n // 16), dtype=np.float32),
        (n, n),
        interpolation=cv2.INTER_CUBIC,
    )
    grain = rng.standard_normal((n, n, 3), dtype=np.float32)
    return fine, leafy, blotch, grain


@functools.cache
def _label_lut() -> np.ndarray:
    """``labels.colourise`` as an OpenCV lookup table: 5x faster on the 512x512 label canvas."""
    return np.ascontiguousarray(labels.colourise(np.arange(256, dtype=np.uint8))[:, None, :])


@functools.cache
def _radius2(size: int) -> np.ndarray:
    """Squared distance from the image centre in units of the side: for vignetting."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size - 0.5
    return xx * xx + yy * yy


def _crop(rng: np.random.Generator, bank: np.ndarray, s: int) -> np.ndarray:
    """A random ``s`` x ``s`` window of a noise bank, maybe flipped."""
    y, x = rng.integers(0, bank.shape[0] - s, 2)
    win = bank[y : y + s, x : x + s]
    return win[::-1] if rng.random() < 0.5 else win


def _finish(cv: Canvas) -> np.ndarray:
    """Texture, haze, vignetting, lighting, colour cast, blur and sensor noise: photo as uint8."""
    rng, s = cv.rng, cv.size
    fine, leafy, blotch, grain = _noise_bank(s)
    amp = _texture_table(rng)[cv.small_ids()]  # (S, S, 3): per-pixel amplitude of each noise
    noise = amp[..., 0] * _crop(rng, fine, s)
    noise += amp[..., 1] * _crop(rng, leafy, s)
    noise += amp[..., 2] * _crop(rng, blotch, s)
    img = cv.photo.astype(np.float32)
    img += noise[..., None]
    img += _crop(rng, grain, s) * rng.uniform(1.0, 4.0)  # sensor / chroma noise
    haze = rng.uniform(0, 0.45)
    if haze > 0.05:  # blend towards a light grey around the horizon
        rows = np.arange(s, dtype=np.float32)
        w = haze * np.exp(-np.abs(rows - cv.cam.horizon) / (0.08 * s))[:, None, None]
        img *= 1 - w
        img += np.array(_grey(rng, 170, 230, 6), np.float32) * w
    img *= (1 - rng.uniform(0, 0.5) * _radius2(s))[..., None]
    u8 = np.clip(img, 0, 255).astype(np.uint8)
    # global lighting through one per-channel table: contrast, brightness, colour cast, gamma
    levels = np.arange(256, dtype=np.float32)
    contrast, gain, gamma = rng.uniform(0.7, 1.2), rng.uniform(0.6, 1.3), rng.uniform(0.8, 1.25)
    cast = rng.uniform(0.85, 1.15, 3)
    lut = np.stack([((levels - 128) * contrast + 128) * gain * c for c in cast], axis=-1)
    lut = 255.0 * (np.clip(lut, 0, 255) / 255.0) ** gamma
    u8 = cv2.LUT(u8, np.round(lut).astype(np.uint8)[:, None, :])
    return cv2.GaussianBlur(u8, (0, 0), rng.uniform(0.3, 0.8))


# --------------------------------------------------------------------------- public API
def draw_scene(rng: np.random.Generator, size: int = IMAGE_SIZE) -> tuple[np.ndarray, np.ndarray]:
    """One street scene: (photo RGB uint8, label colours RGB uint8), each ``size`` x ``size``."""
    s = int(size)
    cam = Camera(
        f=s * rng.uniform(0.55, 0.8),
        cx=s * rng.uniform(0.4, 0.6),
        horizon=s * rng.uniform(0.36, 0.5),
        height=rng.uniform(1.3, 1.8),
    )
    cv = Canvas(
        np.zeros((s, s, 3), np.uint8),
        np.zeros((s << LABEL_BITS, s << LABEL_BITS), np.uint8),
        cam,
        rng,
        light=rng.uniform(0.6, 1.4),
    )
    lanes = int(rng.integers(1, 4))
    lane_w = rng.uniform(2.8, 3.8)
    offset = rng.uniform(-0.5, 0.5) * lane_w
    left = -lanes * lane_w * rng.uniform(0.3, 0.7) + offset
    st = Street(
        road_left=left,
        road_right=left + lanes * lane_w,
        walk=(rng.uniform(1.5, 4.5), rng.uniform(1.5, 4.5)),
        verge=tuple(rng.uniform(0.5, 4) if rng.random() < 0.45 else 0.0 for _ in range(2)),
        end=rng.uniform(70, 200) if rng.random() < 0.35 else FAR,
        lanes=lanes,
    )
    _sky(cv)
    _skyline(cv, st)
    _road(cv, st)  # the ground first: facades stand on it and hide what lies behind
    _buildings(cv, st)
    _populate(cv, st)
    cv.items.sort(key=lambda item: -item[0])
    for _, draw in cv.items:
        draw()
    _cast_shadows(cv, st)
    if rng.random() < 0.5:
        _ego_vehicle(cv)
    photo = _finish(cv)
    colours = cv2.LUT(cv2.merge([cv.ids, cv.ids, cv.ids]), _label_lut())
    label = cv2.resize(colours, (s, s), interpolation=cv2.INTER_AREA)
    label = cv2.GaussianBlur(label, (0, 0), LABEL_BLUR)
    return photo, label


def image_rng(seed: int, split: str, index: int) -> np.random.Generator:
    """The generator of image ``index`` (1-based) of ``split``: independent of how many are made."""
    return np.random.default_rng([int(seed), SPLITS.index(split), int(index)])


def encode_pair(photo: np.ndarray, label: np.ndarray, quality: int = JPEG_QUALITY) -> bytes:
    """Photo and label side by side as JPEG bytes (the Kaggle pair format)."""
    pair = np.concatenate([photo, label], axis=1)
    ok, buf = cv2.imencode(
        ".jpg", np.ascontiguousarray(pair[..., ::-1]), [cv2.IMWRITE_JPEG_QUALITY, quality]
    )
    if not ok:
        raise RuntimeError("OpenCV could not encode a JPEG")
    return buf.tobytes()


def _manifest(n_train: int, n_val: int, seed: int) -> dict:
    """What a sample folder was generated with."""
    return {
        "generator": "utils.synthetic",
        "n_train": int(n_train),
        "n_val": int(n_val),
        "seed": int(seed),
        "version": GENERATOR_VERSION,
        "size": IMAGE_SIZE,
    }


def read_manifest(out_dir: str | os.PathLike) -> dict | None:
    """The manifest of a generated folder, or None when absent or unreadable."""
    try:
        return json.loads((Path(out_dir) / MANIFEST).read_text())
    except (OSError, ValueError):
        return None


def generate(
    out_dir: str | os.PathLike, n_train: int, n_val: int, seed: int = 0, progress: bool = True
) -> Path:
    """Write ``n_train`` / ``n_val`` pair JPEGs and a manifest to ``out_dir``, atomically.

    Everything is written to a temporary sibling folder that is renamed into place at the end, so
    an interrupted run leaves no ``out_dir``. An existing ``out_dir`` is replaced only if it is
    empty or was made by this generator (it has a manifest).
    """
    from tqdm.auto import tqdm

    out = Path(out_dir).expanduser()
    if n_train < 1 or n_val < 0:
        raise ValueError(f"need n_train >= 1 and n_val >= 0, got {n_train} and {n_val}")
    if out.exists() and not (
        out.is_dir() and (read_manifest(out) is not None or not any(out.iterdir()))
    ):
        raise FileExistsError(
            f"{out}: exists and is not a generated synthetic sample; refusing to replace it"
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    old = out.with_name(f".{out.name}.old-{uuid.uuid4().hex[:8]}")
    try:
        bar = tqdm(
            total=n_train + n_val,
            desc=f"synthetic scenes -> {out.name}",
            unit="img",
            disable=not progress,
            mininterval=1,
        )
        with bar:
            for split, n in zip(SPLITS, (n_train, n_val), strict=True):
                if n == 0:  # no val/ folder: find_dataset then holds out part of train
                    continue
                folder = tmp / split
                folder.mkdir()
                for i in range(1, n + 1):
                    photo, label = draw_scene(image_rng(seed, split, i))
                    (folder / f"{i}.jpg").write_bytes(encode_pair(photo, label))
                    bar.update()
        (tmp / MANIFEST).write_text(json.dumps(_manifest(n_train, n_val, seed), indent=2))
        if out.exists():
            os.rename(out, old)
        os.rename(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old.exists() and not out.exists():  # interrupted between the two renames
            os.rename(old, out)
        raise
    shutil.rmtree(old, ignore_errors=True)
    return out


def ensure_sample(
    out_dir: str | os.PathLike,
    n_train: int = DEFAULT_TRAIN,
    n_val: int = DEFAULT_VAL,
    seed: int = 0,
) -> Path:
    """``out_dir`` if it holds exactly this sample (sizes, seed, version), else (re)generate it."""
    out = Path(out_dir).expanduser()
    want = _manifest(n_train, n_val, seed)
    have = read_manifest(out)
    if have == want and all(
        len(list((out / split).glob("*.jpg"))) == n
        for split, n in zip(SPLITS, (n_train, n_val), strict=True)
    ):
        return out
    return generate(out, n_train, n_val, seed)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point."""
    ap = argparse.ArgumentParser(
        prog="python -m utils.synthetic",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument(
        "--out", required=True, type=Path, help="folder to write (train/, val/, manifest.json)"
    )
    ap.add_argument(
        "--train", type=int, default=DEFAULT_TRAIN, help=f"training pairs (default {DEFAULT_TRAIN})"
    )
    ap.add_argument(
        "--val", type=int, default=DEFAULT_VAL, help=f"validation pairs (default {DEFAULT_VAL})"
    )
    ap.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    ap.add_argument("--quiet", action="store_true", help="no progress bar")
    args = ap.parse_args(argv)
    start = time.perf_counter()
    try:
        out = generate(args.out, args.train, args.val, args.seed, progress=not args.quiet)
    except (ValueError, FileExistsError) as e:
        print(f"synthetic: {e}", file=sys.stderr)
        return 1
    seconds = time.perf_counter() - start
    n = args.train + args.val
    print(f"wrote {n} pairs to {out} in {seconds:.1f} s ({n / seconds:.0f} images/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
