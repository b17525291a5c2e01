"""Street furniture: lamp posts, sign posts and traffic lights, bins and bollards, walls, fences."""

from __future__ import annotations

import numpy as np

from utils.synthetic.camera import Canvas, _plane
from utils.synthetic.classes import FENCE, LIGHT, POLE, SIGN, VOID, WALL
from utils.synthetic.colours import _grey, _hsv, _shade, _surface_colour


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
