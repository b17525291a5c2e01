"""The data layer: finding, reading, validating and streaming pair files."""

from __future__ import annotations

import logging
import sys
import types
from pathlib import Path

import numpy as np
import pytest
from conftest import make_pair, write_image

from utils import augment, data, holdout, labels
from utils.colours import ColourMapping

PALETTE = ColourMapping.palette()

CAR = labels.TRAIN_LABELS[labels.class_id("car")].colour
ROAD = labels.TRAIN_LABELS[labels.class_id("road")].colour


def test_split_pair_halves() -> None:
    image = np.zeros((4, 8, 3), np.uint8)
    image[:, 4:] = 200
    photo, label = data.split_pair(image)
    assert photo.shape == label.shape == (4, 4, 3)
    assert (photo == 0).all() and (label == 200).all()


def test_read_pair_is_rgb(tmp_path: Path) -> None:
    pair = make_pair(label_colour=(255, 0, 0))
    photo, label = data.read_pair(write_image(tmp_path / "a.png", pair))
    assert photo.dtype == np.uint8 and photo.shape == (32, 32, 3)
    assert tuple(label[0, 0]) == (255, 0, 0)  # red stays red: RGB, not OpenCV's BGR


@pytest.mark.parametrize(
    ("name", "image", "message"),
    [
        ("odd.png", np.zeros((32, 65, 3), np.uint8), "odd width 65"),
        ("grey.png", np.zeros((32, 64), np.uint8), "3 colour channels, found 1"),
        ("square.png", np.zeros((32, 32, 3), np.uint8), "not 2:1"),
        ("alpha.png", np.zeros((32, 64, 4), np.uint8), "found 4"),
    ],
)
def test_bad_shapes_name_the_file(
    tmp_path: Path, name: str, image: np.ndarray, message: str
) -> None:
    path = write_image(tmp_path / name, image)
    with pytest.raises(data.DatasetError, match=message) as err:
        data.read_pair(path)
    assert str(path) in str(err.value)
    with pytest.raises(data.DatasetError, match=message) as err:
        data.check_files([path])
    assert str(path) in str(err.value)


def test_unreadable_file_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"this is not a jpeg")
    with pytest.raises(data.DatasetError, match="not a readable image") as err:
        data.read_pair(bad)
    assert str(bad) in str(err.value)
    with pytest.raises(data.DatasetError, match="not a readable image"):
        data.check_files([bad])
    empty = tmp_path / "empty.jpg"
    empty.touch()
    with pytest.raises(data.DatasetError, match="empty.jpg: not a readable image"):
        data.read_pair(empty)


