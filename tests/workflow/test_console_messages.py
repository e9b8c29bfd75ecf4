"""What a user sees on the console when their config or folders are wrong, before anything runs:
the key and the path, or the file and the line (dry runs of a workflow copy)."""

import pytest
import yaml

from tests.support.workflow import copy_workflow, load_config, snakemake

ZOO = "results/demo_zoo/models"


@pytest.fixture
def workdir(tmp_path):
    return copy_workflow(tmp_path)


def config_with(workdir, **arch) -> str:
    config = load_config()
    config["architectures"] = {"mine": {**config["architectures"]["demo-bert"], **arch}}
    config["architectures"]["mine"].pop("candidates")
    config.pop("demo_zoo")
    path = workdir / "mine.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


@pytest.mark.parametrize(
    "base_path, source_path, said",
    [
        ("modles/base", "models", "architectures.mine.base_model.path: modles/base"),
        ("models/base", "modles", "architectures.mine.source.path: modles"),
    ],
    ids=["base", "source"],
)
def test_a_path_typo_is_named_with_its_key(workdir, base_path, source_path, said):
    (workdir / "models/base").mkdir(parents=True)
    path = config_with(workdir, base_model={"id": "b", "path": base_path},
                       source={"type": "local", "path": source_path})  # fmt: skip
    result = snakemake(workdir, path, "-n", check=False)
    assert result.returncode != 0
    assert f"config {said} is not a folder" in result.stdout + result.stderr


def test_an_empty_source_is_said_at_once(workdir):
    (workdir / "models/base").mkdir(parents=True)
    path = config_with(workdir, base_model={"id": "b", "path": "models/base"},
                       source={"type": "local", "path": "models"})  # fmt: skip
    result = snakemake(workdir, path, "-n", check=False)
    said = result.stdout + result.stderr
    assert "config architectures.mine.source.path: models holds no model folder besides" in said


def test_a_duplicate_key_is_named_with_file_and_line(workdir):
    text = (workdir / "config.yaml").read_text() + "\ntop_k: 7\n"
    (workdir / "twice.yaml").write_text(text)
    result = snakemake(workdir, workdir / "twice.yaml", "-n", check=False)
    assert result.returncode != 0
    first = next(i for i, line in enumerate(text.splitlines(), 1) if line.startswith("top_k:"))
    line = len(text.splitlines())
    said = result.stdout + result.stderr
    assert f"twice.yaml:{line}: duplicate key 'top_k' (first at line {first})" in said


@pytest.mark.parametrize(
    "change, said",
    [
        (
            {"baseline_seeds": [-1, 0, 1]},
            "config.baseline_seeds[0]: -1 is less than the minimum of 0",
        ),
        ({"topk": 3}, "config: Additional properties are not allowed ('topk' was unexpected)"),
        ({"racing": {"z": 1.5}}, "config.racing: Additional properties are not allowed ('z' was"),
    ],
    ids=["negative seed", "unknown key", "racing's former z"],
)
def test_a_config_off_the_schema_is_named_in_one_line(workdir, change, said):
    config = {**load_config(), **change}
    path = workdir / "off.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    result = snakemake(workdir, path, "-n", check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0 and said in output
    assert "Traceback" not in output and len(output.splitlines()) < 15


def test_a_base_path_typo_inside_the_demo_zoo_is_named(workdir):
    config = load_config()
    config["architectures"]["demo-bert"]["base_model"]["path"] = f"{ZOO}/tiny-bert-bse"
    path = workdir / "typo.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    result = snakemake(workdir, path, "-n", check=False)
    said = result.stdout + result.stderr
    assert result.returncode != 0 and "MissingInputException" not in said
    assert f"config architectures.demo-bert.base_model.path: {ZOO}/tiny-bert-bse is not a" in said


@pytest.mark.parametrize(
    "registry, said",
    [
        ("demo_x:\n  dataset: csv\n  inputs: [text\n", "mine.yaml:4:1: "),
        ("demo_x:\n  dataset: csv\n  input: [text]\n  label: label\n",
         "mine.yaml:3: task 'demo_x': unknown key 'input' (did you mean 'inputs'?"),
    ],
    ids=["malformed YAML", "unknown key"],
)  # fmt: skip
def test_a_registry_mistake_is_named_in_one_line(workdir, registry, said):
    (workdir / "mine.yaml").write_text(registry)
    config = {**load_config(), "task_registries": ["resources/tasks/demo.yaml", "mine.yaml"]}
    path = workdir / "off.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    result = snakemake(workdir, path, "-n", check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0 and said in output, output[-2000:]
    assert "Traceback" not in output and len(output.splitlines()) < 15


def test_a_regression_probe_task_is_refused_before_any_probe(workdir):
    registry = yaml.safe_load((workdir / "resources/tasks/demo.yaml").read_text())
    name = next(n for n, e in registry.items() if e.get("task_type") == "regression")
    config = {**load_config(), "probe": {**load_config()["probe"], "task": name}}
    path = workdir / "off.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    result = snakemake(workdir, path, "-n", check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert f"config probe.task: '{name}' is a regression task" in output


def test_a_failed_jobs_own_error_line_is_on_the_console(workdir):
    """The Hub cannot be reached (HF_HUB_OFFLINE in the tests): the listing job fails, and the
    console says why next to its log, not only that a command failed."""
    config = {**load_config(), "targets": ["demo_topic"]}
    config["architectures"] = {
        "hub-bert": {"base_model": {"id": "org/bert"}, "source": {"type": "hub"}}
    }
    config.pop("demo_zoo")
    path = workdir / "hub.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    result = snakemake(workdir, path, "--until", "list_candidates", check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    line = next(x for x in output.splitlines() if "list_candidates failed: " in x)
    assert line.endswith("(results/logs/list_candidates/hub-bert.log)"), line
    logged = (workdir / "results/logs/list_candidates/hub-bert.log").read_text().splitlines()
    assert [x for x in logged if x.strip()][-1].strip() in line


def test_read_only_results_are_named_before_anything_runs(workdir):
    """Results kept read-only (chmod -R a-w), then a run asked for more: named in one line."""
    path = workdir / "micro.yaml"
    path.write_text(yaml.safe_dump(load_config(), sort_keys=False))  # results_dir: results
    (workdir / "results").mkdir()
    (workdir / "results").chmod(0o555)
    try:
        result = snakemake(workdir, path, "-n", check=False)
    finally:
        (workdir / "results").chmod(0o755)
    output = result.stdout + result.stderr
    assert result.returncode != 0 and "ProtectedOutputException" not in output
    assert "results is read-only: new results, tables and pages cannot be written" in output
