#!/bin/bash
# The whole test suite, from a fresh Debian 12 machine (run as root; README's second command, and
# what CI runs through .ci/run):
#   1. scripts/setup.sh --test   (apt packages, .venv, test bed: libvirtd, tiny guests, sshd)
#   2. the whole pytest suite against the test bed (HVDECK_REQUIRE_TESTBED=1: tests that need
#      the test bed fail instead of skipping when it is missing)
#   3. scripts/testbed/down.sh, always
# Exits with pytest's exit status (or setup's, if setup fails).
set -uo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}'; }
T0=$(now)
RC=1
TIMES=()

finish() {
  local t
  t=$(now)
  echo "test: stopping the test bed"
  bash scripts/testbed/down.sh || echo "test: warning: scripts/testbed/down.sh failed"
  TIMES+=("down=$(since "$t")s")
  echo "test: timings: ${TIMES[*]} total=$(since "$T0")s"
  echo "test: exit status $RC"
  exit "$RC"
}
trap finish EXIT
trap 'RC=130; exit 130' INT
trap 'RC=143; exit 143' TERM

echo "test: $(date -u '+%Y-%m-%d %H:%M:%S') UTC on $(. /etc/os-release && echo "$PRETTY_NAME"), $(nproc) cores"
t=$(now)
bash scripts/setup.sh --test
RC=$?
TIMES+=("setup=$(since "$t")s")
if [ "$RC" != 0 ]; then
  echo "test: scripts/setup.sh --test failed with status $RC"
  exit "$RC"
fi

# shellcheck source=../scripts/testbed/env.sh
source scripts/testbed/env.sh
export HVDECK_REQUIRE_TESTBED=1

t=$(now)
echo "test: static checks (scripts/lint.sh: ruff, mypy, import-linter)"
bash scripts/lint.sh
LINT=$?
TIMES+=("lint=$(since "$t")s")

t=$(now)
echo "test: running pytest"
.venv/bin/python -m pytest -q -p no:cacheprovider "$@"
RC=$?
TIMES+=("pytest=$(since "$t")s")
echo "test: pytest exit status $RC, static checks exit status $LINT"
[ "$RC" = 0 ] && RC=$LINT
exit "$RC"
