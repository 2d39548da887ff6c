#!/usr/bin/env python3
"""The README's peer table: meshsim and its peers on one M/M/1, side by side, in one run.

benches/peers/run.sh sets the peers up and calls this script (Python 3.9 or later, standard
library only). Every program simulates the same model — lambda = 800/s, exponential service
of 1 ms mean, one server, FIFO — and prints the customers it served and their mean time in
system; this script

1. checks that each served the customers that arrive in its simulated time (a Poisson count,
   within four standard deviations) and that their mean is M/M/1's, W = 1 / (mu - lambda) =
   5 ms, within four standard errors (below), and stops if one is off: a peer doing less
   work must not look faster;
2. times every program as a whole process — user + system CPU seconds of the finished child
   (getrusage through wait4), which the machine's other load inflates far less than wall
   time — over several rounds, each round running every program once, the order rotated from
   round to round so that no program always runs first; one warm-up round first,
   not counted. customers/s is the customers over the median CPU time; "meshsim is N x
   faster" is the median over the rounds of the ratio of the two CPU times per customer in
   that round (pairing keeps the ratio meaningful when the machine's speed drifts);
3. counts instructions per customer with valgrind's callgrind (it counts instructions, so
   the machine's load does not change it): the whole run for the compiled programs (their
   start-up is a few million instructions), and for the Python ones the difference between
   two short runs over the difference of their customers, so the interpreter's start-up and
   imports (Ciw's numpy, networkx) are left out — in the Python peers' favour;
4. writes the table as a Markdown block (with the date, the machine and how it was
   measured) to --out and prints it.

The standard error of the mean time in system of n M/M/1 customers at rho = 0.8, started
empty, is about 9.5 / sqrt(n) of W: benches/peers/sojourn_se.py measures it over 200
replications of the Lindley recursion at n = 160,000 (9.35) and n = 1,600,000 (9.46); the
customers are strongly correlated, hence far more than the 1 / sqrt(n) of independent ones.
Four of them: 3.0% at 1.6 M customers, 6.7% at 320 k. A program that skipped the queue would
be off by 80%.
"""

import argparse
import datetime
import json
import math
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
from concurrent.futures import ThreadPoolExecutor

LAMBDA_PER_S = 800.0
THEORY_MS = 1e3 / (1000.0 - LAMBDA_PER_S)
# The standard error of the mean time in system over n customers, relative to W, is
# SE_FACTOR / sqrt(n) (the module's doc comment says where it comes from).
SE_FACTOR = 9.5
TOLERANCE_SE = 4.0


class Peer:
    """One program of the table: how to run it for a simulated duration and read its output."""

    def __init__(self, key, name, label, argv_of, parse, python=False):
        self.key = key
        self.name = name
        self.label = label
        self.argv_of = argv_of  # seconds -> argv
        self.parse = parse  # (stdout path) -> (customers, mean_ms)
        self.python = python
        self.seconds = None
        self.customers = None
        self.mean_ms = None
        self.cpu_s = []
        self.peak_kib = None
        self.ir_per_customer = None


def parse_line(path):
    """customers=N and mean_ms=X from the one line the bare loop and the peers print."""
    text = open(path, encoding="utf-8").read()
    customers = re.search(r"\bcustomers=(\d+)", text)
    mean = re.search(r"\bmean_ms=([0-9.]+)", text)
    if not customers or not mean:
        raise SystemExit(f"measure.py: no customers=/mean_ms= in the output:\n{text[-2000:]}")
    return int(customers.group(1)), float(mean.group(1))


def parse_meshsim(path):
    """The customers served and their mean latency from `meshsim run --json`, after checking
    that every request sent is accounted for (sent = ok + degraded + failed + in flight) and
    that none failed: the M/M/1 has no timeouts that fire and no faults."""
    with open(path, encoding="utf-8") as f:
        report = json.load(f)
    load = report["workloads"]["load"]
    accounted = load["ok"] + load["degraded"] + load["failed"] + load["in_flight"]
    if load["sent"] != accounted or load["ok"] != load["sent"]:
        raise SystemExit(f"measure.py: meshsim's requests do not add up: {load}")
    return load["ok"], load["latency_ms"]["mean"]


def run_timed(argv, out_path):
    """Runs argv once with stdout to out_path; returns the CPU seconds (user + system) of the
    process and its children."""
    with open(out_path, "wb") as out, open(out_path + ".err", "wb") as err:
        child = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        errors = open(out_path + ".err", encoding="utf-8", errors="replace").read()
        raise SystemExit(f"measure.py: {' '.join(argv)} exited {child.returncode}:\n{errors[-2000:]}")
    return usage.ru_utime + usage.ru_stime


