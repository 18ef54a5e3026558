#!/usr/bin/env python3
"""End-to-end tests: a real, private Postfix with mugai-milter in line.

    python3 tests/e2e/run-e2e.py MUGAI_MILTER MUGAI [--only NAME[,NAME]] [--keep]

Runs as root (Postfix's master must start as root); prints TAP, and
"1..0 # SKIP reason" when not root or Postfix is not installed.  Everything
listens on 127.0.0.1 on ports picked free at run time, lives in one temporary
directory, and every process started is stopped by PID at the end, also on
failure.  With MUGAI_MILTER "-" only the plumbing scenario runs (Postfix and
the sink without a milter).

Scenarios (each can run alone with --only):

  load     every sample of testdata/ over 8 concurrent SMTP sessions: each
           message accepted (250) arrives at the sink exactly once and
           sanitized, its original is in the quarantine, refusals carry a
           reason, one audit line per message, each judged by its
           expectation in testdata/expected.json (an independent source;
           `mugai sanitize` only for the two samples Postfix changes on
           the way in), no 4xx
  crash    kill -9 of the daemon under load, restart: nothing accepted is
           lost or duplicated, each delivered sample as expected.json
           says, 4xx mail re-sent and delivered, no orphaned worker left,
           /proc holds exactly one pool afterwards
  poison   X-Mugai-Test-Fault: hang / crash next to 8 normal messages: 451
           4.7.0 for the poison, the log naming why (the hang's worker ended
           by its deadline alarm, the crash's by SIGABRT); the others
           accepted, none timed out or deferred (times printed, not judged)
  store    the quarantine cannot be written (even as root): 451 and nothing
           delivered; once restored the client's retry and Postfix's own
           retry (through a queueing hop) are delivered
  large    a 30 MB message is delivered sanitized; peak RSS of the front
           and the workers (the front stays small: it spools)
  reload   SIGHUP applies a valid configuration; a broken one is refused
           and the old one kept, the daemon serving throughout
  sigterm  SIGTERM with a message in flight (while its body is still being
           received; while a worker sanitizes it; to every process at
           once): it is finished and delivered, the daemon exits 0,
           nothing is left, later mail is tempfailed
  virus    libclamav ($MUGAI_TEST_CLAMAV_DB): EICAR as an attachment and
           inline, the hashed test file as an attachment get 550 5.7.1
           naming the signature, are not delivered, are quarantined and
           audited as reject; an encrypted zip is removed (reason encrypted
           in the notice; SKIP without zip); a normal message is delivered
  dbreload reload_check = 1 on a private copy of the database: a corrupt
           .ndb dropped in is refused (old engine kept), a new signature
           file is picked up under a paced stream of 40 messages over 4
           sessions (each 250 within message_timeout), then refused by it
  bombs    300,000 empty parts, 60,000 alternatives, 100,000 header fields:
           550 5.7.1 naming the limit, quarantined with a report of at most
           1 MiB; an HTML element with 80,000 attributes: the part removed,
           the message delivered; ordinary mail sent meanwhile delivered;
           the worker's peak memory within twice the message plus 64 MB

  audit    the audit log cannot be written (a directory at its path; a
           full tmpfs under it): 451 4.7.0 naming it, nothing delivered,
           no half line; fixed, mail flows without a restart; rotation by
           rename under a stream of mail, SIGUSR1 then SIGHUP: every
           accepted message has exactly one record across the files;
           store 0700/0600, audit log 0600
  sockgroup the daemon as nobody with socket_group: socket 0660 and its
           directory 0710 of that group; Postfix in the group sends mail
           through it; Postfix's uid opens neither log nor original
  roles    each role under its own user (ps: front, pool and workers,
           storer; filters in a user namespace of their own); only the
           storer's user opens the store and the log; a worker taken over
           (fault hook) is refused both, and killed by seccomp for an
           Internet socket; an impostor on the workers' socket is refused
  pgnodes  two nodes (a Postfix and a mugai-milter each, node_name node-a
           and node-b) on one PostgreSQL database (tests/pgcluster.py
           under the run's directory, a Unix socket for the storers'
           group only, a password in each node's DSN file): mail through
           both delivered sanitized, every original listed, extracted byte
           for byte and checked through the other node's configuration;
           the database killed under load through node A, then stopped
           under load through node B: 451 4.7.0, Postfix defers, nothing
           at the sink unstored; started again, each message delivered
           exactly once and stored; node A's message requested and
           approved through node B: the original once at the sink; the
           database's audit table as each log file; both logs verify
  blankline a header field with a whitespace-only continuation line: the
           delivered header block has none, MIME fields and
           X-Mugai-Status in it
  workflow the release workflow through Postfix: accounts for the actors'
           logins (mugai admin add); request + approve + release re-inject
           the original once through an smtpd without milters (X-Mugai-*
           fields replaced by X-Mugai-Released, the original envelope);
           deny delivers nothing; refusals (own request, no account, an
           auditor, before approval, a stranger recipient, ClamAV finding
           a held virus again, no ClamAV database); resanitize=PROFILE;
           approvals = 2 with on_approve = send; a relay's 554 (failed,
           released later); a relay that hangs up after the data, and
           kill -9 with a release on the wire: approved and uncertain,
           --again delivers it once
  release  tools/quickstart.sh in a copy of the tree, then the README's
           meson setup build && ninja install (DESTDIR): the installed
           daemon has no fault hook and delivers X-Mugai-Test-Fault mail
  unit     the daemon under mugai-milter.service's settings by hand (read-
           only root but its writable paths, its bounding set): reload,
           refused reload (every process on the old file, a pool restart
           too), stop with mail in flight, kill -9 of the supervisor

The sink stands for the LGWAN-side server: a threaded SMTP server in
harness.py that records each message and its envelope.  Delivered messages
are judged by tests/mugaitest.py check_message() (Python's email package).

Each scenario is sc_NAME.py beside this file; what several share is
common.py (see README.md).
"""

