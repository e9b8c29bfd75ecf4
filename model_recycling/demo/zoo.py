"""The demo zoo: tiny BERT and T5 bases (each with its own word-level tokenizer, briefly
pretrained with masked language modelling or denoising on the synthetic language of
language.py), intermediate models really finetuned from them on source tasks, and decoys the
pipeline must catch. Everything is deterministic given the seed.
"""

from __future__ import annotations

import random
from pathlib import Path

from model_recycling.demo.language import make_document, random_document, vocabulary, write_tasks
from model_recycling.io import atomic_write_json


# ---------------------------------------------------------------- the base model
def build_tokenizer(lexicon: dict, max_length: int, model_type: str = "bert"):
    """Word-level tokenizer over the lexicon; digits and '.' are tokens too, so that label strings
    ("0", "3.4") can be written by a text-to-text model. BERT style adds [CLS] and token types;
    T5 style ends each segment with [SEP] as its end-of-sequence token."""
    from tokenizers import pre_tokenizers

    words = vocabulary(lexicon) + [str(d) for d in range(10)] + ["."]
    split = pre_tokenizers.Sequence(
        [pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Digits(individual_digits=True),
         pre_tokenizers.Punctuation()]
    )  # fmt: skip
    return word_level_tokenizer(words, max_length, model_type, split)


def word_level_tokenizer(words: list, max_length: int, model_type="bert", pre_tokenizer=None):
    """A fast tokenizer whose vocabulary is `words` in order (special tokens among them), split
    on white space unless `pre_tokenizer` says otherwise."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = {token: i for i, token in enumerate(words)}
    tokenizer = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizer or pre_tokenizers.WhitespaceSplit()
    special = [("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])]
    if model_type == "t5":
        single, pair, names = "$A [SEP]", "$A [SEP] $B [SEP]", ["input_ids", "attention_mask"]
    else:
        single, pair = "[CLS] $A [SEP]", "[CLS] $A [SEP] $B:1 [SEP]:1"
        names = ["input_ids", "token_type_ids", "attention_mask"]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=single, pair=pair, special_tokens=special
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        pad_token="[PAD]",
        unk_token="[UNK]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        eos_token="[SEP]",
        mask_token="[MASK]",
        model_max_length=max_length,
        model_input_names=names,
    )


def _new_model(model_cfg: dict, tokenizer):
    """A fresh tiny BERT (masked LM) or T5 (denoising) from the zoo's base settings."""
    from transformers import BertConfig, BertForMaskedLM, T5Config, T5ForConditionalGeneration

    settings = {k: v for k, v in model_cfg.items() if k not in ("model_type", "pretrain_steps")}
    if model_cfg["model_type"] == "t5":
        ids = {"pad_token_id": tokenizer.pad_token_id, "eos_token_id": tokenizer.eos_token_id,
               "decoder_start_token_id": tokenizer.pad_token_id}  # fmt: skip
        return T5ForConditionalGeneration(T5Config(vocab_size=len(tokenizer), **ids, **settings))
    return BertForMaskedLM(BertConfig(vocab_size=len(tokenizer), **settings))


PAIR_SHARE = 0.5  # of pretraining texts that are two documents
MASK_RATE = 0.25  # documents are short: mask more to get enough targets per step


def _pretrain_text(rng, lexicon) -> dict:
    """One document, or two on the same topic and stance (segments A and B): predicting a
    masked word then pays for looking at the other segment, as pair tasks need."""
    first, topic, polarity = random_document(rng, lexicon)
    if rng.random() >= PAIR_SHARE:
        return {"texts": [" ".join(first)]}
    second = make_document(rng, lexicon, topic, polarity)
    return {"texts": [" ".join(first), " ".join(second)]}


