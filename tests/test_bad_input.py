"""What bad input gets: one test per case of issue 11, in its order (the catalogue).

Every case feeds a command or function bad input and checks that it is refused early with a
message naming the file, folder, parameter or option (and what is allowed), or handled without
losing work. Files are tiny and made here; the real data is used only where a test says so.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import zipfile
from pathlib import Path

import numpy as np
import papermill as pm
import pytest
from conftest import make_pair, write_image
from test_predict_evaluate import _save_folder, blocks, colour_model

from utils import (
    checks,
    colour_fit,
    data,
    evaluate,
    explore,
    inference,
    predict,
    runio,
    series,
    train,
)
from utils import model as unet
from utils.colours import ColourMapping

NOTEBOOKS = series.NOTEBOOK_DIR


# --------------------------------------------------------------------------- helpers
def jpeg_pair(path: Path, size: int = 32, seed: int = 0) -> Path:
    """A small pair JPEG: noisy photo half, road label half."""
    rng = np.random.default_rng(seed)
    image = make_pair(label_colour=(128, 64, 128), size=size)
    image[:, :size] = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
    return write_image(path, image)


def truncate(path: Path, keep: float = 0.6) -> Path:
    """Cut a file at ``keep`` of its bytes (a download or copy that stopped half-way)."""
    raw = path.read_bytes()
    path.write_bytes(raw[: int(len(raw) * keep)])
    return path


def labelled_pairs(folder: Path, n: int, seed: int = 0) -> list[Path]:
    """``n`` PNG pairs whose photo is the label colours: the colour model scores 1 on them."""
    rng = np.random.default_rng(seed)
    files = []
    for i in range(n):
        label = blocks(rng)
        files.append(write_image(folder / f"{i + 1}.png", np.concatenate([label, label], axis=1)))
    return files


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model folder as training leaves it (the 'perfect' colour model, input 64x64)."""
    return _save_folder(colour_model(64), tmp_path_factory.mktemp("model") / "m", input_size=64)


# --------------------------------------------------------------------------- 1 truncated JPEG
def test_1_a_truncated_jpeg_is_named_before_evaluation_and_training(
    tmp_path: Path, model_dir: Path, capsys: pytest.CaptureFixture
) -> None:
    pairs = labelled_pairs(tmp_path / "data" / "train", 6)
    bad = truncate(jpeg_pair(tmp_path / "data" / "train" / "7.jpg", size=64))
    broken = tmp_path / "data" / "train" / "8.jpg"
    broken.write_bytes(b"not a jpeg")
    # The header check passes a truncated JPEG; the full decode does not, and names every file.
    with pytest.raises(data.DatasetError) as err:
        data.check_files([*pairs, bad, broken])
    assert "2 files are not usable pairs" in str(err.value)
    assert f"{bad}: not a readable image" in str(err.value) and str(broken) in str(err.value)
    # evaluate stops before the model runs, naming both files
    out = tmp_path / "eval"
    args = [
        "--model",
        str(model_dir),
        "--data",
        str(tmp_path / "data" / "train"),
        "--out",
        str(out),
    ]
    assert evaluate.main(args) == 1
    assert str(bad) in capsys.readouterr().err and not out.exists()
    # training stops before it creates anything
    cfg = train.TrainConfig(image_size=32, epochs=1, batch_size=4, architecture={"widths": (8,)})
    with pytest.raises(data.DatasetError, match="7.jpg: not a readable image"):
        train.train(tmp_path / "data", tmp_path / "run", cfg, snapshot_dir=tmp_path / "s")
    assert not (tmp_path / "run").exists() and not (tmp_path / "s").exists()


