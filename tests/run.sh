#!/usr/bin/env bash
# Installs everything the test suite needs on Debian 12 (run as root) and runs the whole suite:
# lint, type check, unit tier, netns tier (real namespaces) and, once it exists, the docker tier.
# Idempotent: packages already installed are not reinstalled; a Docker daemon netlab starts here
# is stopped again at exit, one that was already running is left alone.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
  echo "tests/run.sh: run as root (the netns and docker tiers create namespaces, links and rules)" >&2
  exit 3
fi

packages=(python3-venv iptables nftables docker.io docker-compose busybox-static tcpdump user-mode-linux kmod graphviz chromium fonts-dejavu-core containernetworking-plugins)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/pip install -q --disable-pip-version-check -e '.[test]'
export PATH="$PWD/.venv/bin:$PATH"

started_dockerd=""
stop_dockerd() {
  if [ -n "$started_dockerd" ]; then
    kill "$started_dockerd" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$started_dockerd" 2>/dev/null || break; sleep 0.1; done
  fi
}
trap stop_dockerd EXIT

if [ -d tests/docker ] && ! timeout 5 docker info >/dev/null 2>&1; then
  echo "starting dockerd for the docker tier"
  # addresses inside netlab's pool (198.18.0.0/15): docker0 and any network Docker numbers itself
  dockerd --bip 198.19.63.1/24 --default-address-pool base=198.19.64.0/18,size=24 \
    >/tmp/netlab-ci-dockerd.log 2>&1 &
  started_dockerd=$!
  for _ in $(seq 1 150); do timeout 2 docker info >/dev/null 2>&1 && break; sleep 0.2; done
  timeout 5 docker info >/dev/null 2>&1 || { echo "dockerd did not come up; see /tmp/netlab-ci-dockerd.log" >&2; exit 3; }
fi

ruff check netlab scenarios tests benchmarks tools
ruff format --check netlab scenarios tests benchmarks tools
mypy
pytest -q -p no:cacheprovider "$@"
