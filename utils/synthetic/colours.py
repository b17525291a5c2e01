"""Random photo colours of the scenes: tinted greys, facades and clothes, paving, foliage.

These are the photo's colours, drawn per image from wide, overlapping ranges so that a model
cannot segment by colour alone; the label colours are the official ones (``utils.labels``).
"""

from __future__ import annotations

import colorsys
from collections.abc import Sequence

import numpy as np

Colour = tuple[int, int, int]


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
