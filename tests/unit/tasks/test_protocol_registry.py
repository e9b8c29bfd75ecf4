"""The real protocol's task registry (resources/tasks/protocol.yaml), offline.

Every entry runs through the real preparation path on a tiny in-memory DatasetDict that mimics the
real dataset: its column names, feature types (ClassLabel with the real names, float32, strings)
and split names, including splits the entry must not read (GLUE test labels are -1, so reading one
would fail). Each string cell is "<column>|<split>|<row>", so every prepared example tells where
it came from and in which order its fields were joined.
"""

import math
import re

import pytest
import yaml
from datasets import ClassLabel, Dataset, DatasetDict, Features, Value

from model_recycling.tasks.prepare import TaskDataError, build_splits, load_prepared, prepare_task
from model_recycling.tasks.registry import load_registry
from tests.support.common import REPO

REGISTRY_PATH = REPO / "resources/tasks/protocol.yaml"
DEV_HOLDOUT = {"large_threshold": 10000, "large_size": 1000, "small_fraction": 0.1}
# build_splits takes the rule as the protocol resolved it (prepare_task resolves DEV_HOLDOUT)
STRATIFIED = {**DEV_HOLDOUT, "method": "stratified"}  # the recommended protocol's rule
ENDS = {**DEV_HOLDOUT, "method": "ends"}  # the reference's rule

# The published protocol's 36 target tasks; mnli is also the probe.
PROTOCOL_TASKS = [
    "20_newsgroup", "ag_news", "amazon_reviews_multi", "anli", "boolq", "cb", "cola", "copa",
    "dbpedia", "esnli", "financial_phrasebank", "imdb", "isear", "mnli", "mrpc", "multirc",
    "poem_sentiment", "qnli", "qqp", "rotten_tomatoes", "rte", "sst2", "sst_5bins", "stsb",
    "trec_coarse", "trec_fine", "tweet_ev_emoji", "tweet_ev_emotion", "tweet_ev_hate",
    "tweet_ev_irony", "tweet_ev_offensive", "tweet_ev_sentiment", "wic", "wnli", "wsc",
    "yahoo_answers",
]  # fmt: skip

# --- The real datasets' shapes (column names, feature types, split names) ---------------------

S, I32 = Value("string"), Value("int32")
NLI3 = ["entailment", "neutral", "contradiction"]
# The published protocol's evaluation sizes (its task table).
EVAL_SIZES = {
    "mnli": 9832, "20_newsgroup": 7532, "ag_news": 3000, "amazon_reviews_multi": 5000,
    "anli": 3200, "boolq": 3270, "cb": 56, "cola": 1043, "copa": 100, "dbpedia": 3000,
    "esnli": 9824, "financial_phrasebank": 1000, "imdb": 25000, "isear": 1534, "mrpc": 408,
    "multirc": 4848, "poem_sentiment": 104, "qnli": 5463, "qqp": 40430, "rotten_tomatoes": 1066,
    "rte": 277, "sst2": 872, "sst_5bins": 2210, "stsb": 1500, "trec_coarse": 500,
    "trec_fine": 500, "tweet_ev_emoji": 50000, "tweet_ev_emotion": 1421, "tweet_ev_hate": 2970,
    "tweet_ev_irony": 784, "tweet_ev_offensive": 860, "tweet_ev_sentiment": 12284, "wic": 638,
    "wnli": 71, "wsc": 104, "yahoo_answers": 3000,
}  # fmt: skip
BOOL = ["False", "True"]
TVT = ["train", "validation", "test"]
TRAIN_TEST = ["train", "test"]
NEWSGROUPS = [
    "alt.atheism", "comp.graphics", "comp.os.ms-windows.misc", "comp.sys.ibm.pc.hardware",
    "comp.sys.mac.hardware", "comp.windows.x", "misc.forsale", "rec.autos", "rec.motorcycles",
    "rec.sport.baseball", "rec.sport.hockey", "sci.crypt", "sci.electronics", "sci.med",
    "sci.space", "soc.religion.christian", "talk.politics.guns", "talk.politics.mideast",
    "talk.politics.misc", "talk.religion.misc",
]  # fmt: skip
DBPEDIA = [
    "Company", "EducationalInstitution", "Artist", "Athlete", "OfficeHolder",
    "MeanOfTransportation", "Building", "NaturalPlace", "Village", "Animal", "Plant", "Album",
    "Film", "WrittenWork",
]  # fmt: skip
YAHOO = [
    "Society & Culture", "Science & Mathematics", "Health", "Education & Reference",
    "Computers & Internet", "Sports", "Business & Finance", "Entertainment & Music",
    "Family & Relationships", "Politics & Government",
]  # fmt: skip
TREC_COARSE = ["ABBR", "ENTY", "DESC", "HUM", "LOC", "NUM"]
TREC_FINE = [
    "ABBR:abb", "ABBR:exp", "ENTY:animal", "ENTY:body", "ENTY:color", "ENTY:cremat",
    "ENTY:currency", "ENTY:dismed", "ENTY:event", "ENTY:food", "ENTY:instru", "ENTY:lang",
    "ENTY:letter", "ENTY:other", "ENTY:plant", "ENTY:product", "ENTY:religion", "ENTY:sport",
    "ENTY:substance", "ENTY:symbol", "ENTY:techmeth", "ENTY:termeq", "ENTY:veh", "ENTY:word",
    "DESC:def", "DESC:desc", "DESC:manner", "DESC:reason", "HUM:gr", "HUM:ind", "HUM:title",
    "HUM:desc", "LOC:city", "LOC:country", "LOC:mount", "LOC:other", "LOC:state", "NUM:code",
    "NUM:count", "NUM:date", "NUM:dist", "NUM:money", "NUM:ord", "NUM:other", "NUM:period",
    "NUM:perc", "NUM:speed", "NUM:temp", "NUM:volsize", "NUM:weight",
]  # fmt: skip
EMOJI = list("❤😍😂💕🔥😊😎✨💙😘📷") + ["🇺🇸"] + list("☀💜😉💯😁🎄📸😜")
ISEAR_EMOTIONS = ["joy", "fear", "anger", "sadness", "disgust", "shame", "guilt"]


