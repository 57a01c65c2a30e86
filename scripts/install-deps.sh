#!/usr/bin/env bash
# Installs every build, test and benchmark dependency from Debian 12 packages.
# Idempotent: a second run installs nothing. Needs root (or sudo).
set -euo pipefail

PACKAGES=(
  # build (ccache: repeated builds, CI's clean clones included, reuse objects)
  build-essential cmake ninja-build pkg-config git ccache
  # libraries
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libssl-dev libsqlite3-dev libtomlplusplus-dev libspdlog-dev libfmt-dev libcli11-dev
  libhiredis-dev
  # sandbox toolchain: validation/translation and the two compiler tiers
  wabt tcc libtcc-dev gcc
  # guests
  clang-14 lld-14 wasi-libc libclang-rt-14-dev-wasm32 rustc libstd-rust-dev-wasm32
  # tests and benchmarks
  googletest libgtest-dev libgmock-dev libbenchmark-dev wrk nginx-light curl hyperfine nodejs
  # the redis workflow resource's tests start a real server
  redis-server
  # at-least-once workflows: NATS JetStream (server for tests, C client)
  nats-server libnats-dev
  # the sqlx workflow resource: libpq, and a PostgreSQL server its tests start
  libpq-dev postgresql-15
  # the control plane's etcd store: its tests start real etcd members
  etcd-server etcd-client
  # fuzzing and the sanitizer build (scripts/fuzz.sh, scripts/sanitize.sh):
  # libFuzzer and the sanitizer runtimes for clang-14; llvm-symbolizer for
  # the file:line in their reports
  libclang-rt-14-dev llvm-14
  # the dashboard's browser test (tests/browser/): headless Chromium over WebDriver
  chromium chromium-driver
  # CI checks (scripts/check-format.sh, scripts/check-tidy.sh)
  clang-format-14 clang-tidy-14
  # tests/docker: the images and compose file of deploy/docker (dockerd runs
  # as `dockerd --iptables=false --bridge=none`), and debootstrap for the
  # base image where no registry answers (scripts/docker-base.sh)
  docker.io docker-compose debootstrap
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
