#!/usr/bin/env bash
# Start a single-node SLURM test cluster on localhost (idempotent, run as root).
#
# - needs the Debian packages slurm-wlm and munge (the tests install them when asked to),
# - starts munged (only if no munged is answering already),
# - writes /etc/slurm/{slurm,gres}.conf for one node named `hostname -s` that
#   advertises 2 count-only GPUs backed by fake character devices
#   /dev/fakegpu0 and /dev/fakegpu1 (so slurmd exports CUDA_VISIBLE_DEVICES),
# - starts slurmctld and slurmd with logs/pids/state under $SLURM_TEST_STATE,
# - waits (bounded) until `sinfo` reports the node idle.
#
# Environment knobs:
#   SLURM_TEST_STATE   state folder (default /var/lib/slurm-test)
#   SLURM_TEST_GPUS    number of fake GPUs (default 2)
#   SLURM_TEST_TIMEOUT seconds to wait for the node to become idle (default 60)
set -euo pipefail

STATE=${SLURM_TEST_STATE:-/var/lib/slurm-test}
NGPUS=${SLURM_TEST_GPUS:-2}
TIMEOUT=${SLURM_TEST_TIMEOUT:-60}
CONF_DIR=/etc/slurm

log() { echo "[start_cluster] $*" >&2; }
die() {
    log "ERROR: $*"
    for f in "$STATE"/log/slurmctld.log "$STATE"/log/slurmd.log /var/log/munge/munged.log; do
        if [[ -f $f ]]; then
            echo "----- last lines of $f -----" >&2
            tail -n 40 "$f" >&2 || true
        fi
    done
    exit 1
}

[[ $(id -u) -eq 0 ]] || die "must run as root"

# ---------------------------------------------------------------- packages
# Installed by the tests only when asked to (tests/support/common.py: install_or_skip).
PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin
for tool in slurmctld slurmd sinfo munged munge; do
    command -v "$tool" >/dev/null \
        || die "$tool is missing: install slurm-wlm and munge (make test INSTALL_SYSTEM=1 does)"
done

mkdir -p "$STATE"/{log,run,ctld,spool}

# shellcheck source=processes.sh
source "$(dirname "${BASH_SOURCE[0]}")/processes.sh"

# ---------------------------------------------------------------- munge
if [[ ! -s /etc/munge/munge.key ]]; then
    log "creating munge key"
    mkdir -p /etc/munge
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
fi
chown munge:munge /etc/munge /etc/munge/munge.key
chmod 700 /etc/munge
chmod 400 /etc/munge/munge.key
install -d -o munge -g munge -m 755 /run/munge
install -d -o munge -g munge -m 700 /var/lib/munge /var/log/munge

if ! munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1; then
    log "starting munged"
    rm -f /run/munge/munged.pid
    # munged runs as the munge user and logs to /var/log/munge/munged.log
    runuser -u munge -- /usr/sbin/munged 2>/dev/null \
        || runuser -u munge -- /usr/sbin/munged --force \
        || die "munged failed to start"
    echo started >"$STATE/run/munged.started-by-us"
    for _ in $(seq 50); do
        munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1 && break
        sleep 0.1
    done
    munge -n </dev/null | unmunge >/dev/null || die "munge does not work"
fi

# ---------------------------------------------------------------- config
NODE=$(hostname -s)
NCPUS=$(nproc)
MEM_MB=$(awk '/^MemTotal:/ {print int($2 / 1024)}' /proc/meminfo)
REALMEM=$((MEM_MB * 9 / 10))
LAST_GPU=$((NGPUS - 1))

for i in $(seq 0 "$LAST_GPU"); do
    # same major/minor as /dev/null: harmless to open, but a real char device
    [[ -c /dev/fakegpu$i ]] || { rm -f "/dev/fakegpu$i"; mknod -m 666 "/dev/fakegpu$i" c 1 3; }
done

mkdir -p "$CONF_DIR"
tmpconf=$(mktemp -d)
trap 'rm -rf "$tmpconf"' EXIT

