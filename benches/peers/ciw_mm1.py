#!/usr/bin/env python3
"""The M/M/1 of the README's peer table in Ciw 3.2 (benches/peers/run.sh runs it).

The same model as benches/mm1_limit.rs (the bare loop), benches/mm1-800.toml (meshsim) and
benches/simpy_mm1.py: arrivals at lambda = 800/s, exponential service of 1 ms mean, one
server, FIFO, written the way Ciw's documentation writes a queue: a network of one node,
`simulate_until_max_time`, then the records. The mean time in system (exit date minus
arrival date of every customer served) is printed beside M/M/1 theory W = 1 / (mu - lambda)
= 5 ms so that a wrong model cannot pass for a fast one. Ciw keeps a record of every
customer, so its memory grows with the run (about 1.2 GiB at 2,000 simulated seconds): give
it a shorter run, the rate per customer is what is compared.

Usage: ciw_mm1.py [SIMULATED_SECONDS] (default 2000, ~1.6 M customers). It prints customers,
the mean, the CPU seconds of the simulation and the records (process time) and customers per
CPU second.
"""

import sys
import time

import ciw

LAMBDA_PER_S = 800.0
MU_PER_S = 1000.0


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 2000.0
    network = ciw.create_network(
        arrival_distributions=[ciw.dists.Exponential(rate=LAMBDA_PER_S)],
        service_distributions=[ciw.dists.Exponential(rate=MU_PER_S)],
        number_of_servers=[1],
    )
    ciw.seed(1)
    start = time.process_time()
    sim = ciw.Simulation(network)
    sim.simulate_until_max_time(seconds)
    records = sim.get_all_records(only=["service"])
    customers = len(records)
    total_s = sum(r.exit_date - r.arrival_date for r in records)
    cpu_s = time.process_time() - start
    # The mean of no customers is absent, not 0.
    mean_ms = f"{total_s / customers * 1e3:.3f}" if customers else "-"
    theory_ms = 1e3 / (MU_PER_S - LAMBDA_PER_S)
    print(
        f"ciw={ciw.__version__} customers={customers} mean_ms={mean_ms} "
        f"theory_ms={theory_ms:.3f} cpu_s={cpu_s:.2f} "
        f"customers_per_cpu_s={customers / max(cpu_s, 1e-9):.0f}"
    )


if __name__ == "__main__":
    main()