def test_missing_and_empty_folders(tmp_path: Path) -> None:
    with pytest.raises(data.DatasetError, match="nowhere: folder not found"):
        data.list_images(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(data.DatasetError, match="empty: holds no image files"):
        data.list_images(tmp_path / "empty")
    with pytest.raises(data.DatasetError, match="no train/ folder"):
        data.find_dataset(tmp_path / "empty")
    with pytest.raises(data.DatasetError, match="dataset folder not found"):
        data.find_dataset(tmp_path / "absent")


def test_stray_files_are_ignored_with_a_note(tmp_path: Path, caplog) -> None:
    for i in (10, 2, 1):
        write_image(tmp_path / f"{i}.jpg", make_pair())
    (tmp_path / ".DS_Store").write_bytes(b"\0")
    (tmp_path / "Thumbs.db").write_bytes(b"\0")
    with caplog.at_level(logging.INFO, logger="utils.data"):
        files = data.list_images(tmp_path)
    assert [f.name for f in files] == ["1.jpg", "2.jpg", "10.jpg"]  # natural order
    assert ".DS_Store" in caplog.text and "Thumbs.db" in caplog.text


@pytest.mark.parametrize("prefix", ["", "cityscapes_data", "cityscapes_data/cityscapes_data"])
def test_kaggle_layouts_are_found(tmp_path: Path, prefix: str) -> None:
    base = tmp_path / prefix
    for split, n in (("train", 3), ("val", 2)):
        for i in range(n):
            write_image(base / split / f"{i + 1}.jpg", make_pair())
    splits = data.find_dataset(tmp_path)
    assert splits.layout == "train+val"
    assert (len(splits.train), len(splits.val)) == (3, 2)
    assert splits.train[0].parent == base / "train"


def test_train_only_gets_reproducible_disjoint_holdout(tmp_path: Path) -> None:
    for i in range(40):
        write_image(tmp_path / "train" / f"{i + 1}.jpg", make_pair())
    a = data.find_dataset(tmp_path, val_fraction=0.25, seed=7, holdout="random")
    b = data.find_dataset(tmp_path, val_fraction=0.25, seed=7, holdout="random")
    c = data.find_dataset(tmp_path, val_fraction=0.25, seed=8, holdout="random")
    assert a.layout.startswith("train only")
    assert len(a.val) == 10 and len(a.train) == 30
    assert a.train == b.train and a.val == b.val
    assert not set(a.train) & set(a.val)
    assert set(a.train) | set(a.val) == set(data.list_images(tmp_path / "train"))
    assert a.val != c.val  # the seed matters


def test_dataset_from_environment_variable(tmp_path: Path, monkeypatch) -> None:
    write_image(tmp_path / "train" / "1.jpg", make_pair())
    write_image(tmp_path / "val" / "1.jpg", make_pair())
    monkeypatch.setenv(data.ENV_VAR, str(tmp_path))
    assert data.find_dataset().root == tmp_path
    monkeypatch.delenv(data.ENV_VAR)
    with pytest.raises(data.DatasetError, match="no dataset given"):
        data.find_dataset()


def test_download_path_handling(tmp_path: Path, monkeypatch) -> None:
    """kagglehub's returned folder is searched for the Kaggle layouts; no network used."""
    got = {}

    def fake_download(handle: str) -> str:
        got["handle"], got["cache"] = handle, data.os.environ.get("KAGGLEHUB_CACHE")
        root = Path(got["cache"]) / "datasets" / "dansbecker" / "versions" / "1"
        for split in ("train", "val"):
            write_image(root / "cityscapes_data" / split / "1.jpg", make_pair())
        return str(root)

    monkeypatch.setitem(
        sys.modules, "kagglehub", types.SimpleNamespace(dataset_download=fake_download)
    )
    monkeypatch.delenv("KAGGLEHUB_CACHE", raising=False)
    monkeypatch.delenv(data.ENV_VAR, raising=False)
    root = data.download(tmp_path / "cache")
    assert got["handle"] == data.KAGGLE_HANDLE
    assert got["cache"] == str((tmp_path / "cache").resolve())
    splits = data.find_dataset(root)
    assert splits.train[0].parts[-3:] == ("cityscapes_data", "train", "1.jpg")
    assert data.find_dataset(download_missing=True).root == root


def _flip_probe(tmp_path: Path, n: int) -> list[Path]:
    """Pairs whose left photo quarter is white exactly where the label is car, else road."""
    files = []
    for i in range(n):
        image = make_pair(photo_value=0, label_colour=ROAD, size=32)
        image[:, :8] = 255
        image[:, 32:40] = CAR
        files.append(write_image(tmp_path / f"{i + 1}.png", image))
    return files


def test_default_holdout_is_a_contiguous_block_at_the_end(tmp_path: Path) -> None:
    for i in range(40):
        write_image(tmp_path / "train" / f"{i + 1}.jpg", make_pair())
    splits = data.find_dataset(tmp_path, val_fraction=0.25)
    assert [f.name for f in splits.val] == [f"{i}.jpg" for i in range(31, 41)]
    assert [f.name for f in splits.train] == [f"{i}.jpg" for i in range(1, 31)]
    assert "last 10 files" in splits.layout
    with pytest.raises(ValueError, match="holdout"):
        data.find_dataset(tmp_path, holdout="cities")


def test_kaggle_numbering_holds_out_whole_cities() -> None:
    files = [Path(f"/x/{i}.jpg") for i in range(2975, 0, -1)]  # any order in
    train, val, how = holdout.city_holdout_split(files, 0.1)
    assert (val[0].name, val[-1].name, len(val)) == ("2617.jpg", "2975.jpg", 359)
    assert (train[0].name, train[-1].name) == ("1.jpg", "2616.jpg")
    assert "ulm, weimar, zurich" in how
    _, val, how = holdout.city_holdout_split(files, 0.04)
    assert len(val) == 122 and "zurich" in how  # the smallest whole-city block >= 4 %


def test_real_train_split_holds_out_the_last_three_cities(real_data: Path) -> None:
    splits = data.find_dataset(real_data)
    assert len(splits.train) == 2616 and len(splits.val) == 359
    assert splits.val[0].name == "2617.jpg" and "ulm, weimar, zurich" in splits.layout


def test_pipeline_shapes_and_dtypes(tmp_path: Path) -> None:
    files = _flip_probe(tmp_path, 5)
    ds = data.make_dataset(files, (16, 24), label_mapper=PALETTE.tf_apply, batch_size=2)
    batches = list(ds)
    assert [b[0].shape[0] for b in batches] == [2, 2, 1]
    photo, ids = batches[0]
    assert photo.shape == (2, 16, 24, 3) and photo.dtype.name == "float32"
    assert ids.shape == (2, 16, 24) and ids.dtype.name == "uint8"
    assert 0.0 <= float(np.min(photo)) and float(np.max(photo)) <= 1.0
    assert set(np.unique(ids)) == {labels.class_id("road"), labels.class_id("car")}


def test_pipeline_flips_photo_and_label_together(tmp_path: Path) -> None:
    files = _flip_probe(tmp_path, 16)
    ds = augment.augment(
        data.make_dataset(files, (32, 32), label_mapper=PALETTE.tf_apply, batch_size=4),
        "flip",
        seed=3,
    )
    flipped = 0
    for _ in range(2):  # two epochs: new coins each time
        for photo, ids in ds:
            white = photo.numpy()[..., 0] > 0.5
            car = ids.numpy() == labels.class_id("car")
            assert (white == car).all()
            flipped += int(car[:, :, -1].all(axis=1).sum())
    assert 0 < flipped < 32  # some pairs flipped, some not


def test_pipeline_names_a_bad_file(tmp_path: Path) -> None:
    files = _flip_probe(tmp_path, 2)
    bad = write_image(tmp_path / "bad.png", np.zeros((32, 32, 3), np.uint8))
    with pytest.raises(data.DatasetError, match="bad.png"):
        data.make_dataset([*files, bad], (16, 16), label_mapper=PALETTE.tf_apply)