cat >"$tmpconf/slurm.conf" <<EOF
# Written by tests/support/slurm/start_cluster.sh -- single-node test cluster.
ClusterName=testcluster
SlurmctldHost=${NODE}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
SwitchType=switch/none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
ReturnToService=2
SlurmctldPort=6817
SlurmdPort=6818
StateSaveLocation=${STATE}/ctld
SlurmdSpoolDir=${STATE}/spool
SlurmctldPidFile=${STATE}/run/slurmctld.pid
SlurmdPidFile=${STATE}/run/slurmd.pid
SlurmctldLogFile=${STATE}/log/slurmctld.log
SlurmdLogFile=${STATE}/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=5
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
GresTypes=gpu
# no accounting database
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MailProg=/bin/true
# keep finished jobs visible to squeue for a while (snakemake's squeue status check)
MinJobAge=900
InactiveLimit=0
KillWait=5
Waittime=0
SlurmdTimeout=300
NodeName=${NODE} NodeAddr=127.0.0.1 CPUs=${NCPUS} RealMemory=${REALMEM} Gres=gpu:${NGPUS} State=UNKNOWN
PartitionName=debug Nodes=${NODE} Default=YES MaxTime=INFINITE State=UP
EOF

cat >"$tmpconf/gres.conf" <<EOF
# Written by tests/support/slurm/start_cluster.sh -- fake GPUs (char devices like /dev/null).
AutoDetect=off
NodeName=${NODE} Name=gpu File=/dev/fakegpu[0-${LAST_GPU}]
EOF

changed=0
for f in slurm.conf gres.conf; do
    if ! cmp -s "$tmpconf/$f" "$CONF_DIR/$f"; then
        install -m 644 "$tmpconf/$f" "$CONF_DIR/$f"
        changed=1
    fi
done

# ---------------------------------------------------------------- daemons
stop_pidfile() {
    local pf=$1
    if pid_alive "$pf"; then
        kill "$(cat "$pf")" 2>/dev/null || true
        for _ in $(seq 100); do pid_alive "$pf" || break; sleep 0.1; done
        pid_alive "$pf" && kill -9 "$(cat "$pf")" 2>/dev/null || true
    fi
    rm -f "$pf"
}

if [[ $changed -eq 1 ]]; then
    log "configuration changed: (re)starting daemons"
    stop_pidfile "$STATE/run/slurmd.pid"
    stop_pidfile "$STATE/run/slurmctld.pid"
fi

if ! pid_alive "$STATE/run/slurmctld.pid"; then
    log "starting slurmctld"
    # -c: start from a clean state (no stale jobs / node states from earlier runs)
    /usr/sbin/slurmctld -c || die "slurmctld failed to start"
fi
if ! pid_alive "$STATE/run/slurmd.pid"; then
    log "starting slurmd"
    /usr/sbin/slurmd || die "slurmd failed to start"
fi

# ---------------------------------------------------------------- wait for idle
started=$SECONDS
deadline=$((SECONDS + TIMEOUT))
state=""
while ((SECONDS < deadline)); do
    state=$(sinfo -h -N -n "$NODE" -o '%t' 2>/dev/null | head -n1 || true)
    case $state in
        idle | mix | alloc) break ;;
        down* | drain* | drng* | fail*)
            # a leftover down state: ask slurmctld to resume the node
            scontrol update NodeName="$NODE" State=RESUME >/dev/null 2>&1 || true ;;
    esac
    if ((SECONDS > started + 5)); then  # pid files are written after daemonizing
        pid_alive "$STATE/run/slurmctld.pid" || die "slurmctld is not running"
        pid_alive "$STATE/run/slurmd.pid" || die "slurmd is not running"
    fi
    sleep 0.5
done
case $state in
    idle | mix | alloc) ;;
    *)
        sinfo -N -l >&2 || true
        scontrol show node "$NODE" >&2 || true
        die "node $NODE not idle after ${TIMEOUT}s (state: '${state:-unknown}')" ;;
esac
log "cluster up: node $NODE is $state ($(sinfo -h -N -n "$NODE" -o '%G'))"
