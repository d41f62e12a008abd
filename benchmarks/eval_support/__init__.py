"""Support for benchmarks/eval_select.py: mining task instances, running the selectors, scoring recall."""
