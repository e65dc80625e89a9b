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

packages=(python3-venv iptables nftables docker.io docker-compose busybox-static tcpdump user-mode-linux kmod graphviz chromium fonts-dejavu-core containernetworking-plugins podman)
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

if [ $# -gt 0 ] || [ "${NETLAB_TEST_SERIAL:-}" = 1 ]; then
  pytest -q -p no:cacheprovider "$@"
  exit
fi

# The whole suite runs in two parts side by side (most of either is waiting: for timeouts, daemons, containers):
# the docker tier and the docker backend's fault points on this machine, everything else in a machine of its own
# (tests/sandbox.sh: its own network namespace, /proc and /run), so that neither part's host snapshots see the
# other's runs. NETLAB_TEST_SERIAL=1 runs everything here, one test after another.
logs=$(mktemp -d /tmp/netlab-tests.XXXXXX)
sandbox_rc=0
docker_rc=0
unshare --net --mount --pid --fork --mount-proc --kill-child bash tests/sandbox.sh \
  bash -c 'echo "$(readlink /proc/self/ns/pid) $(readlink /proc/self/ns/net)" > "$0.tmp" && mv "$0.tmp" "$0" && exec "${@}"' \
  "$logs/sandbox-ns" env NETLAB_TEST_PART=sandbox pytest -q -p no:cacheprovider --durations=20 --basetemp="$logs/sandbox-tmp" \
  >"$logs/sandbox.log" 2>&1 &
sandbox=$!
for _ in $(seq 1 100); do [ -s "$logs/sandbox-ns" ] && break; sleep 0.1; done
[ -s "$logs/sandbox-ns" ] || { cat "$logs/sandbox.log" >&2; echo "the sandbox did not start" >&2; exit 3; }
NETLAB_TEST_SANDBOX="$(cat "$logs/sandbox-ns")" NETLAB_TEST_PART=docker \
  pytest -q -p no:cacheprovider --durations=20 --basetemp="$logs/docker-tmp" >"$logs/docker.log" 2>&1 &
docker=$!
wait "$sandbox" || sandbox_rc=$?
wait "$docker" || docker_rc=$?
# the sandbox's cgroup subtrees (tests/sandbox.sh made them), empty unless a test leaked a cgroup
while read -r d; do
  # the sandbox's mount namespace, which held them, may take a moment to go away after its last process
  for _ in $(seq 1 50); do [ ! -d "$d" ] || rmdir "$d" 2>/dev/null || { sleep 0.1; continue; }; break; done
  [ ! -d "$d" ] || { echo "tests/run.sh: $d is left (a test leaked a cgroup in it)" >&2; sandbox_rc=3; }
done < <(awk '{for (i = 7; i < NF; i++) if ($i == "-") { if ($(i+1) ~ /^cgroup2?$/) print $5 "/tests-sandbox"; break }}' \
  /proc/self/mountinfo)
echo "== unit, netns, cni and fault tiers (in tests/sandbox.sh's machine): exit $sandbox_rc"
cat "$logs/sandbox.log"
echo "== docker tier and the docker backend's fault points: exit $docker_rc"
cat "$logs/docker.log"
rm -rf "$logs"
[ "$sandbox_rc" = 0 ] && [ "$docker_rc" = 0 ]
