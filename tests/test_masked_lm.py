"""fill-mask and continued MLM pretraining on tiny masked LMs built here, for both tokenizer
families: WordPiece (BertTokenizerFast; BertJapaneseTokenizer with fugashi + unidic-lite) and an
XLM-R-style SentencePiece Unigram tokenizer with ``<mask>`` (like the default encoder)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from kanjo.cli import main
from kanjo.config import PretrainConfig
from kanjo.errors import KanjoError, ModelError
from kanjo.inference.classifier import Classifier
from kanjo.inference.fill_mask import MaskFiller
from kanjo.training.masking import Masker, encode_texts
from kanjo.training.pretraining import pretrain
from tests.conftest import run_cli as run

SUBJECTS = ["温泉", "部屋", "朝食", "夕食", "ベッド", "ロビー", "駐車場", "露天風呂"]
PREDICATES = ["は最高でした", "は最悪でした", "がとても広い", "は駅から近い", "は静かでした",
              "がきれいです"]
SENTENCES = [f"{s}{p}。" for s in SUBJECTS for p in PREDICATES]
PATTERN = {"温泉": "最高", "部屋": "最悪"}  # in the pattern text a subject always gets its word
FAST = {"batch_size": 16, "lr": 3e-3, "head_lr": 3e-3, "warmup": 0.1,
        "freeze_embeddings": False, "save_steps": 1000}


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny models train ~10x faster on one thread when the cores are shared (OpenMP threads
    of a 2-thread pool spin-wait on each other)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def unigram_tokenizer(texts: list[str]):
    """An XLM-R-style tokenizer: NFKC, Metaspace ('▁' word starts, prepended to the text),
    a Unigram model over fugashi words and single characters, <s> … </s>, and <mask>."""
    import fugashi
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    tagger = fugashi.Tagger()
    words = sorted({w.surface for text in texts for w in tagger(text)})
    chars = sorted({c for text in texts for c in text} - set(words))
    vocab = [("<s>", 0.0), ("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("▁", -5.0)]
    vocab += [(w, -3.0) for w in words] + [(f"▁{w}", -3.0) for w in words]
    vocab += [(c, -8.0) for c in chars]
    backend = Tokenizer(models.Unigram(vocab, unk_id=3, byte_fallback=False))
    backend.normalizer = normalizers.NFKC()
    backend.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    backend.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    backend.add_special_tokens(["<mask>"])
    backend.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", 0), ("</s>", 2)])
    return PreTrainedTokenizerFast(
        tokenizer_object=backend, bos_token="<s>", eos_token="</s>", cls_token="<s>",
        sep_token="</s>", unk_token="<unk>", pad_token="<pad>", mask_token="<mask>",
        model_max_length=128)


@pytest.fixture(scope="module")
def unigram_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two tiny models with the Unigram tokenizer: 'encoder' is a BertModel without MLM head
    (the default encoder in miniature, with 3 embedding rows beyond the tokenizer), 'mlm' a
    BertForMaskedLM."""
    from transformers import BertConfig, BertForMaskedLM, BertModel, set_seed

    tokenizer = unigram_tokenizer(SENTENCES)
    out = {}
    for kind, cls in (("encoder", BertModel), ("mlm", BertForMaskedLM)):
        directory = tmp_path_factory.mktemp(f"unigram-{kind}")
        tokenizer.save_pretrained(directory)
        set_seed(0)
        config = BertConfig(vocab_size=len(tokenizer) + 3, hidden_size=64, num_hidden_layers=2,
                            num_attention_heads=2, intermediate_size=128,
                            max_position_embeddings=128, pad_token_id=tokenizer.pad_token_id)
        if kind == "encoder":
            cls(config, add_pooling_layer=False).save_pretrained(directory)
        else:
            cls(config).save_pretrained(directory)
        out[kind] = directory
    return out


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("text") / "sentences.txt"
    path.write_text("\n".join(SENTENCES * 2) + "\n", encoding="utf-8")
    return path


# --------------------------------------------------------------------------- fill-mask


