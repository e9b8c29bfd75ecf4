"""Paths and tiny model shapes the tests share, and installing Debian packages for the system
tests."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEV_HOLDOUT = {"large_threshold": 10000, "large_size": 1000, "small_fraction": 0.1}
TINY_MODEL = {
    "model_type": "bert",
    "hidden_size": 32,
    "num_hidden_layers": 1,
    "num_attention_heads": 2,
    "intermediate_size": 64,
    "max_position_embeddings": 48,
}
TINY_T5 = {
    "model_type": "t5",
    "d_model": 32,
    "d_kv": 8,
    "d_ff": 64,
    "num_layers": 1,
    "num_decoder_layers": 1,
    "num_heads": 4,
}
# Tests install Debian packages as root when missing (SLURM, podman, chromium); the two pytest
# workers may do so at once, and apt-get takes its locks without waiting: one at a time.
APT_LOCK = "/run/model-recycling-test-apt.lock"


def apt_get(*args) -> list:
    """The apt-get command line that waits for the other installs (ours and anyone's)."""
    return ["flock", APT_LOCK, "apt-get", "-o", "DPkg::Lock::Timeout=600", *args]
