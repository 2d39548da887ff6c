#!/usr/bin/env bash
# The README's peer table, measured side by side in one run (issue 14's acceptance): one
# M/M/1 — λ = 800/s, exponential 1 ms service, one server — in
#   the bare hand-written BinaryHeap loop   benches/mm1_limit.rs (the "limit")
#   meshsim run --json                      benches/mm1-800.toml
#   NeXosim 1.0, one thread                 benches/peers/nexosim-mm1/ (standalone cargo project)
#   SimPy 4.1                               benches/simpy_mm1.py
#   Ciw 3.2                                 benches/peers/ciw_mm1.py
# in customers per CPU second, instructions per customer (valgrind's callgrind) and "meshsim
# is N× faster/slower", each program's mean time in system checked against M/M/1 theory
# (W = 5 ms) first. benches/peers/measure.py does the measuring and says how (its doc
# comment); this script sets the peers up and calls it:
#   - SimPy and Ciw into a virtual environment, target/peers/venv (pip, pinned versions);
#   - NeXosim's M/M/1 built with its own committed Cargo.lock into target/peers/nexosim;
#   - the bare loop and meshsim built with the release profile (fat LTO: minutes, once),
#     unless --meshsim names a binary already built.
# None of this is part of `cargo test` or the workspace.
#
# Usage: benches/peers/run.sh [options]
# Options:
#   --meshsim PATH           the meshsim binary to measure (default: build the release binary
#                            of this tree, target/release/meshsim)
#   --runs N                 counted rounds (default 7, after one warm-up round)
#   --seconds S              simulated seconds of the compiled programs (default 2000,
#                            ~1.6 M customers)
#   --python-seconds S       simulated seconds of SimPy and Ciw (default 400, ~320 k
#                            customers; rates are per customer)
#   --instr-python-seconds A,B  the two short runs whose difference gives the Python peers'
#                            instructions per customer (default 10,60)
#   --no-instructions        skip the callgrind counts (they take several minutes)
#   --out FILE               where the Markdown block goes (default target/peers/table.md)
#   --readme                 also put the block into README.md between the lines
#                            "<!-- peers table -->" and "<!-- end of peers table -->"
#   --only LIST              a comma-separated subset of bare,nexosim,simpy,ciw beside meshsim
#
# Needs: cargo, python3 (3.9+, with venv), GNU time for the peak memory (optional), valgrind unless --no-instructions.
# Example, on the merged tree at the end of a session:
#   benches/peers/run.sh --meshsim target/release/meshsim --readme

set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
here="$root/benches/peers"
meshsim=
runs=7
seconds=2000
python_seconds=400
instr_python_seconds=10,60
instructions=--instructions
out="$root/target/peers/table.md"
readme=0
only=bare,nexosim,simpy,ciw

while [[ $# -gt 0 ]]; do
    case $1 in
        --meshsim) meshsim=$2; shift 2 ;;
        --runs) runs=$2; shift 2 ;;
        --seconds) seconds=$2; shift 2 ;;
        --python-seconds) python_seconds=$2; shift 2 ;;
        --instr-python-seconds) instr_python_seconds=$2; shift 2 ;;
        --no-instructions) instructions=--no-instructions; shift ;;
        --out) out=$2; shift 2 ;;
        --readme) readme=1; shift ;;
        --only) only=$2; shift 2 ;;
        -h|--help) sed -n '2,/^$/s/^# \{0,1\}//p' "$0"; exit 0 ;;
        *) echo "run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done
for peer in ${only//,/ }; do
    case $peer in
        bare|nexosim|simpy|ciw) ;;
        *) echo "run.sh: --only knows bare, nexosim, simpy and ciw, not '$peer'" >&2; exit 2 ;;
    esac
done
wants() { [[ ",$only," == *",$1,"* ]]; }

mkdir -p "$root/target/peers" "$(dirname "$out")"
# The incremental cache is of no use to a one-off release build and costs gigabytes.
export CARGO_INCREMENTAL=0
args=()

if [[ -z $meshsim ]]; then
    echo "building meshsim (release: fat LTO, minutes the first time)…" >&2
    (cd "$root" && cargo build --quiet --release --bin meshsim)
    meshsim="$root/target/release/meshsim"
fi
[[ -x $meshsim ]] || { echo "run.sh: $meshsim is not an executable" >&2; exit 2; }
args+=(--meshsim "$meshsim" --scenario "$root/benches/mm1-800.toml")

if wants bare; then
    echo "building the bare loop (release)…" >&2
    bare=$(cd "$root" && cargo build --quiet --release --bench mm1_limit --message-format=json \
        | grep -o '"executable":"[^"]*/mm1_limit[^"]*"' | tail -n 1 | cut -d'"' -f4)
    [[ -x $bare ]] || { echo "run.sh: no bare loop binary built" >&2; exit 1; }
    args+=(--bare "$bare")
fi

if wants nexosim; then
    echo "building NeXosim's M/M/1 (release, its own Cargo.lock)…" >&2
    cargo build --quiet --release --locked --manifest-path "$here/nexosim-mm1/Cargo.toml" \
        --target-dir "$root/target/peers/nexosim"
    args+=(--nexosim "$root/target/peers/nexosim/release/nexosim-mm1")
fi

if wants simpy || wants ciw; then
    venv="$root/target/peers/venv"
    if ! "$venv/bin/python" -c 'import simpy, ciw' 2>/dev/null; then
        echo "installing SimPy and Ciw into $venv…" >&2
        python3 -m venv "$venv"
        "$venv/bin/pip" install --quiet --disable-pip-version-check 'simpy==4.1.2' 'ciw==3.2.7'
    fi
    args+=(--python "$venv/bin/python")
    wants simpy && args+=(--simpy-script "$root/benches/simpy_mm1.py")
    wants ciw && args+=(--ciw-script "$here/ciw_mm1.py")
fi

python3 "$here/measure.py" "${args[@]}" --runs "$runs" --seconds "$seconds" \
    --python-seconds "$python_seconds" --instr-python-seconds "$instr_python_seconds" \
    "$instructions" --out "$out"

if [[ $readme -eq 1 ]]; then
    python3 - "$root/README.md" "$out" <<'EOF'
import sys
readme, block = sys.argv[1], open(sys.argv[2], encoding="utf-8").read()
text = open(readme, encoding="utf-8").read()
begin, end = "<!-- peers table -->\n", "<!-- end of peers table -->\n"
if text.count(begin) != 1 or text.count(end) != 1 or text.index(begin) > text.index(end):
    sys.exit(f"run.sh: README.md has no single '{begin.strip()}' … '{end.strip()}' pair")
head, rest = text.split(begin)
_, tail = rest.split(end)
open(readme, "w", encoding="utf-8").write(head + begin + block + end + tail)
print("README.md updated", file=sys.stderr)
EOF
fi
