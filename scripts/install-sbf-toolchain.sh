#!/usr/bin/env bash
# Installs the toolchain that builds programs/stableflow_payouts for SBF from registries only:
# Debian's rustc-web 1.96 (LLVM 22) with prebuilt core for bpfel-unknown-none, and sbpf-linker
# from crates.io built against Debian's LLVM 22. Idempotent; see docs/toolchain.md.
set -euo pipefail

SBPF_LINKER_VERSION="0.2.6"
LLVM_PREFIX="/usr/lib/llvm-22"
APT_PACKAGES=(
  rustc-web cargo-web libstd-rust-web-dev-bpf   # rustc/cargo 1.96 + core/alloc for bpfel-unknown-none
  llvm-22-dev libpolly-22-dev                   # LLVM 22 for sbpf-linker (llvm-sys links it)
  libzstd-dev zlib1g-dev libxml2-dev            # libraries LLVM's static libs pull in
  gcc pkg-config                                # host linker for cargo install
)
CARGO_BIN="${CARGO_HOME:-$HOME/.cargo}/bin"

log() { printf 'install-sbf-toolchain: %s\n' "$*"; }
fail() { printf 'install-sbf-toolchain: error: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@";
  elif command -v sudo >/dev/null 2>&1; then sudo "$@";
  else fail "need root (or sudo) to run: $*"; fi
}

debian_toolchain_ok() {
  [ -x /usr/bin/rustc ] && [ -x /usr/bin/cargo ] || return 1
  /usr/bin/rustc -V | grep -Eq '^rustc 1\.(9[6-9]|[1-9][0-9]{2})\.' || return 1
  compgen -G "/usr/lib/rustlib/bpfel-unknown-none/lib/libcore-*.rlib" >/dev/null || return 1
  [ -x "$LLVM_PREFIX/bin/llvm-config" ] || return 1
}

linker_ok() {
  local bin="$CARGO_BIN/sbpf-linker"
  [ -x "$bin" ] || return 1
  local version
  version="$("$bin" --version 2>/dev/null)" || return 1
  grep -q "sbpf-linker $SBPF_LINKER_VERSION" <<<"$version" && grep -q "LLVM 22\." <<<"$version"
}

if debian_toolchain_ok; then
  log "Debian rustc $(/usr/bin/rustc -V | cut -d' ' -f2), bpfel-unknown-none core and LLVM 22 present"
else
  command -v apt-get >/dev/null 2>&1 || fail "apt-get not found: this route needs Debian 12 (bookworm) packages; see docs/toolchain.md"
  log "installing ${APT_PACKAGES[*]}"
  as_root apt-get update
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${APT_PACKAGES[@]}" \
    || fail "apt-get install failed (are bookworm-updates / security sources enabled? rustc-web 1.96 comes from there)"
  debian_toolchain_ok || fail "packages installed but /usr/bin/rustc is not >= 1.96 or bpfel-unknown-none core is missing"
fi

if linker_ok; then
  log "sbpf-linker $SBPF_LINKER_VERSION (LLVM 22) present at $CARGO_BIN/sbpf-linker"
else
  log "building sbpf-linker $SBPF_LINKER_VERSION against LLVM 22 (a few minutes on 2 cores)"
  # The default feature wants LLVM 23; bpf-linker's llvm-22 feature links Debian's llvm-22-dev.
  PATH="$LLVM_PREFIX/bin:$PATH" \
  LLVM_SYS_221_PREFIX="$LLVM_PREFIX" \
  RUSTC=/usr/bin/rustc \
    /usr/bin/cargo install sbpf-linker --version "$SBPF_LINKER_VERSION" --locked \
      --no-default-features --features bpf-linker/llvm-22 \
    || fail "cargo install sbpf-linker failed"
  linker_ok || fail "sbpf-linker installed but '$CARGO_BIN/sbpf-linker --version' does not report $SBPF_LINKER_VERSION / LLVM 22"
fi
log "toolchain ready"
