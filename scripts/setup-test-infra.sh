#!/usr/bin/env bash
# Test infrastructure of the Python sandbox tests (run by .ci/run before `npm test`; idempotent, safe to run again):
# - installs docker.io, bubblewrap and debootstrap when missing (one `apt-get update`, only when something is missing);
# - starts a private dockerd under $GLEITZEIT_CI_DIR/docker (no bridge, no iptables: see
#   ../shared/reference/test-infrastructure.md) unless its socket already answers;
# - builds the local image gleitzeit/python:3.11 (Debian bookworm minbase + python3, no registry needed) unless the
#   daemon has it; the root filesystem tarball is cached, so a rebuild after a daemon reset takes seconds.
# The tests find the daemon at $GLEITZEIT_DOCKER_SOCKET, whose default is this script's socket.
set -euo pipefail

CI_DIR="${GLEITZEIT_CI_DIR:-/var/lib/gleitzeit-ci}"
DOCKER_DIR="$CI_DIR/docker"
SOCKET="${GLEITZEIT_DOCKER_SOCKET:-$DOCKER_DIR/docker.sock}"
IMAGE="${GLEITZEIT_PYTHON_IMAGE:-gleitzeit/python:3.11}"
ROOTFS_TAR="$CI_DIR/cache/python3.11-bookworm-rootfs.tar"
started=$(date +%s)

log() { echo "== setup-test-infra: $*"; }

if [ "$(id -u)" != 0 ]; then
  echo "setup-test-infra: must run as root (installs packages, starts dockerd)" >&2
  exit 1
fi

# 1. Packages. policy-rc.d keeps apt from starting Debian's own dockerd (which would create a bridge and iptables
#    rules); it is only added for the install when the machine has none.
missing=()
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
command -v bwrap >/dev/null 2>&1 || missing+=(bubblewrap)
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  added_policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    added_policy=1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  if [ -n "$added_policy" ]; then rm -f /usr/sbin/policy-rc.d; fi
fi

# 2. The daemon. Answers when `GET /_ping` on its socket says OK.
ping_docker() { curl -fsS --max-time 2 --unix-socket "$SOCKET" http://localhost/_ping >/dev/null 2>&1; }
if ping_docker; then
  log "dockerd already answers on $SOCKET"
else
  mkdir -p "$DOCKER_DIR/data" "$DOCKER_DIR/exec"
  pid_file="$DOCKER_DIR/dockerd.pid"
  # A dockerd of ours that is still starting (a killed one may linger as a zombie: not counted).
  starting() {
    local pid
    pid=$(cat "$pid_file" 2>/dev/null) || return 1
    [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = dockerd ] &&
      [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ]
  }
  if starting; then
    log "dockerd (pid $(cat "$pid_file")) is starting; waiting for it"
  else
    log "starting dockerd on $SOCKET"
    rm -f "$pid_file" # left by a dockerd that died (dockerd refuses to start while its pid exists, even as a zombie)
    # The containerd a killed dockerd leaves running holds its socket: the new dockerd would time out waiting.
    containerd_pid=$(cat "$DOCKER_DIR/exec/containerd/containerd.pid" 2>/dev/null || true)
    if [ -n "$containerd_pid" ] && [ "$(cat "/proc/$containerd_pid/comm" 2>/dev/null)" = containerd ]; then
      kill "$containerd_pid" 2>/dev/null || true
      for _ in $(seq 1 50); do
        [ "$(awk '{print $3}' "/proc/$containerd_pid/stat" 2>/dev/null || echo Z)" = Z ] && break
        sleep 0.2
      done
      [ "$(awk '{print $3}' "/proc/$containerd_pid/stat" 2>/dev/null || echo Z)" = Z ] || kill -9 "$containerd_pid"
    fi
    rm -f "$DOCKER_DIR/exec/containerd/containerd.pid" # a zombie's pid would still look alive to dockerd
    # The four network flags are mandatory here: without them dockerd creates a bridge and rewrites iptables.
    setsid nohup dockerd \
      --data-root "$DOCKER_DIR/data" --exec-root "$DOCKER_DIR/exec" --pidfile "$pid_file" -H "unix://$SOCKET" \
      --bridge=none --iptables=false --ip-forward=false --ip-masq=false \
      >>"$DOCKER_DIR/dockerd.log" 2>&1 </dev/null &
  fi
  for _ in $(seq 1 120); do
    ping_docker && break
    sleep 0.5
  done
  if ! ping_docker; then
    echo "setup-test-infra: dockerd did not answer on $SOCKET within 60 s; last log lines:" >&2
    tail -n 20 "$DOCKER_DIR/dockerd.log" >&2 || true
    exit 1
  fi
fi
docker_cli() { docker -H "unix://$SOCKET" "$@"; }

# 3. The image: debootstrap's minbase + python3, imported as a single layer, running as nobody by default.
if docker_cli image inspect "$IMAGE" >/dev/null 2>&1; then
  log "image $IMAGE present"
else
  if [ ! -s "$ROOTFS_TAR" ]; then
    log "building a bookworm rootfs with python3 (debootstrap, ~40 s)"
    mkdir -p "$(dirname "$ROOTFS_TAR")"
    root=$(mktemp -d "$CI_DIR/rootfs.XXXXXX")
    trap 'rm -rf "$root"' EXIT
    debootstrap --variant=minbase --include=python3 bookworm "$root" http://deb.debian.org/debian >/dev/null
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/usr/share/doc \
      "$root"/usr/share/man "$root"/usr/share/locale
    tar -C "$root" -cf "$ROOTFS_TAR.partial" .
    mv "$ROOTFS_TAR.partial" "$ROOTFS_TAR"
    rm -rf "$root"
    trap - EXIT
  fi
  log "importing $IMAGE"
  docker_cli import \
    --change 'CMD ["/usr/bin/python3"]' --change 'USER 65534:65534' --change 'WORKDIR /tmp' \
    --change 'ENV LANG=C.UTF-8 PYTHONDONTWRITEBYTECODE=1' \
    "$ROOTFS_TAR" "$IMAGE" >/dev/null
  docker_cli run --rm --network none "$IMAGE" /usr/bin/python3 -c 'import sys; assert sys.version_info[:2] == (3, 11)'
fi

# 4. PostgreSQL and Redis on 127.0.0.1 (the machines run them already; start them when they have stopped).
if command -v pg_ctlcluster >/dev/null 2>&1 && ! pg_isready -h 127.0.0.1 -p 5432 -q; then
  log "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start
fi
if command -v redis-server >/dev/null 2>&1 && ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  log "starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no >/dev/null
fi

log "ready in $(($(date +%s) - started)) s (GLEITZEIT_DOCKER_SOCKET=$SOCKET, image $IMAGE, $(bwrap --version))"
