"""What tests and benchmarks share: the Hub stand-in, workflow runs, recorded runs, record
fixtures."""