def test_mask_placeholder_is_translated_to_each_models_token(unigram_dirs, tiny_bert,
                                                              tiny_japanese_bert) -> None:
    unigram = MaskFiller.load(str(unigram_dirs["mlm"]))
    assert unigram.translate("温泉は[MASK]でした。") == "温泉は<mask>でした。"
    for directory in (tiny_bert, tiny_japanese_bert):
        filler = MaskFiller.load(str(directory))
        assert filler.translate("温泉は[MASK]でした。") == "温泉は[MASK]でした。"
        result = filler("温泉は[MASK]でした。", top_k=3)
        assert len(result.masks) == 1 and len(result.masks[0]) == 3
    # the model's own token works as well, and both kinds can be mixed
    assert len(unigram("温泉は<mask>で[MASK]。").masks) == 2


def test_sentencepiece_text_after_a_mask_gets_no_word_start(unigram_dirs) -> None:
    filler = MaskFiller.load(str(unigram_dirs["mlm"]))
    tokens = filler.tokenizer.convert_ids_to_tokens(filler._encode("温泉は<mask>でした。"))
    assert tokens[:4] == ["<s>", "▁温泉", "は", "<mask>"] and tokens[4] != "▁"
    plain = filler.tokenizer.convert_ids_to_tokens(filler.tokenizer("温泉はでした。")["input_ids"])
    assert tokens[4:] == plain[3:], "the text after the mask is tokenised as without it"
    spaced = filler.tokenizer.convert_ids_to_tokens(filler._encode("温泉 <mask>"))
    assert spaced == ["<s>", "▁温泉", "<mask>", "</s>"], "a space before the mask is absorbed"


def test_several_masks_and_top_k_ordering(unigram_dirs, tiny_japanese_bert) -> None:
    for directory in (unigram_dirs["mlm"], tiny_japanese_bert):
        filler = MaskFiller.load(str(directory))
        result = filler("[MASK]は[MASK]でした。", top_k=4)
        assert len(result.masks) == 2
        special = set(filler.tokenizer.all_special_ids)
        for m, candidates in enumerate(result.masks):
            scores = [c.score for c in candidates]
            assert len(candidates) == 4 and scores == sorted(scores, reverse=True)
            assert 0 < sum(scores) <= 1 + 1e-6
            assert all(c.token_id not in special for c in candidates)
            assert all(c.token_id < len(filler.tokenizer) for c in candidates)
            other = result.masks[1 - m][0].token_str
            for c in candidates:  # this mask filled by c, the other one by its best token
                parts = (c.token_str, other) if m == 0 else (other, c.token_str)
                assert c.sequence == f"{parts[0]}は{parts[1]}でした。"
        assert result.sequence == result.masks[0][0].sequence
        # more candidates than tokens: every ordinary token, once
        everything = filler("温泉は[MASK]でした。", top_k=10_000).masks[0]
        assert len(everything) == len(filler.tokenizer) - len(special)
        assert abs(sum(c.score for c in everything) - 1) < 1e-4


@pytest.mark.parametrize("family", ["unigram", "wordpiece", "japanese"])
def test_a_tiny_mlm_trained_on_a_pattern_fills_the_blank(family, unigram_dirs, tiny_bert,
                                                         tiny_japanese_bert, tmp_path) -> None:
    base = {"unigram": unigram_dirs["mlm"], "wordpiece": tiny_bert,
            "japanese": tiny_japanese_bert}[family]
    text = tmp_path / "pattern.txt"
    text.write_text("\n".join([f"{s}は{w}でした。" for s, w in PATTERN.items()] * 50),
                    encoding="utf-8")
    result = pretrain(text, tmp_path / "mlm", model=str(base), steps=150, progress=False,
                      **FAST)
    assert result.meta["metrics"]["top1"] > 0.9
    filler = MaskFiller.load(str(tmp_path / "mlm"))
    for subject, word in PATTERN.items():
        # the WordPiece tokenizer splits CJK characters: one mask per character
        masks = "[MASK]" * (len(word) if family == "wordpiece" else 1)
        filled = filler(f"{subject}は{masks}でした。", top_k=3)
        assert filled.sequence == f"{subject}は{word}でした。"


# --------------------------------------------------------------------------- pretraining


