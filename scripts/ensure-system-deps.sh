#!/usr/bin/env bash
# Installs the system parts the tests (or benchmarks) need, only when they are missing.
# Usage: ensure-system-deps.sh test|bench
set -euo pipefail
what=${1:-test}
need=()
if [[ $what == test ]]; then
  command -v chromium >/dev/null || need+=(chromium)
fi
if [[ $what == bench ]]; then
  command -v nginx >/dev/null || [[ -x /usr/sbin/nginx ]] || need+=(nginx-light)
  command -v wrk >/dev/null || need+=(wrk)
fi
if ((${#need[@]})); then
  if [[ $(id -u) != 0 ]]; then
    echo "missing system packages: ${need[*]} (install them, or run as root)" >&2
    exit 1
  fi
  echo "installing ${need[*]} from Debian's packages" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
