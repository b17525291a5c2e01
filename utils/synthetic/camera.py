"""Pinhole camera over a flat street, and the canvas that draws photo and label ids together.

Shapes are drawn with OpenCV in fixed point (``SHIFT`` fractional bits) so that geometry is
sub-pixel; the class ids are drawn from the same coordinates at twice the photo's size
(``LABEL_BITS``). The quad helpers build world-space polygons for ``Canvas.fill_world``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from utils.synthetic.colours import Colour

SHIFT = 4  # OpenCV drawing with 4 fractional bits: sub-pixel geometry
ONE = 1 << SHIFT
# The label is drawn at twice the size and area-averaged down, which blends the colours of the
# border pixels as the Kaggle files' downscaled labels do. The same fixed-point coordinates serve
# both canvases: one fractional bit fewer doubles them.
LABEL_BITS = 1
LABEL_SHIFT = SHIFT - LABEL_BITS
Z_NEAR = 0.3  # metres: nearer points are clamped (everything that near is off screen anyway)
FAR = 2000.0  # metres: "at the horizon"


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
