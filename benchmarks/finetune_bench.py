"""Item 5, finetune_speedup_vs_trainer: examples per second of our training loop against the HF
Trainer on the same model, data, hyperparameters and epochs: with dynamic padding and
length-grouped batches (the best a user would pick), and padded to max_length. Measured at a
real task's size (2,000 examples by default) and, interleaved with it, at a small one (192: the
former default, where a few long batches and the Trainer's grouping, which needs 256 examples
to group anything, weigh on the rate)."""

from __future__ import annotations

import tempfile

import torch

from benchmarks.timing import figure, interleaved
from model_recycling.finetuning.train import Hyperparameters, finetune
from model_recycling.models.batching import length_grouped_batches, padding_fraction
from model_recycling.models.devices import seed_everything
from model_recycling.models.loading import load_classifier, load_tokenizer
from model_recycling.tasks.tokenized import encode

CPU = torch.device("cpu")
SEED = 0


def hyperparameters(epochs: float, batch_size: int, group_by_length=True) -> Hyperparameters:
    # Evaluation only once, at the end (excluded from the rate); no early stop.
    return Hyperparameters.from_config(
        dict(
            epochs=epochs,
            learning_rate=5e-5,
            batch_size=batch_size,
            weight_decay=0.01,
            warmup_ratio=0.0,
            eval_every_steps=10**9,
            patience=10**9,
            max_length=256,
            group_by_length=group_by_length,
        )
    )


def new_model(model_dir, task):
    seed_everything(SEED)
    return load_classifier(model_dir, task.num_labels, False, CPU)


def ours(model_dir, task, hp):
    def run():
        tokenizer = load_tokenizer(model_dir)
        record = finetune(new_model(model_dir, task), tokenizer, task, hp, SEED, CPU)
        return record["train_examples_per_second"]

    return run


class _Rows(torch.utils.data.Dataset):
    def __init__(self, rows):
        self.rows = rows

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, i):
        return self.rows[i]


def trainer(model_dir, task, hp, pad_to_max: bool):
    """The HF Trainer as a user would set it up; the rate is its own train_samples_per_second
    (examples over the wall time of trainer.train())."""
    from transformers import DataCollatorWithPadding, Trainer, TrainingArguments

    def run():
        tokenizer = load_tokenizer(model_dir)
        features = encode(tokenizer, task.train, hp.max_length)
        labels = [ex["label"] for ex in task.train]
        rows = _Rows([{**f, "labels": y} for f, y in zip(features, labels, strict=True)])
        padding = {"padding": "max_length", "max_length": hp.max_length} if pad_to_max else {}
        with tempfile.TemporaryDirectory() as out:
            args = TrainingArguments(
                output_dir=out,
                per_device_train_batch_size=hp.batch_size,
                learning_rate=hp.learning_rate,
                weight_decay=hp.weight_decay,
                num_train_epochs=hp.epochs,
                max_grad_norm=hp.max_grad_norm,
                lr_scheduler_type="linear",
                train_sampling_strategy="random" if pad_to_max else "group_by_length",
                eval_strategy="no",
                save_strategy="no",
                logging_strategy="no",
                report_to=[],
                use_cpu=True,
                disable_tqdm=True,
                seed=SEED,
                dataloader_num_workers=0,
            )
            model = new_model(model_dir, task)
            collator = DataCollatorWithPadding(tokenizer, **padding)
            result = Trainer(
                model=model, args=args, train_dataset=rows, data_collator=collator
            ).train()
        return result.metrics["train_samples_per_second"]

    return run


def trainer_padding(lengths: list, batch_size: int) -> float:
    """Padding of the Trainer's group_by_length batches (its LengthGroupedSampler, one draw):
    it sorts mega-batches of min(n // (4 x batch), 50) batches by length: below 8 batches'
    worth of examples, one batch each, which groups nothing; from 200 batches' worth (6,400
    examples at batch 32), 50 as ours."""
    from transformers.trainer_pt_utils import LengthGroupedSampler

    generator = torch.Generator().manual_seed(SEED)
    order = list(LengthGroupedSampler(batch_size, lengths=lengths, generator=generator))
    return padding_fraction(
        [order[k : k + batch_size] for k in range(0, len(order), batch_size)], lengths
    )