import argparse
import json
import os
import re
import shutil
import signal
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))
import harness as h  # noqa: E402
import mugaitest as mt  # noqa: E402
from common import TESTDATA, Item  # noqa: E402
from sc_plumbing import sc_plumbing  # noqa: E402
from sc_load import sc_load  # noqa: E402
from sc_crash import sc_crash  # noqa: E402
from sc_poison import sc_poison  # noqa: E402
from sc_store import sc_store  # noqa: E402
from sc_large import sc_large  # noqa: E402
from sc_reload import sc_reload  # noqa: E402
from sc_sigterm import sc_sigterm  # noqa: E402
from sc_virus import sc_virus  # noqa: E402
from sc_threats import sc_threats  # noqa: E402
from sc_hostile import sc_hostile  # noqa: E402
from sc_dbreload import sc_dbreload  # noqa: E402
from sc_audit import sc_audit  # noqa: E402
from sc_sockgroup import sc_sockgroup  # noqa: E402
from sc_blankline import sc_blankline  # noqa: E402
from sc_bombs import sc_bombs  # noqa: E402
from sc_release import sc_release  # noqa: E402
from sc_unit import sc_unit  # noqa: E402
from sc_roles import sc_roles  # noqa: E402
from sc_pgnodes import sc_pgnodes  # noqa: E402
from sc_workflow import sc_workflow  # noqa: E402

SCENARIOS = ["load", "crash", "poison", "store", "large", "reload", "sigterm", "virus", "dbreload",
             "threats", "hostile", "audit", "sockgroup", "roles", "pgnodes", "blankline", "bombs", "workflow"]


# ---------------------------------------------------------------------------
# Samples


def load_samples():
    """[(key, data)] of every message of testdata/mbox/*.mbox and
    testdata/maildir, in a stable order."""
    out = []
    mbox_dir = os.path.join(TESTDATA, "mbox")
    for name in sorted(os.listdir(mbox_dir)):
        if name.endswith(".mbox"):
            with open(os.path.join(mbox_dir, name), "rb") as f:
                for n, data in enumerate(mt.read_mbox(f.read()), 1):
                    out.append((mt.test_id(data) or "mbox/%s#%d" % (name, n), data))
    maildir = os.path.join(TESTDATA, "maildir")
    for sub, name in mt.maildir_files(maildir):
        with open(os.path.join(maildir, sub, name), "rb") as f:
            data = f.read()
        out.append((mt.test_id(data) or "maildir/%s/%s" % (sub, name), data))
    return out


def load_expected():
    try:
        with open(os.path.join(TESTDATA, "expected.json"), encoding="utf-8") as f:
            return json.load(f).get("messages", {})
    except (OSError, ValueError):
        return {}


# ---------------------------------------------------------------------------
# The run


