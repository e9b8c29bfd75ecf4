#!/usr/bin/env bash
# Stop the single-node SLURM test cluster started by start_cluster.sh.
# Stops slurmd, slurmctld and (only if start_cluster.sh started it) munged.
# Bounded waits; never fails when things are already stopped.
set -uo pipefail

STATE=${SLURM_TEST_STATE:-/var/lib/slurm-test}

log() { echo "[stop_cluster] $*" >&2; }

# shellcheck source=processes.sh
source "$(dirname "${BASH_SOURCE[0]}")/processes.sh"

# stop_pidfile NAME PIDFILE: SIGTERM, wait up to 10 s, then SIGKILL
stop_pidfile() {
    local name=$1 pf=$2 pid
    if pid_alive "$pf"; then
        pid=$(cat "$pf")
        log "stopping $name (pid $pid)"
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 100); do alive "$pid" || break; sleep 0.1; done
        if alive "$pid"; then
            log "$name did not stop in 10 s: SIGKILL"
            kill -9 "$pid" 2>/dev/null || true
        fi
    fi
    rm -f "$pf"
}

if [[ -d $STATE ]]; then
    # cancel leftover jobs so that no job steps outlive the daemons
    if pid_alive "$STATE/run/slurmctld.pid" && command -v scancel >/dev/null; then
        timeout 10 scancel --full --quiet --user=root 2>/dev/null || true
    fi
    stop_pidfile slurmd "$STATE/run/slurmd.pid"
    stop_pidfile slurmctld "$STATE/run/slurmctld.pid"
    if [[ -f $STATE/run/munged.started-by-us ]]; then
        stop_pidfile munged /run/munge/munged.pid
        rm -f "$STATE/run/munged.started-by-us"
    fi
fi
exit 0
