"""People: pedestrians, and riders on bicycles or motorcycles."""

from __future__ import annotations

import numpy as np

from utils.synthetic.camera import Canvas
from utils.synthetic.classes import BICYCLE, MOTORCYCLE, PERSON, RIDER
from utils.synthetic.colours import _grey, _hsv, _shade, _surface_colour


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
