"""How well each cheap proxy ranks the models that were then fully tested.

For the fully tested models (each with its final average), per proxy: Spearman and Kendall
(tau-b) correlation of the proxy score with the average, each with a seeded bootstrap 95%
interval; regret@k (best average among all tested minus the best average among the proxy's top
k); and top-k recall (share of the k best by average that the proxy's top k contains).

Ties are handled the usual way (average ranks; tau-b), and ties in a top-k are broken by model id,
as the selection breaks them (selection.py). A figure that would be trivially perfect (k >= the
number of models) or undefined (a constant column) is None.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from model_recycling.listing.candidates import read_candidates
from model_recycling.metrics import average_ranks
from model_recycling.probing.proxies import PROXIES
from model_recycling.probing.selection import read_selection

KS = (1, 3, 5)
MIN_MODELS = 4  # fewer tested models tell nothing about which proxy ranks best


def spearman(x, y) -> float:
    """Pearson correlation of the average ranks; nan when either side is constant or n < 2."""
    rx, ry = average_ranks(x), average_ranks(y)
    if len(rx) < 2 or rx.std() == 0 or ry.std() == 0:
        return math.nan
    return float(np.corrcoef(rx, ry)[0, 1])


def kendall_tau_b(x, y) -> float:
    """(concordant - discordant) / sqrt((pairs - ties in x) * (pairs - ties in y)); nan when
    either side is constant."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    i, j = np.triu_indices(len(x), k=1)
    sx, sy = np.sign(x[i] - x[j]), np.sign(y[i] - y[j])
    pairs = len(i)
    denominator = math.sqrt((pairs - np.sum(sx == 0)) * (pairs - np.sum(sy == 0)))
    return float(np.sum(sx * sy) / denominator) if denominator else math.nan


def bootstrap_interval(x, y, statistic, n_resamples=2000, seed=0, level=0.95) -> tuple:
    """Percentile interval of statistic over seeded resamples of the (x, y) pairs; resamples
    where it is undefined (a constant column) are skipped. (nan, nan) below 3 models."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(x) < 3:
        return math.nan, math.nan
    picks = _picks(len(x), n_resamples, seed)
    if statistic in _RESAMPLED:  # the same values, computed for all resamples at once
        values = _over_resamples(picks, lambda counts: _RESAMPLED[statistic](x, y, counts))
    else:
        values = np.array([statistic(x[p], y[p]) for p in picks])
    return _percentile_interval(values, level)


def _picks(n: int, n_resamples: int, seed: int) -> np.ndarray:
    """Seeded resamples of n models: [resamples, n] indices."""
    return np.random.default_rng(seed).integers(0, n, size=(n_resamples, n))


def _percentile_interval(values: np.ndarray, level: float) -> tuple:
    values = values[~np.isnan(values)]
    if not len(values):
        return math.nan, math.nan
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)


# Resamples as counts: with thousands of tested models, 2,000 resamples of Kendall's O(n^2) pairs
# one by one took minutes per architecture; as matrix products, a second.
def _counts(picks: np.ndarray, n: int) -> np.ndarray:
    """How often each model is drawn in each resample: [resamples, n]."""
    flat = (picks + n * np.arange(len(picks))[:, None]).ravel()
    return np.bincount(flat, minlength=len(picks) * n).reshape(len(picks), n).astype(float)


def _over_resamples(picks: np.ndarray, compute) -> np.ndarray:
    """compute(counts) over all resamples, in chunks that keep the count matrices small."""
    n = picks.shape[1]
    chunks = np.array_split(picks, max(1, picks.size // 250_000))
    return np.concatenate([compute(_counts(chunk, n)) for chunk in chunks])


def _groups(values: np.ndarray, counts: np.ndarray) -> tuple:
    """Per resample, how many drawn elements hold each distinct value (ascending): [resamples,
    distinct values], and each model's column in it."""
    distinct, column = np.unique(values, return_inverse=True)
    order = np.argsort(column, kind="mergesort")
    starts = np.searchsorted(column[order], np.arange(len(distinct)))
    return np.add.reduceat(counts[:, order], starts, axis=1), column


def _kendall_resampled(x, y, counts) -> np.ndarray:
    """kendall_tau_b of every resample: a drawn pair's sign product depends only on the models
    it joins, and elements of equal value (a model drawn twice too) are tied pairs. Integer
    sums: float32 products are exact below 2**24 drawn elements."""
    m = len(x)
    pairs = m * (m - 1) / 2
    ties_x, ties_y = (((_groups(v, counts)[0] ** 2).sum(1) - m) / 2 for v in (x, y))
    signs = (np.sign(x[:, None] - x[None, :]) * np.sign(y[:, None] - y[None, :])).astype("f4")
    concordance = ((counts.astype("f4") @ signs).astype(float) * counts).sum(1) / 2
    denominator = np.sqrt((pairs - ties_x) * (pairs - ties_y))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator > 0, concordance / denominator, np.nan)


