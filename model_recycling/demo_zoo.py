"""The demo zoo: a synthetic language with latent topics and sentiment, tasks over it, a tiny BERT
base model (with its own word-level tokenizer, briefly pretrained with masked language modelling)
and intermediate models really finetuned from the base on source tasks.

The language is small on purpose, so that a tiny transformer learns every task within seconds,
sentence pairs included: few words per topic and per sentiment, short documents, so two documents
that share a topic or a stance usually share a word (a cue attention can find), and pretraining
shows pairs of documents on one topic and stance, so the base learns to look across segments.

Nothing here decides which intermediate helps: some source tasks share latent structure with the
targets, some have shuffled labels or surface labels; the pipeline measures the effect.
Everything is deterministic given the seed.
"""

from __future__ import annotations

import random
from pathlib import Path

from model_recycling.io import atomic_write_json, write_jsonl

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
POLARITIES = ["negative", "neutral", "positive"]


# ---------------------------------------------------------------- the synthetic language
def build_lexicon(seed: int, topics=5, words_per_topic=6, sentiment_words=3, fillers=12) -> dict:
    """Pseudo-words with a hidden meaning: a topic, a sentiment, or nothing."""
    rng = random.Random(seed)
    consonants, vowels = "bdfgklmnprstvz", "aeiou"
    words = set()
    while len(words) < topics * words_per_topic + 2 * sentiment_words + fillers:
        syllables = rng.randint(2, 3)
        words.add("".join(rng.choice(consonants) + rng.choice(vowels) for _ in range(syllables)))
    words = sorted(words)
    rng.shuffle(words)
    pool = iter(words)
    return {
        "topics": [[next(pool) for _ in range(words_per_topic)] for _ in range(topics)],
        "positive": [next(pool) for _ in range(sentiment_words)],
        "negative": [next(pool) for _ in range(sentiment_words)],
        "fillers": [next(pool) for _ in range(fillers)],
    }


def vocabulary(lexicon: dict) -> list:
    words = [w for topic in lexicon["topics"] for w in topic]
    words += lexicon["positive"] + lexicon["negative"] + lexicon["fillers"]
    return SPECIAL_TOKENS + sorted(words)


def make_document(rng: random.Random, lexicon: dict, topic: int, polarity: int) -> list:
    """A bag of 4 to 9 words: 3 or 4 of its topic's words (sometimes one of any topic as noise),
    two sentiment words by polarity (0 negative, 2 positive; 1 neutral has none), 1 or 2 fillers;
    shuffled. Two documents of one topic share a topic word about 19 times in 20, two of one
    polarity always share a sentiment word."""
    n_topics = len(lexicon["topics"])
    words = rng.sample(lexicon["topics"][topic], rng.randint(3, 4))
    if rng.random() < 0.2:
        words.append(rng.choice(lexicon["topics"][rng.randrange(n_topics)]))
    if polarity != 1:
        words += rng.sample(lexicon["positive" if polarity == 2 else "negative"], 2)
    words += rng.sample(lexicon["fillers"], rng.randint(1, 2))
    rng.shuffle(words)
    return words


def _doc(rng, lexicon, topic=None, polarity=None):
    topic = rng.randrange(len(lexicon["topics"])) if topic is None else topic
    polarity = rng.randrange(3) if polarity is None else polarity
    return make_document(rng, lexicon, topic, polarity), topic, polarity


# ---------------------------------------------------------------- task generators
# Each returns one row; labels are what a registry entry declares (some strings, some ints).
# `i` is the row's index: labels cycle with it, so every split is balanced (the majority class
# is chance, and a learned score cannot hide behind a skewed split).
def _topic(rng, lex, i):
    words, topic, _ = _doc(rng, lex, topic=i % len(lex["topics"]))
    return {"sentence": " ".join(words), "label": topic}


def _sentiment(rng, lex, i):
    words, _, polarity = _doc(rng, lex, polarity=2 * (i % 2))
    return {"sentence": " ".join(words), "label": POLARITIES[polarity]}


def _stance(rng, lex, i):
    words, _, polarity = _doc(rng, lex, polarity=i % 3)
    return {"sentence": " ".join(words), "label": POLARITIES[polarity]}


def _same_topic(rng, lex, i):
    first, topic, _ = _doc(rng, lex)
    same = i % 2 == 0
    other = topic if same else rng.choice([t for t in range(len(lex["topics"])) if t != topic])
    second, _, _ = _doc(rng, lex, topic=other)
    return {"sentence1": " ".join(first), "sentence2": " ".join(second), "label": int(same)}


