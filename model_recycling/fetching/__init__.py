"""Getting candidates' weights: downloads, the disk and its budget, and a probe's weights from
fetch to deletion."""