def peak_memory_kib(argv, tmp):
    """The maximum resident set of one run of argv, read by GNU time (None without it). Not
    from this script's own wait4: a child started from Python inherits the interpreter's
    resident set as its floor (about 17 MiB), which would hide the small programs' peaks."""
    gnu_time = "/usr/bin/time"
    if not os.access(gnu_time, os.X_OK):
        return None
    report = os.path.join(tmp, "peak.txt")
    run_timed([gnu_time, "-f", "%M", "-o", report, *argv], os.path.join(tmp, "peak.out"))
    with open(report, encoding="utf-8") as f:
        return int(f.read().split()[-1])


def check_theory(peer):
    """Stops the comparison when a peer did not serve the customers that arrive at 800/s in
    its simulated time (a Poisson count: within four standard deviations, sqrt of the mean)
    or their mean time in system is not M/M/1's."""
    expected = LAMBDA_PER_S * peer.seconds
    if peer.mean_ms is None or abs(peer.customers - expected) > TOLERANCE_SE * math.sqrt(expected):
        raise SystemExit(
            f"measure.py: {peer.label} served {peer.customers} customers in {peer.seconds:g} s "
            f"(mean {peer.mean_ms} ms); 800/s brings {expected:.0f} ± {TOLERANCE_SE * math.sqrt(expected):.0f}"
        )
    tolerance = TOLERANCE_SE * SE_FACTOR / math.sqrt(peer.customers)
    off = abs(peer.mean_ms / THEORY_MS - 1.0)
    verdict = "ok" if off <= tolerance else "OFF"
    print(
        f"  {peer.key:8} {peer.customers:>9} customers, mean {peer.mean_ms:.3f} ms "
        f"(theory {THEORY_MS:.3f}, off by {off:.2%}, allowed {tolerance:.2%}): {verdict}",
        file=sys.stderr,
    )
    if off > tolerance:
        raise SystemExit(f"measure.py: {peer.label} does not simulate the M/M/1 (mean {peer.mean_ms} ms)")


def time_rounds(peers, runs, tmp):
    """The warm-up round (which also reads each program's peak memory), then `runs` counted
    rounds, each program once per round."""
    for peer in peers:
        peer.peak_kib = peak_memory_kib(peer.argv_of(peer.seconds), tmp)
    for round_no in range(runs + 1):
        shift = round_no % len(peers)
        order = peers[shift:] + peers[:shift]
        for peer in order:
            out = os.path.join(tmp, f"{peer.key}.out")
            cpu_s = run_timed(peer.argv_of(peer.seconds), out)
            customers, mean_ms = peer.parse(out)
            if peer.customers is None:
                peer.customers, peer.mean_ms = customers, mean_ms
                check_theory(peer)
            elif (customers, mean_ms) != (peer.customers, peer.mean_ms):
                raise SystemExit(f"measure.py: {peer.label} is not deterministic for a fixed seed")
            if round_no > 0:
                peer.cpu_s.append(cpu_s)
            peer.last_cpu_s = cpu_s
        done = "warm-up" if round_no == 0 else f"round {round_no}/{runs}"
        print(f"  {done}: " + ", ".join(f"{p.key} {p.last_cpu_s:.2f} s" for p in peers), file=sys.stderr)


