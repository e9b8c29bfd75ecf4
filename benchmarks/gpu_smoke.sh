#!/usr/bin/env bash
# GPU smoke test: the micro demo config on the GPU(s) of this machine; prints the device, dtype
# and training throughput each GPU job recorded. Without a GPU it says so and exits 0.
#   bash benchmarks/gpu_smoke.sh            (from the repository root, after `make run` or `make test`)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH" HF_HUB_OFFLINE=1
if ! python -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"; then
    echo "gpu_smoke: no CUDA device visible to torch; nothing to measure"
    exit 0
fi
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r Snakefile config.yaml rules scripts schemas resources envs profiles model_recycling "$work"/
python - "$work" <<'PY'
import sys, yaml
config = yaml.safe_load(open("tests/support/configs/micro.yaml"))
config["device"] = "cuda"
yaml.safe_dump(config, open(f"{sys.argv[1]}/gpu.yaml", "w"))
PY
gpus=$(python -c "import torch; print(torch.cuda.device_count())")
start=$(date +%s)
(cd "$work" && snakemake --configfile gpu.yaml --cores "$(nproc)" --resources gpu="$gpus" -q)
echo "gpu_smoke: micro demo on $gpus GPU(s) in $(( $(date +%s) - start )) s"
python - "$work" <<'PY'
import json, pathlib, statistics, sys
cells = [json.loads(p.read_text()) for p in pathlib.Path(sys.argv[1]).rglob("cells/*/*/seed*.json")]
for key in sorted({(c["device"], c["dtype"], c.get("gpu_name")) for c in cells}):
    mine = [c for c in cells if (c["device"], c["dtype"], c.get("gpu_name")) == key]
    rate = statistics.median(c["train_examples_per_second"] for c in mine)
    print(f"gpu_smoke: device={key[0]} dtype={key[1]} gpu={key[2]} cells={len(mine)} "
          f"median train throughput={rate:.0f} examples/s")
print("gpu_smoke: devices claimed:", sorted({c["cuda_visible_devices"] for c in cells}))
PY
