#!/usr/bin/env python3
"""Writes scenarios/replay-traffic.csv: a SYNTHETIC day of traffic compressed to 10 minutes.

Not measured anywhere: a night trough, a morning rise, a lunch bump and an evening peak,
with a little deterministic noise (a fixed linear congruential generator, no network, no
clock), so the file is the same bytes on every machine. It stands in for a rate curve
exported from a metrics system for scenarios/replay.toml.

Usage: python3 scenarios/make-replay-traffic.py > scenarios/replay-traffic.csv
"""
import math

SECONDS = 600  # one simulated day
STEP_S = 2  # one row every 2 s: 301 rows
HOUR_S = SECONDS / 24  # 25 s of simulated time per hour of the day


def logistic(x, centre, width):
    return 1.0 / (1.0 + math.exp(-(x - centre) / width))


def bump(x, centre, width):
    return math.exp(-(((x - centre) / width) ** 2))


def rate(hour):
    """Requests/s at `hour` of the day: 150 at night, ~500 by day, ~1,000 at 20:30."""
    daytime = logistic(hour, 7.5, 0.7) - logistic(hour, 22.5, 0.7)
    return 150 + 350 * daytime + 120 * bump(hour, 12.5, 0.8) + 520 * bump(hour, 20.5, 1.0)


def main():
    state = 20261201  # LCG (Numerical Recipes constants): the noise is fixed by this seed
    print("# SYNTHETIC traffic, not measured: one day compressed to 10 minutes (1 h = 25 s),")
    print("# written by scenarios/make-replay-traffic.py (deterministic; rerun it to check).")
    print("time_s,rate")
    for t in range(0, SECONDS + 1, STEP_S):
        state = (1664525 * state + 1013904223) % 2**32
        noise = 1 + 0.06 * (state / 2**32 - 0.5)  # within ±3%
        print(f"{t},{rate(t / HOUR_S) * noise:.1f}")


if __name__ == "__main__":
    main()
