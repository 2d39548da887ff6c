#!/usr/bin/env bash
# Instructions per event, counted by valgrind's callgrind, for two revisions of meshsim.
#
# Timings on a shared machine move by ±10% from run to run; an instruction count does not
# depend on the machine's load, so a change of a few percent in the cost of an event can be
# seen (and a claim such as "a scenario that uses none of this costs the same within 3%"
# checked). The script builds BASE (a commit, its files taken with `git archive` into
# target/revisions/) and HEAD (by default the working tree, uncommitted changes included)
# with one cargo profile, runs each scenario once under callgrind — `run FILE --json` with a
# fixed seed and a short `scenario.duration` —, and prints per scenario the events of each
# run (the JSON report's `events`), the instructions per event and their ratio, and whether
# the two JSON reports are byte-identical.
#
# With --limit it also counts the reference "limit" of issue 14: the bare BinaryHeap M/M/1
# loop of benches/mm1_limit.rs against meshsim on the same model (benches/mm1-800.toml:
# λ = 800/s, exp(1 ms) service), both in instructions per customer, built from HEAD.
#
# Usage:
#   benches/instructions.sh [options] BASE [SCENARIO...]
#   benches/instructions.sh [options] --limit
# Options:
#   --head REV        compare against this commit instead of the working tree
#   --profile NAME    cargo profile (default: instructions — release without fat LTO, see
#                     Cargo.toml; given to revisions that predate it through --config)
#   --duration D      scenario.duration of every run (default: 60s)
#   --seed N          master seed of every run (default: 1)
#   --marginal D2     also run every scenario at scenario.duration=D2 (longer than D) and
#                     print the marginal instructions per event between the two runs,
#                     (Ir(D2) − Ir(D)) / (events(D2) − events(D)): the fixed costs of
#                     parsing, building and the report cancel, leaving the event loop's
#                     cost per event (a short run's Ir/ev includes them)
#   --limit           also (or, without BASE, only) the bare-loop comparison
#   --limit-seconds S simulated seconds of the bare-loop comparison (default: 2000)
# Scenarios default to scenarios/mm1.toml and scenarios/checkout-sync.toml. The working tree
# builds in target/; a commit in target/revisions/SHA/, kept, so comparing against the same
# base again builds only the working tree.
#
# Needs: git, cargo, valgrind. Example (issue 12/13, item 8):
#   benches/instructions.sh --marginal 180s 502f0ee

set -euo pipefail

root=$(git rev-parse --show-toplevel)
me=instructions.sh
# build, meshsim_of, count, json_number, ratio, per: shared with benches/guard.sh.
source "$(dirname "${BASH_SOURCE[0]}")/callgrind.sh"
profile=instructions
duration=60s
seed=1
marginal=
head_rev=
base_rev=
limit=0
limit_seconds=2000
scenarios=()

while [[ $# -gt 0 ]]; do
    case $1 in
        --head) head_rev=$2; shift 2 ;;
        --profile) profile=$2; shift 2 ;;
        --duration) duration=$2; shift 2 ;;
        --seed) seed=$2; shift 2 ;;
        --marginal) marginal=$2; shift 2 ;;
        --limit) limit=1; shift ;;
        --limit-seconds) limit_seconds=$2; shift 2 ;;
        -h|--help) sed -n '2,/^$/s/^# \{0,1\}//p' "$0"; exit 0 ;;
        -*) echo "instructions.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
        *)
            if [[ -z $base_rev ]]; then base_rev=$1; else scenarios+=("$1"); fi
            shift ;;
    esac
done
if [[ -z $base_rev && $limit -eq 0 ]]; then
    echo "instructions.sh: give a BASE revision (or --limit); see --help" >&2
    exit 2