class Ctx:
    def __init__(self, args, root):
        self.args = args
        self.root = root
        self.tap = mt.Tap()
        self.sink = None
        self.postfix = None
        self.milter_port = None
        self.milters = []
        self.scenario = None
        self.scenario_failed = False
        self.samples = None
        self.expected = load_expected()
        self.asan = False

    def ok(self, cond, name, diags=()):
        cond = bool(cond)
        if not cond:
            self.scenario_failed = True
        self.tap.result(cond, "%s: %s" % (self.scenario, name) if self.scenario else name,
                        [d for d in diags if d is not None])
        return cond

    def diag(self, text):
        self.tap.diag(text)

    def new_milter(self, name, **kw):
        m = h.Milter(self.args.milter, os.path.join(self.root, name), self.milter_port, **kw)
        self.milters.append(m)
        return m

    def start_milter(self, m, what="mugai-milter starts and answers on its socket"):
        rc, out = m.check_config()
        if rc != 0:
            self.ok(False, "mugai-milter -t accepts the test configuration",
                    ["exit %s" % rc] + out.splitlines()[-20:])
            return False
        ok, err = m.start()
        return self.ok(ok, what, [err] + (h.tail(m.log, lines=30) if not ok else []))

    def get_samples(self):
        if self.samples is None:
            self.samples = load_samples()
        return self.samples

    def items_from_samples(self, prefix, count=None, keys=None):
        samples = self.get_samples()
        if keys is not None:
            samples = [s for s in samples if s[0] in keys]
        if count is not None:
            samples = [samples[i % len(samples)] for i in range(count)]
        items = []
        for n, (key, data) in enumerate(samples, 1):
            ident = "%s-%03d" % (prefix, n)
            items.append(Item(ident, h.with_id(data, ident), key=key, original=data))
        return items

    def wait_delivered(self, idents, timeout):
        """Waits until each ident is at the sink and Postfix's queue is
        empty; returns True when both happened."""
        want = set(idents)

        def done():
            got = self.sink.by_id()
            return want <= set(got) and not self.postfix.queue_files()
        ok = h.wait_until(done, timeout, step=0.25)
        time.sleep(0.5)  # a duplicate would arrive right behind
        return ok

    def postfix_qids(self, offset=0):
        """{sender address: [(qid, status text)]} from Postfix's
        milter-reject lines since offset (refused and tempfailed mail)."""
        out = {}
        for line in self.postfix.log_text(offset).splitlines():
            m = re.search(r"\]: ([0-9A-Za-z]+): milter-reject: \S+ from [^:]*: (.*?); from=<([^>]*)>", line)
            if m:
                out.setdefault(m.group(3), []).append((m.group(1), m.group(2)))
        return out


SCENARIO_FUNCS = {"plumbing": sc_plumbing, "load": sc_load, "crash": sc_crash, "poison": sc_poison,
                  "store": sc_store, "large": sc_large, "reload": sc_reload, "sigterm": sc_sigterm,
                  "virus": sc_virus, "dbreload": sc_dbreload, "threats": sc_threats,
                  "hostile": sc_hostile, "audit": sc_audit, "sockgroup": sc_sockgroup, "roles": sc_roles,
                  "pgnodes": sc_pgnodes, "blankline": sc_blankline, "bombs": sc_bombs,
                  "workflow": sc_workflow}


# ---------------------------------------------------------------------------


def is_asan(path):
    try:
        with open(path, "rb") as f:
            return b"__asan_init" in f.read()
    except OSError:
        return False


