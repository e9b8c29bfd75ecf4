"""Batches with little padding: inference batches sorted by length and capped by padded tokens,
training batches grouped by length in random order, and padding them into tensors."""

from __future__ import annotations

import inspect

import torch


def length_sorted_batches(features: list, batch_size: int, max_tokens: int | None = None) -> list:
    """Index batches of similar length covering every example once, each at most `batch_size`
    rows and, when `max_tokens` is given, at most `max_tokens` padded tokens (rows x longest
    row; a longer single example is a batch of its own). Capping by tokens keeps the long tail's
    batches small, where a fixed number of rows would span a wide range of lengths: padding."""
    order = sorted(range(len(features)), key=lambda i: len(features[i]["input_ids"]))
    batches, current = [], []
    for i in order:
        longest = len(features[i]["input_ids"])  # ascending: the newest row is the longest
        too_many = len(current) >= batch_size
        if current and (too_many or (max_tokens and (len(current) + 1) * longest > max_tokens)):
            batches.append(current)
            current = []
        current.append(i)
    return batches + ([current] if current else [])


def length_grouped_batches(
    lengths: list, batch_size: int, generator: torch.Generator, group: int = 50
) -> list:
    """Training batches of `batch_size` random examples with little padding: shuffle, sort
    within mega-batches of `group` batches by length, cut into batches, shuffle the batch order.
    Which examples meet in a batch follows length; the order of batches across the epoch stays
    random (HF's group_by_length does the same). A remainder under half a group joins the last
    mega-batch: alone, its few batches would span the whole length range. Seeded by
    `generator`: deterministic."""
    order = torch.randperm(len(lengths), generator=generator).tolist()
    size = batch_size * group
    starts = list(range(0, len(order), size))
    if len(starts) > 1 and len(order) - starts[-1] < size / 2:
        starts.pop()
    batches = []
    for start, end in zip(starts, [*starts[1:], len(order)], strict=True):
        mega = sorted(order[start:end], key=lambda i: lengths[i])
        batches += [mega[k : k + batch_size] for k in range(0, len(mega), batch_size)]
    shuffled = torch.randperm(len(batches), generator=generator).tolist()
    return [batches[k] for k in shuffled]


def padding_fraction(batches: list, lengths: list) -> float:
    """Pad tokens over all tokens processed when `batches` (index lists) are padded to their
    longest row."""
    padded = sum(len(b) * max(lengths[i] for i in b) for b in batches)
    return 1 - sum(lengths[i] for b in batches for i in b) / padded if padded else 0.0


def model_inputs(model) -> set:
    """The inputs a model's forward accepts (a T5 encoder takes no token_type_ids)."""
    return set(inspect.signature(model.forward).parameters)


def collate(features: list, pad_id: int) -> dict:
    width = max(len(f["input_ids"]) for f in features)
    batch = {}
    for key in features[0]:
        fill = pad_id if key == "input_ids" else 0
        batch[key] = torch.tensor([f[key] + [fill] * (width - len(f[key])) for f in features])
    return batch
