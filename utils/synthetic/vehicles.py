"""Vehicles: cars, trucks, buses and trams as boxes with cabins, and the recording car's bonnet."""

from __future__ import annotations

import cv2
import numpy as np

from utils.synthetic.camera import LABEL_SHIFT, ONE, SHIFT, Canvas, _box_top, _ground, _plane
from utils.synthetic.classes import BUS, CAR, TRAIN, TRUCK, VOID
from utils.synthetic.colours import _grey, _hsv, _shade, _surface_colour


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
