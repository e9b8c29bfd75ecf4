"""`python -m model_recycling.gpu_slots`, the wrapper the rules' shell commands name; the code is
model_recycling/runtime/gpu_slots.py. The name stays because Snakemake reruns a finished job when
its rule's shell command or params change: results made before the package was grouped by
stage stay valid."""

import sys

from model_recycling.runtime.gpu_slots import main

if __name__ == "__main__":
    sys.exit(main())