def run_scenario(ctx, name):
    ctx.scenario = name
    ctx.scenario_failed = False
    pf_offset = ctx.postfix.log_offset()
    first_milter = len(ctx.milters)
    t0 = time.monotonic()
    try:
        SCENARIO_FUNCS[name](ctx)
    except Exception:  # noqa: BLE001 - a harness error is one failure
        ctx.ok(False, "the scenario ran to its end", traceback.format_exc().splitlines())
    finally:
        problems = []
        for m in ctx.milters[first_milter:]:
            problems += m.cleanup()
        if problems:
            ctx.ok(False, "clean-up: nothing left running", problems)
        if not ctx.postfix.wait_queue_empty(30):
            ctx.ok(False, "Postfix's queue is empty at the end", ctx.postfix.mailq()[-20:])
            ctx.postfix.purge()
        if ctx.scenario_failed:
            ctx.diag("---- Postfix log of this scenario ----")
            for l in h.tail(ctx.postfix.log, pf_offset, lines=60):
                ctx.diag(l)
            for m in ctx.milters[first_milter:]:
                ctx.diag("---- %s ----" % m.log)
                for l in h.tail(m.log, lines=60):
                    ctx.diag(l)
        ctx.diag("%s: %.1f s" % (name, time.monotonic() - t0))
        ctx.scenario = None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("milter", help="mugai-milter executable, or - for none (plumbing only)")
    ap.add_argument("mugai", help="mugai executable")
    ap.add_argument("--only", default="", help="comma-separated scenarios: %s, plumbing" % ", ".join(SCENARIOS))
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = ap.parse_args()

    no_milter = args.milter == "-"
    names = [n for n in args.only.split(",") if n] or (["plumbing"] if no_milter else SCENARIOS)
    unknown = [n for n in names if n not in SCENARIO_FUNCS]
    if unknown:
        ap.error("unknown scenario(s): %s" % ", ".join(unknown))
    if no_milter and names != ["plumbing"]:
        ap.error("without a milter only the plumbing scenario can run")

    if os.geteuid() != 0:
        mt.Tap.plan(0, "not root (Postfix's master must start as root)")
        return 0
    if not h.POSTFIX or not h.POSTCONF:
        mt.Tap.plan(0, "postfix is not installed (tools/install-deps.sh)")
        return 0
    if not no_milter and not os.access(args.milter, os.X_OK):
        mt.Tap.plan(0, "mugai-milter not built: %s" % args.milter)
        return 0

    # meson's timeout sends SIGTERM: unwind through the finally blocks so
    # that Postfix and the milters are stopped by PID.
    def on_term(signum, _frame):
        raise SystemExit("killed by signal %d" % signum)
    signal.signal(signal.SIGTERM, on_term)
    h.become_subreaper()
    root = tempfile.mkdtemp(prefix="mugai-e2e-")
    os.chmod(root, 0o755)  # Postfix daemons (user postfix) walk into it
    ctx = Ctx(args, root)
    ctx.asan = not no_milter and is_asan(args.milter)
    ctx.tap.diag("e2e: working directory %s%s" % (root, " (ASan build)" if ctx.asan else ""))
    status = 0
    try:
        ctx.sink = h.Sink(os.path.join(root, "sink"))
        ctx.sink.start()
        ctx.milter_port = None if no_milter else h.free_port()
        # milter_content_timeout: longer than any message_timeout +
        # queue_timeout used here (at most 55 s), so that mugai's own
        # deadline is what the tests see.
        ctx.postfix = h.Postfix(os.path.join(root, "postfix"), ctx.sink.port, ctx.milter_port,
                                content_timeout="60s")
        os.makedirs(ctx.postfix.root)
        ctx.postfix.write_config()
        rc, out = ctx.postfix.check()
        ctx.ok(rc == 0 and not out.strip(), "postfix check passes for the private instance", out.splitlines())
        rc, out = ctx.postfix.start()
        started = ctx.ok(rc == 0, "the private Postfix starts (smtpd on 127.0.0.1:%d, sink on 127.0.0.1:%d, "
                         "milter on 127.0.0.1:%s)" % (ctx.postfix.smtp_port, ctx.sink.port, ctx.milter_port),
                         out.splitlines() + (h.tail(ctx.postfix.log) if rc else []))
        if started:
            for name in names:
                run_scenario(ctx, name)
    finally:
        for m in ctx.milters:
            for p in m.cleanup():
                ctx.diag("clean-up: " + p)
        if ctx.postfix:
            problems = ctx.postfix.stop()
            ctx.ok(not problems, "the private Postfix stops and leaves nothing running", problems)
        if ctx.sink:
            ctx.sink.stop()
        ctx.tap.plan(ctx.tap.count)
        if args.keep:
            ctx.tap.diag("e2e: kept %s" % root)
        elif ctx.tap.failed:
            # Kept for the logs; the multi-megabyte messages go.
            pruned = 0
            for dirpath, _dirs, files in os.walk(root):
                for f in files:
                    path = os.path.join(dirpath, f)
                    try:
                        if os.path.isfile(path) and os.path.getsize(path) > 8 * 1024 * 1024:
                            os.unlink(path)
                            pruned += 1
                    except OSError:
                        pass
            ctx.tap.diag("e2e: kept %s (logs, configuration, quarantine, sink; %d files over 8 MB removed)"
                         % (root, pruned))
        else:
            shutil.rmtree(root, ignore_errors=True)
        status = 1 if ctx.tap.failed else 0
    return status


SCENARIOS += ["release", "unit"]
SCENARIO_FUNCS.update({"release": sc_release, "unit": sc_unit})


if __name__ == "__main__":
    sys.exit(main())