def test_1_bad_files_can_be_skipped_with_a_list_never_silently(
    tmp_path: Path, model_dir: Path, capsys: pytest.CaptureFixture, caplog
) -> None:
    labelled_pairs(tmp_path / "train", 6)
    labelled_pairs(tmp_path / "val", 3, seed=1)
    bad = truncate(jpeg_pair(tmp_path / "val" / "4.jpg", size=64))
    splits = data.skip_bad_files(data.find_dataset(tmp_path))
    assert splits.skipped == ((bad, splits.skipped[0][1]),) and bad not in splits.val
    assert "not a readable image" in splits.skipped[0][1] and "4.jpg" in caplog.text
    assert len(splits.train) == 6 and len(splits.val) == 3
    args = ["--model", str(model_dir), "--data", str(tmp_path), "--out", str(tmp_path / "o")]
    assert evaluate.main([*args, "--skip-bad-files"]) == 0
    assert "left out 1 bad files" in capsys.readouterr().out
    result = runio.load_json(tmp_path / "o" / "evaluation.json")
    assert result["files"] == 3 and result["skipped_files"] == [str(bad)]


def test_1_a_truncated_real_pair_is_named(real_data: Path, tmp_path: Path) -> None:
    """Real data: a pair cut at 60 % of its bytes; the header check alone would pass it."""
    bad = tmp_path / "1.jpg"
    shutil.copyfile(real_data / "train" / "1.jpg", bad)
    truncate(bad)
    from PIL import Image

    with Image.open(bad) as im:  # what the old header-only check looked at: it looks fine
        assert im.size == (512, 256)
    assert data.check_files([real_data / "train" / "2.jpg"]) == [real_data / "train" / "2.jpg"]
    with pytest.raises(data.DatasetError, match=r"1.jpg: not a readable image \(jpeg"):
        data.check_files([bad])


# --------------------------------------------------------------------------- 2 parameters
@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("epochs", 1.5, "epochs=1.5: must be a whole number"),
        ("epochs", 0, "epochs=0: must be a whole number >= 1"),
        ("image_size", "abc", "image_size='abc': must be a whole number"),
        ("variant", "model3", "variant='model3': choose from 'model1', 'model2'"),
        ("learning_rate", -0.001, "learning_rate=-0.001: must be a number > 0"),
        ("architecture", "wide", "architecture='wide': must be a dict of UNetSpec fields"),
        ("batch_size", True, "batch_size=True: must be a whole number"),
        ("mixed_precision", "float13", "mixed_precision='float13': choose 'auto', 'off'"),
        ("hard_pixels", 1.0, "hard_pixels=1.0: must be a number >= 0 and <= 0.99"),
        ("lovasz_weight", -1, "lovasz_weight=-1: must be a number >= 0"),
        ("weight_decay", "0.05", "weight_decay='0.05': must be a finite number"),
        ("early_share", 1.0, "early_share=1.0: must be a number >= 0 and <= 0.9"),
    ],
)
def test_2_train_config_names_field_value_and_what_is_allowed(
    field: str, value: object, message: str
) -> None:
    with pytest.raises(checks.ParameterError) as err:
        dataclasses.replace(train.TrainConfig(), **{field: value}).check()
    assert str(err.value).startswith(message)


def test_2_progressive_resizing_needs_a_small_size_the_model_takes() -> None:
    ok = train.TrainConfig(variant="model2", image_size=96, image_width=192, early_share=0.4)
    assert ok.check().early_size == (64, 128) and ok.input_shape == (None, None)
    assert train.TrainConfig(variant="model2", image_size=96).input_shape == (96, 96)
    with pytest.raises(checks.ParameterError, match=r"early_scale=0.5: gives 48 x 96 photos; .*32"):
        train.TrainConfig(
            variant="model2", image_size=96, image_width=192, early_share=0.4, early_scale=0.5
        ).check()
    with pytest.raises(checks.ParameterError, match="early_scale=.*needs whole photos"):
        train.TrainConfig(variant="model2", image_size=96, crop_size=64, early_share=0.4).check()


