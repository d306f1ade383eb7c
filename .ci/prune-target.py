#!/usr/bin/env python3
"""Removes old copies of the executables cargo leaves in a target's deps folder.

Usage: prune-target.py DEPS_DIR KEEP

Every change to a crate gives its test and fuzz binaries a new hash, and cargo never removes
the old ones: on this 2-core CI machine, with the target dir shared across runs, they grew to
50 GB and a run died of a full disk at link time. Of each `name-<16 hex>` executable (no
extension) only the KEEP newest stay; cargo links again any it still needs (it checks that its
outputs exist). Libraries are left alone (several hashes of one are in use at once).
"""

import os
import re
import sys
from collections import defaultdict


def main(deps, keep):
    if not os.path.isdir(deps):
        return
    groups = defaultdict(list)
    for name in os.listdir(deps):
        m = re.fullmatch(r"(.+)-[0-9a-f]{16}", name)
        path = os.path.join(deps, name)
        if m and os.path.isfile(path) and os.access(path, os.X_OK):
            groups[m.group(1)].append(path)
    freed = 0
    for paths in groups.values():
        paths.sort(key=os.path.getmtime, reverse=True)
        for old in paths[keep:]:
            freed += os.path.getsize(old)
            os.remove(old)
            if os.path.exists(old + ".d"):
                os.remove(old + ".d")
    print(f"pruned {freed / 1e9:.1f} GB of old executables from {deps}")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
