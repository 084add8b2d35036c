#!/usr/bin/env bash
# Installs the system parts the tests (or benchmarks) need, only when they are missing.
# Usage: ensure-system-deps.sh test|bench
set -euo pipefail
what=${1:-test}
here=$(cd "$(dirname "$0")" && pwd)
need=()
if [[ $what == test ]]; then
  command -v chromium >/dev/null || need+=(chromium)
  command -v npm >/dev/null || need+=(nodejs npm)
  # Segmentation: `nft -c` checks generated rulesets; `ip netns` enforces them in the e2e test.
  command -v nft >/dev/null || [[ -x /usr/sbin/nft ]] || need+=(nftables)
  command -v ip >/dev/null || [[ -x /usr/sbin/ip ]] || need+=(iproute2)
  # Compliance reports: WeasyPrint lays out the PDF (pango, harfbuzz-subset), Noto Sans CJK TC
  # prints the Chinese; the tests read pages back with pdftoppm/pdffonts and tesseract OCR.
  libs=$( (ldconfig -p || /sbin/ldconfig -p) 2>/dev/null || true)
  grep -q 'libpangoft2-1.0.so.0' <<<"$libs" || need+=(libpango-1.0-0 libpangoft2-1.0-0)
  grep -q 'libharfbuzz-subset.so.0' <<<"$libs" || need+=(libharfbuzz-subset0)
  command -v fc-list >/dev/null || need+=(fontconfig)
  fonts=$(fc-list ':lang=zh-tw' family 2>/dev/null || true)
  grep -q 'Noto Sans CJK TC' <<<"$fonts" || need+=(fonts-noto-cjk)
  command -v pdftoppm >/dev/null || need+=(poppler-utils)
  if command -v tesseract >/dev/null; then
    langs=$(tesseract --list-langs 2>/dev/null || true)
    grep -qx eng <<<"$langs" || need+=(tesseract-ocr-eng)
    grep -qx chi_tra <<<"$langs" || need+=(tesseract-ocr-chi-tra)
  else
    need+=(tesseract-ocr tesseract-ocr-eng tesseract-ocr-chi-tra)
  fi
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
if [[ $what == test ]]; then
  # The real OpenID provider for the OIDC tests (tests/idp), pinned by its package-lock.json.
  idp_dir="$here/../tests/idp"
  if [[ ! -d $idp_dir/node_modules/oidc-provider ]]; then
    echo "installing oidc-provider into tests/idp with npm ci" >&2
    (cd "$idp_dir" && npm ci --no-audit --no-fund --loglevel=error)
  fi
fi
