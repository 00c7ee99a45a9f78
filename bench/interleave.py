#!/usr/bin/env python3
"""Interleaved timing of nodeprep against the seeds' shell check (run by bench/run).

Every round runs every command once, in an order rotated by one each round (A B C, B C A,
C A B, ...), so that each command takes every place in the order equally often and a slow
stretch of the machine hits all of them alike. Each run is one posix_spawn + wait4 of the
command with stdout/stderr to /dev/null: wall time from the monotonic clock, CPU time from
the child's rusage (the process and the children it waited for). A run that
exits with another status than expected stops the benchmark with an error: nothing is
timed that did not work.

Peak RSS is measured apart, under GNU time (`/usr/bin/time -f %M`): a child spawned by this
(much larger) Python process inherits its RSS high-water mark at exec, so the rusage of the
timed runs cannot tell it.

Prints the medians and the guard's ratios (docs/performance.md). Timing never fails the run.
"""

import argparse
import json
import os
import sys
import time


def die(msg):
    print(f"bench: ERROR: {msg}", file=sys.stderr)
    sys.exit(3)


def quantile(xs, q):
    s = sorted(xs)
    if not s:
        return float("nan")
    pos = (len(s) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def median(xs):
    return quantile(xs, 0.5)


def run_once(cmd, devnull):
    argv = cmd["argv"]
    env = cmd.get("env")
    if env is None:
        env = os.environ
    fa = [
        (os.POSIX_SPAWN_DUP2, devnull, 0),
        (os.POSIX_SPAWN_DUP2, devnull, 1),
        (os.POSIX_SPAWN_DUP2, devnull, 2),
    ]
    t0 = time.perf_counter_ns()
    try:
        pid = os.posix_spawn(argv[0], argv, env, file_actions=fa)
    except OSError as e:
        die(f"{cmd['name']}: cannot run {argv[0]}: {e}")
    _, status, ru = os.wait4(pid, 0)
    t1 = time.perf_counter_ns()
    rc = os.waitstatus_to_exitcode(status)
    if rc != cmd.get("expect_rc", 0):
        die(
            f"{cmd['name']}: {' '.join(argv)} exited {rc}, expected "
            f"{cmd.get('expect_rc', 0)}; nothing is timed that does not work"
        )
    return (t1 - t0) / 1e6, (ru.ru_utime + ru.ru_stime) * 1e3


def peak_rss_kb(cmd, runs, devnull, tmpdir):
    """Max of GNU time's %M (kB) over `runs` runs: the process and its waited-for children."""
    out = os.path.join(tmpdir, "rss")
    peak = 0
    for _ in range(runs):
        c = dict(cmd, argv=["/usr/bin/time", "-f", "%M", "-o", out] + cmd["argv"])
        run_once(c, devnull)
        with open(out) as f:
            peak = max(peak, int(f.read().split()[-1]))
    return peak


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "spec",
        help="JSON file: a list of {name, argv, env?, expect_rc?}; env is the whole "
        "environment (it replaces this process's): give every command of a comparison "
        "the same one",
    )
    ap.add_argument("--rounds", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--json", help="also write every sample to this file")
    ap.add_argument("--rss-runs", type=int, default=20, help="runs under GNU time per command")
    args = ap.parse_args()
    with open(args.spec) as f:
        cmds = json.load(f)
    names = [c["name"] for c in cmds]
    if len(set(names)) != len(names):
        die("command names must be unique")

    wall = {n: [] for n in names}
    cpu = {n: [] for n in names}
    devnull = os.open(os.devnull, os.O_RDWR)
    n = len(cmds)
    t_start = time.monotonic()
    for r in range(args.warmup + args.rounds):
        for i in range(n):
            c = cmds[(r + i) % n]
            w, u = run_once(c, devnull)
            if r >= args.warmup:
                wall[c["name"]].append(w)
                cpu[c["name"]].append(u)
    elapsed = time.monotonic() - t_start
    tmpdir = os.path.dirname(os.path.abspath(args.spec))
    rss = {c["name"]: peak_rss_kb(c, args.rss_runs, devnull, tmpdir) for c in cmds}

    print(
        f"{args.rounds} interleaved rounds (+{args.warmup} warm-up) of {n} commands "
        f"in {elapsed:.1f}s; load average before the summary: "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    print()
    print(f"{'command':<32} {'median ms':>10} {'p25':>8} {'p75':>8} {'min':>8} "
          f"{'cpu ms':>8} {'peak RSS kB':>12}")
    for c in cmds:
        nm = c["name"]
        print(
            f"{nm:<32} {median(wall[nm]):>10.2f} {quantile(wall[nm], 0.25):>8.2f} "
            f"{quantile(wall[nm], 0.75):>8.2f} {min(wall[nm]):>8.2f} "
            f"{median(cpu[nm]):>8.2f} {rss[nm]:>12d}"
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"wall_ms": wall, "cpu_ms": cpu, "peak_rss_kb": rss}, f)

    med = {nm: median(wall[nm]) for nm in names}
    helpers = [nm for nm in names if nm.startswith("helper ")]
    print()
    print("guard (docs/performance.md; reported, never asserted):")

    def line(label, value, target, ok):
        print(f"  {label:<58} {value:>12}   target {target:<10} {'met' if ok else 'NOT met'}")

    if "check" in med and "seeds-check.sh" in med:
        r = med["check"] / med["seeds-check.sh"]
        line("check / seeds-check.sh", f"{r:.3f}x", "<= 0.20x", r <= 0.20)
    if "check" in med and "nodeprep --version" in med and helpers:
        slowest = max(helpers, key=lambda h: med[h])
        floor = med["nodeprep --version"] + med[slowest]
        d = med["check"] - floor
        print(f"    (check - (process start + slowest helper, {slowest[7:]}): {d:+.2f} ms)")
        print(f"    (floor = {med['nodeprep --version']:.2f} + {med[slowest]:.2f} = "
              f"{floor:.2f} ms; all helpers one after another: "
              f"{sum(med[h] for h in helpers):.2f} ms)")
        # CPU is what a 2-core machine runs out of first: the process starts alone need this
        cmed = {nm: median(cpu[nm]) for nm in names}
        need = cmed["nodeprep --version"] + sum(cmed[h] for h in helpers)
        cores = os.cpu_count() or 1
        print(f"    (CPU: nodeprep's start + every helper = {need:.2f} ms, {need / cores:.2f} ms "
              f"of wall time on {cores} cores at the very best; check's own CPU beyond "
              f"them: {cmed['check'] - need:+.2f} ms)")
    floor = "floor: C starts the helpers"
    if "check" in med and floor in med and "seeds-check.sh" in med:
        # not a target: what any check costs here, against what nodeprep's check costs
        print(f"    (floor: a static C program that only starts the same helpers at once takes "
              f"{med[floor]:.2f} ms = {med[floor] / med['seeds-check.sh']:.3f}x seeds-check.sh; "
              f"check is {med['check'] / med[floor]:.2f}x that, {med['check'] - med[floor]:+.2f} ms")
        if "floor: C, no helper" in med:
            print(f"     and the same program starting nothing, glibc's start and exit alone, "
                  f"{med['floor: C, no helper']:.2f} ms)")
        else:
            print("     )")
    if "check" in med and "apply (nothing to do)" in med:
        r = med["apply (nothing to do)"] / med["check"]
        line("apply (nothing to do) / check", f"{r:.2f}x", "<= 2x", r <= 2.0)
    if "check" in rss:
        peak = rss["check"]
        line(f"peak RSS of check (max of {args.rss_runs} runs)", f"{peak / 1024:.1f} MB",
             "<= 10 MB",
             peak <= 10 * 1024)

    if "baseline check" in med:
        print("against the baseline binary, same rounds:")
        print(f"  check / baseline check {med['check'] / med['baseline check']:.2f}x; "
              f"apply / baseline apply "
              f"{med['apply (nothing to do)'] / med['baseline apply']:.2f}x")


if __name__ == "__main__":
    main()
