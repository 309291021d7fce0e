#!/usr/bin/env bash
# Finds, or installs on Debian/Ubuntu, every server and tool the tests need:
#   redis-server, redis-cli       the Redis store tests      (Debian: redis-server, redis-tools)
#   valkey-server, valkey-cli     the Valkey store tests     (Debian 12: bookworm-backports)
#   xxhsum                        the live XXH3-128 check    (Debian: xxhash)
#   initdb, pg_ctl                the PostgreSQL store tests (Debian: postgresql; found in the
#                                 PATH or in /usr/lib/postgresql/*/bin)
# `npm test` runs it first (the `pretest` hook); with everything present it only looks and
# returns. Without root or apt-get it installs nothing and stops with the command to run.
# IDEMPOTENT_SKIP_TEST_SETUP=1 skips it (a machine set up another way).
set -euo pipefail

[ "${IDEMPOTENT_SKIP_TEST_SETUP:-}" = 1 ] && exit 0

has() { command -v "$1" >/dev/null 2>&1; }
has_pg() {
  has "$1" && return 0
  local candidate
  for candidate in /usr/lib/postgresql/*/bin/"$1"; do [ -x "$candidate" ] && return 0; done
  return 1
}

# Debian packages to install for what is missing; valkey separately (it may need backports).
missing_tools=()
packages=()
valkey=0
has redis-server || { missing_tools+=(redis-server); packages+=(redis-server); }
has redis-cli || { missing_tools+=(redis-cli); packages+=(redis-tools); }
has xxhsum || { missing_tools+=(xxhsum); packages+=(xxhash); }
has_pg initdb || { missing_tools+=(initdb); packages+=(postgresql); }
has_pg pg_ctl || { missing_tools+=(pg_ctl); packages+=(postgresql); }
has valkey-server || { missing_tools+=(valkey-server); valkey=1; }
has valkey-cli || { missing_tools+=(valkey-cli); valkey=1; }

[ ${#missing_tools[@]} -eq 0 ] && exit 0

script="scripts/setup-test-machine.sh"
stop() {
  echo "setup-test-machine: missing ${missing_tools[*]}; $1" >&2
  exit 1
}
if ! has apt-get; then
  stop "install them with your package manager (redis, valkey, xxhash, postgresql), or set IDEMPOTENT_SKIP_TEST_SETUP=1 to run the tests anyway"
fi
if [ "$(id -u)" -ne 0 ]; then
  stop "run: sudo bash $script"
fi

echo "setup-test-machine: installing what provides ${missing_tools[*]}" >&2
export DEBIAN_FRONTEND=noninteractive

# The packages would start services on the default ports; the tests start their own servers
# on free ports, so keep the packages' services from starting (policy-rc.d, Debian's switch).
policy=/usr/sbin/policy-rc.d
own_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod +x "$policy"
  own_policy=1
fi
cleanup() { if [ "$own_policy" = 1 ]; then rm -f "$policy"; fi; }
trap cleanup EXIT

apt-get update -q >/dev/null
if [ ${#packages[@]} -gt 0 ]; then
  # shellcheck disable=SC2046
  apt-get install -y -q --no-install-recommends $(printf '%s\n' "${packages[@]}" | sort -u) >/dev/null
fi

if [ "$valkey" = 1 ]; then
  . /etc/os-release
  if [ "${ID:-}" = debian ] && [ "${VERSION_CODENAME:-}" = bookworm ]; then
    # Debian 12 has valkey only in bookworm-backports.
    if ! grep -rqs bookworm-backports /etc/apt/sources.list /etc/apt/sources.list.d/; then
      cat >/etc/apt/sources.list.d/bookworm-backports.sources <<'SOURCES'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
      apt-get update -q >/dev/null
    fi
    apt-get install -y -q --no-install-recommends -t bookworm-backports valkey-server valkey-tools >/dev/null
  else
    apt-get install -y -q --no-install-recommends valkey-server valkey-tools >/dev/null
  fi
fi

still_missing=()
for tool in redis-server redis-cli xxhsum valkey-server valkey-cli; do
  has "$tool" || still_missing+=("$tool")
done
for tool in initdb pg_ctl; do has_pg "$tool" || still_missing+=("$tool"); done
if [ ${#still_missing[@]} -gt 0 ]; then
  echo "setup-test-machine: still missing ${still_missing[*]} after apt-get install" >&2
  exit 1
fi
echo "setup-test-machine: ready" >&2
