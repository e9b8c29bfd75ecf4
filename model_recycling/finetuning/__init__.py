"""Stage 4, finetuning: the one training loop and the cell job."""