def _spearman_resampled(x, y, counts) -> np.ndarray:
    """spearman of every resample: average ranks within the resample (elements below a value,
    plus the mean position among its equals), then Pearson weighted by how often each model was
    drawn."""
    m = len(x)

    def centred_ranks(v):
        group, column = _groups(v, counts)
        ranks = ((np.cumsum(group, 1) - group) + (group + 1) / 2)[:, column]
        centred = ranks - (counts * ranks).sum(1, keepdims=True) / m
        return centred, (group == m).any(1)

    (rx, cx), (ry, cy) = centred_ranks(x), centred_ranks(y)
    covariance = (counts * rx * ry).sum(1)
    scale = np.sqrt((counts * rx * rx).sum(1) * (counts * ry * ry).sum(1))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(cx | cy, np.nan, covariance / scale)


_RESAMPLED = {spearman: _spearman_resampled, kendall_tau_b: _kendall_resampled}


def top_k(frame: pd.DataFrame, column: str, k: int) -> list:
    """Model ids of the k highest values of column; ties by model id."""
    ordered = frame.assign(_neg=-frame[column]).sort_values(["_neg", "model_id"])
    return list(ordered.model_id[:k])


def regret_at_k(frame: pd.DataFrame, proxy: str, k: int) -> float | None:
    """Best avg among all rows minus best avg among the proxy's top k (0: it found the best)."""
    if k >= len(frame):
        return None
    picked = frame[frame.model_id.isin(top_k(frame, proxy, k))]
    return float(frame.avg.max() - picked.avg.max())


def recall_at_k(frame: pd.DataFrame, proxy: str, k: int) -> float | None:
    """Share of the k best by avg that are among the proxy's top k."""
    if k >= len(frame):
        return None
    return len(set(top_k(frame, proxy, k)) & set(top_k(frame, "avg", k))) / k


def _none_if_nan(value: float) -> float | None:
    return None if math.isnan(value) else value


def proxy_figures(frame: pd.DataFrame, proxy: str, n_resamples=2000, seed=0) -> dict:
    """Every figure for one proxy, on the rows of frame (model_id, avg, proxy) where the proxy
    has a value: a missing score is absent, not zero."""
    rows = frame[frame[proxy].notna() & frame.avg.notna()]
    x, y = rows[proxy].to_numpy(float), rows.avg.to_numpy(float)
    figures = {"proxy": proxy, "n": len(rows)}
    for name, statistic in (("spearman", spearman), ("kendall", kendall_tau_b)):
        low, high = bootstrap_interval(x, y, statistic, n_resamples, seed)
        figures[name] = _none_if_nan(statistic(x, y)) if len(rows) >= 2 else None
        figures[f"{name}_low"], figures[f"{name}_high"] = _none_if_nan(low), _none_if_nan(high)
    for k in KS:
        figures[f"regret@{k}"] = regret_at_k(rows, proxy, k)
        figures[f"recall@{k}"] = recall_at_k(rows, proxy, k)
    return figures


def quality_table(frame: pd.DataFrame, proxies: list, n_resamples=2000, seed=0) -> pd.DataFrame:
    """One row of figures per proxy (proxy_figures), in the order given."""
    rows = [proxy_figures(frame, p, n_resamples, seed) for p in proxies]
    columns = [
        "proxy",
        "n",
        *(f"{s}{end}" for s in ("spearman", "kendall") for end in ("", "_low", "_high")),
    ]
    columns += [f"{name}@{k}" for k in KS for name in ("regret", "recall")]
    return pd.DataFrame(rows, columns=columns)


def _usable(table: pd.DataFrame, min_models: int) -> pd.DataFrame:
    """Proxies measured on at least min_models models, best Spearman first (ties by name)."""
    usable = table[(table.n >= min_models) & table.spearman.notna()]
    return usable.sort_values(["spearman", "proxy"], ascending=[False, True])


def spearman_difference(frame, a: str, b: str, n_resamples=2000, seed=0, level=0.95) -> dict:
    """Spearman of proxy a minus that of proxy b, on the models both scored, with a paired
    percentile bootstrap interval: each resample draws models once and computes both
    correlations on the same draw, so what the two proxies share cancels out."""
    rows = frame[frame[a].notna() & frame[b].notna() & frame.avg.notna()]
    xa, xb, y = (rows[c].to_numpy(float) for c in (a, b, "avg"))
    difference = {"n": len(rows), "difference": spearman(xa, y) - spearman(xb, y)}
    if len(rows) < 3:
        return {**difference, "low": math.nan, "high": math.nan}
    values = _over_resamples(
        _picks(len(rows), n_resamples, seed),
        lambda counts: _spearman_resampled(xa, y, counts) - _spearman_resampled(xb, y, counts),
    )
    low, high = _percentile_interval(values, level)
    return {**difference, "low": low, "high": high}


