#!/usr/bin/env bash
# The instruction-count guard of CI (issue 14, goal 5; docs/instruction-guard.md).
#
# Timings on a shared machine move by ±10% from run to run, so a slowdown of a few percent
# cannot be seen in them; the number of instructions a run executes does not depend on the
# machine's load (runs of the same binary differ by at most ~1,000 in 1.75*10^8). The guard
# builds meshsim with the `instructions` cargo profile, runs every scenario of the baselines
# file once under valgrind's callgrind —
#     meshsim run FILE --json --seed SEED --no-expect --set scenario.duration=DURATION
# (the whole CLI: parsing, building the world, the run, the report) — and compares the
# instructions per simulated event with the baseline's:
#   more than 5% over        fails (exit 1), naming the scenario, baseline, measured, ratio;
#   more than 5% under       passes with a note: a speed-up worth recording deliberately;
#   a different compiler     the comparison is skipped (exit 0) with a message: counts of two
#                            rustc versions differ by the compiler alone (see --strict-toolchain).
# Instructions per event equal the totals' ratio when the run simulates the same events as
# the baseline's (it should: same seed, same output); when the event count differs the run
# is no longer the baseline's and the guard says so.
#
# Usage:
#   benches/guard.sh [options] [NAME...]
# NAMEs are sections of the baselines file (default: all).
# Options:
#   --update            measure and rewrite the baselines (events, instructions, rustc, host)
#                       of the NAMEs, keeping the file's comments, files, seeds and durations;
#                       prints the old -> new figures to put in the commit message
#   --strict-toolchain  a baseline measured with another rustc or host fails (exit 2)
#                       instead of being skipped
#   --baselines FILE    the baselines file (default: benches/baselines.toml)
#   --meshsim BIN       count this binary instead of building the instructions profile (its
#                       counts mean something only if it was built that way, by the rustc
#                       that `rustc -vV` reports)
# Exit: 0 passed (notes and skipped comparisons included), 1 a scenario more than 5% over
# its baseline or without one, 2 nothing could be compared (usage, an invalid baselines
# file, no valgrind, a build or a run that failed, --strict-toolchain and another rustc).
#
# Needs: cargo, rustc, valgrind.

set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
me=guard.sh
profile=instructions
# build, meshsim_of, count, json_number, ratio, per: shared with benches/instructions.sh.
source "$root/benches/callgrind.sh"

# The tolerance, in percent of the baseline, either way.
limit_percent=5
baselines=$root/benches/baselines.toml
update=0
strict_toolchain=0
meshsim=
names=()

while [[ $# -gt 0 ]]; do
    case $1 in
        --update) update=1; shift ;;
        --strict-toolchain) strict_toolchain=1; shift ;;
        --baselines) baselines=${2:?--baselines needs a file}; shift 2 ;;
        --meshsim) meshsim=${2:?--meshsim needs a binary}; shift 2 ;;
        -h|--help) sed -n '2,/^$/s/^# \{0,1\}//p' "$0"; exit 0 ;;
        -*) echo "$me: unknown option $1 (allowed: --update, --strict-toolchain, --baselines FILE, --meshsim BIN; see --help)" >&2; exit 2 ;;
        *) names+=("$1"); shift ;;
    esac
done