@pytest.fixture(scope="module")
def pretrained(unigram_dirs, corpus, tmp_path_factory) -> Path:
    """The default encoder's path in miniature: a BertModel without head, pretrained through
    the command with whole-word masking."""
    out = tmp_path_factory.mktemp("pretrained") / "mlm"
    main(["pretrain", "--model", str(unigram_dirs["encoder"]), "--text", str(corpus), "--out",
          str(out), "--steps", "30", "--eval-steps", "10", "--batch-size", "16", "--lr", "3e-3",
          "--head-steps", "5", "--whole-word"])
    return out


def test_pretrain_writes_a_standard_masked_lm_directory(pretrained, unigram_dirs) -> None:
    from safetensors.torch import load_file
    from transformers import AutoModelForMaskedLM

    names = {p.name for p in pretrained.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "kanjo.json"} <= names
    assert not list(pretrained.parent.glob(".mlm.*")), "no work or staging directory left"
    meta = json.loads((pretrained / "kanjo.json").read_text(encoding="utf-8"))
    assert meta["kind"] == "masked-lm" and meta["head_added"] is True
    assert meta["steps"] == 30 and meta["head_only_steps"] == 5
    assert [h["step"] for h in meta["history"]] == [10, 20, 30]
    assert {"loss", "perplexity", "top1", "top5"} <= set(meta["metrics"])
    assert meta["data"]["heldout_rows"] == len(SENTENCES) * 2 // 10
    assert meta["config"]["whole_word"] is True
    model, info = AutoModelForMaskedLM.from_pretrained(pretrained, output_loading_info=True)
    assert not info["missing_keys"]
    assert model.get_output_embeddings().weight is model.get_input_embeddings().weight
    # the embeddings (= decoder) stayed frozen, the encoder moved
    base = load_file(str(unigram_dirs["encoder"] / "model.safetensors"))
    state = model.state_dict()
    assert torch.equal(state["bert.embeddings.word_embeddings.weight"],
                       base["embeddings.word_embeddings.weight"])
    assert not torch.equal(state["bert.encoder.layer.0.attention.self.query.weight"],
                           base["encoder.layer.0.attention.self.query.weight"])


def test_pretrained_model_fills_masks_and_trains_a_classifier(pretrained, toy_csv, tmp_path,
                                                               capsys) -> None:
    code, out, err = run(["fill-mask", str(pretrained), "温泉は[MASK]でした。", "--json",
                          "--top-k", "3"], capsys)
    assert code == 0, err
    result = json.loads(out)
    assert len(result["masks"]) == 1 and len(result["masks"][0]) == 3
    assert result["sequence"].startswith("温泉は") and "<mask>" not in result["sequence"]
    code, out, err = run(["fill-mask", str(pretrained), "[MASK]は[MASK]でした。", "--compare",
                          str(pretrained)], capsys)
    assert code == 0 and "mask 2 of 2" in out
    code, _, err = run(["train", str(toy_csv), "--out", str(tmp_path / "clf"), "--model",
                        str(pretrained), "--epochs", "1", "--min-steps", "1",
                        "--early-stopping", "0"], capsys)
    assert code == 0, err
    assert json.loads((tmp_path / "clf" / "kanjo.json").read_text())["labels"]


def test_a_masked_lm_is_not_loaded_as_a_classifier(pretrained, tiny_bert, capsys) -> None:
    """Loading would give a random classification head: refuse, and say what to do."""
    code, _, err = run(["predict", str(pretrained), "温泉は最高でした。"], capsys)
    assert code == 2 and "masked language model" in err and "kanjo train" in err
    with pytest.raises(ModelError, match="BertForMaskedLM, not a text-class"):
        Classifier.load(tiny_bert)


def test_whole_word_masking_takes_whole_words(tiny_japanese_bert, unigram_dirs) -> None:
    from transformers import AutoTokenizer

    text = ["露天風呂は駅から近い。"]
    for directory in (tiny_japanese_bert, unigram_dirs["mlm"]):
        tokenizer = AutoTokenizer.from_pretrained(directory)
        encoded = encode_texts(tokenizer, text, 64, whole_word=True)
        words = encoded.words[0]
        assert words[0] == -1 and words[-1] == -1  # special tokens
        assert words[1:-1] == sorted(words[1:-1]), "word ids follow the text"
        masker = Masker(tokenizer, 0.3, len(tokenizer))
        for seed in range(5):
            batch = masker(encoded.ids, encoded.words, torch.Generator().manual_seed(seed))
            chosen = {w for w, c in zip(words, batch.positions[0].tolist(), strict=True) if c}
            for position, word in enumerate(words):
                assert batch.positions[0, position] == (word in chosen)


