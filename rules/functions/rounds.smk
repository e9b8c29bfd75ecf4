# The rounds stage's input and params functions (its rules: rules/rounds.smk).


def baseline_rounds(arch, task):
    """Every round of the task's baseline: waits on the next round (a checkpoint), so only the
    rule of one task's final seeds asks."""

    def round_file(n):
        return checkpoints.baseline_round.get(arch=arch, task=task, round=n).output[0]

    return plan.walk_baseline_rounds(config, round_file, read_json)


def baseline_round_rule(wildcards):
    """What a baseline round applies: the config's seeds rule, at the architecture's
    baseline_target_se where it sets one (others keep their rounds' params)."""
    target_se = plan.baseline_target_se(config, wildcards.arch)
    configured = RECORDED["baseline_seeds"]
    return as_json({**configured, "target_se": target_se} if target_se else configured)


def decided_baseline_seeds(arch, task):
    """The seeds of the rounds decided so far, from their files, never waiting: for the inputs
    that list every cell (a deleted cell is made again)."""

    def round_file(n):
        path = plan.baseline_round_file(config, arch, task, n)
        return path if os.path.exists(path) else None

    return plan.walk_baseline_rounds(config, round_file, read_json)[0]


def baseline_round_seeds(arch, task, round_):
    """The seeds a baseline round reads: the first round's, then what the last one asked."""
    if round_ == 0:
        return plan.first_baseline_seeds(config)
    previous = checkpoints.baseline_round.get(arch=arch, task=task, round=round_ - 1)
    return read_json(previous.output[0])["seeds"]


def seeds_files(arch, tasks):
    """With adaptive seeds, the tasks' final seeds files (else none)."""
    if not plan.adaptive_seeds(config):
        return []
    return [plan.baseline_seeds_file(config, arch, task) for task in tasks]


def calibration_only(arch):
    """The calibration sample: it runs every task (it measures the probe, so it never races)."""
    path = checkpoints.select.get(arch=arch).output.selection
    rows = read_selection(path)
    return [r["safe_name"] for r in rows if finetuned(r) and r["selected"] != "yes"]


def racers(arch):
    """The candidates the probe selected: they race."""
    path = checkpoints.select.get(arch=arch).output.selection
    return [r["safe_name"] for r in read_selection(path) if r["selected"] == "yes"]


def race_round_tasks(round_):
    """The tasks of the order a racing round decides on: those up to its checkpoint."""
    return plan.race_order(config)[: plan.race_points(config)[round_]]


def race_round_cells(wildcards):
    """A racing round reads its racers' cells up to its checkpoint (and, below, the baseline's
    seeds of those tasks)."""
    round_ = int(wildcards.round)
    if round_ == 0:
        racing = racers(wildcards.arch)
    else:
        previous = checkpoints.race_round.get(arch=wildcards.arch, round=round_ - 1)
        racing = read_json(previous.output[0])["racing"]
    tasks = race_round_tasks(round_)
    return plan.cells(config, wildcards.arch, racing, tasks, config["seeds"])


def race(arch):
    """(the racing cells asked for so far, the round files so far): waits on each round."""

    def round_file(n):
        return checkpoints.race_round.get(arch=arch, round=n).output[0]

    return plan.walk_race(config, arch, racers(arch), round_file, read_json)


def round_files(arch):
    """What the tables read besides the cells: each task's final baseline seeds and the last
    racing round (none without the rules)."""
    files = seeds_files(arch, config["targets"])
    return files + (race(arch)[1][-1:] if plan.racing(config) else [])


def round_options(wildcards, input):
    """The aggregate's --baseline-rounds and --racing, from its `rounds` input: derived, so not
    rerun triggers (a run without the rules gets none)."""
    seeds = [f for f in input.rounds if os.path.basename(f) == "seeds.json"]
    racing = [f for f in input.rounds if os.path.basename(f) != "seeds.json"]
    options = ["--baseline-rounds", *seeds] if seeds else []
    return shlex.join(options + (["--racing", *racing] if racing else []))
