"""Item 1, probe_over_forward: our whole probe of one candidate (load, features, head fit, score)
over a bare batched forward pass over the same examples with the same model."""

from __future__ import annotations

import torch

from benchmarks.timing import figure, interleaved, timed
from model_recycling.models.batching import length_sorted_batches, padding_fraction
from model_recycling.models.loading import load_encoder, load_tokenizer
from model_recycling.probing.probe import run_probe
from model_recycling.settings import defaults
from model_recycling.tasks.tokenized import encode

CPU = torch.device("cpu")
DEFAULT_BATCH_TOKENS = defaults("probe")["batch_tokens"]  # the schema's probe.batch_tokens
BATCH_SIZE, MAX_LENGTH = 256, 256


def probe_settings(batch_tokens) -> dict:
    return {
        "max_length": MAX_LENGTH,
        "batch_size": BATCH_SIZE,
        "pooling": "mean",
        "l2": 1e-3,
        "max_iter": 200,
        "batch_tokens": batch_tokens,
    }


def forward_pass(model, features, batches, pad_id):
    from model_recycling.models.batching import collate

    with torch.no_grad():
        for idx in batches:
            batch = collate([features[i] for i in idx], pad_id)
            model(**batch)


def measure(model_dir, task, repetitions: int) -> dict:
    tokenizer = load_tokenizer(model_dir)
    model = load_encoder(model_dir, CPU)
    features = encode(tokenizer, task.train + task.eval, MAX_LENGTH)
    lengths = [len(f["input_ids"]) for f in features]
    by_rows = length_sorted_batches(features, BATCH_SIZE)
    by_tokens = length_sorted_batches(features, BATCH_SIZE, DEFAULT_BATCH_TOKENS)
    scores = {}

    def probe(batch_tokens):
        def run():
            encoder, tok = load_encoder(model_dir, CPU), load_tokenizer(model_dir)
            scores[batch_tokens] = run_probe(encoder, tok, task, probe_settings(batch_tokens), CPU)

        return lambda: timed(run)

    seconds = interleaved(
        {
            "forward_rows": lambda: timed(
                lambda: forward_pass(model, features, by_rows, tokenizer.pad_token_id)
            ),
            "forward_tokens": lambda: timed(
                lambda: forward_pass(model, features, by_tokens, tokenizer.pad_token_id)
            ),
            "probe_rows": probe(None),
            "probe_tokens": probe(DEFAULT_BATCH_TOKENS),
        },
        repetitions,
    )
    med = {k: figure(v, "s")["median"] for k, v in seconds.items()}
    return {
        "examples": len(features),
        "seconds": {k: figure(v, "s") for k, v in seconds.items()},
        "padding_fraction_rows": padding_fraction(by_rows, lengths),
        "padding_fraction_tokens": padding_fraction(by_tokens, lengths),
        "score_rows": scores[None]["score"],
        "score_tokens": scores[DEFAULT_BATCH_TOKENS]["score"],
        "probe_over_forward": med["probe_tokens"] / med["forward_rows"],
        "probe_over_forward_same_batches": med["probe_tokens"] / med["forward_tokens"],
        "probe_over_forward_before": med["probe_rows"] / med["forward_rows"],
        "probe_time_change": med["probe_tokens"] / med["probe_rows"] - 1,
        # the last token-capped probe's own split of its time (run_probe's record)
        "probe_parts_s": {
            k: scores[DEFAULT_BATCH_TOKENS][f"{k}_seconds"] for k in ("feature", "fit", "proxy")
        },
    }
