#!/usr/bin/env bash
# The dashboard's JavaScript checks: ESLint, Prettier (check only) and the unit tests of
# its pure modules (node's own test runner). Needs node >= 18.19 and npm (tests/run.sh
# installs Debian's when node is missing). Usage: tests/js/run.sh (from anywhere).
set -euo pipefail
cd "$(dirname "$0")/../.." # the repository: the configs name paths from there
JS=tests/js

# The pinned tools, installed again only when node_modules is missing or the lockfile
# changed since the last install.
stamp=$JS/node_modules/.installed-from
lock=$(sha256sum "$JS/package-lock.json" | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$lock" ]; then
  (cd "$JS" && npm ci --no-audit --no-fund)
  echo "$lock" >"$stamp"
fi

# Run from the repository with tests/js's tools (--prefix) and configs (--config): the
# toolchain stays out of the top level. --no: never fetch a tool that is not installed.
echo "== eslint"
npx --no --prefix "$JS" eslint --config "$JS/eslint.config.js" web "$JS"
echo "== prettier"
npx --no --prefix "$JS" prettier --config "$JS/prettier.config.js" --check 'web/*.js' "$JS/*.{js,mjs}"
echo "== node --test"
# A fixed locale (the time zone is set by setup.mjs): the expected texts are exact.
LC_ALL=en_GB.UTF-8 node --import "./$JS/setup.mjs" --test --test-reporter=spec "$JS"/*.test.mjs
