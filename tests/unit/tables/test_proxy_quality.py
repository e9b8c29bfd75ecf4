"""Proxy-quality figures against values computed by hand on small fixtures."""

import json
import math

import numpy as np
import pandas as pd
import pytest

from model_recycling.listing.candidates import Candidate, write_candidates
from model_recycling.metrics import average_ranks
from model_recycling.tables.proxy_quality import (
    bootstrap_interval,
    kendall_tau_b,
    proxies_table,
    proxy_figures,
    proxy_verdict,
    quality_table,
    recall_at_k,
    regret_at_k,
    spearman,
    spearman_difference,
    top_k,
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


def test_verdict_says_too_few_models_or_only_one_proxy():
    frame = MODELS[:6].assign(good=[6, 5, 4, 3, 2, 1])
    small = quality_table(frame[:3], ["proxy", "good"], n_resamples=200)
    judged = proxy_verdict(frame[:3], small, n_resamples=200)
    assert judged["best"] is None
    assert judged["line"] == "Too few fully tested models to tell which proxy ranks best (3 < 4)."
    assert proxy_verdict(frame, quality_table(frame, []))["line"].startswith("Too few")
    one = proxy_verdict(frame, quality_table(frame, ["good"], n_resamples=200), n_resamples=200)
    assert one["best"] is None and one["short"] == "only good measured"
    assert one["line"].startswith("Only one proxy was measured: good (Spearman 1.00")
    tied = frame.assign(good=1.0, proxy=2.0)  # six models, every score equal: no Spearman
    judged = proxy_verdict(tied, quality_table(tied, ["proxy", "good"], n_resamples=200))
    assert judged["best"] is None and judged["short"] == "undefined (all tied)"
    assert judged["line"].startswith("No proxy's Spearman is defined on the 6 fully tested")


def test_verdict_names_a_best_proxy_only_when_the_difference_excludes_zero():
    rng = np.random.default_rng(1)
    avg = np.arange(60.0)
    frame = pd.DataFrame({
        "model_id": [f"m{i}" for i in range(60)], "avg": avg,
        "good": avg + rng.normal(0, 3, 60), "noise": rng.normal(0, 1, 60),
    })  # fmt: skip
    table = quality_table(frame, ["good", "noise"], n_resamples=300)
    judged = proxy_verdict(frame, table, n_resamples=300)
    assert judged["best"] == "good" and judged["short"] == "good"
    assert judged["line"].startswith("Best-ranking proxy: good (Spearman 0.9")
    assert "good minus noise: " in judged["line"] and "on 60 models" in judged["line"]
    # five models, as on the demo: a higher Spearman the resamples cannot separate
    five = frame[:5].assign(good=[1, 2, 3, 5, 4], noise=[2, 1, 3, 4, 5])
    close = proxy_verdict(five, quality_table(five, ["good", "noise"], n_resamples=300), 4, 300)
    assert close["best"] is None and close["short"] == "none clearly: good, noise"
    assert close["line"].startswith("No proxy ranks clearly best: good ranks highest (Spearman")
    assert "noise cannot be told apart from it" in close["line"]


def test_spearman_difference_is_paired():
    rng = np.random.default_rng(2)
    frame = pd.DataFrame({"avg": rng.normal(size=30), "a": rng.normal(size=30)})
    frame["b"] = frame.a  # the same proxy twice: every resample's difference is exactly 0
    same = spearman_difference(frame, "a", "b", n_resamples=200)
    assert (same["difference"], same["low"], same["high"], same["n"]) == (0, 0, 0, 30)
    frame["b"] = frame.avg + rng.normal(0, 0.1, 30)
    gap = spearman_difference(frame.assign(a=frame.a.where(frame.index > 0)), "a", "b", 200)
    assert gap["n"] == 29  # a model only one proxy scored is left out of both
    assert gap["high"] < 0  # b tracks avg, a is noise: a minus b is clearly below 0
    picks = np.random.default_rng(0).integers(0, 29, size=(200, 29))
    rows = frame[frame.index > 0]
    a, b, avg = (rows[c].to_numpy() for c in ("a", "b", "avg"))
    by_hand = [spearman(a[p], avg[p]) - spearman(b[p], avg[p]) for p in picks]
    low, high = np.nanpercentile(by_hand, [2.5, 97.5])
    assert (gap["low"], gap["high"]) == pytest.approx((low, high))


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
