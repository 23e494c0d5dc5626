#!/usr/bin/env bash
# Provision the live test interpreters, idempotently, cached outside the checkout.
#   sid chroot:      python3.13(+dbg) python3.14(+dbg,-nopie) python3.15 libpython3.14 + gcc (embedding),
#                    gdb (so that `debugpy --pid` can run inside the chroot for the benchmarks)
#   bullseye chroot: python3.9
#   cache/debugpy-legacy: debugpy 1.8.21 for 3.9 targets (SAFEATTACH_CACHE_DIR=$CACHE/cache in tests)
# Prints the cache directory on success. Safe to run repeatedly; each stage leaves a stamp file.
set -euo pipefail
CACHE=${SAFEATTACH_TARGETS:-/var/cache/safeattach-targets}
# The Debian mirror comes from this host's own apt configuration (deb822 .sources or one-line .list
# entries), never from this repo; SAFEATTACH_MIRROR overrides it.
host_mirror() {
  local f uri
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -f $f ]] || continue
    uri=$(awk '/^URIs:/ {for (i = 2; i <= NF; i++) if ($i ~ /\/debian\/?$/) {print $i; exit}}' "$f")
    [[ -n $uri ]] && { echo "${uri%/}"; return; }
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -f $f ]] || continue
    uri=$(awk '$1 == "deb" {for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\// && $i ~ /\/debian\/?$/) {print $i; exit}}' "$f")
    [[ -n $uri ]] && { echo "${uri%/}"; return; }
  done
}
MIRROR=${SAFEATTACH_MIRROR:-$(host_mirror)}
if [[ -z $MIRROR ]]; then
  echo "provision: no Debian mirror in /etc/apt (sources.list or *.sources); set SAFEATTACH_MIRROR" >&2
  exit 1
fi
APT_OPTS=(-o Acquire::Check-Valid-Until=false -o Acquire::Retries=3 -y --no-install-recommends)
mkdir -p "$CACHE"
log() { echo "provision: $*" >&2; }

host_packages() {
  local need=()
  command -v debootstrap >/dev/null || need+=(debootstrap)
  command -v gdb >/dev/null || need+=(gdb)
  command -v ip >/dev/null || need+=(iproute2)
  command -v tmux >/dev/null || need+=(tmux)
  command -v strace >/dev/null || need+=(strace)
  command -v setpriv >/dev/null || need+=(util-linux)
  if ((${#need[@]})); then
    log "installing host packages: ${need[*]}"
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -qq "${APT_OPTS[@]}" "${need[@]}" >&2
  fi
}

mount_chroot() {
  local root=$1
  mountpoint -q "$root/proc" || mount -t proc proc "$root/proc"
  mountpoint -q "$root/dev" || mount --bind /dev "$root/dev"
}

make_chroot() {  # name suite packages...
  local name=$1 suite=$2; shift 2
  local root=$CACHE/$name stamp=$CACHE/$name.ready
  local want="$*"
  if [[ -f $stamp && "$(cat "$stamp")" == "$want" ]]; then mount_chroot "$root"; return; fi
  if [[ ! -x $root/usr/bin/apt-get ]]; then
    log "debootstrap $suite into $root"
    rm -rf "$root"
    debootstrap --variant=minbase "$suite" "$root" "$MIRROR" >"$CACHE/$name.debootstrap.log" 2>&1 \
      || { tail -20 "$CACHE/$name.debootstrap.log" >&2; exit 1; }
  fi
  mount_chroot "$root"
  cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt" 2>/dev/null \
    || { mkdir -p "$root/etc/ssl/certs"; cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/"; }
  cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
  log "apt-get install in $name: $want"
  chroot "$root" apt-get "${APT_OPTS[@]}" update -qq >&2
  DEBIAN_FRONTEND=noninteractive chroot "$root" apt-get install -qq "${APT_OPTS[@]}" "$@" >&2
  echo "$want" >"$stamp"
}

build_embedder() {
  local root=$CACHE/sid src=$CACHE/sid/opt/safeattach/embed.c bin=$CACHE/sid/opt/safeattach/embed314
  cmp -s "$src" "$(dirname "$0")/targets/embed.c" && [[ -x $bin ]] && return
  mkdir -p "$(dirname "$src")"
  cp "$(dirname "$0")/targets/embed.c" "$src"
  log "building the embedded libpython3.14 program"
  chroot "$root" sh -c 'gcc -O1 -o /opt/safeattach/embed314 /opt/safeattach/embed.c -I/usr/include/python3.14 -I/usr/include/x86_64-linux-gnu/python3.14 -lpython3.14' >&2
}

legacy_debugpy() {  # debugpy 1.8.21, the newest release for 3.9 targets (see core/dap/releases.py)
  local dest=$CACHE/cache/debugpy-legacy/1.8.21 py=${PYTHON:-python3}
  [[ -f $dest/debugpy/__init__.py ]] && return
  log "fetching debugpy 1.8.21 (pure wheel) for 3.9 targets into $dest"
  rm -rf "$dest.tmp"
  "$py" -m pip install -q --disable-pip-version-check --no-deps --only-binary=:all: --platform any \
    --python-version 3.9 --target "$dest.tmp" debugpy==1.8.21 >&2
  rm -rf "$dest" && mv "$dest.tmp" "$dest"
}

host_packages
legacy_debugpy
make_chroot sid sid python3.13 python3.13-dbg python3.14 python3.14-dbg python3.14-nopie python3.15 \
  libpython3.14 libpython3.14-dev gcc libc6-dev gdb
make_chroot bullseye bullseye python3.9
build_embedder
echo "$CACHE"