def test_2_image_size_must_fit_the_variant_divisor() -> None:
    assert train.TrainConfig(variant="model1", image_size=48).check()  # 16 divides 48
    with pytest.raises(checks.ParameterError, match="image_size=40: must be a multiple of 16"):
        train.TrainConfig(variant="model1", image_size=40).check()
    # model 2's strided stem doubles what the size must be a multiple of
    with pytest.raises(checks.ParameterError, match="image_size=48: must be a multiple of 32"):
        train.TrainConfig(variant="model2", image_size=48).check()
    full_size = {"stem_stride": 1}
    assert train.TrainConfig(variant="model2", image_size=48, architecture=full_size).check()
    small = train.TrainConfig(variant="model1", image_size=12, architecture={"widths": (8, 16)})
    assert small.check()  # two poolings: 4 divides 12
    wide = train.TrainConfig(variant="model2", image_size=96, image_width=192).check()
    assert wide.size == wide.train_size == (96, 192)  # (height, width): the street's proportions
    with pytest.raises(checks.ParameterError, match="image_width=200: must be 0 .* multiple of 32"):
        train.TrainConfig(variant="model2", image_size=96, image_width=200).check()
    with pytest.raises(checks.ParameterError, match="crop_size=128: must be .* up to .*96, 192"):
        train.TrainConfig(variant="model2", image_size=96, image_width=192, crop_size=128).check()


def test_2_train_cli_refuses_bad_options_before_creating_anything(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    labelled_pairs(tmp_path / "data", 4)
    for option in (["--epochs", "0"], ["--image-size", "100", "--variant", "model2"]):
        argv = ["--data", str(tmp_path / "data"), "--out", str(tmp_path / "run"), *option]
        assert train.main(argv) == 2
        assert "python -m utils.train: error:" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    ("parameter", "message"),
    [
        ("EPOCHS=1.5", "-p EPOCHS=1.5: must be a whole number (the notebook declares "),
        ("IMAGE_SIZE=abc", "-p IMAGE_SIZE='abc': must be a whole number"),
        ("VARIANT=model3", "-p VARIANT='model3': choose from 'model1', 'model2', 'both'"),
        ("IMAGE_SIZE=40", "-p IMAGE_SIZE=40: must be a multiple of 16 for model1"),
        ("SPLIT=test", "-p SPLIT='test': choose from 'train', 'val', 'all'"),
        ("TTA=flop", "-p TTA='flop': choose from 'none', 'flip'"),
        (
            "ARCHITECTURE={'stem': 2}",
            "-p ARCHITECTURE={'stem': 2}: unknown field(s) 'stem'; "
            "UNetSpec has widths, bridge, residual",
        ),
        (
            "ARCHITECTURE={'stem_stride': 3}",
            "-p ARCHITECTURE={'stem_stride': 3}: stem_stride must be one of (1, 2, 4), got 3",
        ),
    ],
)
def test_2_runner_checks_parameters_before_any_kernel_starts(
    tmp_path: Path, parameter: str, message: str, capsys: pytest.CaptureFixture
) -> None:
    labelled_pairs(tmp_path / "data", 4)
    argv = ["--data", str(tmp_path / "data"), "--out", str(tmp_path / "run"), "-p", parameter]
    assert series.main(argv) == 1
    assert message in capsys.readouterr().err
    assert not (tmp_path / "run" / "executed").exists()  # no notebook was started


def test_2_notebook_choices_agree_with_the_code() -> None:
    assert checks.NOTEBOOK_CHOICES["TTA"] == inference.TTA_MODES
    assert checks.NOTEBOOK_CHOICES["SPLIT"] == ("train", "val", "all")
    # notebook 03's training parameters are TrainConfig fields by their lower-case names
    declared = {n.lower() for n in pm.inspect_notebook(str(NOTEBOOKS / "03_unet_training.ipynb"))}
    fields = {f.name for f in dataclasses.fields(train.TrainConfig)}
    assert {"epochs", "image_size", "batch_size", "variant"} <= declared & fields


