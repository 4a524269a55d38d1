#!/bin/sh
# Builds the sendfile addon (npm install / npm ci run this). Node's own headers are used
# (--nodedir: the prefix of the node that runs the install), so nothing is downloaded. A failed
# build is not an error: the broker then sends Fetch responses through its copying path.
cd "$(dirname "$0")" || exit 0
nodedir=$(node -p 'require("path").resolve(process.execPath, "../..")')
set --
if [ -f "$nodedir/include/node/node_api.h" ]; then set -- "--nodedir=$nodedir"; fi
if command -v node-gyp >/dev/null 2>&1; then gyp="node-gyp"
elif [ -n "$npm_config_node_gyp" ]; then gyp="node $npm_config_node_gyp"
else echo "samsa: node-gyp not found; the sendfile addon is not built (Fetch uses the copying path)"; exit 0
fi
if $gyp rebuild "$@" >build.log 2>&1; then
  echo "samsa: sendfile addon built"
else
  echo "samsa: the sendfile addon did not build (storage/native/build.log); Fetch uses the copying path"
fi
exit 0
