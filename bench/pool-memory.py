#!/usr/bin/env python3
"""How much memory the worker pool costs next to one ClamAV engine.

    python3 bench/pool-memory.py BUILD_DIR [--hashes N] [--patterns N] [--workers N]

The official ClamAV database is not available offline, so a large
synthetic one is written: N random MD5 hash signatures (.hdb) and N body
patterns (.ndb), which libclamav compiles into the same structures
(hash sets, Aho-Corasick tries) the official one fills.  Then:

  one engine   `mugai sanitize` on a small message with that database:
               its peak RSS (VmHWM) is one process holding one engine
  the pool     `mugai-milter` with --workers workers: after start-up, the
               pool parent and every worker: the sum of RSS (what `ps`
               suggests) and the sum of PSS (each shared page divided
               among the processes sharing it: the real total)

The engine is compiled once in the pool parent and the workers are forked
from it, so their engine pages are shared copy-on-write: the pool's PSS
should stay near one engine, not workers x one engine.
"""

import argparse
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time


def write_db(d, hashes, patterns):
    rnd = random.Random(42)
    with open(os.path.join(d, "bench.hdb"), "w") as f:
        for i in range(hashes):
            f.write("%032x:%d:Bench.Hash-%d\n" % (rnd.getrandbits(128), rnd.randint(100, 10 ** 6), i))
    with open(os.path.join(d, "bench.ndb"), "w") as f:
        for i in range(patterns):
            f.write("Bench.Pattern-%d:0:*:%s\n" % (i, "%040x" % rnd.getrandbits(160)))


def vm(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def pss(pid):
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            if line.startswith("Pss:"):
                return int(line.split()[1])
    return 0


def children(pid):
    out = []
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            out = [int(x) for x in f.read().split()]
    except OSError:
        pass
    return out


def comm(pid):
    with open("/proc/%d/comm" % pid) as f:
        return f.read().strip()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--hashes", type=int, default=1000000)
    ap.add_argument("--patterns", type=int, default=100000)
    ap.add_argument("--workers", type=int, default=4)
    a = ap.parse_args()
    mugai = os.path.join(a.build, "src", "mugai")
    milter = os.path.join(a.build, "src", "mugai-milter")
    tmp = tempfile.mkdtemp(prefix="mugai-poolmem-")
    db = os.path.join(tmp, "db")
    os.makedirs(db)
    t0 = time.monotonic()
    write_db(db, a.hashes, a.patterns)
    print("database: %d hashes, %d patterns (%.1f MB of text), written in %.1f s"
          % (a.hashes, a.patterns, sum(os.path.getsize(os.path.join(db, f)) for f in os.listdir(db)) / 1e6,
             time.monotonic() - t0))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    conf = os.path.join(tmp, "mugai.conf")
    with open(conf, "w") as f:
        f.write("[clamav]\ndatabase = %s\n[milter]\nsocket = inet:%d@127.0.0.1\nworkers = %d\n"
                "spool_dir = %s\n[quarantine]\ndir = %s\n[audit]\nfile = %s\n"
                % (db, port, a.workers, os.path.join(tmp, "spool"), os.path.join(tmp, "q"),
                   os.path.join(tmp, "audit.log")))
    os.makedirs(os.path.join(tmp, "spool"))
    msg = os.path.join(tmp, "m.eml")
    with open(msg, "w") as f:
        f.write("From: a@example.com\nTo: b@example.jp\nSubject: x\n\nhello\n")

    # one engine
    t0 = time.monotonic()
    p = subprocess.Popen([mugai, "sanitize", "-c", conf, msg], stdout=subprocess.DEVNULL)
    peak = 0
    while p.poll() is None:
        try:
            peak = max(peak, vm(p.pid, "VmHWM"))
        except OSError:
            pass
        time.sleep(0.05)
    one = peak
    print("one engine (mugai sanitize): peak RSS %.1f MB, %.1f s" % (one / 1024, time.monotonic() - t0))

    # the pool
    sup = subprocess.Popen([milter, "-f", "-c", conf], stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 300
        pool, workers = None, []
        while time.monotonic() < deadline:
            time.sleep(0.5)
            for c in children(sup.pid):
                if comm(c) == "mugai-pool":
                    pool = c
            if pool:
                workers = children(pool)
                if len(workers) >= a.workers:
                    break
        if not pool or len(workers) < a.workers:
            print("pool did not start %d workers" % a.workers)
            return 1
        time.sleep(2)
        procs = [pool] + children(pool)
        rss = sum(vm(q, "VmRSS") for q in procs)
        tot = sum(pss(q) for q in procs)
        print("pool: parent + %d workers: RSS sum %.1f MB, PSS sum %.1f MB "
              "(%.2f x one engine; %d separate engines would be %.1f MB)"
              % (len(procs) - 1, rss / 1024, tot / 1024, tot / one, len(procs), len(procs) * one / 1024))
        for q in procs:
            print("  pid %d %-14s RSS %7.1f MB  PSS %7.1f MB" % (q, comm(q), vm(q, "VmRSS") / 1024, pss(q) / 1024))
    finally:
        sup.send_signal(signal.SIGTERM)
        try:
            sup.wait(60)
        except subprocess.TimeoutExpired:
            sup.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
