"""Running the workflow: the plan, job guards, GPU slots, resuming, archives and the cost
estimate."""