def callgrind(argv, tmp, name):
    """The instructions (Ir) of one run of argv under callgrind, and the output file."""
    out = os.path.join(tmp, f"{name}.out")
    data = os.path.join(tmp, f"{name}.callgrind")
    with open(out, "wb") as f, open(out + ".err", "wb") as err:
        done = subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={data}", *argv],
            stdin=subprocess.DEVNULL, stdout=f, stderr=err,
        )
    if done.returncode != 0:
        errors = open(out + ".err", encoding="utf-8", errors="replace").read()
        raise SystemExit(f"measure.py: callgrind of {' '.join(argv)} failed:\n{errors[-2000:]}")
    with open(data, encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.startswith(("summary:", "totals:")):
                ir = int(line.split()[1])
                break
        else:
            raise SystemExit(f"measure.py: no instruction total in {data}")
    os.remove(data)
    return ir, out


def count_instructions(peers, args, tmp):
    """Instructions per customer of every peer (two callgrind runs at a time: the counts do
    not depend on the load)."""
    jobs = []
    for peer in peers:
        if peer.python:
            for seconds in args.instr_python_seconds:
                jobs.append((peer, seconds))
        else:
            jobs.append((peer, peer.seconds))

    def one(job):
        peer, seconds = job
        ir, out = callgrind(peer.argv_of(seconds), tmp, f"{peer.key}-{seconds:g}")
        return peer, seconds, ir, peer.parse(out)[0]

    results = {}
    with ThreadPoolExecutor(max_workers=args.instr_jobs) as pool:
        for peer, seconds, ir, customers in pool.map(one, jobs):
            results[(peer.key, seconds)] = (ir, customers)
            print(f"  callgrind {peer.key} {seconds:g} s: {ir:,} Ir, {customers:,} customers", file=sys.stderr)
    for peer in peers:
        if peer.python:
            short, long = args.instr_python_seconds
            (ir1, c1), (ir2, c2) = results[(peer.key, short)], results[(peer.key, long)]
            peer.ir_per_customer = (ir2 - ir1) / (c2 - c1)
        else:
            ir, customers = results[(peer.key, peer.seconds)]
            peer.ir_per_customer = ir / customers


def rate(x):
    """A rate for the table: 18.4 M, 79 k."""
    if x >= 1e6:
        return f"{x / 1e6:.2f} M" if x < 1e7 else f"{x / 1e6:.1f} M"
    if x >= 1e3:
        return f"{x / 1e3:.0f} k"
    return f"{x:.0f}"


def times(r):
    """A ratio as the table says it: meshsim is 3.6x faster / 3.3x slower."""
    if r >= 1.0:
        return f"{r:.1f}× faster" if r < 10 else f"{r:.0f}× faster"
    return f"{1 / r:.1f}× slower"


def memory(kib):
    if kib is None:
        return "—"
    return f"{kib / 1024:.0f} MiB" if kib < 1024 * 1024 else f"{kib / 1024 / 1024:.2f} GiB"


def machine():
    """The processor and cores, for the note under the table."""
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{os.cpu_count()} cores ({model})"


def table(peers, mesh, args, load):
    """The Markdown block for the README."""
    head = [
        "| M/M/1, λ = 800/s, exp(1 ms) service | customers | mean time in system (W = 5 ms) "
        "| customers/s | instructions per customer | peak memory | meshsim is (CPU time) "
        "| meshsim is (instructions) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    rows, summary = [], []
    for peer in peers:
        cpu = statistics.median(peer.cpu_s)
        pairs = [
            (p_cpu / peer.customers) / (m_cpu / mesh.customers)
            for p_cpu, m_cpu in zip(peer.cpu_s, mesh.cpu_s)
        ]
        is_mesh = peer is mesh
        ir = "—" if peer.ir_per_customer is None else f"{peer.ir_per_customer:,.0f}"
        cells = [
            peer.label,
            f"{peer.customers:,}",
            f"{peer.mean_ms:.3f} ms",
            rate(peer.customers / cpu),
            ir,
            memory(peer.peak_kib),
            "—" if is_mesh else times(statistics.median(pairs)),
            "—" if is_mesh or peer.ir_per_customer is None or mesh.ir_per_customer is None
            else times(peer.ir_per_customer / mesh.ir_per_customer),
        ]
        if is_mesh:
            cells = [f"**{c}**" if c != "—" else c for c in cells]
        else:
            summary.append(f"{times(statistics.median(pairs))} than {peer.name}")
        rows.append("| " + " | ".join(cells) + " |")
    today = datetime.datetime.now(datetime.timezone.utc).date().isoformat()
    python_peers = [p for p in peers if p.python]
    runs = f"{args.runs} run" + ("s" if args.runs != 1 else "")
    note = ""
    if summary:
        others = ", ".join(summary[:-1]) + (" and " if len(summary) > 1 else "") + summary[-1]
        note += f"meshsim is {others} in CPU time per customer. "
    note += (
        f"Measured {today} by `benches/peers/run.sh` on {machine()}, load average "
        f"{load[0]:.1f} at the start and {load[1]:.1f} at the end. customers/s: the customers "
        f"over the median whole-process CPU time (user + system) of {runs} each, every "
        "program once per round, the rounds interleaved; \"meshsim is (CPU time)\": the median "
        "over the rounds of the ratio of CPU time per customer; peak memory: the maximum "
        "resident set of one more run. "
    )
    if python_peers:
        note += (
            f"{' and '.join(p.name for p in python_peers)} simulate {args.python_seconds:,g} "
            f"seconds, the others {args.seconds:,g}; customers/s and the ratios are per customer. "
        )
    if args.instructions:
        short, long = args.instr_python_seconds
        note += "Instructions: valgrind's callgrind, the whole run"
        if python_peers:
            note += (
                f" (for the Python peers the difference between runs of {short:g} and {long:g} "
                "simulated seconds over the difference of their customers, so the interpreter's "
                "start-up is left out)"
            )
        note += ". "
    note += (
        "Every program served the customers that arrive in its simulated time, and their mean "
        "time in system is within four standard errors of M/M/1 theory (both checked by the "
        "script)."
    )
    note = textwrap.fill(note, width=92, break_long_words=False, break_on_hyphens=False)
    return "\n".join(head + rows) + "\n\n" + note + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--meshsim", required=True, help="the meshsim binary (release build)")
    ap.add_argument("--scenario", required=True, help="benches/mm1-800.toml")
    ap.add_argument("--bare", help="the bare loop binary (benches/mm1_limit.rs)")
    ap.add_argument("--nexosim", help="the NeXosim M/M/1 binary (benches/peers/nexosim-mm1)")
    ap.add_argument("--python", help="a Python with simpy and ciw installed")
    ap.add_argument("--simpy-script", help="benches/simpy_mm1.py")
    ap.add_argument("--ciw-script", help="benches/peers/ciw_mm1.py")
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--seconds", type=float, default=2000.0)
    ap.add_argument("--python-seconds", type=float, default=400.0)
    ap.add_argument("--instructions", action=argparse.BooleanOptionalAction, default=True)
    ap.add_argument("--instr-python-seconds", default="10,60",
                    type=lambda s: tuple(float(x) for x in s.split(",")))
    ap.add_argument("--instr-jobs", type=int, default=2)
    ap.add_argument("--out", required=True, help="where to write the Markdown block")
    args = ap.parse_args()
    if args.runs < 1 or args.seconds <= 0 or args.python_seconds <= 0:
        ap.error("--runs, --seconds and --python-seconds must be positive")
    if len(args.instr_python_seconds) != 2 or not 0 < args.instr_python_seconds[0] < args.instr_python_seconds[1]:
        ap.error("--instr-python-seconds is SHORT,LONG with 0 < SHORT < LONG")

    peers = []
    if args.bare:
        peers.append(Peer("bare", "the bare loop", "bare hand-written BinaryHeap loop (`benches/mm1_limit.rs`)",
                          lambda s: [args.bare, f"{s:g}"], parse_line))
    mesh = Peer("meshsim", "meshsim", "meshsim `run --json` (`benches/mm1-800.toml`)",
                lambda s: [args.meshsim, "run", args.scenario, "--json", "--seed", "1",
                           "--set", f"scenario.duration={s:g}s"], parse_meshsim)
    peers.append(mesh)
    if args.nexosim:
        peers.append(Peer("nexosim", "NeXosim", "NeXosim 1.0, one thread (`benches/peers/nexosim-mm1`)",
                          lambda s: [args.nexosim, f"{s:g}"], parse_line))
    if args.python and args.simpy_script:
        peers.append(Peer("simpy", "SimPy", "SimPy 4.1 (`benches/simpy_mm1.py`)",
                          lambda s: [args.python, args.simpy_script, f"{s:g}"], parse_line, python=True))
    if args.python and args.ciw_script:
        peers.append(Peer("ciw", "Ciw", "Ciw 3.2 (`benches/peers/ciw_mm1.py`)",
                          lambda s: [args.python, args.ciw_script, f"{s:g}"], parse_line, python=True))
    for peer in peers:
        peer.seconds = args.python_seconds if peer.python else args.seconds
    if args.instructions and not shutil.which("valgrind"):
        ap.error("valgrind is not installed (apt-get install valgrind), or give --no-instructions")

    tmp = tempfile.mkdtemp(prefix="meshsim-peers.")
    try:
        load_start = os.getloadavg()[0]
        print(f"timing {len(peers)} programs, {args.runs} rounds after a warm-up…", file=sys.stderr)
        time_rounds(peers, args.runs, tmp)
        if args.instructions:
            print("counting instructions (callgrind)…", file=sys.stderr)
            count_instructions(peers, args, tmp)
        block = table(peers, mesh, args, (load_start, os.getloadavg()[0]))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    with open(args.out, "w", encoding="utf-8") as f:
        f.write(block)
    # The figures behind the table, for whoever compares two runs of it.
    with open(args.out + ".json", "w", encoding="utf-8") as f:
        raw = {
            p.key: {
                "seconds": p.seconds,
                "customers": p.customers,
                "mean_ms": p.mean_ms,
                "cpu_s": p.cpu_s,
                "peak_kib": p.peak_kib,
                "instructions_per_customer": p.ir_per_customer,
            }
            for p in peers
        }
        json.dump(raw, f, indent=2)
        f.write("\n")
    print(block)
    print(f"written to {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
