"""Generated data for the benchmarks: glossary entries, questions and clustered unit vectors.

Everything is seeded, so two runs measure the same inputs. Nothing here imports the product
except where a function says so (the chunker, to count chunks exactly as the product does)."""
from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import numpy as np

# --- generated glossary entries ----------------------------------------------------------------

# Two modifiers and a head noun make a term ("Sparse Bayesian Encoder"): 84 * 83 * 64 > 440,000
# distinct terms, more than the 1M-chunk corpus needs.
MODIFIERS = """Adaptive Sparse Stochastic Bayesian Recursive Hierarchical Contrastive Latent Robust Federated
Quantized Residual Gated Causal Variational Spectral Temporal Spatial Differentiable Probabilistic Online
Incremental Distributed Weighted Normalized Regularized Graph Dynamic Static Local Global Low-Rank Dense
Shallow Deep Bidirectional Autoregressive Generative Discriminative Inverse Conditional Marginal Empirical
Heuristic Greedy Approximate Linear Nonlinear Convex Discrete Continuous Structured Implicit Explicit Meta
Curriculum Adversarial Evolutionary Molecular Thermal Rheological Crystalline Amorphous Viscoelastic Polymeric
Multiscale Kinetic Topological Fractional Orthogonal Symmetric Asymmetric Cyclic Iterative Nested Masked
Pretrained Finetuned Lightweight Streaming Batched Cascaded Parallel Modular Elastic Entropic Calibrated
Isotropic""".split()
HEADS = """Encoder Decoder Sampler Estimator Regressor Classifier Embedding Tokenizer Optimizer Scheduler
Clustering Pruning Distillation Augmentation Normalization Pooling Attention Imputation Calibration Kernel
Projection Decomposition Factorization Search Inference Sampling Smoothing Loss Metric Validation
Segmentation Alignment Retrieval Ranking Matching Filter Transform Network Forest Boosting Bagging Annealing
Descent Propagation Quantization Hashing Indexing Mixing Interpolation Fingerprinting Descriptor
Featurization Autoencoder Perceptron Regression Bootstrapping Resampling Whitening Encoding Relaxation
Simulation Surrogate Ensemble""".split()

CATEGORIES = ["technique", "method", "model family", "procedure", "algorithm", "framework", "strategy",
              "statistical tool", "training scheme", "modelling approach", "representation", "heuristic"]
FIELDS = ["polymer informatics", "materials discovery", "image recognition", "speech processing",
          "natural language processing", "time-series forecasting", "recommender systems", "drug design",
          "process control", "quality inspection", "reinforcement learning", "anomaly detection",
          "protein structure prediction", "spectroscopy", "rheology studies", "sensor fusion",
          "climate modelling", "fraud detection", "robotics", "medical imaging", "graph analytics",
          "chemical property prediction", "manufacturing analytics", "text classification"]
PURPOSES = ["reduce the variance of noisy estimates", "capture long-range dependencies in sequences",
            "compress high-dimensional inputs into compact codes", "separate signal from measurement noise",
            "rank candidate structures by predicted performance", "speed up convergence during training",
            "stabilise learning when labels are scarce", "transfer knowledge between related tasks",
            "detect unusual samples before they reach production", "estimate uncertainty in predictions",
            "select the most informative features", "balance accuracy against computational cost",
            "model interactions between neighbouring units", "recover missing values in experimental tables",
            "align representations coming from different instruments", "summarise large datasets for inspection",
            "predict material properties from molecular descriptors", "avoid overfitting on small datasets",
            "generate new candidate designs with desired properties", "make training robust to outliers"]
ACTIONS = ["updates", "re-weights", "partitions", "projects", "samples", "smooths", "aggregates", "filters",
           "encodes", "normalises", "clusters", "perturbs", "scores", "decomposes", "interpolates", "prunes"]
OBJECTS = ["the input features", "the hidden representations", "the training examples", "the model parameters",
           "the residual errors", "the gradient signal", "the latent variables", "the attention weights",
           "the candidate solutions", "the observed spectra", "the chain segments", "the batch statistics",
           "the similarity scores", "the prediction targets", "the learned filters", "the sampled trajectories"]
MEANS = ["a learned scoring function", "a small set of reference points", "an iterative refinement loop",
         "a penalty on model complexity", "a moving average of past values", "a randomised schedule",
         "a hierarchy of coarse and fine levels", "a probabilistic prior", "pairwise comparisons",
         "a shared low-dimensional basis", "a threshold chosen on validation data", "a bank of local kernels",
         "a teacher model's soft labels", "a gating mechanism", "a graph of neighbouring samples",
         "an explicit physical constraint"]
