#!/usr/bin/env bash
# Scale (issue 14, goal 4): the generated service DAG of benches/dag.py at 10, 100 and 1,000
# services, each run as a user runs it (`meshsim run FILE --json`, the whole CLI process), and
# per size: events, requests sent, CPU seconds (user, the median of --runs runs), the most
# resident memory (max RSS, from /usr/bin/time), CPU nanoseconds per event, and that cost per
# event against the smallest size's. The goals: 1,000 services under 300 MiB and within 1.5×
# the per-event cost of 10 services; the 100-service DAG for 10 M requests (--long) under 10 s
# of CPU.
#
# A whole run includes fixed costs that grow with the model (parsing, building the world, the
# report's figures for every endpoint and time bucket), so each size also runs at twice the
# duration, and the marginal cost per event, (user(2D) − user(D)) / (events(2D) − events(D)),
# is the event loop's own, printed with its ratio too.
#
# Timings on a shared machine move from run to run: runs of all sizes are interleaved (size
# after size, round after round), so a busy moment hits every size alike, and the median is
# taken. Memory does not depend on the load.
#
# With --cache it also counts, under valgrind's callgrind with its cache simulation, the
# instructions and the D1 and last-level (LL) data cache misses per event of every size,
# marginal between --cache-duration and twice that (short runs: the simulation is ~100×
# slower); misses grow with model size where state is spread over more memory than the
# caches hold.
#
# Usage:
#   benches/scale.sh [options]
# Options:
#   --bin PATH          the meshsim binary (default: target/instructions/meshsim; build it
#                       with `cargo build --profile instructions`)
#   --services "N..."   sizes (default: "10 100 1000"); the first is the reference of the ratio
#   --duration D        scenario.duration (default: 60s, 90,000 requests at 1,500/s)
#   --runs N            timed runs per size (default: 3)
#   --long              also the 100-service DAG for 10 M requests (6,667 s at 1,500/s), once
#   --cache             also the cache misses per event (needs valgrind)
#   --cache-duration D  scenario.duration of the cache runs (default: 10s)
# Example (README "Performance", scale):
#   benches/scale.sh --runs 3 --long

set -euo pipefail

root=$(git rev-parse --show-toplevel)
bin=$root/target/instructions/meshsim
sizes="10 100 1000"
duration=60s
runs=3
long=0
cache=0
cache_duration=10s

while [[ $# -gt 0 ]]; do
    case $1 in
        --bin) bin=$2; shift 2 ;;
        --services) sizes=$2; shift 2 ;;
        --duration) duration=$2; shift 2 ;;
        --runs) runs=$2; shift 2 ;;
        --long) long=1; shift ;;
        --cache) cache=1; shift ;;
        --cache-duration) cache_duration=$2; shift 2 ;;
        -h|--help) sed -n '2,/^$/s/^# \{0,1\}//p' "$0"; exit 0 ;;
        *) echo "scale.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done

[[ -x $bin ]] || { echo "scale.sh: no binary $bin (cargo build --profile instructions)" >&2; exit 2; }
[[ -x /usr/bin/time ]] || { echo "scale.sh: needs /usr/bin/time (GNU time)" >&2; exit 2; }

# Revisions before the time buckets were counted by their requests refuse the 1,000-service
# DAG at the default scenario.max_memory (1 GiB, by an estimate of 1.0 GiB): the limit is
# raised so that any revision can be measured. It changes nothing else in a run.
limit=(--set 'scenario.max_memory="8GiB"')

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# One run: prints "user_s rss_kib events sent" (the JSON report is read, then deleted).
run_once() {
    local file=$1
    /usr/bin/time -f '%U %M' -o "$work/time" "$bin" run "$file" --json "${limit[@]}" > "$work/out.json"
    python3 - "$work/out.json" "$work/time" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
user, rss = open(sys.argv[2]).read().split()[-2:]
sent = sum(w["sent"] for w in r["workloads"].values())
print(user, rss, r["events"], sent)
EOF
    rm -f "$work/out.json"
}