# The baselines file as one line per section, tab-separated: NAME FILE SEED DURATION EVENTS
# INSTRUCTIONS RUSTC HOST ("-" for a value not measured yet). Every problem of the file is
# printed at once, located (FILE:LINE), with what is allowed; then exit 2.
read_baselines() {
    awk -v path="$1" '
        function fail(line, msg) { printf "%s:%d: %s\n", path, line, msg > "/dev/stderr"; bad = 1 }
        function close_section() {
            if (name == "") return
            for (i = 1; i <= 3; i++) if (!((name, required[i]) in value)) fail(start[name], "[" name "] has no " required[i] " (required: file, seed, duration)")
            order[++n] = name
        }
        # The edit distance of a and b (insertions, deletions, substitutions).
        function distance(a, b,    i, j, d, c) {
            for (i = 0; i <= length(a); i++) d[i, 0] = i
            for (j = 0; j <= length(b); j++) d[0, j] = j
            for (i = 1; i <= length(a); i++)
                for (j = 1; j <= length(b); j++) {
                    c = d[i - 1, j - 1] + (substr(a, i, 1) != substr(b, j, 1))
                    if (d[i - 1, j] + 1 < c) c = d[i - 1, j] + 1
                    if (d[i, j - 1] + 1 < c) c = d[i, j - 1] + 1
                    d[i, j] = c
                }
            return d[length(a), length(b)]
        }
        # ", did you mean K?" for the allowed key K nearest to k (at most 2 edits), or "".
        function did_you_mean(k,    i, best, e, b) {
            best = 3
            for (i = 1; i <= 7; i++) { e = distance(k, keys[i]); if (e < best) { best = e; b = keys[i] } }
            return best < 3 ? ", did you mean " b "?" : ""
        }
        BEGIN {
            split("file seed duration", required, " ")
            split("file seed duration events instructions rustc host", keys, " ")
            split("file duration rustc host", s, " "); for (i in s) is_string[s[i]] = 1
            split("seed events instructions", s, " "); for (i in s) is_number[s[i]] = 1
            allowed = "file, seed, duration, events, instructions, rustc, host"
        }
        /^[ \t]*(#.*)?$/ { next }
        /^\[/ {
            close_section()
            if (!match($0, /^\[[a-z0-9_-]+\][ \t]*(#.*)?$/)) {
                fail(NR, "a section is [NAME] with NAME of a-z, 0-9, - and _: " $0); name = ""; next
            }
            name = substr($0, 2, index($0, "]") - 2)
            if (name in start) { fail(NR, "[" name "] again (first at line " start[name] ")"); name = ""; next }
            start[name] = NR
            next
        }
        {
            if (!match($0, /^[a-z_]+[ \t]*=[ \t]*/)) { fail(NR, "expected KEY = VALUE: " $0); next }
            key = $0; sub(/[ \t]*=.*/, "", key)
            val = substr($0, RLENGTH + 1); sub(/[ \t]+(#.*)?$/, "", val)
            if (name == "") { fail(NR, key " outside a [NAME] section"); next }
            if (!(key in is_string) && !(key in is_number)) { fail(NR, "unknown key " key " in [" name "]" did_you_mean(key) " (allowed: " allowed ")"); next }
            if ((name, key) in value) { fail(NR, key " again in [" name "]"); next }
            if (key in is_string) {
                if (val !~ /^"[^"\\\t]*"$/) { fail(NR, key " must be a string (\"...\", without backslash, tab or #): " val); next }
                val = substr(val, 2, length(val) - 2)
            } else if (val !~ /^[0-9]+$/ || length(val) > 15) { fail(NR, key " must be a whole number of at most 15 digits: " val); next }
            value[name, key] = val
        }
        END {
            close_section()
            if (n == 0 && !bad) fail(NR, "no [NAME] section: nothing to guard")
            if (bad) exit 2
            for (i = 1; i <= n; i++) {
                line = order[i]
                for (j = 1; j <= 7; j++) line = line "\t" (((order[i], keys[j]) in value) ? value[order[i], keys[j]] : "-")
                print line
            }
        }' "$1"
}

# Rewrites the baselines file $1 with the measurements in file $2 (lines NAME EVENTS
# INSTRUCTIONS, tab-separated), stamping each measured section with rustc $3 and host $4.
# Other sections, comments and the order of lines are kept; a measured key the section lacks
# is added at its end.
write_baselines() {
    awk -v measured="$2" -v rustc="$3" -v host="$4" '
        BEGIN {
            FS = "\t"
            while ((getline l < measured) > 0) { split(l, f, "\t"); ev[f[1]] = f[2]; ir[f[1]] = f[3] }
            FS = " "
            split("events instructions rustc host", keys, " ")
        }
        function fresh(k) {
            if (k == "events") return ev[name]
            if (k == "instructions") return ir[name]
            return "\"" (k == "rustc" ? rustc : host) "\""
        }
        function flush() {
            if (name in ev) for (j = 1; j <= 4; j++) if (!(keys[j] in seen)) print keys[j] " = " fresh(keys[j])
            printf "%s", blanks; blanks = ""
        }
        /^[ \t]*$/ { blanks = blanks $0 "\n"; next }
        /^\[/ { flush(); name = substr($0, 2, index($0, "]") - 2); delete seen; print; next }
        {
            printf "%s", blanks; blanks = ""
            key = $0; sub(/[ \t]*=.*/, "", key)
            if ((name in ev) && (key == "events" || key == "instructions" || key == "rustc" || key == "host")) {
                seen[key] = 1; print key " = " fresh(key); next
            }
            print
        }
        END { flush() }' "$1"
}

# Whether $1 is one of the remaining arguments.
one_of() {
    local x=$1; shift
    local y
    for y in "$@"; do [[ $x == "$y" ]] && return 0; done
    return 1
}

[[ -f $baselines ]] || { echo "$me: no baselines file $baselines" >&2; exit 2; }
entries=$(read_baselines "$baselines") || exit 2
all_names=$(cut -f1 <<<"$entries" | tr '\n' ' ')
for n in "${names[@]}"; do
    one_of "$n" $all_names || { echo "$me: no scenario $n in $baselines (there are: ${all_names% })" >&2; exit 2; }
done
while IFS=$'\t' read -r name file _; do
    [[ -f $root/$file ]] || { echo "$me: $baselines: [$name] file = \"$file\" does not exist (relative to $root)" >&2; exit 2; }
done <<<"$entries"
command -v valgrind >/dev/null || { echo "$me: valgrind is not installed (Debian: apt-get install valgrind)" >&2; exit 2; }

toolchain=$(cd "$root" && "${RUSTC:-rustc}" -vV) || { echo "$me: rustc -vV failed" >&2; exit 2; }
rustc_now=$(head -n 1 <<<"$toolchain")
host_now=$(sed -n 's/^host: //p' <<<"$toolchain")
[[ -z ${RUSTFLAGS:-}${CARGO_ENCODED_RUSTFLAGS:-} ]] \
    || echo "$me: warning: RUSTFLAGS is set; the baselines were measured without it" >&2

tmp=$(mktemp -d "${TMPDIR:-/tmp}/meshsim-guard.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

binary="profile $profile"
if [[ -z $meshsim ]]; then
    echo "$me: building meshsim (profile $profile)…" >&2
    meshsim_of "$root" "${CARGO_TARGET_DIR:-$root/target}" "$tmp/meshsim" || exit 2
    meshsim=$tmp/meshsim
else
    binary="--meshsim $meshsim"
fi
[[ -x $meshsim ]] || { echo "$me: $meshsim is not an executable" >&2; exit 2; }

# The width of the scenario column: the longest name.
w=$(cut -f1 <<<"$entries" | awk '{ if (length($0) > w) w = length($0) } END { print w }')
echo "instructions under callgrind: meshsim run FILE --json --seed SEED --no-expect --set scenario.duration=D"
echo "$binary, $rustc_now, $host_now; more than ${limit_percent}% over a baseline fails"
printf "%-${w}s %-8s %9s %14s %14s %9s %7s  %s\n" scenario duration events baseline measured "Ir/event" ratio verdict
failures=()
notes=()
skipped=()
: >"$tmp/measured"
while IFS=$'\t' read -r name file seed duration ev_base ir_base rustc_base host_base; do
    [[ ${#names[@]} -eq 0 ]] || one_of "$name" "${names[@]}" || continue
    out="$tmp/$name.json"
    # From the root with the file's relative path, so the command line (which the process
    # sees) is the same in every clone.
    ir=$(cd "$root" && count "$out" "$meshsim" run "$file" --json --seed "$seed" --no-expect \
        --set "scenario.duration=$duration") || exit 2
    ev=$(json_number events "$out")
    [[ $ev =~ ^[0-9]+$ && $ev -gt 0 ]] || { echo "$me: [$name]: the report has no events" >&2; exit 2; }
    printf '%s\t%s\t%s\n' "$name" "$ev" "$ir" >>"$tmp/measured"
    per_event=$(per "$ir" "$ev")
    if [[ $ir_base == - || $ev_base == - ]]; then
        r=-
        verdict="no baseline"
        failures+=("$name: $ir instructions, no baseline yet: measure it with benches/guard.sh --update $name")
    else
        r=$(awk -v a="$ir_base" -v b="$ev_base" -v c="$ir" -v d="$ev" 'BEGIN { printf "%.4f", (c / d) / (a / b) }')
        over=$(awk -v r="$r" -v l="$limit_percent" 'BEGIN { print (r > 1 + l / 100) ? 1 : (r < 1 - l / 100) ? -1 : 0 }')
        said="$name: $ir instructions ($per_event per event), baseline $ir_base ($(per "$ir_base" "$ev_base") per event), ratio $r"
        if [[ $rustc_base != "$rustc_now" || $host_base != "$host_now" ]]; then
            verdict="skipped"
            skipped+=("$name: baseline measured with $rustc_base on $host_base")
        elif [[ $over == 1 ]]; then
            verdict="FAIL"
            failures+=("$said: more than ${limit_percent}% over the baseline")
        elif [[ $over == -1 ]]; then
            verdict="note: under"
            notes+=("$said: more than ${limit_percent}% under the baseline")
        else
            verdict="ok"
        fi
        if [[ $ev != "$ev_base" ]]; then
            notes+=("$name: $ev events, the baseline's run had $ev_base: this run simulates something else (same seed, other output), compared per event")
        fi
    fi
    printf "%-${w}s %-8s %9s %14s %14s %9s %7s  %s\n" "$name" "$duration" "$ev" "$ir_base" "$ir" \
        "$per_event" "$r" "$verdict"
done <<<"$entries"

if [[ $update -eq 1 ]]; then
    write_baselines "$baselines" "$tmp/measured" "$rustc_now" "$host_now" >"$tmp/baselines.toml"
    cp "$tmp/baselines.toml" "$baselines"
    echo
    echo "Updated ${baselines#"$root"/} (benches/guard.sh --update; $rustc_now, $host_now):"
    while IFS=$'\t' read -r name ev ir; do
        old=$(awk -F'\t' -v n="$name" '$1 == n' <<<"$entries")
        IFS=$'\t' read -r _ _ _ duration ev_base ir_base rustc_base _ <<<"$old"
        if [[ $ir_base == - || $ev_base == - ]]; then
            echo "  $name ($duration): $ir instructions, $ev events (new)"
        else
            echo "  $name ($duration): $ir_base -> $ir instructions ($(ratio "$ir_base" "$ir")), events $ev_base -> $ev, per event $(per "$ir_base" "$ev_base") -> $(per "$ir" "$ev")"
        fi
        [[ $rustc_base == - || $rustc_base == "$rustc_now" ]] || echo "    (was measured with $rustc_base)"
    done <"$tmp/measured"
    exit 0
fi

for s in "${skipped[@]}"; do
    echo "$me: skipped: $s, this is $rustc_now on $host_now: the counts of two compilers differ by the compiler alone, so they are not compared. Record the new toolchain's counts in a commit of their own: benches/guard.sh --update" >&2
done
for n in "${notes[@]}"; do
    echo "$me: note: $n. If the change is deliberate, record it: benches/guard.sh --update, and commit ${baselines#"$root"/} saying why" >&2
done
for f in "${failures[@]}"; do
    echo "$me: FAILED: $f" >&2
done
if [[ ${#failures[@]} -gt 0 ]]; then
    exit 1
fi
if [[ ${#skipped[@]} -gt 0 && $strict_toolchain -eq 1 ]]; then
    echo "$me: --strict-toolchain: ${#skipped[@]} baseline(s) of another toolchain" >&2
    exit 2
fi
echo "$me: passed (${#skipped[@]} skipped, ${#notes[@]} notes)"