def _cl(names):
    return ClassLabel(names=names)


def _glue(label_names, *text_columns):
    return {**{c: S for c in text_columns}, "label": _cl(label_names), "idx": I32}, TVT


TREC = {"text": S, "coarse_label": _cl(TREC_COARSE), "fine_label": _cl(TREC_FINE)}, TRAIN_TEST
SHAPES = {
    "mnli": (
        {"premise": S, "hypothesis": S, "label": _cl(NLI3), "idx": I32},
        ["train", "validation_matched", "validation_mismatched", "test_matched", "test_mismatched"],
    ),
    "20_newsgroup": ({"text": S, "label": Value("int64"), "label_text": S}, TRAIN_TEST),
    "ag_news": ({"text": S, "label": _cl(["World", "Sports", "Business", "Sci/Tech"])}, TRAIN_TEST),
    "amazon_reviews_multi": (
        {
            "review_id": S,
            "product_id": S,
            "reviewer_id": S,
            "stars": I32,
            "review_body": S,
            "review_title": S,
            "language": S,
            "product_category": S,
        },
        TVT,
    ),
    "anli": (
        {"uid": S, "premise": S, "hypothesis": S, "label": _cl(NLI3), "reason": S},
        [f"{part}_r{r}" for r in (1, 2, 3) for part in ("train", "dev", "test")],
    ),
    "boolq": ({"question": S, "passage": S, "idx": I32, "label": _cl(BOOL)}, TVT),
    "cb": (
        {
            "premise": S,
            "hypothesis": S,
            "idx": I32,
            "label": _cl(["entailment", "contradiction", "neutral"]),
        },
        TVT,
    ),
    "cola": _glue(["unacceptable", "acceptable"], "sentence"),
    "copa": (
        {
            "premise": S,
            "choice1": S,
            "choice2": S,
            "question": S,
            "idx": I32,
            "label": _cl(["choice1", "choice2"]),
        },
        TVT,
    ),
    "dbpedia": ({"label": _cl(DBPEDIA), "title": S, "content": S}, TRAIN_TEST),
    "esnli": (
        {
            "premise": S,
            "hypothesis": S,
            "label": _cl(NLI3),
            "explanation_1": S,
            "explanation_2": S,
            "explanation_3": S,
        },
        TVT,
    ),
    "financial_phrasebank": (
        {"sentence": S, "label": _cl(["negative", "neutral", "positive"])},
        ["train"],
    ),
    "imdb": ({"text": S, "label": _cl(["neg", "pos"])}, ["train", "test", "unsupervised"]),
    # A local CSV: every column a string (the ISEAR databank's names, a subset).
    "isear": ({c: S for c in ("ID", "CITY", "COUN", "EMOT", "Field1", "SIT", "STATE")}, ["train"]),
    "mrpc": _glue(["not_equivalent", "equivalent"], "sentence1", "sentence2"),
    "multirc": (
        {
            "paragraph": S,
            "question": S,
            "answer": S,
            "idx": {"paragraph": I32, "question": I32, "answer": I32},
            "label": _cl(BOOL),
        },
        TVT,
    ),
    "poem_sentiment": (
        {"id": I32, "verse_text": S, "label": _cl(["negative", "positive", "no_impact", "mixed"])},
        TVT,
    ),
    "qnli": _glue(["entailment", "not_entailment"], "question", "sentence"),
    "qqp": _glue(["not_duplicate", "duplicate"], "question1", "question2"),
    "rotten_tomatoes": ({"text": S, "label": _cl(["neg", "pos"])}, TVT),
    "rte": _glue(["entailment", "not_entailment"], "sentence1", "sentence2"),
    "sst2": _glue(["negative", "positive"], "sentence"),
    "sst_5bins": ({"sentence": S, "label": Value("float32"), "tokens": S, "tree": S}, TVT),
    "stsb": ({"sentence1": S, "sentence2": S, "label": Value("float32"), "idx": I32}, TVT),
    "trec_coarse": TREC,
    "trec_fine": TREC,
    "tweet_ev_emoji": ({"text": S, "label": _cl(EMOJI)}, TVT),
    "tweet_ev_emotion": ({"text": S, "label": _cl(["anger", "joy", "optimism", "sadness"])}, TVT),
    "tweet_ev_hate": ({"text": S, "label": _cl(["non-hate", "hate"])}, TVT),
    "tweet_ev_irony": ({"text": S, "label": _cl(["non_irony", "irony"])}, TVT),
    "tweet_ev_offensive": ({"text": S, "label": _cl(["non-offensive", "offensive"])}, TVT),
    "tweet_ev_sentiment": ({"text": S, "label": _cl(["negative", "neutral", "positive"])}, TVT),
    "wic": (
        {
            "word": S,
            "sentence1": S,
            "sentence2": S,
            "start1": I32,
            "start2": I32,
            "end1": I32,
            "end2": I32,
            "idx": I32,
            "label": _cl(BOOL),
        },
        TVT,
    ),
    "wnli": _glue(["not_entailment", "entailment"], "sentence1", "sentence2"),
    "wsc": (
        {
            "text": S,
            "span1_index": I32,
            "span2_index": I32,
            "span1_text": S,
            "span2_text": S,
            "idx": I32,
            "label": _cl(BOOL),
        },
        TVT,
    ),
    "yahoo_answers": (
        {
            "id": I32,
            "topic": _cl(YAHOO),
            "question_title": S,
            "question_content": S,
            "best_answer": S,
        },
        TRAIN_TEST,
    ),
}
# Raw label values of the datasets whose label column is not a ClassLabel, in index order.
PLAIN_LABELS = {
    "20_newsgroup": list(range(20)),
    "amazon_reviews_multi": [1, 2, 3, 4, 5],
    "isear": ISEAR_EMOTIONS,
}
# SST phrase sentiment -> its bin (none on a bin edge).
SST_BINS = [(0.1, 0), (0.3, 1), (0.5, 2), (0.7, 3), (0.9, 4), (1.0, 4)]
# Splits whose gold labels are hidden (-1) upstream: GLUE / SuperGLUE test, imdb unsupervised.
HIDDEN_LABELS = {"test", "test_matched", "test_mismatched", "unsupervised"}
GLUE_LIKE = {"mnli", "boolq", "cb", "cola", "copa", "mrpc", "multirc", "qnli", "qqp", "rte",
             "sst2", "stsb", "wic", "wnli", "wsc"}  # fmt: skip
