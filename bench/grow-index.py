#!/usr/bin/env python3
"""Usage: bench/grow-index.py ROOT

Gives a fixture root a distribution-sized kernel index, as a real node has (Debian 6.1:
modules.dep 4,023 lines, 526 KB; a config of ~10,600 lines): 4,000 modules appended to
lib/modules/RELEASE/modules.dep, 180 to modules.builtin, 10,000 symbols to
boot/config-RELEASE. RELEASE is the root's proc/sys/kernel/osrelease. The fixture's own
lines are kept and the generated names (bench_*, CONFIG_BENCH_*) are none that nodeprep
asks about, so the report does not change; only the work of reading the index does.
"""
import os, sys
root = sys.argv[1]
rel = open(os.path.join(root, "proc/sys/kernel/osrelease")).read().strip()
mods = os.path.join(root, "lib/modules", rel)
with open(os.path.join(mods, "modules.dep"), "a") as f:
    for i in range(4000):
        d = ("drivers/net", "drivers/gpu", "fs", "sound/pci", "net/wireless")[i % 5]
        deps = " ".join(f"kernel/lib/bench_lib{(i * 7 + j) % 300}.ko.xz" for j in range(i % 4))
        f.write(f"kernel/{d}/bench-mod{i}.ko.xz: {deps}\n".replace(": \n", ":\n"))
with open(os.path.join(mods, "modules.builtin"), "a") as f:
    for i in range(180):
        f.write(f"kernel/drivers/base/bench_builtin{i}.ko\n")
cfg = os.path.join(root, "boot", f"config-{rel}")
with open(cfg, "a") as f:
    for i in range(10000):
        v = ("y", "m", "12", '"text"')[i % 4]
        f.write(f"CONFIG_BENCH_SYMBOL_{i}={v}\n" if i % 7 else f"# CONFIG_BENCH_SYMBOL_{i} is not set\n")
