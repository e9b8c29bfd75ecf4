"""The planning policy (planning/plan.py) on small configs, without Snakemake: where weights live,
who fetches and deletes them, what each job is told, what is finetuned."""

import pytest

from model_recycling.listing.candidates import Candidate
from model_recycling.planning import plan
from model_recycling.settings import fill_defaults

HUB = "https://hub.example"
SHA = "a" * 40


def config(**overrides) -> dict:
    """A Hub architecture and a local one, the schema's defaults filled in."""
    base = {
        "task_registries": ["r.yaml"],
        "architectures": {
            "hub": {"base_model": {"id": "org/base"}, "source": {"type": "hub", "endpoint": HUB}},
            "local": {
                "base_model": {"id": "tiny", "path": "zoo/tiny"},
                "source": {"type": "local", "path": "zoo"},
                "top_k": 1,
                "calibration_k": 0,
            },
        },
        "probe": {"task": "p"},
        "targets": ["t1", "t2", "t3"],
        "top_k": 2,
        "calibration_k": 1,
        "seeds": [0],
        "baseline_seeds": [0, 1],
        "finetune": {},
        "results_dir": "results",
    }
    return fill_defaults({**base, **overrides})


HUB_ROW = Candidate("org/ft", SHA, "hub")
LOCAL_ROW = Candidate("ft", "content-1", "local", path="zoo/ft")


def test_folders_of_bases_and_candidates():
    c = config()
    assert plan.weights_folder(c, "local", "tiny", "auto") == "zoo/tiny"
    assert plan.weights_folder(c, "hub", "org~2fbase", SHA) == f"results/models/org~2fbase/{SHA}"
    assert plan.weights_folder(c, "local", "ft", "content-1", LOCAL_ROW) == "zoo/ft"
    assert (
        plan.weights_folder(c, "hub", "org~2fft", SHA, HUB_ROW) == f"results/models/org~2fft/{SHA}"
    )
    assert plan.scratch_folder(c, "org~2fft", SHA) == f"results/fetching/org~2fft/{SHA}"


def test_revisions_of_bases():
    c = config()
    assert plan.base_revision(c, "local", None) == "auto"  # the folder's hash, at run time
    assert plan.base_revision(c, "hub", SHA) == SHA  # what the listing resolved
    c["architectures"]["local"]["base_model"]["revision"] = "v1"
    assert plan.base_revision(c, "local", None) == "v1"


def test_who_keeps_fetches_and_deletes_weights():
    c = config()
    assert plan.keeps_weights(c, None) and plan.keeps_weights(c, LOCAL_ROW)  # base, local folder
    assert not plan.keeps_weights(c, HUB_ROW)
    assert plan.fetches_in_probe(c, HUB_ROW, downloaded=False)
    assert not plan.fetches_in_probe(c, HUB_ROW, downloaded=True)  # a host download stays input
    assert not plan.fetches_in_probe(c, LOCAL_ROW, downloaded=False)
    host = config(downloads={"fetch": "host"})
    assert not plan.fetches_in_probe(host, HUB_ROW, downloaded=False)
    keep = config(downloads={"keep_unselected": True})
    assert plan.keeps_weights(keep, HUB_ROW) and not plan.fetches_in_probe(keep, HUB_ROW, False)


def test_a_selected_candidate_whose_weights_are_gone_is_fetched_again():
    c, folder = config(), f"results/models/org~2fft/{SHA}"
    again = f"results/selected/org~2fft/{SHA}"
    assert plan.finetune_weights_folder(c, folder, HUB_ROW, SHA, usable=False) == again
    assert plan.finetune_weights_folder(c, folder, HUB_ROW, SHA, usable=True) == folder
    assert plan.finetune_weights_folder(c, "zoo/ft", LOCAL_ROW, "content-1", False) == "zoo/ft"
    assert plan.finetune_weights_folder(c, "zoo/tiny", None, "auto", False) == "zoo/tiny"