def test_resume_continues_the_interrupted_run_exactly(unigram_dirs, corpus, tmp_path,
                                                      monkeypatch) -> None:
    import kanjo.training.pretraining as pretraining

    options = dict(model=str(unigram_dirs["encoder"]), steps=12, save_steps=4, head_steps=3,
                   batch_size=8, lr=3e-3, progress=False)
    whole = pretrain(corpus, tmp_path / "whole", **options)

    save = pretraining._save_checkpoint

    def save_then_die(directory, step, *args):
        save(directory, step, *args)
        if step == 8:
            raise KeyboardInterrupt

    monkeypatch.setattr(pretraining, "_save_checkpoint", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        pretrain(corpus, tmp_path / "cut", **options)
    monkeypatch.undo()
    assert not (tmp_path / "cut").exists()
    assert (tmp_path / ".cut.partial" / "checkpoints" / "step-8" / "state.json").exists()
    with pytest.raises(KanjoError, match="--resume"):
        pretrain(corpus, tmp_path / "cut", **options)
    resumed = pretrain(corpus, tmp_path / "cut", resume=True, **options)
    assert resumed.meta["metrics"] == whole.meta["metrics"]
    from safetensors.torch import load_file

    a = load_file(str(tmp_path / "whole" / "model.safetensors"))
    b = load_file(str(tmp_path / "cut" / "model.safetensors"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


# --------------------------------------------------------------------------- bad input


def test_a_model_without_mlm_head_says_how_to_make_one(unigram_dirs, capsys) -> None:
    with pytest.raises(ModelError, match="kanjo pretrain"):
        MaskFiller.load(str(unigram_dirs["encoder"]))
    code, _, err = run(["fill-mask", str(unigram_dirs["encoder"]), "温泉は[MASK]でした。"],
                       capsys)
    assert code == 2 and "no masked-LM head" in err and "kanjo pretrain" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(("args", "expected"), [
    (["温泉は最高でした。"], "has no mask"),
    (["   "], "empty"),
    (["温泉は[MASK]でした。", "--top-k", "0"], "--top-k must be ≥ 1"),
    (["温泉は[MASK]でした。", "--compare", "/no/such/model"], "no such model directory"),
    (["温泉は[MASK]でした。", "--compare", "cl-tohoku/bert-large-japanese"], "--model default"),
])
def test_fill_mask_bad_input_exits_2(args, expected, unigram_dirs, capsys) -> None:
    code, _, err = run(["fill-mask", str(unigram_dirs["mlm"]), *args], capsys)
    assert code == 2 and expected in err and "Traceback" not in err


@pytest.mark.parametrize(("content", "flags", "expected"), [
    (b"", [], "contains no rows"),
    (b"\n  \n", [], "contains no rows"),
    ("温泉は最高でした。\n".encode("shift_jis"), [], "not valid UTF-8"),
    ("温泉は最高でした。\n".encode(), ["--steps", "3", "--epochs", "1"], "not both"),
    ("温泉は最高でした。\n".encode(), ["--steps", "0"], "steps is out of range"),
    ("温泉は最高でした。\n".encode(), ["--mask-prob", "1.5"], "mask-prob is out of range"),
])
def test_pretrain_bad_input_exits_2(content, flags, expected, unigram_dirs, tmp_path,
                                    capsys) -> None:
    text = tmp_path / "text.txt"
    text.write_bytes(content)
    code, _, err = run(["pretrain", "--model", str(unigram_dirs["encoder"]), "--text",
                        str(text), "--out", str(tmp_path / "out"), *flags], capsys)
    assert code == 2 and expected in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_pretrain_refuses_to_replace_an_output(pretrained, corpus, capsys) -> None:
    code, _, err = run(["pretrain", "--model", str(pretrained), "--text", str(corpus), "--out",
                        str(pretrained), "--steps", "1"], capsys)
    assert code == 2 and "already exists" in err


def test_config_validation() -> None:
    assert PretrainConfig().steps is None
    with pytest.raises(KanjoError):
        PretrainConfig(batch_size=0)