# Row counts: 40 train / 12 per other split, unless the test needs the real scale.
SIZES = {
    "ag_news": {"test": 3050},
    "dbpedia": {"test": 3050},
    "yahoo_answers": {"test": 3050},
    "financial_phrasebank": {"train": 2264},  # sentences_allagree
    "isear": {"train": 7666},
}
SAMPLED = ["ag_news", "dbpedia", "yahoo_answers"]


@pytest.fixture(scope="module")
def registry():
    return load_registry(REGISTRY_PATH)


def cell(column, split, i) -> str:
    return f"{column}|{split}|{i}"


def origin(example) -> tuple:
    """(split, row) of the raw row an example was made from."""
    _, split, i = example["texts"][0].split("|")
    return split, int(i)


def raw_label(name: str, features: dict, label: str, split: str, i: int):
    """The raw label of row i; every row's label is known from (name, split, i)."""
    if (name in GLUE_LIKE and split in HIDDEN_LABELS) or split == "unsupervised":
        return -1
    if name == "esnli" and i % 10 == 7:
        return -1  # a pair without gold label
    if name == "stsb":
        return (i % 26) / 5
    if name == "sst_5bins":
        return SST_BINS[i % len(SST_BINS)][0]
    values = PLAIN_LABELS.get(name) or list(range(features[label].num_classes))
    return values[(len(values) - 1 + i) % len(values)]  # row 0 has the last label