EFFECTS = ["keeps the computation tractable", "makes the result easier to interpret",
           "improves generalisation to unseen data", "reduces the memory footprint",
           "limits the influence of extreme values", "preserves the most useful structure",
           "lets the model adapt as new data arrives", "exposes patterns that simpler models miss",
           "shortens the time needed to reach a good solution", "guards against spurious correlations"]
SITUATIONS = ["the dataset is small and expensive to label", "measurements arrive as a continuous stream",
              "the inputs have thousands of correlated columns", "the classes are strongly imbalanced",
              "the training budget is limited", "predictions must come with error bars",
              "experiments are slow and each sample is costly", "the data mixes several instruments",
              "the model has to run on modest hardware", "domain experts need to audit the decisions",
              "the target property depends on long chains", "labels are noisy or partly missing"]
PEOPLE = ["Practitioners", "Researchers", "Engineers", "Data scientists", "Materials scientists",
          "Analysts", "Students", "Modelling teams"]
CAVEATS = ["its results depend strongly on the chosen hyperparameters",
           "it can be slow when the number of samples grows large",
           "it assumes the training and test data come from similar conditions",
           "poor preprocessing can undo most of its benefits",
           "it needs careful validation to avoid optimistic estimates",
           "it may hide errors that a simpler baseline would reveal",
           "its behaviour on very noisy inputs is still studied",
           "tuning it well usually requires several trial runs"]

FIRST = [
    "{Term} is a {cat} used in {field} to {purpose}.",
    "{Term} is a {cat} that helps practitioners in {field} {purpose}.",
    "In {field}, {term} refers to a {cat} designed to {purpose}.",
    "{Term} describes a {cat} whose main goal is to {purpose} in {field}.",
    "{Term} is a widely used {cat} for tasks in {field}, where it serves to {purpose}.",
    "The term {term} names a {cat} that is applied in {field} to {purpose}.",
]
SECOND = [
    "It {act} {obj} using {means}, which {effect}.",
    "The {cat} {act} {obj} through {means} and this {effect}.",
    "At its core it {act} {obj} with {means}, an approach that {effect}.",
    "Internally, {obj} are {acted} by {means}, which usually {effect}.",
    "Each step {act} {obj} according to {means}; the design {effect}.",
    "Rather than fixing {obj} in advance, it {act} them with {means} so that it {effect}.",
]
THIRD = [
    "{People} often choose it when {situation}.",
    "It is most useful when {situation}, although {caveat}.",
    "{People} in {field2} apply it when {situation}.",
    "A known limitation is that {caveat}.",
    "It tends to work well when {situation}, but {caveat}.",
    "{People} compare it with simpler baselines because {caveat}.",
]
_PAST = {"updates": "updated", "re-weights": "re-weighted", "partitions": "partitioned", "projects": "projected",
         "samples": "sampled", "smooths": "smoothed", "aggregates": "aggregated", "filters": "filtered",
         "encodes": "encoded", "normalises": "normalised", "clusters": "clustered", "perturbs": "perturbed",
         "scores": "scored", "decomposes": "decomposed", "interpolates": "interpolated", "prunes": "pruned"}


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _words(text: str) -> int:
    return len(text.split())


