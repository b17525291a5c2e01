"""Vegetation objects: trees, rows of trees and hedges (terrain is ground, drawn by ``street``)."""

from __future__ import annotations

import numpy as np

from utils.synthetic.camera import Canvas, _plane
from utils.synthetic.classes import VEGETATION
from utils.synthetic.colours import _green, _grey, _shade


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
