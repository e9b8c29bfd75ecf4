"""Device choice, seeds and mixed precision: bf16 autocast where the GPU supports it, fp16 with a
grad scaler on older GPUs, plain fp32 on CPU; the torch settings of a probe or cell job."""

import contextlib
import random

import numpy as np
import torch


def choose_device(preference: str = "auto") -> torch.device:
    if preference == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if preference.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(f"device '{preference}' requested but CUDA is not available")
    return torch.device(preference)


def autocast_dtype(device: torch.device):
    """None means full fp32."""
    if device.type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def autocast(device: torch.device):
    dtype = autocast_dtype(device)
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


def grad_scaler(device: torch.device):
    """A scaler only for fp16 (bf16 and fp32 need none)."""
    enabled = autocast_dtype(device) == torch.float16
    return torch.amp.GradScaler(device.type, enabled=enabled)


def loader_settings(device: torch.device, threads: int) -> dict:
    """Pinned memory and worker processes pay off only when feeding a GPU."""
    if device.type == "cuda":
        return {"pin_memory": True, "num_workers": max(0, min(4, threads - 1))}
    return {"pin_memory": False, "num_workers": 0}


def describe_device(device: torch.device) -> dict:
    dtype = autocast_dtype(device)
    info = {"device": str(device), "dtype": str(dtype or torch.float32).replace("torch.", "")}
    if device.type == "cuda":
        info["gpu_name"] = torch.cuda.get_device_name(device)
    return info


def setup_job(threads: int, preference: str) -> torch.device:
    """A probe's or cell's torch settings: its thread count, deterministic algorithms where torch
    has them, and its device."""
    torch.set_num_threads(max(1, threads))
    torch.use_deterministic_algorithms(True, warn_only=True)
    return choose_device(preference)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)
