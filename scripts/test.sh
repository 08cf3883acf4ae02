#!/usr/bin/env bash
# Installs what is missing, builds, checks types and lint, and runs the test suite.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/setup.sh"

say "Type check"
npm run -s typecheck
say "Lint"
npm run -s lint
say "Tests"
npx vitest run "$@"
