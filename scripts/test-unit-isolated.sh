#!/usr/bin/env bash
# Proves that `npm run test:unit` needs no root and no services: runs it on a copy of this checkout (tracked and
# modified files plus node_modules) as the user nobody, in a network namespace of its own (only its own loopback, so
# the host's PostgreSQL, Redis and LLM or MCP servers are unreachable), with bubblewrap and the test Docker engine's
# directory masked, and the test PostgreSQL/Redis URLs pointed at a closed port. Run it as root; it exits with
# the tests' status.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
  echo "test-unit-isolated: run as root (it drops to nobody inside a namespace of its own)" >&2
  exit 64
fi

root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d /tmp/gleitzeit-unit-XXXXXX)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/repo" "$work/home"
(cd "$root" && git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$work/repo")
cp -a "$root/node_modules" "$work/repo/"
rm -rf "$work/repo/node_modules/.cache" "$work/repo/node_modules/.vite"
chown -R nobody:nogroup "$work"

# shellcheck disable=SC2016 # expanded by the inner shell
unshare --net --mount --propagation private bash -c '
  set -euo pipefail
  ip link set lo up
  if [ -e /usr/bin/bwrap ]; then mount --bind /dev/null /usr/bin/bwrap; fi
  if [ -d /var/lib/gleitzeit-ci ]; then mount -t tmpfs tmpfs /var/lib/gleitzeit-ci; fi
  cd "$1/repo"
  exec setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all \
    env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$1/home" CI="${CI:-}" \
    GLEITZEIT_TEST_PG_URL=postgres://postgres@127.0.0.1:1/postgres GLEITZEIT_TEST_REDIS_URL=redis://127.0.0.1:1 \
    npm run test:unit
' isolated "$work"
