"""What a built bundle needs from the system: the newest glibc symbol version and the shared libraries
that are not in the bundle, with the bundle files that need them.

    python3 packaging/bundle_needs.py [dist/nnviz]

Reads every ELF file under the bundle with ``objdump -T`` (versioned dynamic symbols) and ``objdump -p``
(NEEDED entries); uses only binutils, which build machines have. packaging/README.md lists the result.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import defaultdict

# libraries every glibc system has (part of glibc itself)
GLIBC_LIBS = {"libc.so.6", "libm.so.6", "libpthread.so.0", "libdl.so.2", "librt.so.1", "libutil.so.1",
              "ld-linux-x86-64.so.2", "libresolv.so.2", "libmvec.so.1", "libanl.so.1"}


def is_elf(path: str) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(4) == b"\x7fELF"
    except OSError:
        return False


def version_key(v: str):
    return tuple(int(x) for x in v.split("."))


def main(argv) -> int:
    bundle = argv[1] if len(argv) > 1 else "dist/nnviz"
    files, names = [], set()
    for folder, _, entries in os.walk(bundle):
        for e in entries:
            path = os.path.join(folder, e)
            if os.path.isfile(path) and not os.path.islink(path) and is_elf(path):
                files.append(path)
            names.add(e)
    glibc = defaultdict(list)        # version -> files
    external = defaultdict(set)      # library -> files needing it
    for path in files:
        rel = os.path.relpath(path, bundle)
        out = subprocess.run(["objdump", "-T", path], capture_output=True, text=True).stdout
        for v in set(re.findall(r"\bGLIBC_(\d+(?:\.\d+)+)\b", out)):
            glibc[v].append(rel)
        out = subprocess.run(["objdump", "-p", path], capture_output=True, text=True).stdout
        for lib in re.findall(r"^\s*NEEDED\s+(\S+)", out, re.M):
            if lib not in names:
                external[lib].add(rel)
    if not glibc:
        print("no ELF files found", file=sys.stderr)
        return 1
    newest = max(glibc, key=version_key)
    print(f"{len(files)} ELF files in {bundle}")
    print(f"newest glibc symbol version: GLIBC_{newest} (needed by {', '.join(sorted(glibc[newest])[:6])}"
          f"{' ...' if len(glibc[newest]) > 6 else ''})")
    for v in sorted(glibc, key=version_key, reverse=True)[1:4]:
        print(f"  then GLIBC_{v}: {len(glibc[v])} files")
    print("libraries taken from the system (not in the bundle):")
    for lib in sorted(external, key=lambda x: (x in GLIBC_LIBS, x)):
        users = sorted(external[lib])
        tag = " (glibc)" if lib in GLIBC_LIBS else ""
        shown = ", ".join(u.replace("_internal/", "") for u in users[:4])
        print(f"  {lib}{tag}: {shown}{' ...' if len(users) > 4 else ''} [{len(users)}]")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
