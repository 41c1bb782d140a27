#!/usr/bin/env bash
# Installs the pinned agent CLIs the end-to-end tests drive, from the npm registry, into a cache
# outside the repository (default ~/.cache/planrun/agent-clis; PLANRUN_AGENT_CLIS to choose).
# Does nothing when the pinned versions are already there. Needs Node.js and npm.
set -euo pipefail
dir="${PLANRUN_AGENT_CLIS:-${XDG_CACHE_HOME:-$HOME/.cache}/planrun/agent-clis}"
# Pinned versions: bump them here, deliberately, with the tests.
packages=("@anthropic-ai/claude-code@2.1.197" "@openai/codex@0.169.0" "@google/gemini-cli@0.61.0" "opencode-ai@1.18.33")
mkdir -p "$dir"
stamp="$dir/.installed"
want="${packages[*]}"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "agent CLIs: up to date in $dir"
  exit 0
fi
cd "$dir"
[ -f package.json ] || echo '{"name": "planrun-agent-clis", "private": true}' > package.json
npm install --no-audit --no-fund --loglevel=error "${packages[@]}"
echo "$want" > "$stamp"
echo "agent CLIs: installed in $dir: $want"