def expected_label(name: str, features: dict, label: str, split: str, i: int):
    """What preparation must turn row i's raw label into (independent of the registry)."""
    if name == "stsb":
        return pytest.approx((i % 26) / 5, abs=1e-6)  # float32 in the dataset
    if name == "sst_5bins":
        return SST_BINS[i % len(SST_BINS)][1]
    values = PLAIN_LABELS.get(name) or list(range(features[label].num_classes))
    return (len(values) - 1 + i) % len(values)


def make_fixture(name, spec, sizes=None, bad_label=None, drop_column=None) -> DatasetDict:
    """A DatasetDict shaped like the real dataset of task `name`. bad_label: put this raw value
    in row 3 of the train split (the label column becomes a plain column that can hold it)."""
    features, splits = SHAPES[name]
    features = {c: f for c, f in features.items() if c != drop_column}
    sizes = {**SIZES.get(name, {}), **(sizes or {})}
    label = spec.label
    if bad_label is not None:
        features[label] = Value("string") if isinstance(bad_label, str) else Value("int64")
    parts = {}
    for split in splits:
        n = sizes.get(split, 40 if split.startswith("train") else 12)
        columns = {}
        for column, feature in features.items():
            if column == label:
                values = [raw_label(name, SHAPES[name][0], label, split, i) for i in range(n)]
                if bad_label is not None and split == _splits(spec.train_split)[0]:
                    values[3] = bad_label
            elif isinstance(feature, ClassLabel):  # trec's other label column
                values = [i % feature.num_classes for i in range(n)]
            elif isinstance(feature, dict):
                values = [{k: i for k in feature} for i in range(n)]
            elif feature == S:
                values = [cell(column, split, i) for i in range(n)]
            else:
                values = list(range(n))
            columns[column] = values
        parts[split] = Dataset.from_dict(columns, features=Features(features))
    return DatasetDict(parts)


def _splits(value) -> list:
    return [value] if isinstance(value, str) else list(value)


def usable_rows(name, spec, splits, sizes=None) -> list:
    """(split, row) of every raw row with a usable label, in split order."""
    features = SHAPES[name][0]
    sizes = {**SIZES.get(name, {}), **(sizes or {})}
    rows = []
    for split in splits:
        n = sizes.get(split, 40 if split.startswith("train") else 12)
        for i in range(n):
            if raw_label(name, features, spec.label, split, i) not in spec.drop_labels:
                rows.append((split, i))
    return rows


def dev_size(n_train: int) -> int:
    """The protocol's rule, restated: 1,000 when train has >= 10,000 examples, else 10%."""
    return 1000 if n_train >= 10000 else math.ceil(n_train / 10)


# --- The registry is the protocol ---------------------------------------------------------------


def test_registry_has_exactly_the_protocol_tasks(registry):
    assert len(PROTOCOL_TASKS) == 36
    assert sorted(registry) == sorted(PROTOCOL_TASKS)
    assert "mnli" in registry  # the probe, also a target
    assert registry["mnli"].eval_split == "validation_mismatched"


def test_the_cost_estimate_knows_every_protocol_task():
    """resources/tasks/protocol_sizes.yaml (the cost estimate's sizes) names the probe and the
    36 targets, with the evaluation sizes of the published protocol."""
    sizes = yaml.safe_load((REPO / "resources/tasks/protocol_sizes.yaml").read_text())
    assert sorted(sizes) == sorted(PROTOCOL_TASKS)
    for name in PROTOCOL_TASKS:
        published = EVAL_SIZES.get(name)
        assert published is None or sizes[name]["eval"] == published, name