def proxy_verdict(frame, table, min_models=MIN_MODELS, n_resamples=2000, seed=0) -> dict:
    """Which proxy ranked best, claimed only when the data can tell: at least two proxies
    measured on min_models models each, and a paired bootstrap of the best one's Spearman minus
    the runner-up's that excludes zero. Returns {"best": name or None, "line": the page's
    sentence, "short": the home table's cell}. frame: the tested models' rows (proxies.csv)."""
    usable = _usable(table, min_models)
    if not len(usable):
        most = int(table.n.max()) if len(table) else 0
        if most >= min_models:  # enough models, but every score or every average is tied
            line = (
                f"No proxy's Spearman is defined on the {most} fully tested models: their proxy "
                "scores or their averages are all equal."
            )
            return {"best": None, "line": line, "short": "undefined (all tied)"}
        line = (
            f"Too few fully tested models to tell which proxy ranks best ({most} < {min_models})."
        )
        return {"best": None, "line": line, "short": f"too few models (< {min_models})"}
    first = usable.iloc[0]
    figure = f"Spearman {first.spearman:.2f}{_interval_text(first)}, on {int(first.n)} models"
    if len(usable) == 1:
        line = f"Only one proxy was measured: {first.proxy} ({figure}); nothing to compare it with."
        return {"best": None, "line": line, "short": f"only {first.proxy} measured"}
    gaps = {
        other: spearman_difference(frame, first.proxy, other, n_resamples, seed)
        for other in usable.proxy.iloc[1:]
    }
    # nan (too few models scored by both) cannot tell two proxies apart either
    tied = [first.proxy, *(other for other, gap in gaps.items() if not gap["low"] > 0)]
    shown = tied[1] if len(tied) > 1 else usable.proxy.iloc[1]  # the closest that counts
    gap = gaps[shown]
    gap_text = (
        f"{first.proxy} minus {shown}: {gap['difference']:.2f}, paired 95% interval "
        f"{_figure_text(gap['low'])} to {_figure_text(gap['high'])} on {gap['n']} models"
    )
    if len(tied) == 1:
        line = f"Best-ranking proxy: {first.proxy} ({figure}; {gap_text})."
        return {"best": first.proxy, "line": line, "short": first.proxy}
    line = (
        f"No proxy ranks clearly best: {first.proxy} ranks highest ({figure}), but "
        f"{', '.join(tied[1:])} cannot be told apart from it: the paired bootstrap interval of "
        f"the difference includes 0 ({gap_text})."
    )
    return {"best": None, "line": line, "short": f"none clearly: {', '.join(tied)}"}


def _figure_text(value: float) -> str:
    return "undefined" if pd.isna(value) else f"{value:.2f}"


def _interval_text(row) -> str:
    if row.spearman_low is None or pd.isna(row.spearman_low):
        return ""
    return f", 95% interval {row.spearman_low:.2f} to {row.spearman_high:.2f}"


# The table the figures rest on (the aggregate step writes it as proxies.csv).

ACCURACY_PROXIES = ("linear_probe", "knn")  # x100, as the pages show accuracies
STATIC_PROXY = "downloads"  # the Hub listing's count, where the source has one
PROXY_COLUMNS = ["model_id", "selected", "calibration", "tested", "avg", *PROXIES, STATIC_PROXY]


def _number(value) -> float:
    """A proxy score as a float; anything else (missing, null, text) is absent, never zero."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return math.nan
    return float(value)


def record_proxies(record: dict) -> dict:
    """A probe record's proxy scores; a record without "proxies" has only its linear probe."""
    proxies = record.get("proxies") or {}
    scores = {name: _number(proxies.get(name)) for name in PROXIES}
    if math.isnan(scores["linear_probe"]):
        scores["linear_probe"] = _number(record.get("score"))
    return {name: scores[name] * (100 if name in ACCURACY_PROXIES else 1) for name in PROXIES}


def proxies_table(records: dict, ranking: pd.DataFrame, listing=None) -> pd.DataFrame:
    """One row per validly probed model: its proxy scores, whether it was selected or drawn for
    calibration (selected.tsv), whether it was fully tested and its avg (ranking).

    records: model id -> its valid, ok probe record; listing: the paths of candidates.tsv (for
    downloads) and selected.tsv; without them nothing counts as selected."""
    chosen, downloads = {}, {}
    if listing:
        candidates_tsv, selection_tsv = listing
        chosen = {row["model_id"]: row for row in read_selection(selection_tsv)}
        downloads = {c.model_id: c.downloads for c in read_candidates(candidates_tsv)}
    averages = dict(zip(ranking.model_id, ranking.avg, strict=True))
    rows = []
    for model_id, record in sorted(records.items()):
        row = chosen.get(model_id, {})
        rows.append({
            "model_id": model_id,
            "selected": row.get("selected") or "no",
            "calibration": row.get("calibration") or "no",
            "tested": "yes" if model_id in averages else "no",
            "avg": averages.get(model_id, math.nan),
            **record_proxies(record),
            STATIC_PROXY: _number(downloads.get(model_id)),
        })  # fmt: skip
    return pd.DataFrame(rows, columns=PROXY_COLUMNS)