def generate_entries(count: int, seed: int = 0, min_words: int = 35, max_words: int = 60) -> list[dict]:
    """`count` entries {"term", "definition"}: distinct terms, 2-3 sentence definitions of
    35-60 words whose wording varies from entry to entry."""
    rng = np.random.default_rng(seed)
    capacity = len(MODIFIERS) * (len(MODIFIERS) - 1) * len(HEADS)
    if count > capacity:
        raise ValueError(f"at most {capacity} distinct generated terms")
    # Distinct (modifier, modifier, head) triples, drawn without replacement.
    picks = rng.choice(capacity, size=count, replace=False)
    entries = []
    pick = lambda seq: seq[int(rng.integers(len(seq)))]  # noqa: E731
    for code in picks:
        code = int(code)
        head = HEADS[code % len(HEADS)]
        code //= len(HEADS)
        first = MODIFIERS[code % len(MODIFIERS)]
        rest = [m for m in MODIFIERS if m != first]
        second = rest[(code // len(MODIFIERS)) % len(rest)]
        term = f"{first} {second} {head}"  # kept capitalised inside sentences, as glossaries do
        for _attempt in range(20):
            values = dict(Term=term, term=term, cat=pick(CATEGORIES), field=pick(FIELDS), field2=pick(FIELDS),
                          purpose=pick(PURPOSES), act=pick(ACTIONS), obj=pick(OBJECTS), means=pick(MEANS),
                          effect=pick(EFFECTS), situation=pick(SITUATIONS), People=pick(PEOPLE), caveat=pick(CAVEATS))
            values["acted"] = _PAST[values["act"]]
            sentences = [pick(FIRST).format(**values), _cap(pick(SECOND).format(**values))]
            if rng.random() < 0.6:
                sentences.append(pick(THIRD).format(**values))
            definition = " ".join(sentences)
            if min_words <= _words(definition) <= max_words:
                break
        entries.append({"term": term, "definition": definition})
    return entries


def write_csv(entries: list[dict], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["term", "definition"])
        for entry in entries:
            writer.writerow([entry["term"], entry["definition"]])


def write_jsonl(entries: list[dict], folder: Path, stem: str = "generated", max_bytes: int = 40_000_000) -> list[Path]:
    """JSONL glossary files of at most `max_bytes` each (the product refuses files over 50 MB)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    handle = None
    size = 0
    for entry in entries:
        line = json.dumps(entry, ensure_ascii=False) + "\n"
        if handle is None or size + len(line) > max_bytes:
            if handle is not None:
                handle.close()
            paths.append(folder / f"{stem}-{len(paths):04d}.jsonl")
            handle = paths[-1].open("w", encoding="utf-8")
            size = 0
        handle.write(line)
        size += len(line.encode("utf-8"))
    if handle is not None:
        handle.close()
    return paths


def chunks_per_entry(sample: list[dict]) -> float:
    """Mean number of chunks the product's chunker makes of one generated entry."""
    from qa.chunk import chunk_entry
    from qa.types import Entry, Source

    counts = [len(chunk_entry(Entry(term=e["term"], definition=e["definition"], glossary="g",
                                    source=Source(file="g.jsonl", line=1)))) for e in sample]
    return float(np.mean(counts))


def entries_for_chunks(chunks: int, seed: int = 0) -> list[dict]:
    """Generated entries that the product's chunker turns into about `chunks` chunks."""
    per = chunks_per_entry(generate_entries(400, seed=seed + 991))
    return generate_entries(max(2, int(round(chunks / per))), seed=seed)


# --- questions ----------------------------------------------------------------------------------

NAMED = [
    "what is {t}?", "what does {t} mean?", "explain {t} like I'm new to this", "how does {t} work?",
    "why is {t} useful?", "when should I use {t}?", "what problem does {t} solve?", "give me an example of {t}",
    "can you describe {t} in simple words", "define {t}", "tell me about {t}", "what's the point of {t}",
    "{t} explained briefly", "how do I apply {t} to my data?", "what are the drawbacks of {t}?",
    "how is {t} trained?", "where is {t} used in practice?", "is {t} hard to tune?",
    "what is the idea behind {t}", "quick question: what's {t} for?", "in one sentence, what is {t}",
    "how would you summarise {t}?", "what is {t} good for in polymer science?", "{t}??",
    "could you clarify what {t} is", "what do people mean by {t}",
]
PAIRED = [
    "{t} vs {u}", "difference between {t} and {u}", "is {t} the same as {u}?", "which is better, {t} or {u}?",
    "how does {t} relate to {u}?", "compare {t} with {u}", "should I use {t} or {u} for my project?",
    "can {t} be combined with {u}?",
]
SPANS = [
    "which term means {s}?", "what do you call it when {s}?", "what is it called: {s}",
    "is there a word for {s}", "name of the concept where {s}", "what technique {s}?",
]


def _span(definition: str, rng: np.random.Generator) -> str | None:
    words = re.findall(r"[A-Za-z][A-Za-z'-]*", definition)
    if len(words) < 8:
        return None
    length = int(rng.integers(4, 8))
    start = int(rng.integers(0, len(words) - length))
    return " ".join(words[start : start + length]).lower()


def generate_questions(names: list[list[str]], definitions: list[str], count: int, seed: int = 0) -> list[str]:
    """`count` distinct questions (distinct after whitespace and case folding) about entries whose
    names (term first, then aliases) and definitions are given: templates over the names, pairs of
    entries, and paraphrase-ish questions built on a few words of a definition."""
    rng = np.random.default_rng(seed)
    seen: set[str] = set()
    out: list[str] = []
    attempts = 0
    while len(out) < count:
        attempts += 1
        if attempts > count * 200:
            raise RuntimeError(f"could only make {len(out)} distinct questions of {count}")
        i = int(rng.integers(len(names)))
        name = names[i][int(rng.integers(len(names[i])))]
        name = name if rng.random() < 0.5 else name.lower()
        roll = rng.random()
        if roll < 0.6:
            question = NAMED[int(rng.integers(len(NAMED)))].format(t=name)
        elif roll < 0.8:
            j = int(rng.integers(len(names)))
            other = names[j][int(rng.integers(len(names[j])))]
            if j == i:
                continue
            question = PAIRED[int(rng.integers(len(PAIRED)))].format(t=name, u=other)
        else:
            span = _span(definitions[i], rng)
            if span is None:
                continue
            question = SPANS[int(rng.integers(len(SPANS)))].format(s=span)
        key = " ".join(question.split()).casefold()
        if key in seen:
            continue
        seen.add(key)
        out.append(question)
    return out


# --- clustered unit vectors ---------------------------------------------------------------------

def clustered_vectors(groups: np.ndarray, text_ids: np.ndarray, dimension: int = 384, clusters: int = 3000,
                      seed: int = 0) -> np.ndarray:
    """Unit vectors shaped like sentence embeddings of a large glossary.

    `groups[i]` is the entry chunk i belongs to (0..entries-1); `text_ids[i]` numbers its text (chunks
    with the same text, e.g. a sentence embedded with and without its term, get near-duplicate
    vectors). Structure: a shared direction (embeddings are anisotropic: unrelated texts still have
    cosine ~0.1-0.25), lognormal cluster sizes (topics), entries spread around their topic with a
    per-topic spread, sentences around their entry. Resulting cosines: near-duplicates ~0.95,
    sentences of one entry ~0.6-0.75, same topic ~0.3-0.5, unrelated ~0.1-0.2 -- close to what
    all-MiniLM-L6-v2 gives on real glossaries, so nearest neighbours are not trivially separated."""
    rng = np.random.default_rng(seed)
    n_entries = int(groups.max()) + 1 if len(groups) else 0
    n_texts = int(text_ids.max()) + 1 if len(text_ids) else 0
    scale = np.float32(1.0 / np.sqrt(dimension))
    shared = rng.standard_normal(dimension).astype(np.float32)
    shared /= np.linalg.norm(shared)
    centers = rng.standard_normal((clusters, dimension)).astype(np.float32) * scale + 0.55 * shared
    centers /= np.linalg.norm(centers, axis=1, keepdims=True)
    weights = rng.lognormal(0.0, 1.0, clusters)
    topic = rng.choice(clusters, size=n_entries, p=weights / weights.sum())
    spread = rng.uniform(0.75, 1.35, clusters).astype(np.float32)
    entry_vec = np.empty((n_entries, dimension), dtype=np.float32)
    for start in range(0, n_entries, 65536):
        end = min(n_entries, start + 65536)
        noise = rng.standard_normal((end - start, dimension), dtype=np.float32) * scale
        entry_vec[start:end] = centers[topic[start:end]] + spread[topic[start:end], None] * noise
    text_noise = rng.standard_normal((n_texts, dimension), dtype=np.float32)
    text_noise *= np.float32(0.75) * scale
    out = np.empty((len(groups), dimension), dtype=np.float32)
    for start in range(0, len(groups), 65536):
        end = min(len(groups), start + 65536)
        block = entry_vec[groups[start:end]] + text_noise[text_ids[start:end]]
        block += np.float32(0.22) * scale * rng.standard_normal(block.shape, dtype=np.float32)
        block /= np.linalg.norm(block, axis=1, keepdims=True)
        out[start:end] = block
    return out


def queries_near(vectors: np.ndarray, count: int, seed: int = 1, noise: float = 0.9) -> np.ndarray:
    """Queries near the data: a random data vector plus noise (cosine ~0.75 with it), like a question
    whose best chunk is close but not identical."""
    rng = np.random.default_rng(seed)
    picks = rng.choice(len(vectors), size=count, replace=False)
    q = vectors[picks] + noise * rng.standard_normal((count, vectors.shape[1]), dtype=np.float32) / np.sqrt(vectors.shape[1])
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    return np.ascontiguousarray(q, dtype=np.float32)