def _same_stance(rng, lex, i):
    first, _, polarity = _doc(rng, lex, polarity=rng.choice([0, 2]))
    same = i % 2 == 0
    second, _, _ = _doc(rng, lex, polarity=polarity if same else 2 - polarity)
    return {"sentence1": " ".join(first), "sentence2": " ".join(second), "label": int(same)}


def _similarity(rng, lex, i):
    """0 to 5, like STS-B: 3 for the same topic, 2 for the same (non-neutral) stance."""
    first, topic, polarity = _doc(rng, lex, polarity=rng.choice([0, 2]))
    same_topic = topic if i % 2 == 0 else None
    second, topic2, polarity2 = _doc(rng, lex, topic=same_topic, polarity=rng.choice([0, 2]))
    score = 3.0 * (topic == topic2) + 2.0 * (polarity == polarity2)
    return {"sentence1": " ".join(first), "sentence2": " ".join(second), "score": round(score, 4)}


def _nli(rng, lex, i):
    """0 entailment (same topic and polarity), 1 neutral (other topic), 2 contradiction (same
    topic, opposite polarity)."""
    premise, topic, polarity = _doc(rng, lex, polarity=rng.choice([0, 2]))
    label = i % 3
    if label == 1:
        topic = rng.choice([t for t in range(len(lex["topics"])) if t != topic])
        polarity = rng.choice([0, 2])
    elif label == 2:
        polarity = 2 - polarity
    hypothesis, _, _ = _doc(rng, lex, topic=topic, polarity=polarity)
    return {"premise": " ".join(premise), "hypothesis": " ".join(hypothesis), "label": label}


def _length(rng, lex, i):
    words, _, _ = _doc(rng, lex)
    return {"sentence": " ".join(words), "label": int(len(words) > 6)}


GENERATORS = {
    "topic": _topic,
    "sentiment": _sentiment,
    "stance": _stance,
    "same_topic": _same_topic,
    "same_stance": _same_stance,
    "similarity": _similarity,
    "nli": _nli,
    "length": _length,
}


def generate_task(generator: str, n_train: int, n_test: int, seed: int, lexicon, shuffle=False):
    """Rows for one task, in random order; `shuffle` permutes the train labels (a harmful source
    task)."""
    rng = random.Random(seed)
    make = GENERATORS[generator]
    train = [make(rng, lexicon, i) for i in range(n_train)]
    test = [make(rng, lexicon, i) for i in range(n_test)]
    rng.shuffle(train)
    rng.shuffle(test)
    if shuffle:
        label_key = "score" if "score" in train[0] else "label"
        labels = [row[label_key] for row in train]
        rng.shuffle(labels)
        train = [{**row, label_key: label} for row, label in zip(train, labels, strict=True)]
    return {"train": train, "test": test}


def write_tasks(out_dir, tasks: dict, seed: int) -> None:
    """tasks: name -> {generator, train, test, shuffle}; writes <name>/{train,test}.jsonl."""
    lexicon = build_lexicon(seed)
    out_dir = Path(out_dir)
    atomic_write_json(out_dir / "lexicon.json", lexicon)
    for offset, (name, spec) in enumerate(sorted(tasks.items())):
        splits = generate_task(
            spec["generator"],
            spec["train"],
            spec["test"],
            seed=seed * 1000 + offset,
            lexicon=lexicon,
            shuffle=spec.get("shuffle", False),
        )
        for split, rows in splits.items():
            write_jsonl(out_dir / name / f"{split}.jsonl", rows)


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
    first, topic, polarity = _doc(rng, lexicon)
    if rng.random() >= PAIR_SHARE:
        return {"texts": [" ".join(first)]}
    second = make_document(rng, lexicon, topic, polarity)
    return {"texts": [" ".join(first), " ".join(second)]}


def pretrain_base(lexicon, model_cfg: dict, steps: int, batch_size: int, seed: int, device):
    """Masked language modelling on synthetic documents and document pairs (MASK_RATE of the
    words masked). BERT predicts the masked words; T5 rewrites the whole input (a simple
    denoising objective)."""
    import torch

    from model_recycling.modeling import collate, encode
    from model_recycling.train import seed_everything

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
    from model_recycling.devices import choose_device
    from model_recycling.io import read_json

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
    from model_recycling.devices import choose_device
    from model_recycling.modeling import load_for_task, load_tokenizer
    from model_recycling.tasks import load_prepared
    from model_recycling.train import Hyperparameters, finetune, seed_everything

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
