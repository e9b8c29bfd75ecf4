"""The fewer-cells frontier, per architecture of the reference's published results: cells used
against regret and gain error as the rules' settings vary (the baseline's target_se and min
seeds; racing's confidence, epsilon and first round, or no racing), one PNG per architecture.

    python -m benchmarks.frontier [--published DIR ...] [--orders 200] [--out docs/frontier]
                                  [--pools 30]

Each setting is replayed as `make simulate` replays the recommended one (top 5 by probe, the
full protocol as denominator); every other setting stays at the family's recommendation."""

from __future__ import annotations

import argparse
import copy
import json
from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from model_recycling.rounds.published import published_pairs, read_published  # noqa: E402
from model_recycling.rounds.simulate import PUBLISHED, TARGET, recommended, replay  # noqa: E402

INF = 1e9  # a target no task's standard error exceeds: `min` seeds on every task


def settings() -> list[tuple[str, dict]]:
    """(label, overrides) of every setting tried."""
    tried = [("recommended", {})]
    for target in (1, 2, 3, 5, 8, 12, 20, INF):
        for least in (2, 3):
            label = f"target_se {'inf' if target == INF else target}, min {least}"
            tried.append((label, {"baseline_seeds": {"target_se": target, "min": least}}))
    for confidence in (0.5, 0.8, 0.9, 0.95, 0.99):
        for epsilon in (0.0, 0.2, 0.5):
            for first in (4, 8):
                race = {"confidence": confidence, "epsilon": epsilon, "first_round": first}
                label = f"confidence {confidence}, epsilon {epsilon}, first_round {first}"
                tried.append((label, {"racing": race}))
    tried.append(("no racing", {"racing": None}))
    return tried


def frontier(arch, orders: int, top_k: int = 5) -> list[dict]:
    rows = []
    for label, overrides in settings():
        figures = replay(arch, recommended(arch, overrides), top_k, orders)
        rows.append({"setting": label, **figures})
    return rows


def plot(name: str, rows: list[dict], path: Path) -> None:
    """Regret (mean, and its 95th percentile as a bar up) and the chosen gain's error (share of
    orders outside the full protocol's interval) against the cells used."""
    kinds = {"target_se": ("baseline target_se / min", "tab:blue"),
             "confidence": ("racing confidence / epsilon / first round", "tab:orange"),
             "no racing": ("no racing", "tab:gray")}  # fmt: skip
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4), sharex=True)
    for key, (label, colour) in kinds.items():
        mine = [r for r in rows if r["setting"].startswith(key)]
        x = [r["total"] for r in mine]
        left.errorbar(x, [r["regret"] for r in mine], fmt="o", color=colour, alpha=0.7,
                      yerr=[[0] * len(mine), [max(0, r["regret_p95"] - r["regret"]) for r in mine]],
                      label=label, markersize=4)  # fmt: skip
        right.plot(x, [1 - r["coverage"] for r in mine], "o", color=colour, alpha=0.7,
                   markersize=4)  # fmt: skip
    best = rows[0]
    left.plot(best["total"], best["regret"], "*", color="black", markersize=14,
              label="recommended")  # fmt: skip
    right.plot(best["total"], 1 - best["coverage"], "*", color="black", markersize=14)
    for axis in (left, right):
        axis.axvline(TARGET["total"], color="red", linestyle="--", linewidth=1)
        axis.set_xlabel("cells used (fraction of the full protocol's)")
    left.axhline(TARGET["regret"], color="red", linestyle=":", linewidth=1)
    left.set_ylabel("regret, points (mean; bar: 95th percentile)")
    right.axhline(1 - TARGET["coverage"], color="red", linestyle=":", linewidth=1)
    right.set_ylabel("share of orders: gain outside the full 95% interval")
    left.legend(fontsize=7, loc="upper right")
    figure.suptitle(f"{name}: top 5 by probe, {rows[0]['orders']} task orders per setting")
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)


def cheapest(rows: list[dict]) -> dict | None:
    """The setting that meets the target with the fewest cells (None if none does)."""
    met = [r for r in rows if r["target_met"]]
    return min(met, key=lambda r: r["total"]) if met else None


def other_pools(arch, n_pools: int, orders: int) -> dict:
    """The rule's error on pools the probe did not choose: n_pools random pools of 5 of the
    fully tested models and n_pools near-tied ones (5 neighbours by average), at the recommended
    settings; {kind: (regret > epsilon rate, best stopped as behind rate, worst pool's first)}."""
    rng = np.random.default_rng(1)
    names = sorted(arch.models)
    average = {m: float(np.mean(list(arch.models[m].values()))) for m in names}
    by_average = sorted(names, key=average.get)
    found = {}
    for kind in ("random", "near-tied"):
        rates = []
        for trial in range(n_pools):
            if kind == "random":
                pool = list(rng.choice(names, 5, replace=False))
            else:
                start = int(rng.integers(0, len(by_average) - 5))
                pool = by_average[start : start + 5]
            probed = copy.copy(arch)
            probed.probe = {m: float(5 - k) for k, m in enumerate(pool)}  # this pool is the top 5
            figures = replay(probed, recommended(arch), 5, orders, seed=trial)
            rates.append((figures["best_stopped"], figures["best_behind"]))
        rates = np.array(rates)
        found[kind] = (*rates.mean(axis=0), rates[:, 0].max())
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--published", action="append", default=[])
    parser.add_argument("--orders", type=int, default=200)
    parser.add_argument("--out", default="docs/frontier")
    parser.add_argument("--pools", type=int, default=0, help="also the rule's error on this "
                        "many random and near-tied pools of 5 (100 orders each)")  # fmt: skip
    a = parser.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    found = {}
    for folder in a.published or [PUBLISHED]:
        for table, baseline in published_pairs(folder):
            arch = read_published(table, baseline)
            rows = frontier(arch, a.orders)
            plot(arch.name, rows, out / f"{arch.name}.png")
            best = cheapest(rows)
            found[arch.name] = rows
            pools = other_pools(arch, a.pools, 100) if a.pools else {}
            for kind, (error, behind, worst) in pools.items():
                print(f"{arch.name}, {a.pools} {kind} pools: regret > epsilon {error:.4f} "
                      f"(worst pool {worst:.2f}), best stopped as behind {behind:.4f}")  # fmt: skip
            met = f"{best['setting']} ({best['total']:.3f})" if best else "none"
            print(f"{arch.name}: recommended total {rows[0]['total']:.3f} regret "
                  f"{rows[0]['regret']:.3f} p95 {rows[0]['regret_p95']:.3f} coverage "
                  f"{rows[0]['coverage']:.3f}; cheapest meeting the target: {met}")  # fmt: skip
            for r in rows:
                met = "met" if r["target_met"] else ""
                print(f"  {r['setting']:<48} total {r['total']:.3f} regret {r['regret']:.3f} "
                      f"p95 {r['regret_p95']:.3f} cov {r['coverage']:.3f} "
                      f"stopped {r['best_stopped']:.3f} {met}")  # fmt: skip
    (out / "frontier.json").write_text(json.dumps(found, indent=1) + "\n")


if __name__ == "__main__":
    main()