def test_probe_options_fetch_or_delete_with_what_fetching_needs():
    c = config()
    assert (
        plan.probe_weight_options(c, "hub", HUB_ROW, has_input=False) == f"--fetch --endpoint {HUB}"
    )
    deleting = plan.probe_weight_options(c, "hub", HUB_ROW, has_input=True)
    assert deleting == f"--delete-weights --endpoint {HUB}"
    assert plan.probe_weight_options(c, "local", LOCAL_ROW, has_input=True) == ""
    c["architectures"]["hub"]["source"]["allow_pickle"] = True
    c["downloads"]["disk_budget_gb"] = 20
    options = plan.probe_weight_options(c, "hub", HUB_ROW, has_input=False)
    ledger = "results/downloads/ledger.json"
    assert (
        options
        == f"--fetch --endpoint {HUB} --allow-pickle --disk-budget-gb 20 --disk-ledger {ledger}"
    )


def test_only_downloads_for_probing_count_against_the_budget():
    c = config(downloads={"disk_budget_gb": 5})
    assert plan.download_budget_options(c, "models", "org~2fft").startswith("--disk-budget-gb 5")
    assert plan.download_budget_options(c, "models", "org~2fbase") == ""  # the base
    assert plan.download_budget_options(c, "selected", "org~2fft") == ""  # kept for its cells
    assert plan.download_budget_options(config(), "models", "org~2fft") == ""  # no budget


def test_downloads_use_the_source_that_listed_the_model():
    c = config()
    base = plan.download_source(c, "org~2fbase", {})
    assert base["endpoint"] == HUB and base["allow_pickle"]  # the configured base is trusted
    assert plan.download_source(c, "org~2fft", {"hub": {"org~2fft": HUB_ROW}})["endpoint"] == HUB
    assert not plan.download_source(c, "org~2fft", {"hub": {"org~2fft": HUB_ROW}})["allow_pickle"]
    assert plan.download_source(c, "unknown", {"hub": {}}) == {}


def test_what_is_finetuned():
    c = config()
    assert (plan.top_k(c, "hub"), plan.calibration_k(c, "hub")) == (2, 1)
    assert (plan.top_k(c, "local"), plan.calibration_k(c, "local")) == (1, 0)  # overrides
    baseline = plan.baseline_cells(c, "local")
    assert (
        len(baseline) == 3 * 2
        and "results/architectures/local/cells/tiny/t1/seed1.json" in baseline
    )
    cells = plan.candidate_cells(c, "hub", ["org~2fft"])
    assert cells == [f"results/architectures/hub/cells/org~2fft/t{i}/seed0.json" for i in (1, 2, 3)]
    assert plan.finetuned_count(c, "hub", usable=10) == 3 and plan.finetuned_count(c, "hub", 2) == 2


@pytest.mark.parametrize(
    "downloads, download_jobs, downloads_in_all",
    [
        ({}, 1 + 3, 1 + 10 + 3),  # fetch: probe: the base and the 3 selected fetched again
        ({"fetch": "host"}, 1 + 10 + 3, 1 + 10 + 3),
        ({"keep_unselected": True}, 1 + 10, 1 + 10),  # every download kept: none again
    ],
)
def test_job_counts_of_a_first_run(downloads, download_jobs, downloads_in_all):
    c = config(downloads=downloads)
    rows = [Candidate(f"org/ft{i}", SHA, "hub") for i in range(10)]
    counts = plan.job_counts(c, "hub", rows)
    assert counts["download_jobs"] == download_jobs and counts["downloads"] == downloads_in_all
    assert counts["probes"] == 10 and counts["baseline_cells"] == 3 * 2
    assert counts["candidate_cells"] == 3 * 1 * (2 + 1)
    local = plan.job_counts(c, "local", [LOCAL_ROW])
    assert local["downloads"] == local["download_jobs"] == 0 and local["candidate_cells"] == 3


def test_each_config_writes_its_own_results_folder():
    assert plan.resolve_results_dir({}, ["configs/hub.yaml"]) == "results/hub"
    assert plan.resolve_results_dir({}, ["a/b.yaml", "my.yaml"]) == "results/my"  # the last one
    assert plan.resolve_results_dir({"results_dir": "out/x"}, ["my.yaml"]) == "out/x"
    c = config(results_dir="results/mine")
    assert plan.listing_file(c, "hub") == "results/mine/architectures/hub/candidates.tsv"
    assert plan.baseline_cells(c, "local")[0].startswith("results/mine/architectures/local/cells/")
    assert plan.ledger(c) == "results/mine/downloads/ledger.json"


