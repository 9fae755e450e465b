#!/usr/bin/env bash
# Coverage-guided fuzzing of the parsers that take untrusted bytes: libFuzzer targets in
# tests/fuzz/ built with Debian's clang, AddressSanitizer and UndefinedBehaviorSanitizer into
# build-fuzz/ (a tree of its own: only core, schemas and providers, see CMakeLists.txt).
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]   # build, then fuzz each target for SECONDS
#   scripts/fuzz.sh --build-only            # install clang if missing, configure and build
#   scripts/fuzz.sh 0 math                  # replay regressions and seeds only, no fuzzing
#
# SECONDS defaults to $EVENTIDE_FUZZ_SECONDS, else 60. Targets: envelope plan placeholders math
# llm_repair (default: all), $EVENTIDE_FUZZ_JOBS at a time (default 2). For each target, first
# the saved crashes under tests/fuzz/regressions/<target>/ are replayed, then libFuzzer runs with
# -max_total_time=SECONDS -rss_limit_mb=2048 -timeout=10 on its corpus (build-fuzz/corpus/, kept
# between runs), the seeds generated from tests/fixtures (build-fuzz/seeds/) and the committed
# seeds (tests/fuzz/seeds/), with tests/fuzz/<dict>.dict. Exit status 1 on any crash, sanitizer
# report, leak, timeout or out-of-memory, with the saved input's path printed; 0 otherwise.
#
# --ctest (used by the ctest entries fuzz.*): never installs anything and exits 77 (skipped)
# when clang with libFuzzer is missing. --no-build: use what build-fuzz/ holds.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
all_targets=(envelope plan placeholders math llm_repair)
out=${EVENTIDE_FUZZ_DIR:-$root/build-fuzz}
jobs=${EVENTIDE_FUZZ_JOBS:-2}

build=1 run=1 ctest=0
positional=()
for a in "$@"; do
  case $a in
    --build-only) run=0 ;;
    --no-build) build=0 ;;
    --ctest) ctest=1 ;;
    -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
    -*) echo "[fuzz] unknown option $a" >&2; exit 2 ;;
    *) positional+=("$a") ;;
  esac