fi
command -v valgrind >/dev/null || { echo "instructions.sh: valgrind is not installed" >&2; exit 2; }
[[ ${#scenarios[@]} -gt 0 ]] || scenarios=(scenarios/mm1.toml scenarios/checkout-sync.toml)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/meshsim-instructions.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# Sets the variable named $3 to the source tree of revision $1 and $3_target to its cargo
# target directory: for "" the working tree and its target/; for a commit, its files
# (`git archive`, so no worktree stays registered) in target/revisions/SHA/tree and its own
# target directory beside them, both kept: the next comparison with the same base builds
# nothing for it. (One target directory for both would let a fresh build of one tree leave
# the other's binary at target/PROFILE/meshsim.)
checkout() {
    local rev=$1
    if [[ -z $rev ]]; then
        printf -v "$2" '%s' "$root"
        printf -v "$2_target" '%s' "$root/target"
    else
        local sha dir
        sha=$(git -C "$root" rev-parse --verify "$rev^{commit}")
        dir="$root/target/revisions/$sha"
        if [[ ! -f $dir/tree/Cargo.toml ]]; then
            rm -rf "$dir/tree"
            mkdir -p "$dir/tree"
            git -C "$root" archive "$sha" | tar -x -C "$dir/tree"
        fi
        printf -v "$2" '%s' "$dir/tree"
        printf -v "$2_target" '%s' "$dir/target"
    fi
}

if [[ -n $base_rev ]]; then
    checkout "$base_rev" base_tree
    checkout "$head_rev" head_tree
    echo "building $base_rev and ${head_rev:-the working tree} (profile $profile)…" >&2
    meshsim_of "$base_tree" "$base_tree_target" "$tmp/meshsim-base"
    meshsim_of "$head_tree" "$head_tree_target" "$tmp/meshsim-head"
    if cmp -s "$tmp/meshsim-base" "$tmp/meshsim-head"; then
        echo "instructions.sh: warning: both revisions built the same binary" >&2
    fi
    base_name=$(git -C "$root" rev-parse --short "$base_rev")
    head_name=${head_rev:+$(git -C "$root" rev-parse --short "$head_rev")}
    head_name=${head_name:-worktree}
    echo "instructions per event, callgrind, profile $profile, --seed $seed, scenario.duration=$duration"
    printf '%-32s %10s %10s %12s %12s %8s %s\n' scenario "events $base_name" "events $head_name" \
        "Ir/ev $base_name" "Ir/ev $head_name" ratio "same JSON"
    for s in "${scenarios[@]}"; do
        file=$(cd "$root" && realpath "$s")
        name=$(basename "$s" .toml)
        # Instructions and events of side $1 at duration $2, as "IR EVENTS".
        measure() {
            local out="$tmp/$name-$1-$2.json" ir
            ir=$(count "$out" "$tmp/meshsim-$1" run "$file" --json --seed "$seed" \
                --set "scenario.duration=$2")
            echo "$ir $(json_number events "$out")"
        }
        read -r ir_base ev_base < <(measure base "$duration")
        read -r ir_head ev_head < <(measure head "$duration")
        same=no
        cmp -s "$tmp/$name-base-$duration.json" "$tmp/$name-head-$duration.json" && same=yes
        pb=$(per "$ir_base" "$ev_base")
        ph=$(per "$ir_head" "$ev_head")
        printf '%-32s %10s %10s %12s %12s %8s %s\n' "$name" "$ev_base" "$ev_head" "$pb" "$ph" \
            "$(ratio "$pb" "$ph")" "$same"
        echo "  total instructions: $ir_base -> $ir_head" >&2
        if [[ -n $marginal ]]; then
            read -r ir_base2 ev_base2 < <(measure base "$marginal")
            read -r ir_head2 ev_head2 < <(measure head "$marginal")
            mb=$(per "$((ir_base2 - ir_base))" "$((ev_base2 - ev_base))")
            mh=$(per "$((ir_head2 - ir_head))" "$((ev_head2 - ev_head))")
            printf '%-32s %10s %10s %12s %12s %8s\n' "  marginal, $duration to $marginal" \
                "+$((ev_base2 - ev_base))" "+$((ev_head2 - ev_head))" "$mb" "$mh" "$(ratio "$mb" "$mh")"
        fi
    done
fi

if [[ $limit -eq 1 ]]; then
    [[ -n ${head_tree:-} ]] || checkout "$head_rev" head_tree
    echo "building the bare loop (profile $profile)…" >&2
    [[ -x $tmp/meshsim-head ]] || meshsim_of "$head_tree" "$head_tree_target" "$tmp/meshsim-head"
    bare=$(build "$head_tree" "$head_tree_target" --bench mm1_limit | executable mm1_limit)
    mm1="$root/benches/mm1-800.toml"
    [[ -f $head_tree/benches/mm1-800.toml ]] && mm1="$head_tree/benches/mm1-800.toml"
    ir_bare=$(count "$tmp/bare.txt" "$bare" "$limit_seconds")
    customers_bare=$(grep -o 'customers=[0-9]*' "$tmp/bare.txt" | cut -d= -f2)
    ir_mesh=$(count "$tmp/mm1-800.json" "$tmp/meshsim-head" run "$mm1" --json --seed 1 \
        --set "scenario.duration=${limit_seconds}s")
    customers_mesh=$(json_number sent "$tmp/mm1-800.json")
    echo "M/M/1, λ = 800/s, exp(1 ms), $limit_seconds simulated seconds: instructions per customer"
    printf '%-44s %10s %14s %10s\n' "" customers instructions "per cust."
    printf '%-44s %10s %14s %10s\n' "bare BinaryHeap loop (benches/mm1_limit.rs)" \
        "$customers_bare" "$ir_bare" "$(per "$ir_bare" "$customers_bare")"
    printf '%-44s %10s %14s %10s\n' "meshsim run --json (benches/mm1-800.toml)" \
        "$customers_mesh" "$ir_mesh" "$(per "$ir_mesh" "$customers_mesh")"
    echo "meshsim / bare loop: $(ratio "$(per "$ir_bare" "$customers_bare")" "$(per "$ir_mesh" "$customers_mesh")")x"
    grep -o 'mean_ms=[0-9.]* theory_ms=[0-9.]*' "$tmp/bare.txt" | sed 's/^/bare loop: /'
fi
