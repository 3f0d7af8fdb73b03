"""The timing rule the PyTorch bench scripts share with the Rust benches
(`benches/common/mod.rs`, `median_us`): a warm-up, then one call per sample, the median."""

import statistics
import time

# Samples taken at least, even past the time budget.
MIN_REPS = 21


def median_us(fn, reps, warmup, budget_s):
    """The median wall time of `fn()` in microseconds over up to `reps` timed calls
    (fewer if they pass `budget_s` seconds, but at least `MIN_REPS`), after `warmup`
    untimed calls; and the number of timed calls."""
    for _ in range(warmup):
        fn()
    times = []
    deadline = time.perf_counter_ns() + int(budget_s * 1e9)
    while len(times) < reps:
        start = time.perf_counter_ns()
        fn()
        end = time.perf_counter_ns()
        times.append(end - start)
        if end > deadline and len(times) >= MIN_REPS:
            break
    return statistics.median(times) / 1000.0, len(times)
