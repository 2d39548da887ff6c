#!/usr/bin/env python3
"""The M/M/1 of the speed comparisons in SimPy 4, so anyone can rerun meshsim against it.

The same model as benches/mm1_limit.rs (the bare loop) and benches/mm1-800.toml (meshsim):
arrivals at lambda = 800/s, exponential service of 1 ms mean, one server, FIFO, a running
mean of the time in system, printed beside M/M/1 theory W = 1 / (mu - lambda) = 5 ms so a
wrong model cannot pass for a fast one. Written the way SimPy's documentation writes a
queue: a source process, a Resource of capacity 1, one process per customer.

SimPy is needed only for this benchmark, not for meshsim or its tests; install it where it
cannot disturb anything, e.g.

    python3 -m venv /tmp/simpy-venv && /tmp/simpy-venv/bin/pip install 'simpy>=4,<5'
    /tmp/simpy-venv/bin/python benches/simpy_mm1.py 200

Usage: simpy_mm1.py [SIMULATED_SECONDS] (default 2000, ~1.6 M customers; 200 is enough to
compare rates). It prints customers, the mean, the CPU seconds of the simulation (process
time, which the machine's other load does not inflate as much as wall time) and customers
per CPU second.
"""

import random
import sys
import time

import simpy

LAMBDA_PER_S = 800.0
MU_PER_S = 1000.0


class Stats:
    """The running mean of the time in system."""

    def __init__(self):
        self.customers = 0
        self.mean_s = 0.0

    def add(self, sojourn_s):
        self.customers += 1
        self.mean_s += (sojourn_s - self.mean_s) / self.customers


def customer(env, server, rng, stats):
    arrived = env.now
    with server.request() as req:
        yield req
        yield env.timeout(rng.expovariate(MU_PER_S))
    stats.add(env.now - arrived)


def source(env, server, rng, stats):
    while True:
        yield env.timeout(rng.expovariate(LAMBDA_PER_S))
        env.process(customer(env, server, rng, stats))


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 2000.0
    rng = random.Random(1)
    env = simpy.Environment()
    server = simpy.Resource(env, capacity=1)
    stats = Stats()
    env.process(source(env, server, rng, stats))
    start = time.process_time()
    env.run(until=seconds)
    cpu_s = time.process_time() - start
    # The mean of no customers is absent, not 0.
    mean_ms = f"{stats.mean_s * 1e3:.3f}" if stats.customers else "-"
    print(
        f"simpy={simpy.__version__} customers={stats.customers} mean_ms={mean_ms} "
        f"theory_ms={1e3 / (MU_PER_S - LAMBDA_PER_S):.3f} cpu_s={cpu_s:.2f} "
        f"customers_per_cpu_s={stats.customers / max(cpu_s, 1e-9):.0f}"
    )


if __name__ == "__main__":
    main()
