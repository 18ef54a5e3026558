#!/usr/bin/env python3
"""The table of bench/backends.sh: OUT/<backend>-r<N>/load-mugaid-c*-r1.json
(the shared harness's results, one run per backend and repeat) pooled per
backend and concurrency with the harness's own report.pool(), so the
figures mean what its table.md says they mean.

usage: backends-table.py OUT
"""
import glob
import json
import os
import re
import sys

HARNESS = os.environ.get("MUGAI_HARNESS",
                         os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                      "shared", "bench"))
sys.path.insert(0, HARNESS)
from report import fmt, pool  # noqa: E402

ORDER = {"files": 0, "sqlite": 1, "postgresql": 2}


def main(argv):
    out = argv[1]
    cells, stores = {}, {}
    for d in sorted(glob.glob(os.path.join(out, "*-r*"))):
        m = re.fullmatch(r"(.+)-r(\d+)", os.path.basename(d))
        if not m or not os.path.isdir(d):
            continue
        # the storer says which store it serves: the proof of the backend
        try:
            with open(os.path.join(d, "mugaid.out.tail"), errors="replace") as f:
                said = re.search(r"storer: serving; quarantine=(\w+):", f.read())
        except OSError:
            said = None
        stores.setdefault(m.group(1), set()).add(said.group(1) if said else "?")
        for p in glob.glob(os.path.join(d, "load-mugaid-c*-r*.json")):
            with open(p) as f:
                r = json.load(f)
            cells.setdefault((m.group(1), r["concurrency"]), []).append(r)
    print("| backend | storer served | parallel sessions | runs | msgs sent | delivered | lost "
          "| msgs/s end-to-end median (min-max) | SMTP accept p50 / p99 ms "
          "| mugai CPU ms/msg | whole-box CPU ms/msg |")
    print("|---|---|---:|---:|---:|---:|---:|---|---|---:|---:|")
    for (backend, conc), runs in sorted(cells.items(), key=lambda kv: (ORDER.get(kv[0][0], 9),
                                                                       kv[0][1])):
        g = pool(runs)
        rate = fmt(g["rate_med"], 1)
        if g["n"] > 1:
            rate += f" ({fmt(g['rate_min'], 1)}-{fmt(g['rate_max'], 1)})"
        print(f"| {backend} | {', '.join(sorted(stores.get(backend, {'?'})))} | {conc} | {g['n']} | {g['count']} | {g['delivered']} "
              f"| {g['lost']}{' (TIMEOUT)' if g['timed_out'] else ''} | {rate} "
              f"| {fmt(g['acc'][50])} / {fmt(g['acc'][99])} | {fmt(g['filter_ms'], 1)} "
              f"| {fmt(g['box_ms'], 1)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