def test_adaptive_seeds_and_racing_are_opt_in():
    plain = config()
    assert plan.adaptive_seeds(plain) is None and plan.racing(plain) is None
    assert plan.first_baseline_seeds(plain) == [0, 1] == [*range(plan.most_baseline_seeds(plain))]
    ruled = config(baseline_seeds={"min": 3, "max": 9}, racing={"first_round": 2})
    assert plan.adaptive_seeds(ruled) == {"min": 3, "max": 9, "step": 3, "target_se": 1.0}
    assert plan.first_baseline_seeds(ruled) == [0, 1, 2] and plan.most_baseline_seeds(ruled) == 9
    # every task's first round is planned at once; the counts give the most it can run
    assert len(plan.baseline_cells(ruled, "hub")) == 3 * 3
    assert plan.job_counts(ruled, "hub", [HUB_ROW])["baseline_cells"] == 3 * 9
    assert plan.racing(ruled) == {"first_round": 2, "round": 4, "confidence": 0.95,
                                  "epsilon": 0.2, "seed": 0, "finite": True}  # fmt: skip
    # a seeded order of the targets, the same whatever order the config lists them in
    assert sorted(plan.race_order(ruled)) == ["t1", "t2", "t3"]
    assert plan.race_order(config(targets=["t3", "t1", "t2"], racing={})) == plan.race_order(
        config(racing={})
    )
    assert plan.race_points(ruled) == [2, 3]
    assert plan.race_round_file(ruled, "hub", 1).endswith("hub/rounds/racing/round1.json")
    assert plan.baseline_seeds_file(ruled, "hub", "t1").endswith("rounds/baseline/t1/seeds.json")


def test_an_architecture_may_set_its_own_baseline_target_se():
    ruled = config(baseline_seeds={"min": 3, "max": 9})
    ruled["architectures"]["local"]["baseline_target_se"] = 4.0
    assert plan.adaptive_seeds(ruled, "local")["target_se"] == 4.0
    assert (
        plan.adaptive_seeds(ruled, "hub")["target_se"]
        == 1.0
        == plan.adaptive_seeds(ruled)["target_se"]
    )
    assert plan.adaptive_seeds(config(), "local") is None  # a list of seeds: no rule to loosen


def test_the_baseline_rounds_walk_to_the_decision_that_says_no_more():
    ruled = config(baseline_seeds={"min": 3, "max": 9})
    decisions = {"r0": {"more": True, "seeds": [0, 1, 2, 3, 4, 5]},
                 "r1": {"more": False, "seeds": [0, 1, 2, 3, 4, 5]}}  # fmt: skip
    done = {0: "r0", 1: "r1"}
    seeds, files = plan.walk_baseline_rounds(ruled, done.get, decisions.__getitem__)
    assert seeds == [0, 1, 2, 3, 4, 5] and files == ["r0", "r1"]
    # only the first round decided so far: its seeds, and no wait for the next
    seeds, files = plan.walk_baseline_rounds(ruled, {0: "r0"}.get, decisions.__getitem__)
    assert seeds == [0, 1, 2, 3, 4, 5] and files == ["r0"]
    assert plan.walk_baseline_rounds(ruled, {}.get, decisions.__getitem__) == ([0, 1, 2], [])


def test_the_race_walk_asks_each_rounds_racers_up_to_its_checkpoint():
    ruled = config(racing={"first_round": 2})
    order = plan.race_order(ruled)  # checkpoints after 2 and 3 tasks
    decisions = {"r0": {"racing": ["b"]}, "r1": {"racing": []}}
    cells, files = plan.walk_race(ruled, "hub", ["a", "b"], {0: "r0", 1: "r1"}.get,
                                  decisions.__getitem__)  # fmt: skip
    assert files == ["r0", "r1"]
    expected = plan.cells(ruled, "hub", ["a", "b"], order[:2], [0])
    expected += plan.cells(ruled, "hub", ["b"], order[2:3], [0])
    assert sorted(cells) == sorted(expected)
    assert plan.walk_race(ruled, "hub", [], {}.get, decisions.__getitem__) == ([], [])
