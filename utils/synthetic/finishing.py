"""Finishing a scene: cast shadows and photo effects, the label image, and the JPEG pair.

The photo gets per-class texture, sensor noise, haze, vignetting, a global lighting table and a
slight blur; the label ids become official colours, area-averaged down and slightly blurred.
"""

from __future__ import annotations

import functools

import cv2
import numpy as np

from utils import labels
from utils.synthetic.camera import ONE, SHIFT, Z_NEAR, Canvas, _ground
from utils.synthetic.classes import BUILDING, ROAD, SIDEWALK, SKY, TERRAIN, VEGETATION
from utils.synthetic.colours import _grey
from utils.synthetic.street import Street

# The Kaggle files use the quality-95 quantisation tables (measured on train/1.jpg) and 4:2:0
# chroma subsampling, which is OpenCV's default.
JPEG_QUALITY = 95
# The label, drawn at twice the size (``LABEL_BITS``) and area-averaged down, then gets a slight
# blur: after JPEG, 77 % of the real label pixels within 2 px of a class border are more than 10
# RGB units off the official colours; with this blur 70 % of the synthetic ones are (58 % without
# it; measured on 20 files each).
LABEL_BLUR = 0.8


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


def _label_image(cv: Canvas) -> np.ndarray:
    """The label in official colours at the photo's size: area-averaged, then slightly blurred."""
    s = cv.size
    colours = cv2.LUT(cv2.merge([cv.ids, cv.ids, cv.ids]), _label_lut())
    label = cv2.resize(colours, (s, s), interpolation=cv2.INTER_AREA)
    return cv2.GaussianBlur(label, (0, 0), LABEL_BLUR)


def encode_pair(photo: np.ndarray, label: np.ndarray, quality: int = JPEG_QUALITY) -> bytes:
    """Photo and label side by side as JPEG bytes (the Kaggle pair format)."""
    pair = np.concatenate([photo, label], axis=1)
    ok, buf = cv2.imencode(
        ".jpg", np.ascontiguousarray(pair[..., ::-1]), [cv2.IMWRITE_JPEG_QUALITY, quality]
    )
    if not ok:
        raise RuntimeError("OpenCV could not encode a JPEG")
    return buf.tobytes()
