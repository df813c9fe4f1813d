"""The training script end to end, on a tiny dataset written here (not ../shared/datasets)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from flows.frustration import load_model
from training.detector import main, platt, read, read_own, roc_auc

ANGRY_EN = ["this is awful and I am furious", "worst thing ever, so annoyed", "I hate this"]
CALM_EN = ["thank you, lovely day", "what a nice picture", "see you tomorrow friend"]
ANGRY_HE = ["זה מזעזע ואני כועס", "בושה וחרפה, נמאס", "גרוע ומעצבן"]
CALM_HE = ["תודה רבה, יום יפה", "כל הכבוד, מרגש", "שבת שלום לכולם"]


def write_datasets(root: Path) -> Path:
    goemotions = root / "goemotions-en"
    goemotions.mkdir(parents=True)
    names = "admiration amusement anger annoyance approval caring confusion curiosity desire disappointment disapproval disgust embarrassment excitement fear gratitude grief joy love nervousness optimism pride realization relief remorse sadness surprise neutral"
    (goemotions / "labels.txt").write_text("\n".join(names.split()) + "\n", encoding="utf-8")
    rows = [f"{t}\t2\tid{i}" for i, t in enumerate(ANGRY_EN)]
    rows += [f"{t}\t27\tid{i}" for i, t in enumerate(CALM_EN)]
    rows += ["so sad today\t25\tsad", "a joke about it\t1,3\tmixed"]
    for split in ("train", "dev"):
        (goemotions / f"{split}.tsv").write_text("\n".join(rows * 4) + "\n", encoding="utf-8")
    sentiment = root / "hebrew-sentiment-he"
    sentiment.mkdir()
    lines = ["comment\tlabel"] + [f"{t}\t1" for t in ANGRY_HE] + [f"{t}\t0" for t in CALM_HE]
    lines.append("לא קשור\t2")
    for split in ("train", "dev"):
        (sentiment / f"{split}.tsv").write_text("\n".join(lines * 4) + "\n", encoding="utf-8")
    hebemo = root / "hebemo-he"
    hebemo.mkdir()
    header = "split,doc_id,source,text,n_annotators,anger_mean,anger_share_present"
    body = [f'main,a{i},ynet,"{t}",5,1.5,0.9' for i, t in enumerate(ANGRY_HE * 10)]
    body += [f'main,c{i},ynet,"{t}\nשורה שנייה",5,-0.5,0.0' for i, t in enumerate(CALM_HE * 10)]
    body += ["main,m1,ynet,באמצע,5,0.6,0.5"]
    (hebemo / "hebemo_main.csv").write_text("\n".join([header, *body]) + "\n", encoding="utf-8")
    return root


def test_training_writes_a_model_that_learnt_the_tiny_dataset(tmp_path: Path) -> None:
    datasets = write_datasets(tmp_path / "datasets")
    out = tmp_path / "models" / "frustration.bin"

    assert (
        main(
            [
                "--datasets",
                str(datasets),
                "--out",
                str(out),
                "--epochs",
                "8",
                "--buckets-log2",
                "12",
            ]
        )
        == 0
    )

    model = load_model(out.read_bytes())
    assert model.features.buckets == 1 << 12
    assert "train splits" in model.info["trained_on"]
    assert "dev" in model.info
    assert model.probability("I am furious, this is awful") > model.probability("thank you friend")
    assert model.probability("מזעזע, אני כועס") > model.probability("תודה רבה, שבת שלום")
    assert "calibrated_on" in model.info
    for language, calibration in model.calibration.items():
        assert language in {"en", "he"}
        assert calibration.scale > 0


def test_training_is_deterministic(tmp_path: Path) -> None:
    datasets = write_datasets(tmp_path / "datasets")
    first, second = tmp_path / "a.bin", tmp_path / "b.bin"
    for out in (first, second):
        main(
            [
                "--datasets",
                str(datasets),
                "--out",
                str(out),
                "--epochs",
                "2",
                "--buckets-log2",
                "10",
            ]
        )

    assert first.read_bytes() == second.read_bytes()


def test_the_label_rules_follow_the_datasets_readme(tmp_path: Path) -> None:
    datasets = write_datasets(tmp_path / "datasets")

    train = read(datasets, "train")
    dev = read(datasets, "dev")
    by_source = {s: [e for e in train if e.source == s] for s in {e.source for e in train}}

    assert "so sad today" not in {e.text for e in train}  # sadness only: neither label
    assert any(e.text == "a joke about it" and e.frustrated for e in train)  # annoyance
    assert "לא קשור" not in {e.text for e in train}  # off-topic dropped
    assert "באמצע" not in {e.text for e in train + dev}  # between the HebEMO rules
    hebemo_dev = [e for e in dev if e.source == "hebemo"]
    assert len(by_source["hebemo"]) + len(hebemo_dev) == 60  # each comment in one split only
    assert 0 < len(hebemo_dev) < len(by_source["hebemo"])


def test_evaluating_a_model_prints_its_dev_figures_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    datasets = write_datasets(tmp_path / "datasets")
    model = tmp_path / "m.bin"
    main(
        ["--datasets", str(datasets), "--out", str(model), "--epochs", "2", "--buckets-log2", "10"]
    )
    trained = model.read_bytes()
    capsys.readouterr()

    assert main(["--datasets", str(datasets), "--evaluate", str(model)]) == 0

    printed = capsys.readouterr().out
    assert "whole offline detector, balanced (threshold 0.65)" in printed
    assert "he " in printed and "en " in printed
    assert model.read_bytes() == trained
    assert sorted(p.name for p in tmp_path.iterdir()) == ["datasets", "m.bin"]


def test_a_missing_dataset_folder_is_a_clear_failure(tmp_path: Path) -> None:
    assert main(["--datasets", str(tmp_path / "nothing"), "--out", str(tmp_path / "m.bin")]) == 1


def test_an_own_list_is_evaluated_alone_and_an_empty_one_is_a_clear_failure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    datasets = write_datasets(tmp_path / "datasets")
    model = tmp_path / "m.bin"
    main(
        ["--datasets", str(datasets), "--out", str(model), "--epochs", "2", "--buckets-log2", "10"]
    )
    own = tmp_path / "own_list.tsv"
    own.write_text("en\tcomplaint\tcharged twice\nen\tcalm\tthanks\n", encoding="utf-8")
    capsys.readouterr()

    assert main(["--datasets", str(datasets), "--evaluate", str(model), "--own", str(own)]) == 0
    printed = capsys.readouterr().out
    assert "en/own_list" in printed and "/goemotions" not in printed

    own.write_text("# nothing but a comment\n", encoding="utf-8")
    assert main(["--datasets", str(datasets), "--evaluate", str(model), "--own", str(own)]) == 1
    assert "nothing to evaluate in" in capsys.readouterr().err


def test_platt_scaling_recovers_the_scale_and_shift_behind_the_labels() -> None:
    z = [i / 10 for i in range(-40, 41)]
    p = [1 / (1 + math.exp(-(2.0 * x - 1.0))) for x in z]

    scale, shift = platt(z + z, [True] * len(z) + [False] * len(z), p + [1 - q for q in p])

    assert scale == pytest.approx(2.0, abs=1e-3)
    assert shift == pytest.approx(-1.0, abs=1e-3)


def test_roc_auc_counts_ties_as_half() -> None:
    assert roc_auc([0.1, 0.9], [False, True]) == 1.0
    assert roc_auc([0.5, 0.5], [False, True]) == pytest.approx(0.5)


def test_an_own_list_reads_requests_and_complaints_as_frustrated_and_refuses_other_classes(
    tmp_path: Path,
) -> None:
    own = tmp_path / "own_list.tsv"
    own.write_text(
        "# a comment\nen\trequest\tagent please\nhe\tcomplaint\tחויבתי פעמיים\nen\tcalm\tthanks\n",
        encoding="utf-8",
    )
    assert [(e.language, e.frustrated, e.source) for e in read_own(own)] == [
        ("en", True, "own_list"),
        ("he", True, "own_list"),
        ("en", False, "own_list"),
    ]

    own.write_text("en\tangry\twhat\n", encoding="utf-8")
    with pytest.raises(ValueError, match="not a row of an own list"):
        read_own(own)
