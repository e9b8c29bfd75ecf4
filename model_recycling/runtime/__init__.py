"""Running the workflow: job guards, GPU slots, resuming a killed run, orphaned jobs, what the
console says at the end, and run archives."""
