"""A realistic-shape model and task without downloading anything: a randomly initialised BERT
(6 layers, hidden 384) saved like a Hub checkpoint, a word-level tokenizer over its 30,522 ids,
and examples whose lengths follow a long-tailed (lognormal) distribution cut at max_length."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from pathlib import Path

BERT_SHAPE = {
    "num_hidden_layers": 6,
    "hidden_size": 384,
    "num_attention_heads": 6,
    "intermediate_size": 1536,
    "vocab_size": 30522,
    "max_position_embeddings": 512,
}
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
# Median about 40 words, 1 in 10 over 100, a few cut at 256 tokens: the shape of MNLI-like pairs
# and of review or news tasks.
LOG_MEAN, LOG_SD = math.log(40), 0.8
NUM_LABELS = 3
CUE_SHARE = 0.3  # words drawn from the label's own vocabulary: the task is learnable


@dataclass
class Task:
    """What model_recycling's probe and training loop read from a prepared task."""

    train: list
    dev: list
    eval: list
    meta: dict = field(default_factory=lambda: {"metric": "accuracy"})
    num_labels: int = NUM_LABELS
    is_regression: bool = False


def build_tokenizer(vocab_size: int = BERT_SHAPE["vocab_size"], max_length: int = 256):
    """Word-level, one token per whitespace-separated word ("w0", "w1", ...)."""
    from model_recycling.demo.zoo import word_level_tokenizer

    words = SPECIALS + [f"w{i}" for i in range(vocab_size - len(SPECIALS))]
    return word_level_tokenizer(words, max_length)


def save_model(folder: Path, seed: int = 0) -> Path:
    """A random BERT and its tokenizer, saved as a candidate's folder (safetensors)."""
    import torch
    from transformers import BertConfig, BertModel

    torch.manual_seed(seed)
    BertModel(BertConfig(**BERT_SHAPE)).save_pretrained(folder)
    build_tokenizer().save_pretrained(folder)
    return folder


def examples(n: int, seed: int, max_words: int = 254) -> list:
    rng = random.Random(seed)
    n_words = BERT_SHAPE["vocab_size"] - len(SPECIALS)
    cues = [range(k * 1000, (k + 1) * 1000) for k in range(NUM_LABELS)]
    rows = []
    for _ in range(n):
        label = rng.randrange(NUM_LABELS)
        length = max(3, min(max_words, round(rng.lognormvariate(LOG_MEAN, LOG_SD))))
        ids = [
            rng.choice(cues[label]) if rng.random() < CUE_SHARE else rng.randrange(n_words)
            for _ in range(length)
        ]
        rows.append({"texts": [" ".join(f"w{i}" for i in ids)], "label": label})
    return rows


def task(n_train: int, n_dev: int, n_eval: int, seed: int = 0) -> Task:
    return Task(examples(n_train, seed), examples(n_dev, seed + 1), examples(n_eval, seed + 2))
