#!/usr/bin/env python3
"""Prepare a copy of rendered Packer HCL that Debian's Packer 1.6.6 can validate.

Packer 1.6.6 predates `packer { required_plugins {...} }`, `required_version` newer than itself,
and 19 azure-arm arguments of plugin 2.x (../shared/research/validators.md). This blanks exactly
those constructs, keeping line numbers, so `packer validate` checks everything else; the blanked
names are checked against the plugin's field list by the conformance tests instead.

  blank_packer166.py SRC_DIR DST_DIR      copy SRC_DIR/*.pkr.hcl to DST_DIR, blanked
  blank_packer166.py --dummy-vars DIR     print `-var NAME=VALUE` for variables without defaults
"""
import pathlib
import re
import sys

UNSUPPORTED = {
    "skip_create_image", "metadata_host", "client_cert_password", "keep_os_disk", "temp_nic_name",
    "build_key_vault_secret_name", "disk_encryption_set_id", "custom_data", "user_data_file",
    "user_data", "custom_script", "winrm_expiration_time", "temp_os_disk_name", "license_type",
    "secure_boot_enabled", "encryption_at_host", "vtpm_enabled", "security_type", "spot",
}


def block_end(lines, start, opening="{", closing="}"):
    """Index of the line that closes the bracket opened on line `start`."""
    depth = 0
    for i in range(start, len(lines)):
        depth += lines[i].count(opening) - lines[i].count(closing)
        if depth <= 0:
            return i
    return len(lines) - 1


def blank(text):
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        stripped = lines[i].strip()
        name = re.match(r"^([A-Za-z_][A-Za-z0-9_-]*)\s*(=|\{)", stripped)
        key = name.group(1) if name else None
        if key == "packer" or key in UNSUPPORTED or key == "required_version":
            if stripped.endswith("{"):
                end = block_end(lines, i)
            elif stripped.endswith("["):
                end = block_end(lines, i, "[", "]")
            else:
                end = i
            for j in range(i, end + 1):
                lines[j] = ""
            i = end + 1
            continue
        i += 1
    return "\n".join(lines)


def dummy_vars(directory):
    args = []
    for path in sorted(pathlib.Path(directory).glob("*.pkr.hcl")):
        text = path.read_text()
        for m in re.finditer(r'^variable\s+"([^"]+)"\s*\{', text, re.M):
            end = block_end(text[m.start():].split("\n"), 0)
            body = "\n".join(text[m.start():].split("\n")[: end + 1])
            if re.search(r"^\s*default\s*=", body, re.M):
                continue
            kind = re.search(r"^\s*type\s*=\s*(\S+)", body, re.M)
            kind = kind.group(1) if kind else "string"
            value = {"number": "1", "bool": "false"}.get(kind, "[]" if kind.startswith("list") else "{}" if kind.startswith("map") else "dummy")
            args.append(f"-var={m.group(1)}={value}")
    print(" ".join(args))


def main():
    if sys.argv[1] == "--dummy-vars":
        dummy_vars(sys.argv[2])
        return
    src, dst = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    dst.mkdir(parents=True, exist_ok=True)
    for path in sorted(src.glob("*.pkr.hcl")):
        (dst / path.name).write_text(blank(path.read_text()))


if __name__ == "__main__":
    main()