def test_every_dataset_shape_is_known(registry):
    assert sorted(SHAPES) == sorted(registry)


# protocol.md's inputs column, as real column names in joining order (amazon: body, then title;
# isear: the CSV's situation column).
PROTOCOL_INPUTS = {
    "mnli": ["premise", "hypothesis"], "20_newsgroup": ["text"], "ag_news": ["text"],
    "amazon_reviews_multi": ["review_body", "review_title"], "anli": ["premise", "hypothesis"],
    "boolq": ["question", "passage"], "cb": ["premise", "hypothesis"], "cola": ["sentence"],
    "copa": ["premise", "choice1", "choice2", "question"], "dbpedia": ["title", "content"],
    "esnli": ["premise", "hypothesis"], "financial_phrasebank": ["sentence"], "imdb": ["text"],
    "isear": ["SIT"], "mrpc": ["sentence1", "sentence2"],
    "multirc": ["paragraph", "question", "answer"], "poem_sentiment": ["verse_text"],
    "qnli": ["question", "sentence"], "qqp": ["question1", "question2"],
    "rotten_tomatoes": ["text"], "rte": ["sentence1", "sentence2"], "sst2": ["sentence"],
    "sst_5bins": ["sentence"], "stsb": ["sentence1", "sentence2"], "trec_coarse": ["text"],
    "trec_fine": ["text"], "tweet_ev_emoji": ["text"], "tweet_ev_emotion": ["text"],
    "tweet_ev_hate": ["text"], "tweet_ev_irony": ["text"], "tweet_ev_offensive": ["text"],
    "tweet_ev_sentiment": ["text"], "wic": ["word", "sentence1", "sentence2"],
    "wnli": ["sentence1", "sentence2"], "wsc": ["text", "span1_text", "span2_text"],
    "yahoo_answers": ["question_title", "question_content", "best_answer"],
}  # fmt: skip


def protocol_eval_split(name):
    """GLUE / SuperGLUE: validation (MNLI: mismatched); ANLI: the three test rounds; the
    single-split datasets: carved out of train; the others: test."""
    if name == "mnli":
        return "validation_mismatched"
    if name in GLUE_LIKE:
        return "validation"
    if name == "anli":
        return ["test_r1", "test_r2", "test_r3"]
    return "train" if name in ("financial_phrasebank", "isear") else "test"


@pytest.mark.parametrize("name", PROTOCOL_TASKS)
def test_inputs_and_eval_split_are_the_protocols(registry, name):
    spec = registry[name]
    assert spec.inputs == PROTOCOL_INPUTS[name]
    assert spec.eval_split == protocol_eval_split(name)
    assert spec.eval_max_examples == (3000 if name in SAMPLED else None)
    assert bool(spec.eval_from_train) == (name in ("financial_phrasebank", "isear"))
    assert spec.train_split == (["train_r1", "train_r2", "train_r3"] if name == "anli" else "train")
    assert spec.revision is None or re.fullmatch(r"[0-9a-f]{40}", spec.revision)


def test_every_unpinned_hub_revision_says_todo():
    lines = REGISTRY_PATH.read_text(encoding="utf-8").splitlines()
    unpinned = [line for line in lines if re.match(r"\s+revision: null", line)]
    assert len(unpinned) == 34  # 36 entries, two pinned to a sha (isear: a local file)
    assert all("TODO pin" in line for line in unpinned if "local file" not in line)


@pytest.mark.parametrize("name", PROTOCOL_TASKS)
def test_declared_labels_match_the_dataset_features(registry, name):
    spec = registry[name]
    feature = SHAPES[name][0][spec.label]
    if spec.is_regression or spec.label_transform:
        assert feature == Value("float32")
        assert spec.metric == ("spearman" if spec.is_regression else "accuracy")
    elif isinstance(feature, ClassLabel):
        assert spec.labels == list(range(feature.num_classes))
        assert spec.label_names == feature.names
    else:
        assert spec.labels == PLAIN_LABELS[name]
        if name == "20_newsgroup":  # an int64 column named by label_text
            assert spec.label_names == NEWSGROUPS
    if not spec.is_regression:
        assert spec.metric == "accuracy"
        assert spec.label_names is None or len(spec.label_names) == len(spec.labels)


