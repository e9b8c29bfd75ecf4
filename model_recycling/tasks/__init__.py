"""Tasks as data: the registry, preparing a task into train / dev / eval files, dev sets,
subsamples and the tokenized cache."""