# --------------------------------------------------------------------------- 3 predict
def test_3_predict_writes_every_readable_input_then_lists_every_bad_one(
    tmp_path: Path, model_dir: Path, capsys: pytest.CaptureFixture
) -> None:
    inputs = tmp_path / "in"
    labelled_pairs(inputs, 4)
    (inputs / "2b.jpg").write_bytes(b"not an image")
    truncate(jpeg_pair(inputs / "9.jpg", size=64))
    out = tmp_path / "out"
    assert predict.main(["--model", str(model_dir), "--input", str(inputs), "--out", str(out)]) == 1
    captured = capsys.readouterr()
    assert sorted(p.name for p in out.iterdir()) == ["1.png", "2.png", "3.png", "4.png"]
    assert "wrote 4 label images" in captured.out
    assert "2 inputs could not be read" in captured.err
    assert "2b.jpg: not a readable image" in captured.err and "9.jpg" in captured.err
    # --skip-bad-files: the same outputs, the list as a warning, exit status 0
    args = ["--model", str(model_dir), "--input", str(inputs), "--out", str(tmp_path / "o2")]
    assert predict.main([*args, "--skip-bad-files"]) == 0
    assert "skipped 2 unreadable inputs" in capsys.readouterr().out


# --------------------------------------------------------------------------- 4 output location
def test_4_an_output_that_is_a_file_is_refused_before_any_work(
    tmp_path: Path, model_dir: Path, capsys: pytest.CaptureFixture
) -> None:
    pairs = tmp_path / "pairs"
    labelled_pairs(pairs, 2)
    taken = tmp_path / "taken"
    taken.write_text("a file")
    for tool, args in (
        (evaluate, ["--model", str(model_dir), "--data", str(pairs), "--out", str(taken)]),
        (predict, ["--model", str(model_dir), "--input", str(pairs), "--out", str(taken / "x")]),
    ):
        assert tool.main(args) == 1
        assert f"{taken}: is a file, not a folder" in capsys.readouterr().err
    folder = tmp_path / "mapping"
    folder.mkdir()
    assert colour_fit.main(["--method", "palette", "--out", str(folder)]) == 1
    assert f"{folder}: is a folder; give a file name" in capsys.readouterr().err


