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
