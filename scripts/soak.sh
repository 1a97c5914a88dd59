#!/usr/bin/env bash
# Crash soak of ingest: SIGKILL a real `stemchat ingest` at random points, round after round, and
# check the store after every kill (the logic is tests/test_crash_soak.py; CI runs 20 rounds).
#
#   scripts/soak.sh            200 rounds, a random seed (printed)
#   scripts/soak.sh 500        500 rounds
#   STEMCHAT_SOAK_SEED=123 scripts/soak.sh    replay a failing run
#
# Output: the per-round log in test-artifacts/crash-soak.log, the summary in
# test-artifacts/crash-soak-summary.json; on a failure the store and corpus of the failing round
# are kept in test-artifacts/crash-soak-seed<SEED>-round<N>/.
set -euo pipefail
cd "$(dirname "$0")/.."

rounds="${1:-${STEMCHAT_SOAK_ROUNDS:-200}}"
if ! [[ "$rounds" =~ ^[0-9]+$ ]] || (( rounds < 1 )); then
    echo "usage: scripts/soak.sh [ROUNDS]  (default 200)" >&2
    exit 2
fi
mkdir -p test-artifacts
export STEMCHAT_SOAK_ROUNDS="$rounds"
echo "crash soak: $rounds rounds (about 10 s each on 2 cores)"
.venv/bin/python -m pytest tests/test_crash_soak.py -k sigkill -s -q -p no:cacheprovider \
    2>&1 | tee test-artifacts/crash-soak.log
