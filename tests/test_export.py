"""ONNX export, int8 quantisation and vocabulary trimming, on tiny models trained here."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

import kanjo
from kanjo.evaluation.calibration import softmax
from kanjo.models.vocab_trim import japanese_pieces, plan, trim_tokenizer_json
from tests.conftest import run_cli as run
from tests.conftest import toy_rows

TEXTS = ["朝食は最高でした。", "部屋は最悪でした。", "駐車場は予約制です。", "温泉がとても良かった",
         "スタッフの接客に不満です。", "ロビーは一階です。東京の天気は晴れです。", "良い",
         "眺めが汚かった。"]


def test_export_writes_a_complete_onnx_directory(trained: Path, exports: dict[str, Path]) -> None:
    source = json.loads((trained / "kanjo.json").read_text())
    for name, path in exports.items():
        assert {"model.onnx", "tokenizer.json", "kanjo.json"} <= {p.name for p in path.iterdir()}
        meta = json.loads((path / "kanjo.json").read_text())
        assert meta["backend"] == "onnx" and meta["labels"] == source["labels"]
        for key in ("temperature", "max_length", "dev_metrics", "config", "data"):
            assert meta[key] == source[key], key
        assert meta["export"]["quantize"] == (None if name == "fp32" else name)
        assert set(meta["checksums"]) == {"model.onnx", "tokenizer.json"}
    assert not list(trained.parent.glob(".onnx-*")), "no staging directory left"
    fp32, *int8 = ((p / "model.onnx").stat().st_size for p in exports.values())
    assert max(int8) < fp32 / 2


# int8 quantises each token's activations on its own: on the tiny model's 64-wide hidden
# states one scale per row is coarse (largest error 10 % of the scores' scale on the truncated
# long text, 0 label changes); on the default encoder it agrees with fp32 on 99.5 % of labels
@pytest.mark.parametrize(("name", "tolerance"), [("fp32", 1e-5), ("int8", 0.12),
                                                 ("int8-blockwise", 0.05)])
def test_onnx_predictions_match_torch(trained, exports, name, tolerance) -> None:
    """The export's scores match torch's within ``tolerance`` of the scores' scale (what int8
    promises); the labels match wherever torch's margin is wider than that; the stored
    temperature is applied alike. Probabilities are not compared directly: on the separable toy
    set the fitted temperature can be 0.05, which magnifies a score error twentyfold."""
    torch_model = kanjo.load(trained)
    onnx_model = kanjo.load(exports[name])
    assert onnx_model.backend.kind == "onnx"
    texts = TEXTS * 3 + ["部屋は最高でした。" * 30]  # one text longer than max_length
    torch_ids = torch_model.backend.tokenizer(texts, truncation=True,
                                              max_length=torch_model.backend.max_length)
    from kanjo.models.tokenize import encode

    onnx_ids, cut = encode(onnx_model.backend.tokenizer, texts, onnx_model.backend.max_length)
    assert onnx_ids == torch_ids["input_ids"] and cut == 1
    expected, _ = torch_model.backend.logits(texts, 64)
    got, _ = onnx_model.backend.logits(texts, 5)  # several length-sorted batches
    atol = tolerance * np.abs(expected).max()
    np.testing.assert_allclose(got, expected, atol=atol)
    top2 = np.sort(expected, axis=1)[:, -2:]
    clear = np.flatnonzero(top2[:, 1] - top2[:, 0] > 2 * atol)
    assert len(clear) >= len(texts) - 3  # a borderline text or two at most
    onnx_labels, torch_labels = onnx_model.predict(texts), torch_model.predict(texts)
    assert [onnx_labels[i] for i in clear] == [torch_labels[i] for i in clear]
    assert onnx_model.temperature == torch_model.temperature
    np.testing.assert_allclose(onnx_model.predict_proba(texts, batch_size=5),
                               softmax(got, onnx_model.temperature), atol=1e-6)
    assert onnx_model.last_truncated == 1


LONG = "部屋は最高でした。駅からも近くて便利です。" * 40  # longer than max_length


@pytest.fixture(scope="module")
def tfidf_model(tmp_path_factory: pytest.TempPathFactory, toy_csv: Path) -> Path:
    out = tmp_path_factory.mktemp("tfidf") / "model"
    kanjo.train(toy_csv, out, model="tfidf")
    return out


@pytest.mark.parametrize("name", ["torch", "tfidf", "fp32", "int8", "int8-blockwise"])
def test_a_texts_scores_do_not_depend_on_its_batch(name, trained, tfidf_model, exports) -> None:
    """Every backend kanjo writes: the same texts predicted one at a time, in batches of 7 and
    64, shuffled, and padded next to a text longer than the model takes get the same labels and
    probabilities (within 1e-3; a server batches strangers' texts together)."""
    path = {"torch": trained, "tfidf": tfidf_model}.get(name) or exports[name]
    clf = kanjo.load(path)
    texts = TEXTS + [text for text, _ in toy_rows(8, seed=7)]
    alone = clf.predict_proba(texts, batch_size=1)
    order = np.random.default_rng(0).permutation(len(texts))
    shuffled = [texts[i] for i in order]
    for batch_size, batch in ((7, shuffled), (64, shuffled), (64, [LONG, *shuffled]),
                              (7, [*shuffled, LONG])):
        got = clf.predict_proba(batch, batch_size=batch_size)
        got = got[1:] if batch[0] == LONG else got[:len(texts)]
        expected = alone[order]
        assert (got.argmax(1) == expected.argmax(1)).all(), (batch_size, len(batch))
        np.testing.assert_allclose(got, expected, atol=1e-3)


def test_int8_agrees_with_fp32_and_records_its_calibration(trained, exports) -> None:
    """int8 gives fp32's label to every text where fp32 is not on a knife edge, on texts it
    was not calibrated on; its smoothing was calibrated on the 120 training rows (dev rows
    left out)."""
    fp32, int8 = kanjo.load(exports["fp32"]), kanjo.load(exports["int8"])
    texts = TEXTS + [text for text, _ in toy_rows(30, seed=11)]
    expected, got = fp32.predict_proba(texts), int8.predict_proba(texts)
    top2 = np.sort(expected, axis=1)[:, -2:]
    clear = top2[:, 1] - top2[:, 0] > 0.05
    assert clear.sum() >= 0.9 * len(texts)
    assert (got.argmax(1)[clear] == expected.argmax(1)[clear]).all()
    assert (got.argmax(1) == expected.argmax(1)).mean() >= 0.98
    info = json.loads((exports["int8"] / "kanjo.json").read_text())["export"]["quantization"]
    assert info["calibration_texts"] == 120 and info["matmuls"] > 0 and info["smoothed"] > 0


def test_int8_keeps_the_biases(exports, tmp_path: Path) -> None:
    """The per-row rewrite on a graph whose biases matter (the tiny model's are near zero, as
    BERT initialises them; a real encoder's are not): int8's scores stay within a few percent
    of fp32's. Folding the bias into onnxruntime's MatMulIntegerToFloat multiplied it by the
    row scale and cost 10 points of macro-F1 on the default encoder; this caught it."""
    import onnx
    import onnxruntime as ort
    from onnx import numpy_helper

    from kanjo.export.row_quantize import quantize_rows
    from kanjo.models.tokenize import encode

    model = onnx.load(str(exports["fp32"] / "model.onnx"))
    rng = np.random.default_rng(0)
    for init in model.graph.initializer:
        if init.name.endswith("bias") and len(init.dims) == 1:
            value = numpy_helper.to_array(init)
            init.CopyFrom(numpy_helper.from_array(
                (value + rng.normal(0, 1.0, value.shape)).astype(np.float32), init.name))
    fp32_path, int8_path = tmp_path / "biased.onnx", tmp_path / "biased-int8.onnx"
    onnx.save(model, str(fp32_path))
    tokenizer = kanjo.load(exports["fp32"]).backend.tokenizer
    ids, _ = encode(tokenizer, TEXTS, 64)
    width = max(map(len, ids))
    feed = {"input_ids": np.array([x + [0] * (width - len(x)) for x in ids], dtype=np.int64),
            "attention_mask": np.array([[1] * len(x) + [0] * (width - len(x)) for x in ids],
                                       dtype=np.int64)}
    quantize_rows(fp32_path, int8_path, [feed])

    def scores(path: Path) -> np.ndarray:
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        names = {i.name for i in session.get_inputs()}
        return session.run(None, {k: v for k, v in feed.items() if k in names})[0]

    expected, got = scores(fp32_path), scores(int8_path)
    assert np.abs(expected).max() > 1  # the biases moved the scores
    assert np.abs(got - expected).max() < 0.05 * np.abs(expected).max()


def test_int8_without_its_training_file_asks_for_calibration_texts(trained, tmp_path,
                                                                   capsys) -> None:
    moved = tmp_path / "moved"
    shutil.copytree(trained, moved)
    meta = json.loads((moved / "kanjo.json").read_text())
    meta["data"]["train"]["file"] = str(tmp_path / "gone.csv")
    (moved / "kanjo.json").write_text(json.dumps(meta))
    code, _, err = run(["export", str(moved), "--out", str(tmp_path / "q"), "--quantize",
                        "int8"], capsys)
    assert code == 2 and "gone.csv" in err and "--calibration-texts" in err
    assert "Traceback" not in err and not (tmp_path / "q").exists()
    texts = tmp_path / "texts.txt"
    texts.write_text("\n".join(t for t, _ in toy_rows(10, seed=5)) + "\n", encoding="utf-8")
    code, _, err = run(["export", str(moved), "--out", str(tmp_path / "q"), "--quantize",
                        "int8", "--calibration-texts", str(texts)], capsys)
    assert code == 0, err
    info = json.loads((tmp_path / "q" / "kanjo.json").read_text())["export"]["quantization"]
    assert info["calibration_texts"] == 30


@pytest.mark.parametrize("umask", [0o022, 0o027])
def test_written_files_follow_the_umask(trained, exports, tmp_path, umask) -> None:
    """safetensors writes its files 0600 whatever the umask; every file kanjo writes must be
    readable as the umask allows (0644 under 022), or a service user cannot load a copy."""
    previous = os.umask(umask)
    try:
        saved = kanjo.load(trained).save(tmp_path / "torch")
        exported = kanjo.load(exports["int8"]).save(tmp_path / "onnx")
    finally:
        os.umask(previous)
    assert (saved / "model.safetensors").exists() and (exported / "model.onnx").exists()
    for directory in (saved, exported):
        files = [p for p in directory.rglob("*") if p.is_file()]
        assert {oct(p.stat().st_mode & 0o777) for p in files} == {oct(0o666 & ~umask)}
        assert directory.stat().st_mode & 0o777 == 0o777 & ~umask


def test_evaluate_and_predict_commands_on_an_export(exports, trained, toy_csv, capsys) -> None:
    code, out, _ = run(["evaluate", str(exports["int8"]), str(toy_csv), "--split", "dev",
                        "--json"], capsys)
    assert code == 0
    metrics = json.loads(out)
    assert metrics["n"] == 60 and metrics["macro_f1"] > 0.9
    code, out, _ = run(["predict", str(exports["fp32"]), *TEXTS[:2]], capsys)
    assert code == 0
    assert [json.loads(line)["label"] for line in out.splitlines()] == ["positive", "negative"]


def test_onnx_predict_imports_neither_torch_nor_transformers(exports) -> None:
    code = (
        "import sys\n"
        "from kanjo.cli import main\n"
        "try:\n"
        f"    main(['predict', {str(exports['int8'])!r}, '朝食は最高でした。'])\n"
        "except SystemExit as exc:\n"
        "    assert not exc.code, exc.code\n"
        "heavy = {'torch', 'transformers', 'sklearn', 'scipy'}\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & heavy))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert '"label": "positive"' in done.stdout
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_an_export_saves_and_reloads(exports, tmp_path: Path) -> None:
    clf = kanjo.load(exports["int8"])
    copy = clf.save(tmp_path / "copy")
    again = kanjo.load(copy)
    assert again.backend.kind == "onnx"
    np.testing.assert_allclose(again.predict_proba(TEXTS), clf.predict_proba(TEXTS), atol=1e-6)


def test_failed_export_leaves_nothing_behind(trained, exports, tmp_path, monkeypatch,
                                             capsys) -> None:
    from kanjo.export import onnx as export

    def broken(source: Path, dest: Path, scheme: str = "int8", calibration=None) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(export, "quantize_int8", broken)
    with pytest.raises(RuntimeError):
        export.export(trained, tmp_path / "out", quantize="int8")
    assert list(tmp_path.iterdir()) == []
    before = (exports["fp32"] / "model.onnx").stat().st_mtime_ns
    code, _, err = run(["export", str(trained), "--out", str(exports["fp32"])], capsys)
    assert code == 2 and "already exists" in err
    assert (exports["fp32"] / "model.onnx").stat().st_mtime_ns == before
    code, _, err = run(["export", str(trained), "--out", str(tmp_path / "q"), "--quantize",
                        "int4"], capsys)
    assert code == 2 and "int4" in err and not (tmp_path / "q").exists()


def test_only_transformer_models_export(tmp_path: Path, toy_csv: Path, exports, capsys) -> None:
    kanjo.train(toy_csv, tmp_path / "tfidf", model="tfidf")
    for source in (tmp_path / "tfidf", exports["int8"]):
        code, _, err = run(["export", str(source), "--out", str(tmp_path / "x")], capsys)
        assert code == 2 and "only transformer models" in err and "Traceback" not in err


# --------------------------------------------------------------------------- trimming


@pytest.fixture(scope="module")
def tiny_unigram(tmp_path_factory: pytest.TempPathFactory, toy_csv: Path) -> Path:
    """A tiny BERT classifier with an XLM-R-style SentencePiece Unigram tokenizer (NFKC,
    Metaspace, <s> … </s>) trained here on toy Japanese and English text."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from tokenizers.trainers import UnigramTrainer
    from transformers import (
        BertConfig,
        BertForSequenceClassification,
        PreTrainedTokenizerFast,
        set_seed,
    )

    directory = tmp_path_factory.mktemp("tiny-unigram")
    with open(toy_csv, encoding="utf-8") as handle:
        corpus = [row["text"] for row in csv.DictReader(handle)] + [
            "the breakfast was good", "the room was clean and quiet", "staff were friendly",
            "Wi-Fi", "WiFi is free", "check-in at 15:00", "breakfast buffet", "good location"] * 3
    tok = Tokenizer(models.Unigram())
    tok.normalizer = normalizers.NFKC()
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    tok.train_from_iterator(corpus, UnigramTrainer(
        vocab_size=400, special_tokens=["<s>", "<pad>", "</s>", "<unk>"], unk_token="<unk>"))
    tok.add_special_tokens(["<mask>"])
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", special_tokens=[("<s>", 0), ("</s>", 2)])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>",
                                   cls_token="<s>", sep_token="</s>", unk_token="<unk>",
                                   pad_token="<pad>", mask_token="<mask>", model_max_length=128)
    fast.save_pretrained(directory)
    set_seed(0)
    config = BertConfig(vocab_size=len(fast) + 3, hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=64, max_position_embeddings=130,
                        pad_token_id=1, num_labels=3,
                        id2label={0: "negative", 1: "neutral", 2: "positive"})
    BertForSequenceClassification(config).save_pretrained(directory)
    return directory


COVERED = ["朝食は最高でした。", "部屋は最悪でした。", "駐車場は予約制です。"]
NOT_COVERED = ["the room was clean", "good location"]  # need dropped lower-case English pieces


def _ids(directory: Path, texts: list[str]) -> list[list[int]]:
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
    return [e.ids for e in tokenizer.encode_batch(texts)]


def test_trimmed_model_tokenises_and_scores_covered_text_identically(tiny_unigram,
                                                                      tmp_path) -> None:
    from kanjo.models import vocab_trim

    original = json.loads((tiny_unigram / "tokenizer.json").read_text())
    keep = plan(original, ascii_top=0)
    assert 0 < len(keep) < len(original["model"]["vocab"])
    summary = vocab_trim.trim(tiny_unigram, tmp_path / "trimmed")
    assert summary["pieces"] == summary["original_pieces"] == len(original["model"]["vocab"]) + 1
    # (the default keeps every piece of this small Japanese and English vocabulary)

    trimmed = tmp_path / "trimmed0"
    trimmed.mkdir()
    vocab_trim.trim_model_dir(tiny_unigram, trimmed, ascii_top=0)
    new_id = {old: new for new, old in enumerate(keep)}
    texts = COVERED + NOT_COVERED
    before, after = _ids(tiny_unigram, texts), _ids(trimmed, texts)
    for old, new in zip(before[:len(COVERED)], after[:len(COVERED)], strict=True):
        assert all(i in new_id for i in old)
        assert new == [new_id[i] for i in old]
    for old, new in zip(before[len(COVERED):], after[len(COVERED):], strict=True):
        assert not all(i in new_id for i in old)
        assert new_id[3] not in new, "a dropped piece becomes smaller pieces, never <unk>"
    config = json.loads((trimmed / "config.json").read_text())
    assert config["vocab_size"] == len(keep) and config["pad_token_id"] == new_id[1]

    expected = kanjo.load(tiny_unigram).predict_proba(COVERED)
    np.testing.assert_allclose(kanjo.load(trimmed).predict_proba(COVERED), expected, atol=1e-6)


def test_trimmed_export_matches_the_original(tiny_unigram, tmp_path, capsys) -> None:
    texts = tmp_path / "texts.txt"
    texts.write_text("breakfast buffet\n", encoding="utf-8")
    out = tmp_path / "onnx"
    code, _, err = run(["export", str(tiny_unigram), "--out", str(out), "--trim-vocab",
                        "--trim-texts", str(texts)], capsys)
    assert code == 0, err
    meta = json.loads((out / "kanjo.json").read_text())
    assert meta["export"]["vocab_trim"]["pieces"] <= meta["export"]["vocab_trim"][
        "original_pieces"]
    expected = kanjo.load(tiny_unigram).predict_proba(COVERED + ["breakfast buffet"])
    got = kanjo.load(out).predict_proba(COVERED + ["breakfast buffet"])
    np.testing.assert_allclose(got, expected, atol=1e-4)


def test_wordpiece_models_are_not_trimmed(trained: Path, tmp_path: Path, capsys) -> None:
    code, _, err = run(["trim", str(trained), "--out", str(tmp_path / "t")], capsys)
    assert code == 2 and "Unigram" in err and not (tmp_path / "t").exists()


def test_default_vocabulary_keeps_what_japanese_text_needs() -> None:
    """On the real XLM-R tokenizer of the default encoder: about 35k of 250k pieces, and the
    shipped sample sentences tokenise identically."""
    from tokenizers import Tokenizer

    path = resources.files("semantra_multilingual") / "assets/multilingual-e5-small/tokenizer.json"
    spec = json.loads(path.read_text(encoding="utf-8"))
    keep = plan(spec)
    assert 30_000 < len(keep) < 40_000
    assert set(japanese_pieces(spec["model"]["vocab"], [0, 1, 2, 3])) <= set(keep)
    root = Path(__file__).resolve().parents[1] / "examples"
    texts = (root / "new_reviews.txt").read_text(encoding="utf-8").splitlines()
    texts += [line.rsplit(",", 2)[0] for line in
              (root / "reviews.csv").read_text(encoding="utf-8").splitlines()[1:]]
    texts += ["ｽﾀｯﾌの対応は普通でした(^^)", "WiFiが遅い", "Ελληνικά и русский", "(́▽‘)",
              "check-in was smooth, the concierge recommended restaurants"]
    original = Tokenizer.from_str(json.dumps(spec))
    trimmed = Tokenizer.from_str(json.dumps(trim_tokenizer_json(spec, keep)))
    new_id = {old: new for new, old in enumerate(keep)}
    covered = 0
    for old, new in zip(original.encode_batch(texts), trimmed.encode_batch(texts), strict=True):
        if all(i in new_id for i in old.ids):
            covered += 1
            assert new.ids == [new_id[i] for i in old.ids] and new.tokens == old.tokens
        else:  # smaller kept pieces, never a new <unk>
            assert new.ids.count(new_id[3]) == old.ids.count(3), old.tokens
    assert covered >= 0.98 * len(texts)
    assert trimmed.encode("한국어").ids.count(new_id[3]) == 1, "dropped scripts become <unk>"