def padding_at_scale(batch_size: int, sizes=(2000, 20000, 391702)) -> dict:
    """Padding of one epoch's length-grouped batches, ours and the Trainer's, on larger draws of
    the benchmark's length distribution (no timing)."""
    from benchmarks.synthetic import LOG_MEAN, LOG_SD

    out = {"ours": {}, "trainer": {}}
    for n in sizes:
        generator = torch.Generator().manual_seed(SEED)
        raw = torch.empty(n).log_normal_(LOG_MEAN, LOG_SD, generator=generator)
        lengths = [min(256, max(3, round(x)) + 2) for x in raw.tolist()]  # + [CLS], [SEP]
        batches = length_grouped_batches(lengths, batch_size, generator)
        out["ours"][str(n)] = padding_fraction(batches, lengths)
        out["trainer"][str(n)] = trainer_padding(lengths, batch_size)
    return out


def paddings(model_dir, task, batch_size: int) -> dict:
    """Untimed: padding of one epoch's batches, ours grouped, the Trainer's grouped, random."""
    lengths = [len(f["input_ids"]) for f in encode(load_tokenizer(model_dir), task.train, 256)]
    generator = torch.Generator().manual_seed(SEED)
    order = torch.randperm(len(lengths), generator=torch.Generator().manual_seed(SEED))
    random_batches = [b.tolist() for b in order.split(batch_size)]
    return {
        "examples": len(lengths),
        "padding_fraction_grouped": padding_fraction(
            length_grouped_batches(lengths, batch_size, generator), lengths
        ),
        "padding_fraction_trainer_grouped": trainer_padding(lengths, batch_size),
        "padding_fraction_random": padding_fraction(random_batches, lengths),
    }


def measure(
    model_dir, task, small_task, epochs: float, batch_size: int, repetitions, reference_reps
):
    """Ours and the Trainer at both sizes, the four interleaved; the references (our former
    random batches, the Trainer padded to max_length) at the small size only, to keep the
    command short."""
    hp = hyperparameters(epochs, batch_size)
    plain_hp = hyperparameters(epochs, batch_size, group_by_length=False)
    headline = interleaved(
        {
            "ours_grouped": ours(model_dir, task, hp),
            "trainer_grouped": trainer(model_dir, task, hp, pad_to_max=False),
            "ours_grouped_small": ours(model_dir, small_task, hp),
            "trainer_grouped_small": trainer(model_dir, small_task, hp, pad_to_max=False),
        },
        repetitions,
    )
    references = interleaved(
        {
            "ours_random_batches_small": ours(model_dir, small_task, plain_hp),
            "trainer_max_length_small": trainer(model_dir, small_task, hp, pad_to_max=True),
        },
        reference_reps,
    )
    rates = {**headline, **references}
    med = {k: figure(v, "examples/s")["median"] for k, v in rates.items()}
    return {
        **paddings(model_dir, task, batch_size),
        "epochs": epochs,
        "batch_size": batch_size,
        "examples_per_second": {k: figure(v, "examples/s") for k, v in rates.items()},
        "padding_fraction_grouped_at_scale": padding_at_scale(batch_size),
        "finetune_speedup_vs_trainer": med["ours_grouped"] / med["trainer_grouped"],
        "small": paddings(model_dir, small_task, batch_size),
        "finetune_speedup_vs_trainer_small": med["ours_grouped_small"]
        / med["trainer_grouped_small"],
        "finetune_speedup_vs_trainer_max_length_small": (
            med["ours_grouped_small"] / med["trainer_max_length_small"]
        ),
        "speedup_over_random_batches_small": (
            med["ours_grouped_small"] / med["ours_random_batches_small"]
        ),
    }
