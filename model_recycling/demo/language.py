"""The demo zoo's synthetic language, with latent topics and sentiment, and the tasks over it
(zoo.py builds the models).

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


def random_document(rng, lexicon, topic=None, polarity=None):
    topic = rng.randrange(len(lexicon["topics"])) if topic is None else topic
    polarity = rng.randrange(3) if polarity is None else polarity
    return make_document(rng, lexicon, topic, polarity), topic, polarity


# ---------------------------------------------------------------- task generators
# Each returns one row; labels are what a registry entry declares (some strings, some ints).
# `i` is the row's index: labels cycle with it, so every split is balanced (the majority class
# is chance, and a learned score cannot hide behind a skewed split).
def _topic(rng, lex, i):
    words, topic, _ = random_document(rng, lex, topic=i % len(lex["topics"]))
    return {"sentence": " ".join(words), "label": topic}


def _sentiment(rng, lex, i):
    words, _, polarity = random_document(rng, lex, polarity=2 * (i % 2))
    return {"sentence": " ".join(words), "label": POLARITIES[polarity]}


def _stance(rng, lex, i):
    words, _, polarity = random_document(rng, lex, polarity=i % 3)
    return {"sentence": " ".join(words), "label": POLARITIES[polarity]}


def _same_topic(rng, lex, i):
    first, topic, _ = random_document(rng, lex)
    same = i % 2 == 0
    other = topic if same else rng.choice([t for t in range(len(lex["topics"])) if t != topic])
    second, _, _ = random_document(rng, lex, topic=other)
    return {"sentence1": " ".join(first), "sentence2": " ".join(second), "label": int(same)}


def _same_stance(rng, lex, i):
    first, _, polarity = random_document(rng, lex, polarity=rng.choice([0, 2]))
    same = i % 2 == 0
    second, _, _ = random_document(rng, lex, polarity=polarity if same else 2 - polarity)
    return {"sentence1": " ".join(first), "sentence2": " ".join(second), "label": int(same)}


def _similarity(rng, lex, i):
    """0 to 5, like STS-B: 3 for the same topic, 2 for the same (non-neutral) stance."""
    first, topic, polarity = random_document(rng, lex, polarity=rng.choice([0, 2]))
    same_topic = topic if i % 2 == 0 else None
    second, topic2, polarity2 = random_document(
        rng, lex, topic=same_topic, polarity=rng.choice([0, 2])
    )
    score = 3.0 * (topic == topic2) + 2.0 * (polarity == polarity2)
    return {"sentence1": " ".join(first), "sentence2": " ".join(second), "score": round(score, 4)}


def _nli(rng, lex, i):
    """0 entailment (same topic and polarity), 1 neutral (other topic), 2 contradiction (same
    topic, opposite polarity)."""
    premise, topic, polarity = random_document(rng, lex, polarity=rng.choice([0, 2]))
    label = i % 3
    if label == 1:
        topic = rng.choice([t for t in range(len(lex["topics"])) if t != topic])
        polarity = rng.choice([0, 2])
    elif label == 2:
        polarity = 2 - polarity
    hypothesis, _, _ = random_document(rng, lex, topic=topic, polarity=polarity)
    return {"premise": " ".join(premise), "hypothesis": " ".join(hypothesis), "label": label}


def _length(rng, lex, i):
    words, _, _ = random_document(rng, lex)
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