def pretrain_base(lexicon, model_cfg: dict, steps: int, batch_size: int, seed: int, device):
    """Masked language modelling on synthetic documents and document pairs (MASK_RATE of the
    words masked). BERT predicts the masked words; T5 rewrites the whole input (a simple
    denoising objective)."""
    import torch

    from model_recycling.models.batching import collate
    from model_recycling.models.devices import seed_everything
    from model_recycling.tasks.tokenized import encode

    seed_everything(seed)
    model_type = model_cfg["model_type"]
    tokenizer = build_tokenizer(lexicon, model_cfg.get("max_position_embeddings", 64), model_type)
    model = _new_model(model_cfg, tokenizer).to(device)
    rng = random.Random(seed)
    texts = [_pretrain_text(rng, lexicon) for _ in range(steps * batch_size // 4)]
    features = []
    for n_texts in (1, 2):  # encode() takes examples of one shape at a time
        same_shape = [t for t in texts if len(t["texts"]) == n_texts]
        if same_shape:
            features += encode(tokenizer, same_shape, tokenizer.model_max_length)
    features = [{k: f[k] for k in tokenizer.model_input_names} for f in features]
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
    generator = torch.Generator().manual_seed(seed)
    special = torch.tensor(tokenizer.all_special_ids)
    model.train()
    for _step in range(steps):
        idx = torch.randint(len(features), (batch_size,), generator=generator)
        batch = collate([features[i] for i in idx], tokenizer.pad_token_id)
        original = batch["input_ids"].clone()
        masked = (torch.rand(original.shape, generator=generator) < MASK_RATE) & ~torch.isin(
            original, special
        )
        batch["input_ids"][masked] = tokenizer.mask_token_id
        if model_type == "t5":
            labels = original.masked_fill(original == tokenizer.pad_token_id, -100)
        else:
            labels = original.masked_fill(~masked, -100)
        loss = model(**{k: v.to(device) for k, v in batch.items()}, labels=labels.to(device)).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model, tokenizer, loss.item()


# ---------------------------------------------------------------- zoo building steps
def build_base(out_dir, lexicon_path, model_cfg: dict, pretrain_steps: int, seed: int) -> dict:
    """Tokenizer + briefly pretrained tiny BERT or T5, saved as a normal Hugging Face folder.
    A base's own `pretrain_steps` (in model_cfg) overrides the zoo-wide number."""
    from model_recycling.io import read_json
    from model_recycling.models.devices import choose_device

    lexicon = read_json(lexicon_path)
    pretrain_steps = model_cfg.get("pretrain_steps", pretrain_steps)
    model, tokenizer, loss = pretrain_base(
        lexicon, model_cfg, pretrain_steps, 64, seed, choose_device()
    )
    out_dir = Path(out_dir)
    model.save_pretrained(out_dir, safe_serialization=True)
    tokenizer.save_pretrained(out_dir)
    card = {
        "kind": "demo base",
        "pretrain_steps": pretrain_steps,
        "final_mlm_loss": loss,
        "seed": seed,
    }
    atomic_write_json(out_dir / "recycling_card.json", card)
    return card


def majority_score(task) -> float | None:
    """Accuracy of always answering the eval split's most common label (None for regression):
    the floor a learned score is read against."""
    if task.is_regression:
        return None
    labels = [ex["label"] for ex in task.eval]
    return max(labels.count(label) for label in set(labels)) / len(labels)


def build_intermediate(base_dir, task_dir, settings: dict, seed: int, out_dir) -> dict:
    """The base really finetuned on one source task, saved with its classification head like a
    finetuned model on the Hub."""
    from model_recycling.finetuning.train import Hyperparameters, finetune
    from model_recycling.models.devices import choose_device, seed_everything
    from model_recycling.models.loading import load_for_task, load_tokenizer
    from model_recycling.tasks.prepare import load_prepared

    device = choose_device()
    task = load_prepared(task_dir)
    seed_everything(seed)
    tokenizer = load_tokenizer(base_dir)
    model = load_for_task(base_dir, task, device)
    result = finetune(model, tokenizer, task, Hyperparameters.from_config(settings), seed, device)
    out_dir = Path(out_dir)
    model.save_pretrained(out_dir, safe_serialization=True)
    tokenizer.save_pretrained(out_dir)
    result.pop("history")
    card = {
        "kind": "demo intermediate",
        "base": Path(base_dir).name,
        "source_task": task.name,
        "majority_score": majority_score(task),
        "seed": seed,
        **result,
    }
    atomic_write_json(out_dir / "recycling_card.json", card)
    return card


def build_decoys(base_dir, out_root, seed: int) -> list:
    """Models a real zoo contains and the pipeline must catch: another size (excluded at listing),
    no weights (excluded), no tokenizer (fails at probing, recorded)."""
    import shutil

    import torch
    from transformers import BertConfig, BertForSequenceClassification

    out_root = Path(out_root)
    base_config = BertConfig.from_pretrained(base_dir)
    wide = out_root / "decoy-wider"
    config = BertConfig(**{**base_config.to_dict(), "hidden_size": base_config.hidden_size * 2})
    torch.manual_seed(seed)  # same weights, same revision, same pages on every build
    BertForSequenceClassification(config).save_pretrained(wide, safe_serialization=True)
    shutil.copy(Path(base_dir) / "tokenizer.json", wide / "tokenizer.json")
    shutil.copy(Path(base_dir) / "tokenizer_config.json", wide / "tokenizer_config.json")

    no_weights = out_root / "decoy-no-weights"
    no_weights.mkdir(parents=True, exist_ok=True)
    shutil.copy(Path(base_dir) / "config.json", no_weights / "config.json")

    no_tokenizer = out_root / "decoy-no-tokenizer"
    torch.manual_seed(seed)
    BertForSequenceClassification(base_config).save_pretrained(
        no_tokenizer, safe_serialization=True
    )
    return [wide.name, no_weights.name, no_tokenizer.name]


def build_part(part: str, settings: dict, out, base=None, lexicon=None, task_dir=None) -> None:
    """The demo zoo rules: its tasks, a base, an intermediate or the decoys
    (rules/demo_zoo.smk)."""
    s = settings
    if part == "tasks":
        write_tasks(out, s["tasks"], s["seed"])
    elif part == "base":
        build_base(out, lexicon, s["base_model"], s["pretrain_steps"], s["seed"])
    elif part == "intermediate":
        build_intermediate(base, task_dir, s["finetune"], s["seed"], out)
    else:
        build_decoys(base, out, s["seed"])