# --- Every entry through the real preparation path ----------------------------------------------


@pytest.mark.parametrize("name", PROTOCOL_TASKS)
def test_entry_prepares_from_a_real_shaped_fixture(registry, name, tmp_path):
    spec = registry[name]
    features = SHAPES[name][0]
    meta = prepare_task(spec, tmp_path, DEV_HOLDOUT, dataset_dict=make_fixture(name, spec))
    data = load_prepared(tmp_path)

    train_rows = usable_rows(name, spec, _splits(spec.train_split))
    if spec.eval_from_train:
        size = spec.eval_from_train
        n_eval = math.ceil(len(train_rows) * size) if isinstance(size, float) else size
        n_train = len(train_rows) - n_eval
    else:
        eval_rows = usable_rows(name, spec, _splits(spec.eval_split))
        n_eval = min(len(eval_rows), spec.eval_max_examples or len(eval_rows))
        n_train = len(train_rows)
    n_dev = dev_size(n_train)
    assert meta["sizes"] == {"train": n_train - n_dev, "dev": n_dev, "eval": n_eval}
    assert meta["num_labels"] == spec.num_labels

    for part in (data.train, data.dev, data.eval):
        for example in part:
            split, i = origin(example)
            # the declared fields, joined in the declared order
            assert example["texts"] == [cell(c, split, i) for c in spec.inputs]
            assert example["label"] == expected_label(name, features, spec.label, split, i)
    # each part comes from the declared splits only, and no raw row is used twice
    train_dev = [origin(x) for x in data.train + data.dev]
    evaluation = [origin(x) for x in data.eval]
    assert {s for s, _ in train_dev} == set(_splits(spec.train_split))
    assert {s for s, _ in evaluation} == set(_splits(spec.eval_split))
    assert len(set(train_dev + evaluation)) == len(train_dev) + len(evaluation)
    assert set(train_dev + evaluation) <= set(train_rows) | set(
        usable_rows(name, spec, _splits(spec.eval_split))
    )


@pytest.mark.parametrize("name", PROTOCOL_TASKS)
def test_missing_declared_column_names_task_and_column(registry, name):
    spec = registry[name]
    for column in (spec.inputs[-1], spec.label):
        fixture = make_fixture(name, spec, drop_column=column)
        pattern = rf"task '{re.escape(name)}'.*column '{re.escape(column)}'"
        with pytest.raises(TaskDataError, match=pattern):
            build_splits(spec, fixture, STRATIFIED)


def _bad_label(name, spec):
    return "surprise" if name == "isear" else max(spec.labels) + 1


@pytest.mark.parametrize(
    "name", [n for n in PROTOCOL_TASKS if n not in ("stsb", "sst_5bins")]
)  # regression, and a transform whose every output is declared
def test_undeclared_label_names_task_column_and_value(registry, name):
    spec = registry[name]
    bad = _bad_label(name, spec)
    fixture = make_fixture(name, spec, bad_label=bad)
    with pytest.raises(TaskDataError) as err:
        build_splits(spec, fixture, STRATIFIED)
    message = str(err.value)
    assert f"task '{name}'" in message
    assert f"column '{spec.label}'" in message
    assert repr(bad) in message


@pytest.mark.parametrize("name", SAMPLED + ["financial_phrasebank", "isear"])
def test_seeded_selection_is_deterministic(registry, name):
    spec = registry[name]
    fixture = make_fixture(name, spec)
    first = build_splits(spec, fixture, STRATIFIED, sample_seed=0)
    again = build_splits(spec, make_fixture(name, spec), STRATIFIED, sample_seed=0)
    other = build_splits(spec, fixture, STRATIFIED, sample_seed=1)
    assert first == again
    assert [origin(x) for x in other["eval"]] != [origin(x) for x in first["eval"]]
    assert len(other["eval"]) == len(first["eval"])


# --- The special entries ------------------------------------------------------------------------


