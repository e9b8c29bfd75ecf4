"""Proxy-quality figures against values computed by hand on small fixtures."""

import json
import math

import numpy as np
import pandas as pd
import pytest

from model_recycling.listing.candidates import Candidate, write_candidates
from model_recycling.metrics import average_ranks
from model_recycling.tables.proxy_quality import (
    best_proxy,
    bootstrap_interval,
    kendall_tau_b,
    proxies_table,
    proxy_figures,
    quality_table,
    recall_at_k,
    regret_at_k,
    spearman,
    top_k,
    verdict,
)
from tests.support.records import write_selection_tsv


def test_average_ranks_share_ties():
    assert list(average_ranks([10, 20, 20, 5])) == [2, 3.5, 3.5, 1]
    assert list(average_ranks([7, 7, 7])) == [2, 2, 2]


def test_spearman_and_kendall_by_hand():
    # no ties: rho = 1 - 6 * sum(d^2) / (n (n^2 - 1)) = 1 - 6*4/120; 8 concordant, 2 discordant
    x, y = [1, 2, 3, 4, 5], [2, 1, 4, 3, 5]
    assert spearman(x, y) == pytest.approx(0.8)
    assert kendall_tau_b(x, y) == pytest.approx(0.6)
    # a tie in x: ranks (1, 2.5, 2.5, 4) vs (1, 3, 2, 4) -> 4.5 / sqrt(4.5 * 5)
    x, y = [1, 2, 2, 3], [1, 3, 2, 4]
    assert spearman(x, y) == pytest.approx(3 / math.sqrt(10))
    # 5 concordant, 0 discordant, 1 pair tied in x of 6: 5 / sqrt((6 - 1) * (6 - 0))
    assert kendall_tau_b(x, y) == pytest.approx(5 / math.sqrt(30))
    assert spearman([3, 2, 1], [1, 2, 3]) == pytest.approx(-1)
    assert kendall_tau_b([3, 2, 1], [1, 2, 3]) == pytest.approx(-1)
    # a constant side has no ranking to correlate
    assert math.isnan(spearman([1, 1, 1], [1, 2, 3]))
    assert math.isnan(kendall_tau_b([1, 2, 3], [5, 5, 5]))
    assert math.isnan(spearman([1], [2])) and math.isnan(kendall_tau_b([1], [2]))


def test_bootstrap_interval_is_seeded_and_brackets_the_spread():
    x, y = list(range(10)), [3, 1, 4, 1, 5, 9, 2, 6, 5, 3]  # rho 0.39: wide interval
    first = bootstrap_interval(x, y, spearman, n_resamples=500, seed=3)
    assert first == bootstrap_interval(x, y, spearman, n_resamples=500, seed=3)
    assert first != bootstrap_interval(x, y, spearman, n_resamples=500, seed=4)
    low, high = first
    assert -1 <= low < spearman(x, y) < high <= 1
    assert all(map(math.isnan, bootstrap_interval([1, 2], [1, 2], spearman)))


# avg: a > b > c > d > e > f; the proxy ranks b, c, d, a, f, e; g has no proxy score
MODELS = pd.DataFrame({
    "model_id": ["a", "b", "c", "d", "e", "f", "g"],
    "avg": [80, 70, 60, 50, 40, 30, 100],
    "proxy": [0.25, 0.9, 0.8, 0.7, 0.2, 0.3, None],
})  # fmt: skip


def test_regret_and_recall_by_hand():
    scored = MODELS[MODELS.proxy.notna()]
    # top 1 {b}: 80 - 70; top 3 {b, c, d}: 80 - 70; top 5 {b, c, d, f, a}: holds the best
    assert [regret_at_k(scored, "proxy", k) for k in (1, 3, 5)] == [10, 10, 0]
    # best by avg: {a}, {a, b, c}, {a, b, c, d, e}
    assert [recall_at_k(scored, "proxy", k) for k in (1, 3, 5)] == [0, 2 / 3, 4 / 5]
    assert regret_at_k(scored, "proxy", 6) is None and recall_at_k(scored, "proxy", 9) is None