double=$(python3 -c "
import re, sys
m = re.fullmatch(r'(\d+(?:\.\d+)?)(ms|s|m|h)', '$duration') or sys.exit('scale.sh: --duration like 60s')
print(f'{float(m[1]) * 2:g}{m[2]}')")
for n in $sizes; do
    python3 "$root/benches/dag.py" --services "$n" --duration "$duration" > "$work/dag-$n.toml"
    python3 "$root/benches/dag.py" --services "$n" --duration "$double" > "$work/dag2-$n.toml"
done

for ((round = 0; round < runs; round++)); do
    for n in $sizes; do
        run_once "$work/dag-$n.toml" >> "$work/runs-$n"
        run_once "$work/dag2-$n.toml" >> "$work/runs2-$n"
    done
done

# The median run of a file's runs (by user time): "user_s rss_kib events sent".
median() { sort -n "$1" | awk -v m=$(( (runs + 1) / 2 )) 'NR == m'; }

echo "meshsim scale: benches/dag.py DAGs, duration $duration (and $double for the marginal cost)," \
    "median of $runs runs, $bin"
printf '%9s %10s %10s %8s %10s %9s %7s %12s %7s\n' services events requests "user s" "max RSS" \
    ns/event ratio "marginal ns" ratio
ref=
mref=
for n in $sizes; do
    read -r user rss events sent < <(median "$work/runs-$n")
    read -r user2 _ events2 _ < <(median "$work/runs2-$n")
    rss=$(sort -n -k2 "$work/runs-$n" | tail -1 | awk '{print $2}')
    per=$(python3 -c "print(f'{$user / $events * 1e9:.1f}')")
    marginal=$(python3 -c "print(f'{($user2 - $user) / max($events2 - $events, 1) * 1e9:.1f}')")
    [[ -n $ref ]] || { ref=$per; mref=$marginal; }
    ratio=$(python3 -c "print(f'{$per / $ref:.2f}x')")
    mratio=$(python3 -c "print(f'{$marginal / $mref:.2f}x' if $mref > 0 else '-')")
    printf '%9s %10s %10s %8s %6s MiB %9s %7s %12s %7s\n' "$n" "$events" "$sent" "$user" \
        "$(( rss / 1024 ))" "$per" "$ratio" "$marginal" "$mratio"
done

if [[ $long == 1 ]]; then
    python3 "$root/benches/dag.py" --services 100 --duration 6667s > "$work/dag-100-long.toml"
    read -r user rss events sent <<< "$(run_once "$work/dag-100-long.toml")"
    echo
    echo "100 services, 6667s (10 M requests at 1,500/s): $sent requests, $events events," \
        "$user s user, max RSS $(( rss / 1024 )) MiB (goal: under 10 s)"
fi

if [[ $cache == 1 ]]; then
    # One callgrind run: prints "events Ir D1-misses LL-misses" (data reads and writes).
    cache_once() {
        valgrind --tool=callgrind --cache-sim=yes --callgrind-out-file="$work/cg.out" \
            "$bin" run "$1" --json "${limit[@]}" > "$work/c.json" 2> /dev/null
        python3 - "$work/c.json" "$work/cg.out" <<'EOF'
import json, sys
events = json.load(open(sys.argv[1]))["events"]
totals = {}
for line in open(sys.argv[2]):
    if line.startswith("events:"):
        names = line.split()[1:]
    if line.startswith("summary:") or line.startswith("totals:"):
        totals = dict(zip(names, map(int, line.split()[1:])))
d1 = totals.get("D1mr", 0) + totals.get("D1mw", 0)
ll = totals.get("DLmr", 0) + totals.get("DLmw", 0)
print(events, totals["Ir"], d1, ll)
EOF
        rm -f "$work/cg.out" "$work/c.json"
    }
    cache2=$(python3 -c "
import re
m = re.fullmatch(r'(\d+(?:\.\d+)?)(ms|s|m|h)', '$cache_duration')
print(f'{float(m[1]) * 2:g}{m[2]}')")
    echo
    echo "per event, marginal between $cache_duration and $cache2 (callgrind --cache-sim=yes;" \
        "D1 and LL: data misses, reads and writes)"
    printf '%9s %10s %10s %10s %10s\n' services events Ir D1 LL
    for n in $sizes; do
        python3 "$root/benches/dag.py" --services "$n" --duration "$cache_duration" > "$work/c1.toml"
        python3 "$root/benches/dag.py" --services "$n" --duration "$cache2" > "$work/c2.toml"
        # Command substitution waits for the run to finish (and clean up) before the next.
        read -r e1 i1 d1 l1 <<< "$(cache_once "$work/c1.toml")"
        read -r e2 i2 d2 l2 <<< "$(cache_once "$work/c2.toml")"
        python3 -c "
e = $e2 - $e1
print(f'{$n:>9} {e:>10} {($i2 - $i1) / e:>10.1f} {($d2 - $d1) / e:>10.2f} {($l2 - $l1) / e:>10.2f}')"
    done
fi
