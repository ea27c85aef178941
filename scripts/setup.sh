#!/usr/bin/env bash
# Installs everything ledgerbridge needs on Debian 12, as root. Safe to run again: each step
# checks whether its work is already done.
#
# LuaJIT is built here from Debian's own source package rather than taken from
# libluajit-5.1-dev, because the rule sandbox needs two things the prebuilt library lacks:
#   - LUAJIT_ENABLE_CHECKHOOK, so that a CPU-budget hook also stops loops the JIT compiled
#     (see ../shared/bench/LUAJIT-BUDGET.md: the prebuilt library never fires it there);
#   - a bound on Lua pattern backtracking (scripts/luajit-patches/pattern-step-limit.patch),
#     because no hook can fire inside one string.find/match/gsub call;
#   - a fix for CHECKHOOK builds, where every JIT-compiled pairs()/next() loop hangs
#     (scripts/luajit-patches/checkhook-itern-loop.patch explains why).
# LUAJIT_ENABLE_LUA52COMPAT gives rule authors __pairs/__ipairs/__len on read-only item views.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
LUAJIT_PREFIX=${LB_LUAJIT_PREFIX:-/opt/ledgerbridge/luajit}
LUAJIT_STAMP="$LUAJIT_PREFIX/.ledgerbridge-build"
# Bump when the flags or patches change, so existing machines rebuild.
LUAJIT_BUILD_ID="2.1.0-beta3-deb12u1/checkhook+lua52compat+pattern-steps+itern-fix/2"

packages=(
  build-essential cmake pkg-config git ca-certificates dpkg-dev
  libsimdjson-dev nlohmann-json3-dev libcurl4-openssl-dev libspdlog-dev libfmt-dev
  catch2 libsqlite3-dev libcpp-httplib-dev libcli11-dev libtomlplusplus-dev libyaml-cpp-dev
  libbenchmark-dev libdtl-dev libcsv-dev lua-check python3 libqpdf-dev
)

need_root() {
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup.sh: run as root (it installs Debian packages)" >&2
    exit 1
  fi
}

missing_packages() {
  local p
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || echo "$p"
  done
}

install_packages() {
  local missing
  missing=$(missing_packages)
  if [ -z "$missing" ]; then
    echo "setup: Debian packages already installed"
    return
  fi
  need_root
  echo "setup: installing:" $missing
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
}

enable_deb_src() {
  local list=/etc/apt/sources.list.d/ledgerbridge-src.sources
  [ -f "$list" ] && return
  need_root
  cat >"$list" <<'EOF'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  apt-get update -qq
}

build_luajit() {
  if [ -f "$LUAJIT_STAMP" ] && [ "$(cat "$LUAJIT_STAMP")" = "$LUAJIT_BUILD_ID" ]; then
    echo "setup: LuaJIT already built in $LUAJIT_PREFIX"
    return
  fi
  need_root
  enable_deb_src
  local work
  work=$(mktemp -d)
  trap 'rm -rf "$work"' RETURN
  echo "setup: building LuaJIT ($LUAJIT_BUILD_ID) into $LUAJIT_PREFIX"
  (cd "$work" && apt-get source -qq luajit >/dev/null 2>&1)
  local src
  src=$(find "$work" -maxdepth 1 -type d -name 'luajit-*' | head -n1)
  [ -n "$src" ] || { echo "setup: apt-get source luajit produced nothing" >&2; exit 1; }
  for p in "$here"/luajit-patches/*.patch; do
    patch -d "$src" -p1 -s <"$p"
  done
  if ! make -C "$src" -j"$(nproc)" \
      XCFLAGS="-DLUAJIT_ENABLE_CHECKHOOK -DLUAJIT_ENABLE_LUA52COMPAT" \
      CFLAGS="-O2 -fPIC" BUILDMODE=static >"$work/build.log" 2>&1; then
    tail -n 40 "$work/build.log" >&2
    echo "setup: LuaJIT build failed" >&2
    exit 1
  fi
  rm -rf "$LUAJIT_PREFIX"
  make -C "$src" install PREFIX="$LUAJIT_PREFIX" >>"$work/build.log" 2>&1
  echo "$LUAJIT_BUILD_ID" >"$LUAJIT_STAMP"
}

install_packages
build_luajit
echo "setup: done"