def test_top_k_breaks_ties_by_model_id():
    frame = pd.DataFrame({"model_id": ["z", "y", "x"], "s": [1.0, 2.0, 2.0]})
    assert top_k(frame, "s", 2) == ["x", "y"]


def test_missing_proxy_is_absent_not_zero():
    figures = proxy_figures(MODELS, "proxy", n_resamples=200)
    assert figures["n"] == 6  # g (avg 100, no score) would make every regret 20 or more
    assert figures["regret@1"] == 10 and figures["regret@5"] == 0
    assert figures["spearman"] == pytest.approx(spearman(MODELS.proxy[:6], MODELS.avg[:6]))
    assert figures["spearman_low"] <= figures["spearman_high"]


def test_verdict_names_the_best_proxy_or_says_too_few():
    frame = MODELS[:6].assign(good=[6, 5, 4, 3, 2, 1], worse=[1, 2, 3, 4, 6, 5])
    table = quality_table(frame, ["proxy", "good", "worse"], n_resamples=200)
    assert best_proxy(table)["proxy"] == "good"
    line = verdict(table)
    assert line.startswith("Best-ranking proxy: good (Spearman 1.00") and "on 6 models" in line
    small = quality_table(frame[:3], ["proxy", "good"], n_resamples=200)
    assert best_proxy(small) is None
    assert verdict(small) == "Too few fully tested models to tell which proxy ranks best (3 < 4)."
    assert verdict(quality_table(frame, [])).startswith("Too few")


def test_proxies_table_from_records_selection_and_listing(tmp_path):
    records = {
        "new": {"score": 0.5, "proxies": {"linear_probe": 0.5, "logme": -1.5, "hscore": None,
                                          "knn": 0.25}},
        "old": {"score": 0.75},  # written before the extra proxies: only the linear probe
        "odd": {"score": 0.25, "proxies": {"logme": "high", "knn": True}},
    }  # fmt: skip
    ranking = pd.DataFrame({"model_id": ["new"], "avg": [61.0]})
    write_selection_tsv(tmp_path / "sel.tsv", [("new", "yes", "no"), ("old", "no", "yes")])
    write_candidates(
        tmp_path / "cand.tsv",
        [Candidate("new", "r", "hub", downloads=0), Candidate("old", "r", "hub")],
    )
    table = proxies_table(records, ranking, (tmp_path / "cand.tsv", tmp_path / "sel.tsv"))
    table = table.set_index("model_id")
    new, old, odd = table.loc["new"], table.loc["old"], table.loc["odd"]
    assert (new.selected, new.calibration, new.tested, new.avg) == ("yes", "no", "yes", 61.0)
    assert (new.linear_probe, new.logme, new.knn, new.downloads) == (50.0, -1.5, 25.0, 0.0)
    assert math.isnan(new.hscore)
    assert (old.selected, old.calibration, old.tested) == ("no", "yes", "no")
    assert old.linear_probe == 75.0 and math.isnan(old.logme) and math.isnan(old.downloads)
    assert odd.selected == "no" and math.isnan(odd.logme) and math.isnan(odd.knn)
    json.dumps(table.reset_index().to_dict("records"))  # plain values, writable as CSV rows


def test_bootstrap_all_at_once_equals_resample_by_resample():
    """For spearman and kendall_tau_b the bootstrap computes every resample at once (thousands
    of models); any other statistic, here the same ones wrapped, resample by resample. Both give
    the same interval, ties and constant resamples included."""
    rng = np.random.default_rng(1)
    for n in (3, 5, 40):
        x = rng.integers(0, 4, size=n).astype(float)
        y = np.array([1.0] * (n - 1) + [2.0]) if n == 5 else rng.normal(size=n).round(1)
        for statistic in (spearman, kendall_tau_b):
            at_once = bootstrap_interval(x, y, statistic, n_resamples=300, seed=n)
            one_by_one = bootstrap_interval(
                x, y, lambda a, b, f=statistic: f(a, b), n_resamples=300, seed=n
            )
            assert np.allclose(at_once, one_by_one, rtol=0, atol=1e-12, equal_nan=True)