@pytest.mark.parametrize("name", SAMPLED)
def test_3000_sampled_from_test(registry, name, tmp_path):
    spec = registry[name]
    assert spec.eval_split == "test" and spec.eval_max_examples == 3000
    meta = prepare_task(
        spec, tmp_path, DEV_HOLDOUT, sample_seed=0, dataset_dict=make_fixture(name, spec)
    )
    rows = [origin(x) for x in load_prepared(tmp_path).eval]
    assert meta["sizes"]["eval"] == 3000
    assert len(set(rows)) == 3000 and {s for s, _ in rows} == {"test"}
    assert rows == sorted(rows, key=lambda r: r[1])  # the sample keeps the dataset's order
    assert meta["sample_seed"] == 0 and meta["spec"]["eval_max_examples"] == 3000


def test_large_train_holds_out_500_from_each_end(registry):
    spec = registry["qqp"]
    n = 10050
    splits = build_splits(spec, make_fixture("qqp", spec, sizes={"train": n}), ENDS)
    dev = [i for _, i in map(origin, splits["dev"])]
    train = [i for _, i in map(origin, splits["train"])]
    assert dev == list(range(500)) + list(range(n - 500, n))
    assert train == list(range(500, n - 500))


def test_small_train_holds_out_ten_percent_from_both_ends(registry):
    spec = registry["cb"]
    splits = build_splits(spec, make_fixture("cb", spec, sizes={"train": 250}), ENDS)
    dev = [i for _, i in map(origin, splits["dev"])]
    assert len(dev) == 25
    assert dev == list(range(12)) + list(range(237, 250))
    assert len(splits["train"]) == 225


def test_class_sorted_dbpedia_dev_holds_every_class_unless_the_reference_rule(registry, tmp_path):
    """dbpedia's training split is grouped by class: the reference's rule gives a dev set of its
    first and last class; the default stratified sample holds every class in its share."""
    spec = registry["dbpedia"]
    fixture = make_fixture("dbpedia", spec, sizes={"train": 14 * 80})
    labels = fixture["train"][spec.label]
    fixture["train"] = fixture["train"].select(sorted(range(len(labels)), key=labels.__getitem__))
    meta = prepare_task(spec, tmp_path / "ours", DEV_HOLDOUT, dataset_dict=fixture)
    assert meta["label_counts"]["dev"] == dict.fromkeys(DBPEDIA, 8)
    assert meta["label_counts"]["train"] == dict.fromkeys(DBPEDIA, 72)
    reference = prepare_task(
        spec, tmp_path / "ref", DEV_HOLDOUT, dataset_dict=fixture, protocol="reference"
    )
    present = {k: n for k, n in reference["label_counts"]["dev"].items() if n}
    assert present == {DBPEDIA[0]: 56, DBPEDIA[-1]: 56}
    first = load_prepared(tmp_path / "ref").dev[0]["texts"]
    assert first == ["title|train|1 <SEP> content|train|1"]  # row 1 is the first of class 0


def test_just_below_the_threshold_uses_ten_percent(registry):
    spec = registry["qqp"]
    splits = build_splits(spec, make_fixture("qqp", spec, sizes={"train": 9000}), STRATIFIED)
    assert len(splits["dev"]) == 900


def test_financial_phrasebank_own_1000_split(registry, tmp_path):
    spec = registry["financial_phrasebank"]
    meta = prepare_task(
        spec, tmp_path, DEV_HOLDOUT, dataset_dict=make_fixture("financial_phrasebank", spec)
    )
    data = load_prepared(tmp_path)
    assert meta["sizes"] == {"train": 1264 - 127, "dev": 127, "eval": 1000}
    used = [origin(x) for x in data.train + data.dev + data.eval]
    assert sorted(used) == [("train", i) for i in range(2264)]  # a partition of the one split
    assert meta["spec"]["eval_from_train"] == 1000 and meta["sample_seed"] == 0


def test_isear_80_20_split(registry):
    spec = registry["isear"]
    assert spec.dataset == "csv" and spec.data_files == {"train": "resources/data/isear/isear.csv"}
    splits = build_splits(spec, make_fixture("isear", spec), STRATIFIED)
    assert len(splits["eval"]) == 1534  # protocol.md's size from the 7,666 ISEAR rows
    assert len(splits["train"]) + len(splits["dev"]) == 7666 - 1534
    row0 = {origin(x): x for x in splits["train"] + splits["dev"] + splits["eval"]}[("train", 0)]
    assert row0 == {"texts": ["SIT|train|0"], "label": 6}  # "guilt"


