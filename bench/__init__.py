"""The benchmark suite (`make bench` = `python -m bench`): every figure beside its baseline, measured in one run."""
