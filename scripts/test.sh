#!/usr/bin/env bash
# Installs what is missing, builds, checks types and lint, and runs the test suite.
set -euo pipefail
# The tests run the bundled CLI (scripts/bundle.mjs): a build that could not bundle fails here.
export SPEAKER_AGENT_BUNDLE=required
# The tests' own Debian packages, installed with the rest where missing (scripts/lib/setup.sh).
export SPEAKER_AGENT_TEST_APT_PACKAGES="${SPEAKER_AGENT_TEST_APT_PACKAGES-mosquitto}"
source "$(dirname "${BASH_SOURCE[0]}")/lib/setup.sh"

say "Type check"
npm run -s typecheck
say "Lint"
npm run -s lint
say "Tests"
RESULTS="$(mktemp -d)/vitest.json"
status=0
npx vitest run --reporter=default --reporter=json --outputFile="$RESULTS" "$@" || status=$?
# A plain closing line that any CI can read.
if [ -f "$RESULTS" ]; then
  node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + (r.numTodoTests || 0)} skipped`);
  ' "$RESULTS"
fi
exit "$status"