def test_4_a_read_only_output_folder_is_refused_before_any_work(
    tmp_path: Path, model_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    pairs = tmp_path / "pairs"
    labelled_pairs(pairs, 2)
    locked = tmp_path / "locked"
    locked.mkdir()
    real_access = os.access
    monkeypatch.setattr(  # as a read-only folder looks to a non-root user (tests may run as root)
        runio.os, "access", lambda p, mode: Path(p) != locked and real_access(p, mode)
    )
    args = ["--model", str(model_dir), "--data", str(pairs), "--out", str(locked / "eval")]
    assert evaluate.main(args) == 1
    assert f"{locked}: folder is not writable" in capsys.readouterr().err


def test_4_scores_survive_a_failed_final_write(
    tmp_path: Path, model_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    pairs = tmp_path / "pairs"
    labelled_pairs(pairs, 2)

    def refuse(obj: object, path: Path) -> Path:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(runio, "save_json", refuse)
    out = tmp_path / "o"
    args = ["--model", str(model_dir), "--data", str(pairs), "--out", str(out)]
    assert evaluate.main(args) == 1
    captured = capsys.readouterr()
    assert "mean IoU             1.0000" in captured.out  # the finished work is printed
    assert f"could not be written to {out}: Permission denied" in captured.err


# --------------------------------------------------------------------------- 5 permissions
def test_5_outputs_get_the_permissions_of_a_plain_file(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        path = runio.save_json({"a": 1}, tmp_path / "m.json")
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o644  # not mkstemp's 0600


# --------------------------------------------------------------------------- 6 notebook 01
def test_6_samples_are_drawn_among_readable_files(tmp_path: Path) -> None:
    files = [jpeg_pair(tmp_path / f"{i}.jpg", seed=i) for i in range(1, 5)]
    truncate(files[1])
    (tmp_path / "5.jpg").write_bytes(b"junk")
    files.append(tmp_path / "5.jpg")
    pairs, names = explore.sample_pairs(files, 5, seed=0)
    assert names == ["1.jpg", "3.jpg", "4.jpg"] and len(pairs) == 3
    assert pairs[0][0].shape == (32, 32, 3)
    assert explore.sample_pairs(files, 2, seed=0)[1] == explore.sample_pairs(files, 2, seed=0)[1]


@pytest.mark.slow  # starts a kernel
def test_6_runner_names_the_problem_files_notebook_01_found(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    from test_series import _notebook

    nbdir = tmp_path / "nbs"
    nbdir.mkdir()
    problems = [{"file": "/data/7.jpg", "problem": "not a readable image"}]
    record = (
        f"from utils import runio\nrunio.save_json({{'problems': {problems!r}}}, "
        "runio.metrics_path(RUN_DIR, '01_scan'))"
    )
    _notebook(nbdir / "01_scan.ipynb", record)
    _notebook(nbdir / "02_after.ipynb", "raise RuntimeError('must not run')")
    labelled_pairs(tmp_path / "data", 3)
    argv = ["--data", str(tmp_path / "data"), "--out", str(tmp_path / "run")]
    assert series.main([*argv, "--notebooks", str(nbdir), "--kernel", "python3"]) == 1
    err = capsys.readouterr().err
    assert "01_scan.ipynb found 1 problem files" in err and "/data/7.jpg: not a readable" in err
    assert not (tmp_path / "run" / "executed" / "02_after.ipynb").exists()


@pytest.mark.slow
def test_6_notebook_01_runs_on_a_folder_with_a_bad_file(
    tiny_sample: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """The real notebook 01 through the runner, every file drawn as a sample, one truncated."""
    folder = tmp_path / "data"
    folder.mkdir()
    for f in data.list_images(tiny_sample / "train")[:5]:
        shutil.copyfile(f, folder / f.name)
    bad = truncate(data.list_images(folder)[2])
    argv = ["--data", str(folder), "--out", str(tmp_path / "run"), "--only", "01"]
    assert series.main([*argv, "-p", "N_SAMPLES=5"]) == 1
    captured = capsys.readouterr()
    assert "01_data_exploration.ipynb found 1 problem files" in captured.err, (
        "notebook 01 must draw its samples with explore.sample_pairs (readable files only)"
    )
    assert f"{bad}: not a readable image" in captured.err
    summary = runio.load_json(tmp_path / "run" / "metrics" / "01_data_exploration.json")
    assert summary["readable"] == 4 and len(summary["problems"]) == 1
    assert (tmp_path / "run" / "figures" / "01_sample_pairs.png").is_file()
    assert "   cell " in captured.out and "\r" not in captured.out


# --------------------------------------------------------------------------- 7 broken model
def test_7_a_broken_model_file_is_called_what_it_is(
    tmp_path: Path, model_dir: Path, capsys: pytest.CaptureFixture
) -> None:
    for name, write in (
        ("truncated", lambda p: p.write_bytes((model_dir / "model.keras").read_bytes()[:500])),
        ("foreign zip", lambda p: zipfile.ZipFile(p, "w").close()),
    ):
        folder = tmp_path / name.replace(" ", "_")
        shutil.copytree(model_dir, folder)
        write(folder / "model.keras")
        with pytest.raises(ValueError, match="model.keras: not a readable Keras model"):
            unet.load_trained(folder)
    labelled_pairs(tmp_path / "pairs", 1)
    args = ["--model", str(folder), "--data", str(tmp_path / "pairs"), "--out", str(tmp_path / "o")]
    assert evaluate.main(args) == 1
    assert "not a readable Keras model (KeyError)" in capsys.readouterr().err


# --------------------------------------------------------------------------- 8 data layouts
def test_8_the_real_reason_a_data_folder_cannot_be_used_is_given(
    tmp_path: Path, model_dir: Path, capsys: pytest.CaptureFixture
) -> None:
    labelled_pairs(tmp_path / "only_val" / "val", 2)
    labelled_pairs(tmp_path / "one" / "train", 1)
    args = ["--model", str(model_dir), "--out", str(tmp_path / "o"), "--data"]
    assert evaluate.main([*args, str(tmp_path / "only_val")]) == 1
    err = capsys.readouterr().err
    assert "only_val: has val/ but no train/ folder" in err
    assert f"give the folder itself: {tmp_path / 'only_val' / 'val'}" in err
    assert evaluate.main([*args, str(tmp_path / "one")]) == 1
    assert f"{tmp_path / 'one' / 'train'}: only 1 files" in capsys.readouterr().err
    with pytest.raises(data.DatasetError, match=r"one/train: only 1 files: too few"):
        data.find_dataset(tmp_path / "one")
    # and the val/ folder itself is a plain folder of pairs that evaluates
    assert evaluate.main([*args, str(tmp_path / "only_val" / "val")]) == 0


# --------------------------------------------------------------------------- 9 colour_fit
@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--method", "kmeans", "--k", "0"], "--k=0: must be a whole number >= 1"),
        (["--method", "kmeans", "--k", "1000"], "--k=1000: must be a number <= 64"),
        (["--method", "palette", "--k", "13"], "--k only apply to --method kmeans"),
        (["--method", "kmeans", "--pixels", "5"], "--pixels=5: must be a whole number >= 13"),
    ],
)
def test_9_colour_fit_checks_options_before_reading_pixels(
    tmp_path: Path, options: list[str], message: str, capsys: pytest.CaptureFixture
) -> None:
    broken = tmp_path / "data"
    broken.mkdir()
    (broken / "1.jpg").write_bytes(b"unreadable: the option error must come first")
    with pytest.raises(SystemExit) as err:
        colour_fit.main(["--data", str(broken), *options, "--out", str(tmp_path / "m.json")])
    assert err.value.code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "m.json").exists()


def test_9_every_data_option_takes_a_plain_folder_of_pairs(tmp_path: Path) -> None:
    road = (128, 64, 128)
    for i in range(6):
        write_image(tmp_path / "pairs" / f"{i + 1}.jpg", make_pair(label_colour=road))
    out = tmp_path / "mapping.json"
    argv = ["--data", str(tmp_path / "pairs"), "--method", "kmeans", "--k", "2"]
    assert colour_fit.main([*argv, "--images", "4", "--pixels", "500", "--out", str(out)]) == 0
    assert "road" in ColourMapping.load(out).class_names
    assert len(data.pair_files(tmp_path / "pairs", "val")) == 6  # evaluate: all of them
    splits = data.find_dataset(tmp_path / "pairs")  # train: a train-only dataset
    assert len(splits.train) + len(splits.val) == 6 and splits.layout.startswith("train only")


# --------------------------------------------------------------------------- 10 missing paths
def test_10_missing_inputs_and_data_are_named_at_once(
    tmp_path: Path, model_dir: Path, capsys: pytest.CaptureFixture
) -> None:
    missing = tmp_path / "missing.jpg"
    args = ["--model", str(model_dir), "--input", str(missing), "--out", str(tmp_path / "o")]
    assert predict.main(args) == 1
    assert f"{missing}: input not found (no such file or folder)" in capsys.readouterr().err
    run = tmp_path / "run"
    assert series.main(["--data", str(tmp_path / "nowhere"), "--out", str(run)]) == 1
    assert "nowhere: dataset folder not found" in capsys.readouterr().err
    assert not run.exists()  # no kernel, no executed notebook
