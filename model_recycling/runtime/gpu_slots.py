"""Give each local GPU job its own device.

Snakemake's ``--resources gpu=4`` only caps how many ``gpu=1`` jobs run at once; it never says
which GPU a job should use, so without this every job lands on GPU 0. A job claims a free device
by holding an exclusive ``flock`` on ``<lock_dir>/gpu<device>.lock``. The kernel drops the lock
when the last file descriptor holding it closes, so it is released on exit, crash or ``kill -9``
and is never stale; the pid written into the file is only for humans.

Shell rules wrap GPU commands::

    python -m model_recycling.gpu_slots [--lock-dir DIR] [--timeout S] [--poll S] -- CMD ARGS...

The wrapper claims a device, sets CUDA_VISIBLE_DEVICES and then *execs* CMD: the job becomes the
lock holder itself (same pid, signals reach it directly, its exit code is the exit code), so the
device stays claimed exactly as long as the job, or any child it forked, still runs.

Lock files live at predictable paths, so they are opened defensively: never through a symlink
(O_NOFOLLOW), only a regular file with a single link, never truncated. The default lock folder is
private: created 0700 and refused when another user owns it or others may write to it. To
coordinate several users, point MODEL_RECYCLING_GPU_LOCK_DIR (or --lock-dir) at a shared folder:
one others may write to is accepted there only with the sticky bit set (``chmod 1777`` or
``chmod 3770`` for a group), so that nobody can delete or replace another user's lock file (which
would let two jobs hold "the same" lock). Lock files are created readable by all (0644): flock works
on a read-only descriptor, so another user can claim a device whose lock file someone else created.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import glob
import os
import signal
import stat
import sys
import tempfile
import time
from pathlib import Path

VISIBLE = "CUDA_VISIBLE_DEVICES"
# Set next to CUDA_VISIBLE_DEVICES by a claim, so a nested claim keeps the outer one's device.
SLOT = "MODEL_RECYCLING_GPU_SLOT"
COUNT = "MODEL_RECYCLING_GPU_COUNT"
LOCK_DIR = "MODEL_RECYCLING_GPU_LOCK_DIR"
PID_WIDTH = 12  # the pid record, always this long, so it is overwritten in place, never truncated


class UnsafeLockPath(OSError):
    """A lock folder or file that someone else could use to redirect or break our writes."""


def _log(message: str) -> None:
    print(f"gpu_slots: {message}", file=sys.stderr, flush=True)


def visible_devices(env=os.environ) -> list[str]:
    """The devices jobs may share: CUDA_VISIBLE_DEVICES, else a simulated count, else torch's."""
    if VISIBLE in env:
        devices = []
        for item in env[VISIBLE].split(","):
            item = item.strip()
            if not item or item.startswith("-"):
                break  # CUDA ignores everything from the first invalid entry ("-1" hides all)
            devices.append(item)
        return devices
    if COUNT in env:
        return [str(index) for index in range(int(env[COUNT]))]
    if not glob.glob("/dev/nvidia[0-9]*"):
        return []  # no NVIDIA device nodes: skip starting torch (seconds per job on CPU machines)
    import torch  # lazily: starting torch is slow and only needed when nothing else says

    return [str(index) for index in range(torch.cuda.device_count())]


def default_lock_dir(env=os.environ) -> Path:
    """Per user, in the temp folder; MODEL_RECYCLING_GPU_LOCK_DIR names another (maybe shared)."""
    if env.get(LOCK_DIR):
        return Path(env[LOCK_DIR])
    return Path(tempfile.gettempdir()) / f"model-recycling-gpu-locks-{os.getuid()}"


def prepare_lock_dir(lock_dir: Path, configured: bool) -> None:
    """Create lock_dir (0700) if missing, and refuse one where others could plant or remove lock
    files: a private (default) folder must be ours, a real folder, and writable by us alone; a
    configured folder may be shared, but then only with the sticky bit."""
    lock_dir.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        lock_dir.mkdir(mode=0o700)
    info = os.stat(lock_dir) if configured else os.lstat(lock_dir)
    if not stat.S_ISDIR(info.st_mode):
        raise UnsafeLockPath(f"GPU lock folder {lock_dir} is not a folder (a symlink?)")
    others_write = info.st_mode & 0o022
    if configured:
        if others_write and not info.st_mode & stat.S_ISVTX:
            raise UnsafeLockPath(
                f"shared GPU lock folder {lock_dir} is writable by others without the sticky bit "
                f"(anyone could replace a lock file); run: chmod +t {lock_dir}"
            )
        return
    if info.st_uid != os.getuid() or others_write:
        raise UnsafeLockPath(
            f"GPU lock folder {lock_dir} is owned by uid {info.st_uid} with mode "
            f"{stat.S_IMODE(info.st_mode):o}; it must be yours and writable by you alone. Remove "
            f"it, or set {LOCK_DIR} to a folder of your own"
        )


def _already_assigned(env) -> bool:
    """SLURM (or an outer claim) already chose this job's devices: use them as they are. Without
    either, a CUDA_VISIBLE_DEVICES set by hand is the pool of devices that jobs share."""
    return VISIBLE in env and ("SLURM_JOB_ID" in env or SLOT in env)


