#!/usr/bin/env python3
"""The layers of src/ link only downward (README, Layout).

usage: layers.py NAME=LIBRARY.a ...   (lowest layer first)

For every static library, `nm` lists the symbols it defines and the ones
it needs.  A library may need symbols of the layers below it, never of
its own layer's betters: core must not call the store, the configuration
file, the daemon or the command; nothing but the daemon may call
libmilter (smfi_*).  Prints TAP: one case per layer, and one that shows
the check can fail (the layers in reverse must be found wrong).
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mugaitest import Tap  # noqa: E402


def symbols(lib):
    out = subprocess.run(["nm", "--defined-only", "-g", lib], capture_output=True, text=True,
                         check=True).stdout
    defined = {l.split()[-1] for l in out.splitlines() if len(l.split()) == 3}
    out = subprocess.run(["nm", "-u", "-g", lib], capture_output=True, text=True,
                         check=True).stdout
    needed = {l.split()[-1] for l in out.splitlines() if l.strip() and not l.endswith(":")}
    return defined, needed - defined


def problems(layers):
    """[(layer, [why])] for layers given lowest first as (name, defined, needed)."""
    out = []
    for i, (name, _defined, needed) in enumerate(layers):
        why = []
        for upper, udefined, _ in layers[i + 1:]:
            up = sorted(needed & udefined)
            if up:
                why.append("%s calls %s (a layer above it): %s" % (name, upper, ", ".join(up[:8])))
        if name != "milter":
            smfi = sorted(s for s in needed if s.startswith("smfi_"))
            if smfi:
                why.append("%s calls libmilter: %s" % (name, ", ".join(smfi[:8])))
        out.append((name, why))
    return out


def main(argv):
    layers = []
    for arg in argv:
        name, _, lib = arg.partition("=")
        defined, needed = symbols(lib)
        layers.append((name, defined, needed))
    found = problems(layers)
    tap = Tap()
    tap.plan(len(found) + 1)
    for name, why in found:
        tap.ok(not why, "layer %s links only downward" % name, why)
    # the same check on the layers upside down must complain: else it
    # checks nothing
    reverse = problems(list(reversed(layers)))
    caught = sum(1 for _, why in reverse if why)
    tap.ok(caught >= len(layers) // 2,
           "the check finds the layers reversed wrong (%d layers)" % caught)
    return tap.exit_code()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