done
seconds=${EVENTIDE_FUZZ_SECONDS:-60}
if [ ${#positional[@]} -gt 0 ] && [[ ${positional[0]} =~ ^[0-9]+$ ]]; then
  seconds=${positional[0]}
  positional=("${positional[@]:1}")
fi
targets=("${positional[@]}")
[ ${#targets[@]} -gt 0 ] || targets=("${all_targets[@]}")
for t in "${targets[@]}"; do
  [[ " ${all_targets[*]} " == *" $t "* ]] || { echo "[fuzz] unknown target '$t' (${all_targets[*]})" >&2; exit 2; }
done

# clang with libFuzzer, or skip (ctest) / install (by hand, scripts/test.sh).
have_clang() {
  local cxx
  cxx=$(command -v clang++-14 || command -v clang++) || return 1
  echo 'extern "C" int LLVMFuzzerTestOneInput(const char*, unsigned long) { return 0; }' \
    | "$cxx" -x c++ -fsanitize=fuzzer,address,undefined -o /dev/null - 2>/dev/null
}
if ! have_clang; then
  if [ $ctest = 1 ]; then
    echo "[fuzz] SKIPPED: no clang++ with libFuzzer (install: bash scripts/bootstrap.sh --fuzz)" >&2
    exit 77
  fi
  bash scripts/bootstrap.sh --fuzz >&2
fi

if [ $build = 1 ]; then
  start=$(date +%s)
  # No ccache here: it served objects built under an older UBSan ignorelist to a clean clone
  # (the list's contents are not part of its key), and the sanitizer build must be exactly
  # what the sources and the list say. A cold build takes about 3 minutes.
  export CCACHE_DISABLE=1
  if [ ! -f "$out/build.ninja" ]; then
    cmake -S . -B "$out" -G Ninja -DEVENTIDE_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >&2
  fi
  cmake --build "$out" -j "${EVENTIDE_JOBS:-2}" >&2
  echo "[fuzz] build-fuzz up to date ($(( $(date +%s) - start )) s)" >&2
fi
[ $run = 1 ] || exit 0

llvm_bin=$(dirname "$(readlink -f "$(command -v clang++-14 || command -v clang++)")")
export ASAN_SYMBOLIZER_PATH=${ASAN_SYMBOLIZER_PATH:-$llvm_bin/llvm-symbolizer}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}

mkdir -p "$out/logs" "$out/status"
python3 tests/fuzz/make_seeds.py "$out/seeds" "${targets[@]}" >&2

dict_of() { case $1 in math) echo tests/fuzz/math.dict ;; *) echo tests/fuzz/json.dict ;; esac; }

# Prints where a failing run saved its input and the sanitizer's report.
report_failure() {
  local t=$1 log=$2 what=$3
  echo "[fuzz] $t: FAILED ($what); log: $log" >&2
  grep -E "^(==[0-9]+==ERROR|SUMMARY|FUZZ_CHECK|.*runtime error:|ALARM|==[0-9]+== ERROR)" "$log" | head -5 >&2 || true
  # The stack without libFuzzer's, the sanitizers' and libc's own frames.
  grep -E "^ +#[0-9]+ " "$log" \
    | grep -vE "fuzzer::|__sanitizer|libc\.so|nptl/|signal/|stdlib/abort|compiler-rt|_start" \
    | head -10 >&2 || true
  local input
  input=$(grep -oE "Test unit written to .*" "$log" | sed 's/Test unit written to //' | tail -1)
  [ -n "$input" ] || input=$(grep -oE "^Running: .*" "$log" | sed 's/Running: //' | tail -1)
  if [ -n "$input" ]; then
    echo "[fuzz] $t: crashing input: $input" >&2
    echo "[fuzz] reproduce: $out/tests/fuzz/fuzz_$t $input" >&2
    echo "[fuzz] keep it:   cp $input tests/fuzz/regressions/$t/" >&2
  fi
}

run_target() {
  local t=$1
  local bin=$out/tests/fuzz/fuzz_$t log=$out/logs/$t.log status=$out/status/$t
  local flags=(-rss_limit_mb=2048 -timeout=10 -error_exitcode=1 -timeout_exitcode=1)
  echo 1 >"$status"
  : >"$log"
  [ -x "$bin" ] || { echo "[fuzz] $t: $bin missing (build first)" >&2; return 1; }

  # Every saved crash must stay fixed: a target given files runs each once.
  local regressions=()
  if [ -d "tests/fuzz/regressions/$t" ]; then
    while IFS= read -r -d '' f; do regressions+=("$f"); done \
      < <(find "tests/fuzz/regressions/$t" -type f ! -name '*.md' -print0 | sort -z)
  fi
  if [ ${#regressions[@]} -gt 0 ]; then
    if ! "$bin" "${flags[@]}" "${regressions[@]}" >>"$log" 2>&1; then
      report_failure "$t" "$log" "a saved regression fails again"
      return 1
    fi
  fi

  mkdir -p "$out/corpus/$t" "$out/artifacts/$t"
  local seeds=("$out/seeds/$t")
  [ -d "tests/fuzz/seeds/$t" ] && seeds+=("tests/fuzz/seeds/$t")
  local budget=(-max_total_time="$seconds")
  [ "$seconds" -gt 0 ] || budget=(-runs=0)
  local start=$(date +%s)
  if ! "$bin" "${flags[@]}" "${budget[@]}" -dict="$(dict_of "$t")" -print_final_stats=1 \
      -artifact_prefix="$out/artifacts/$t/" "$out/corpus/$t" "${seeds[@]}" >>"$log" 2>&1; then
    report_failure "$t" "$log" "crash, sanitizer report, leak, timeout or out-of-memory"
    return 1
  fi
  fstat() { grep -oE "^stat::$1: *[0-9]+" "$log" | tail -1 | grep -oE "[0-9]+$" || echo "?"; }
  local last
  last=$(grep -E "^#[0-9]+" "$log" | tail -1)
  echo "[fuzz] $t: ok, $(( $(date +%s) - start )) s, $(fstat number_of_executed_units) runs," \
    "$(fstat average_exec_per_sec) exec/s, cov $(grep -oE 'cov: [0-9]+' <<<"$last" | cut -d' ' -f2)," \
    "ft $(grep -oE 'ft: [0-9]+' <<<"$last" | cut -d' ' -f2), corpus $(ls "$out/corpus/$t" | wc -l)" \
    "(+$(fstat new_units_added) new), ${#regressions[@]} regressions replayed," \
    "peak RSS $(fstat peak_rss_mb) MB" >&2
  echo 0 >"$status"
}

echo "[fuzz] ${targets[*]}: ${seconds} s each, $jobs at a time" >&2
for t in "${targets[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
  run_target "$t" &
done
wait || true

failed=()
for t in "${targets[@]}"; do
  [ "$(cat "$out/status/$t" 2>/dev/null)" = 0 ] || failed+=("$t")
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "[fuzz] FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "[fuzz] all passed: ${targets[*]}" >&2