def _open_lock_file(path: Path) -> tuple[int, bool]:
    """(fd, writable) of the regular file at path, created if missing; never follows a symlink,
    never blocks (a FIFO), never truncates."""
    flags = os.O_NOFOLLOW | os.O_NONBLOCK
    try:
        fd = os.open(path, flags | os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
        os.fchmod(fd, 0o644)  # whatever the umask: others sharing the folder open it read-only
        return fd, True
    except FileExistsError:
        pass
    try:
        try:
            return os.open(path, flags | os.O_RDWR), True
        except PermissionError:  # another user's lock file in a shared folder
            return os.open(path, flags | os.O_RDONLY), False
    except OSError as err:  # ELOOP: a symlink; ENXIO: a socket
        raise UnsafeLockPath(f"refusing GPU lock file {path}: {err.strerror}") from None


def _try_lock(path: Path) -> int | None:
    """An open fd holding the exclusive lock on path, or None when someone else holds it."""
    fd, writable = _open_lock_file(path)
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
        os.close(fd)
        kind = "has other hard links" if stat.S_ISREG(info.st_mode) else "is not a regular file"
        raise UnsafeLockPath(f"refusing GPU lock file {path}: it {kind}")
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    # For humans: who holds it. Only into our own lock file, and only over an earlier record of
    # the same length, so nothing else that may be in the file is ever overwritten.
    if writable and info.st_uid == os.getuid() and info.st_size in (0, PID_WIDTH):
        os.pwrite(fd, f"{os.getpid()}".ljust(PID_WIDTH - 1).encode() + b"\n", 0)
    return fd


def _acquire(devices, lock_dir: Path, poll_seconds, timeout, log) -> tuple[str, int]:
    """Poll until some device's lock is free: waiting is better than sharing a GPU."""
    deadline = None if timeout is None else time.monotonic() + timeout
    waited = False
    while True:
        for device in devices:
            fd = _try_lock(lock_dir / f"gpu{device.replace('/', '_')}.lock")
            if fd is not None:
                if waited:
                    log(f"GPU {device} is free now")
                return device, fd
        if deadline is not None and time.monotonic() >= deadline:
            raise TimeoutError(f"no free GPU among {','.join(devices)} after {timeout} s")
        if not waited:
            log(f"all GPUs ({','.join(devices)}) are busy; waiting (locks in {lock_dir})")
            waited = True
        time.sleep(poll_seconds)


def _claim(env, lock_dir, poll_seconds, timeout, log) -> tuple[str | None, int | None]:
    """(device, lock fd); the fd is None when nothing had to be claimed."""
    if _already_assigned(env):
        return env[VISIBLE] or None, None
    devices = visible_devices(env)
    if not devices:
        return None, None  # a CPU machine: nothing to share
    configured = bool(lock_dir or env.get(LOCK_DIR))
    lock_dir = Path(lock_dir) if lock_dir else default_lock_dir(env)
    prepare_lock_dir(lock_dir, configured)
    return _acquire(devices, lock_dir, poll_seconds, timeout, log)


@contextlib.contextmanager
def claim_gpu(lock_dir=None, env=os.environ, poll_seconds=0.5, timeout=None, log=_log):
    """Hold a free GPU for the duration of the block and yield its CUDA_VISIBLE_DEVICES value.

    Sets CUDA_VISIBLE_DEVICES in env (os.environ by default) inside the block and restores it
    after. Yields the scheduler's value unchanged when SLURM already assigned devices, and None
    without any GPU. The lock fd is not inherited by subprocesses: a process that must keep the
    device while a child runs should use the command line wrapper instead.
    Raises TimeoutError when no device frees up within timeout seconds (None: wait forever), and
    UnsafeLockPath for a lock folder or file that is not safe to use (see the module's doc).
    """
    device, fd = _claim(env, lock_dir, poll_seconds, timeout, log)
    if fd is None:
        yield device
        return
    saved = {name: env.get(name) for name in (VISIBLE, SLOT)}
    env[VISIBLE] = env[SLOT] = device
    try:
        yield device
    finally:
        for name, value in saved.items():
            if value is None:
                env.pop(name, None)
            else:
                env[name] = value
        os.close(fd)


def main(argv=None) -> int:
    """Claim a GPU, then exec the command; returns only when that fails."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = argparse.ArgumentParser(
        prog="python -m model_recycling.gpu_slots",
        usage="%(prog)s [--lock-dir DIR] [--timeout S] [--poll S] -- COMMAND [ARGS...]",
        description="Run COMMAND on a GPU no other wrapped job is using.",
    )
    parser.add_argument("--lock-dir", help="default: $MODEL_RECYCLING_GPU_LOCK_DIR or a temp dir")
    parser.add_argument("--timeout", type=float, help="give up after S seconds of waiting")
    parser.add_argument("--poll", type=float, default=0.5, help="seconds between checks")
    split = argv.index("--") if "--" in argv else len(argv)
    args = parser.parse_args(argv[:split])
    command = argv[split + 1 :]
    if not command:
        parser.error("give the command to run after --")

    try:
        device, fd = _claim(os.environ, args.lock_dir, args.poll, args.timeout, _log)
    except (TimeoutError, UnsafeLockPath) as error:
        _log(str(error))
        return 1
    if fd is not None:
        # Exec rather than a subprocess: the lock fd survives exec, so the job itself holds the
        # claim and there is no wrapper that could be killed while its job runs on. Children the
        # job forks inherit the fd too, so the device stays claimed until the last of them exits.
        os.set_inheritable(fd, True)
        os.environ[VISIBLE] = os.environ[SLOT] = device
        _log(f"running on GPU {device}")
    # Python ignores these at startup and exec would pass that on; subprocess resets them too.
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    signal.signal(signal.SIGXFSZ, signal.SIG_DFL)
    try:
        os.execvp(command[0], command)
    except OSError as error:
        _log(f"cannot run {command[0]}: {error}")
        return 127 if isinstance(error, FileNotFoundError) else 126


if __name__ == "__main__":
    sys.exit(main())
