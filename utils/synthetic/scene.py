"""One whole scene: a random camera and street, its objects drawn far to near, then finished."""

from __future__ import annotations

import numpy as np

from utils.synthetic.camera import FAR, LABEL_BITS, Camera, Canvas
from utils.synthetic.classes import FENCE, WALL
from utils.synthetic.finishing import _cast_shadows, _finish, _label_image
from utils.synthetic.furniture import _barrier, _pole, _static
from utils.synthetic.people import _cyclist, _person
from utils.synthetic.plants import _hedge, _tree
from utils.synthetic.street import Street, _buildings, _road, _sky, _skyline
from utils.synthetic.vehicles import _ego_vehicle, _vehicle

IMAGE_SIZE = 256


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
    return photo, _label_image(cv)
