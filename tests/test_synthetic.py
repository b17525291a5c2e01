"""The synthetic street scenes: Kaggle pair format, determinism, labels, non-trivial photos, I/O."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from utils import data, labels, synthetic
from utils.colours import ColourMapping

ROOT = Path(__file__).resolve().parent.parent
N_TRAIN, N_VAL = 6, 3
N_SCENES = 16  # scenes drawn in memory for the content tests
EXPECTED = ("road", "sidewalk", "building", "vegetation", "sky", "car", "person", "pole")


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small generated sample folder."""
    folder = tmp_path_factory.mktemp("synthetic") / "sample"
    return synthetic.generate(folder, N_TRAIN, N_VAL, seed=0, progress=False)


@pytest.fixture(scope="module")
def scenes() -> tuple[np.ndarray, np.ndarray]:
    """Photos (N, S, S, 3) and official train ids (N, S, S) of in-memory scenes."""
    photos, ids = [], []
    palette = ColourMapping.palette()
    for i in range(1, N_SCENES + 1):
        photo, label = synthetic.draw_scene(synthetic.image_rng(0, "train", i))
        photos.append(photo)
        ids.append(palette.apply(label))
    return np.stack(photos), np.stack(ids)


def tree_bytes(folder: Path) -> dict[str, bytes]:
    """Every pair file of a sample folder by relative path."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*.jpg"))}


# --------------------------------------------------------------------------- format
def test_sample_is_in_the_kaggle_pair_format(sample: Path) -> None:
    splits = data.find_dataset(sample)
    assert splits.layout == "train+val"
    assert [p.name for p in splits.train] == [f"{i}.jpg" for i in range(1, N_TRAIN + 1)]
    assert [p.name for p in splits.val] == [f"{i}.jpg" for i in range(1, N_VAL + 1)]
    data.check_files(splits.train + splits.val)
    photo, label = data.read_pair(splits.train[0])
    assert photo.shape == label.shape == (256, 256, 3)
    assert photo.dtype == label.dtype == np.uint8
    assert json.loads((sample / synthetic.MANIFEST).read_text()) == {
        "generator": "utils.synthetic",
        "n_train": N_TRAIN,
        "n_val": N_VAL,
        "seed": 0,
        "version": synthetic.GENERATOR_VERSION,
        "size": synthetic.IMAGE_SIZE,
    }
    assert not [p for p in sample.parent.iterdir() if p.name.startswith(".")]  # no temp left


def test_draw_scene_returns_two_rgb_images_of_the_asked_size() -> None:
    photo, label = synthetic.draw_scene(np.random.default_rng(3), size=128)
    assert photo.shape == label.shape == (128, 128, 3)
    assert photo.dtype == label.dtype == np.uint8


def test_label_half_is_official_colours_blended_only_at_borders() -> None:
    official = {tuple(int(v) for v in c) for c in labels.reference_colours()[0]}
    _, label = synthetic.draw_scene(synthetic.image_rng(0, "train", 1))
    pixels = [tuple(c) for c in label.reshape(-1, 3).tolist()]
    exact = np.array([c in official for c in pixels]).reshape(label.shape[:2])
    assert exact.mean() > 0.7  # (0.80 to 0.90): the rest are anti-aliased class borders
    ids = ColourMapping.palette().apply(label).astype(np.float32)
    same_around = cv2.erode(ids, np.ones((5, 5))) == cv2.dilate(ids, np.ones((5, 5)))
    assert exact[same_around].mean() > 0.99  # away from borders: the official colour itself


def test_jpeg_label_half_maps_back_to_the_drawn_ids(sample: Path) -> None:
    palette = ColourMapping.palette()
    _, label = synthetic.draw_scene(synthetic.image_rng(0, "train", 2))
    _, jpeg_label = data.read_pair(sample / "train" / "2.jpg")
    agree = (palette.apply(jpeg_label) == palette.apply(label)).mean()
    assert agree > 0.95  # only pixels at class borders may blur into a neighbour


# --------------------------------------------------------------------------- determinism
def test_same_seed_same_bytes_more_images_keep_the_first(sample: Path, tmp_path: Path) -> None:
    more = synthetic.generate(tmp_path / "more", N_TRAIN + 2, N_VAL + 1, seed=0, progress=False)
    first, bigger = tree_bytes(sample), tree_bytes(more)
    assert len(bigger) == len(first) + 3
    assert all(bigger[name] == content for name, content in first.items())
    other = synthetic.generate(tmp_path / "other", 2, 1, seed=1, progress=False)
    differs = tree_bytes(other)
    assert all(differs[name] != first[name] for name in differs)


def test_train_and_val_scenes_differ() -> None:
    a, _ = synthetic.draw_scene(synthetic.image_rng(0, "train", 1))
    b, _ = synthetic.draw_scene(synthetic.image_rng(0, "val", 1))
    assert not np.array_equal(a, b)


# --------------------------------------------------------------------------- content
def test_street_classes_appear(scenes) -> None:
    _, ids = scenes
    present = set(np.unique(ids).tolist())
    for name in EXPECTED:
        assert labels.class_id(name) in present, f"{name} never drawn in {N_SCENES} scenes"
    per_image = [set(np.unique(x).tolist()) for x in ids]
    for name in ("road", "building", "sky", "sidewalk"):
        assert all(labels.class_id(name) in s for s in per_image), f"{name} missing somewhere"
    bottom = ids[:, 2 * ids.shape[1] // 3 :]  # always below the horizon
    assert not (bottom == labels.class_id("sky")).any()
    fractions = np.bincount(ids.ravel(), minlength=256) / ids.size
    assert fractions[labels.class_id("road")] > 0.15  # road is the largest class, as in Cityscapes
    assert fractions[labels.IGNORE_ID] < 0.1


def test_ego_vehicle_void_at_the_bottom_in_some_scenes(scenes) -> None:
    _, ids = scenes
    bottom_void = (ids[:, -1] == labels.IGNORE_ID).mean(axis=1) > 0.5
    assert 0 < bottom_void.sum() < len(ids)


def test_class_photo_colours_vary_between_images(scenes) -> None:
    photos, ids = scenes
    for name in ("road", "building", "car", "vegetation", "sky"):
        c = labels.class_id(name)
        means = np.stack(
            [p[m].mean(0) for p, m in zip(photos, ids == c, strict=True) if m.sum() > 50]
        )
        assert means.std(axis=0).mean() > 15, f"{name}: photo colour nearly constant"
    road = photos[ids == labels.class_id("road")].mean(0)
    building = photos[ids == labels.class_id("building")].mean(0)
    assert np.abs(road - building).max() < 40  # grey road vs grey buildings: overlapping colours


def test_a_colour_lookup_classifier_does_poorly(scenes) -> None:
    photos, ids = scenes
    half = len(photos) // 2
    x, y = photos[:half].reshape(-1, 3).astype(np.float32), ids[:half].ravel()
    classes = [c for c in np.unique(y) if c != labels.IGNORE_ID and (y == c).sum() > 200]
    means = np.stack([x[y == c].mean(0) for c in classes])
    xt, yt = photos[half:].reshape(-1, 3).astype(np.float32), ids[half:].ravel()
    keep = yt != labels.IGNORE_ID
    dist = ((xt[keep, None, :] - means[None]) ** 2).sum(-1)
    accuracy = (np.array(classes)[dist.argmin(1)] == yt[keep]).mean()
    majority = np.bincount(yt[keep]).max() / keep.sum()
    assert accuracy < max(0.5, majority)  # (about 0.15 at 16 scenes; the ids give 1.0)


# --------------------------------------------------------------------------- ensure_sample
def test_ensure_sample_reuses_a_matching_folder(tmp_path: Path, monkeypatch) -> None:
    folder = synthetic.ensure_sample(tmp_path / "s", n_train=3, n_val=1, seed=0)
    stamp = (folder / "train" / "1.jpg").stat().st_mtime_ns

    def fail(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise AssertionError("regenerated a matching sample")

    monkeypatch.setattr(synthetic, "generate", fail)
    assert synthetic.ensure_sample(folder, n_train=3, n_val=1, seed=0) == folder
    assert (folder / "train" / "1.jpg").stat().st_mtime_ns == stamp


def test_ensure_sample_regenerates_on_mismatch(tmp_path: Path) -> None:
    folder = synthetic.ensure_sample(tmp_path / "s", n_train=3, n_val=1, seed=0)
    before = tree_bytes(folder)
    synthetic.ensure_sample(folder, n_train=4, n_val=1, seed=0)
    assert len(list((folder / "train").glob("*.jpg"))) == 4
    synthetic.ensure_sample(folder, n_train=3, n_val=1, seed=5)
    assert synthetic.read_manifest(folder)["seed"] == 5
    assert tree_bytes(folder)["train/1.jpg"] != before["train/1.jpg"]
    (folder / "train" / "3.jpg").unlink()  # damaged folder, manifest intact
    synthetic.ensure_sample(folder, n_train=3, n_val=1, seed=5)
    assert (folder / "train" / "3.jpg").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s"]  # no temp or old folders left


def test_never_replaces_a_folder_it_did_not_make(tmp_path: Path) -> None:
    mine = tmp_path / "photos"
    mine.mkdir()
    (mine / "holiday.jpg").write_bytes(b"x")
    with pytest.raises(FileExistsError, match="photos"):
        synthetic.ensure_sample(mine, n_train=2, n_val=1)
    assert (mine / "holiday.jpg").read_bytes() == b"x"


def test_interrupted_generation_leaves_nothing(tmp_path: Path, monkeypatch) -> None:
    real = synthetic.draw_scene
    calls = []

    def flaky(rng, size=synthetic.IMAGE_SIZE):  # noqa: ANN001, ANN202
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(rng, size)

    monkeypatch.setattr(synthetic, "draw_scene", flaky)
    with pytest.raises(KeyboardInterrupt):
        synthetic.generate(tmp_path / "out", 4, 2, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_interrupted_regeneration_keeps_the_old_sample(tmp_path: Path, monkeypatch) -> None:
    folder = synthetic.generate(tmp_path / "out", 2, 1, progress=False)
    before = tree_bytes(folder)

    def broken(rng, size=synthetic.IMAGE_SIZE):  # noqa: ANN001, ANN202
        raise RuntimeError("boom")

    monkeypatch.setattr(synthetic, "draw_scene", broken)
    with pytest.raises(RuntimeError):
        synthetic.ensure_sample(folder, n_train=3, n_val=1)
    assert tree_bytes(folder) == before
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_no_val_folder_when_no_val_pairs(tmp_path: Path) -> None:
    folder = synthetic.generate(tmp_path / "out", 10, 0, progress=False)
    splits = data.find_dataset(folder)
    assert splits.layout.startswith("train only (held out the last")
    assert len(splits.train) + len(splits.val) == 10


# --------------------------------------------------------------------------- command line
def test_cli_main_writes_a_sample(tmp_path: Path, capsys) -> None:
    argv = ["--out", str(tmp_path / "cli"), "--train", "2", "--val", "1", "--seed", "4", "--quiet"]
    assert synthetic.main(argv) == 0
    assert "images/s" in capsys.readouterr().out
    assert synthetic.read_manifest(tmp_path / "cli")["seed"] == 4
    assert len(data.find_dataset(tmp_path / "cli").train) == 2


def test_cli_rejects_bad_sizes(tmp_path: Path, capsys) -> None:
    assert synthetic.main(["--out", str(tmp_path / "x"), "--train", "0"]) == 1
    assert "n_train" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_cli_runs_as_a_module() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "utils.synthetic", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0
    assert "--train" in result.stdout and "--seed" in result.stdout
