# The pieces that benches/instructions.sh (two revisions side by side) and benches/guard.sh
# (the CI guard against committed baselines) share: building meshsim with one cargo profile
# and counting the instructions of one command under valgrind's callgrind. Sourced, not run:
# one copy of how a count is taken, so the two scripts cannot drift apart in what they
# measure.
#
# The sourcing script sets:
#   me       its name, the prefix of every message ("guard.sh")
#   profile  the cargo profile (instructions.sh: --profile; guard.sh: always instructions)

# Builds `cargo build ARGS` in tree $1 into target directory $2 with the chosen profile;
# prints cargo's JSON messages (compiler errors are rendered on stderr).
build() {
    local tree=$1 target=$2; shift 2
    local config=()
    # A revision older than [profile.instructions] gets the same settings from the command
    # line, so both sides are built alike.
    if [[ $profile == instructions ]] && ! grep -q '^\[profile\.instructions\]' "$tree/Cargo.toml"; then
        config=(--config 'profile.instructions.inherits="release"'
                --config 'profile.instructions.lto="thin"'
                --config 'profile.instructions.codegen-units=16'
                --config 'profile.instructions.incremental=false')
    fi
    (cd "$tree" && CARGO_TARGET_DIR="$target" cargo build --quiet "${config[@]}" \
        --profile "$profile" --message-format=json-render-diagnostics "$@")
}

# The path of the executable named $1 in cargo's JSON messages on stdin.
executable() {
    grep -o "\"executable\":\"[^\"]*/$1[^\"]*\"" | tail -n 1 | cut -d'"' -f4
}

# Builds the meshsim binary of tree $1 (target directory $2) and copies it to $3.
meshsim_of() {
    local exe
    exe=$(build "$1" "$2" --bin meshsim | executable meshsim)
    [[ -x $exe ]] || { echo "$me: no meshsim binary built in $1" >&2; exit 1; }
    cp "$exe" "$3"
}

# Instructions of one command under callgrind (the total Ir of its only process); its
# stdout goes to $1, its stderr to $1.err. A command that fails stops the script: a count
# of a run that did not finish measures nothing.
count() {
    local out=$1; shift
    valgrind --tool=callgrind --callgrind-out-file="$out.callgrind" "$@" >"$out" 2>"$out.err" \
        || { grep -v '^==[0-9]*==' "$out.err" >&2; echo "$me: failed: $*" >&2; exit 1; }
    grep -E '^(summary|totals):' "$out.callgrind" | head -n 1 | awk '{print $2}'
    rm -f "$out.callgrind"
}

# A number from a meshsim JSON report: the first "KEY": N.
json_number() {
    grep -o "\"$1\": *[0-9.]*" "$2" | head -n 1 | sed 's/.*: *//'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.4f", b / a }'; }
per() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", a / b }'; }