def test_anli_pools_the_three_rounds(registry):
    spec = registry["anli"]
    splits = build_splits(spec, make_fixture("anli", spec), ENDS)
    evaluation = [origin(x) for x in splits["eval"]]
    assert evaluation == [(f"test_r{r}", i) for r in (1, 2, 3) for i in range(12)]
    train = [origin(x) for x in splits["dev"][:6] + splits["train"] + splits["dev"][6:]]
    assert train == [(f"train_r{r}", i) for r in (1, 2, 3) for i in range(40)]


def test_esnli_drops_pairs_without_gold_label(registry):
    spec = registry["esnli"]
    splits = build_splits(spec, make_fixture("esnli", spec), STRATIFIED)
    everything = splits["train"] + splits["dev"] + splits["eval"]
    assert all(i % 10 != 7 for _, i in map(origin, everything))
    assert len(splits["eval"]) == 11  # 12 test rows, one without gold label
    assert len(splits["train"]) + len(splits["dev"]) == 36


def test_a_minus_one_where_none_is_declared_fails(registry):
    """GLUE has no drop_labels: its hidden test labels are never read, and a -1 in a split that
    is read must fail, not vanish."""
    spec = registry["rte"]
    fixture = make_fixture("rte", spec)
    fixture["validation"] = fixture["test"]  # labels all -1
    with pytest.raises(TaskDataError, match=r"task 'rte': label -1 in column 'label'"):
        build_splits(spec, fixture, STRATIFIED)


def test_known_rows_map_to_the_right_label(registry):
    def first_eval(name):
        spec = registry[name]
        splits = build_splits(spec, make_fixture(name, spec), STRATIFIED)
        return {origin(x): x for x in splits["eval"]}

    amazon = first_eval("amazon_reviews_multi")
    assert amazon[("test", 0)] == {
        "texts": ["review_body|test|0", "review_title|test|0"],
        "label": 4,  # 5 stars
    }
    assert amazon[("test", 1)]["label"] == 0  # 1 star
    sst = first_eval("sst_5bins")
    assert [sst[("test", i)]["label"] for i in range(6)] == [0, 1, 2, 3, 4, 4]
    stsb = first_eval("stsb")
    assert stsb[("validation", 9)]["label"] == pytest.approx(1.8)
    assert first_eval("poem_sentiment")[("test", 0)]["label"] == 3  # mixed
    assert first_eval("20_newsgroup")[("test", 0)]["label"] == 19
    coarse, fine = first_eval("trec_coarse"), first_eval("trec_fine")
    assert (coarse[("test", 0)]["label"], fine[("test", 0)]["label"]) == (5, 49)
    copa = first_eval("copa")[("validation", 0)]
    assert copa["texts"] == [
        "premise|validation|0", "choice1|validation|0", "choice2|validation|0",
        "question|validation|0",
    ]  # fmt: skip
    yahoo = first_eval("yahoo_answers")
    row = next(iter(yahoo.values()))
    assert [t.split("|")[0] for t in row["texts"]] == [
        "question_title",
        "question_content",
        "best_answer",
    ]


# --- eval_from_train, the registry feature the single-split datasets need -----------------------


def _entry(**extra):
    return {"dataset": "csv", "inputs": ["text"], "label": "label", "labels": [0, 1], **extra}


@pytest.mark.parametrize(
    "entry, message",
    [
        (_entry(eval_split="train"), "eval_from_train"),
        (_entry(eval_from_train=100), "eval_split equals train_split"),
        (_entry(eval_split="train", eval_from_train=1.5), "count >= 1 or a fraction"),
        (_entry(eval_split="train", eval_from_train=0), "count >= 1 or a fraction"),
        (_entry(eval_split="train", eval_from_train=True), "count >= 1 or a fraction"),
    ],
)
def test_eval_from_train_is_checked_when_loading(tmp_path, entry, message):
    path = tmp_path / "registry.yaml"
    path.write_text(yaml.safe_dump({"bad_task": entry}))
    with pytest.raises(ValueError, match=rf"task 'bad_task'.*{re.escape(message)}"):
        load_registry(path)


def test_eval_from_train_larger_than_the_split_names_the_task(registry):
    spec = registry["financial_phrasebank"]
    fixture = make_fixture("financial_phrasebank", spec, sizes={"train": 900})
    with pytest.raises(TaskDataError, match=r"task 'financial_phrasebank': eval_from_train"):
        build_splits(spec, fixture, STRATIFIED)
