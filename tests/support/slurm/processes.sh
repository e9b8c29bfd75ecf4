# Process checks shared by start_cluster.sh and stop_cluster.sh (sourced, not run).
# This sandbox's PID 1 does not reap orphans: a zombie counts as stopped.

# alive PID -> 0 if PID is a live (not zombie) process
alive() {
    [[ $1 =~ ^[0-9]+$ ]] && kill -0 "$1" 2>/dev/null || return 1
    local st
    st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null || true)
    [[ $st != Z && $st != X ]]
}
# pid_alive PIDFILE -> 0 if the pid file names a live process
pid_alive() { [[ -s $1 ]] && alive "$(cat "$1" 2>/dev/null)"; }
