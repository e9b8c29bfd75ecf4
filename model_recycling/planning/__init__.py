"""The planning policy (plan: which folder holds a model's weights, who fetches and deletes them,
what is finetuned and what each job is told) and what a plan will cost (cost)."""
