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
           reason, one audit line per message, the milter agrees with
           `mugai sanitize` on the same bytes, no 4xx
  crash    kill -9 of the daemon under load, restart: nothing accepted is
           lost or duplicated, nothing unsanitized, 4xx mail re-sent and
           delivered, no orphaned worker left
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
  blankline a header field with a whitespace-only continuation line: the
           delivered header block has none, MIME fields and
           X-Mugai-Status in it
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
"""

import argparse
import base64
import json
import os
import random
import re
import select
import shutil
import signal
import smtplib
import subprocess
import sys
import tempfile
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))
import harness as h  # noqa: E402
import mugaitest as mt  # noqa: E402
import threatmail  # noqa: E402
import judges  # noqa: E402

SRCDIR = os.environ.get("MUGAI_SRCDIR") or os.path.dirname(os.path.dirname(HERE))
TESTDATA = os.path.join(SRCDIR, "testdata")
SCENARIOS = ["load", "crash", "poison", "store", "large", "reload", "sigterm", "virus", "dbreload",
             "threats", "hostile", "audit", "sockgroup", "blankline", "bombs"]
SESSIONS = 8
FRONT_RSS_LIMIT_MB = 64


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


def text_message(ident, subject, body, extra_headers=()):
    head = ["From: Sender <sender@internet.test>", "To: <user@lgwan.test>",
            "Subject: " + subject, "Date: Mon, 20 Nov 2023 10:00:00 +0900",
            "Message-ID: <%s@internet.test>" % ident, "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=us-ascii"] + list(extra_headers)
    return ("\r\n".join(head) + "\r\n\r\n" + body).encode("ascii")


def big_message(ident, attachment_bytes, seed=1):
    """multipart/mixed: a short text and an application/octet-stream
    attachment of attachment_bytes random octets in base64 (76-column
    lines)."""
    rnd = random.Random(seed)
    blob = rnd.randbytes(attachment_bytes)
    b64 = base64.encodebytes(blob).replace(b"\n", b"\r\n")
    head = ("From: Sender <sender@internet.test>\r\nTo: <user@lgwan.test>\r\n"
            "Subject: large attachment\r\nDate: Mon, 20 Nov 2023 10:00:00 +0900\r\n"
            "Message-ID: <%s@internet.test>\r\nMIME-Version: 1.0\r\n"
            "Content-Type: multipart/mixed; boundary=\"e2e-boundary\"\r\n\r\n"
            "--e2e-boundary\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
            "Please find the data attached. E2E-LARGE-BODY-TEXT\r\n\r\n"
            "--e2e-boundary\r\nContent-Type: application/octet-stream; name=\"data.bin\"\r\n"
            "Content-Disposition: attachment; filename=\"data.bin\"\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\n" % ident).encode("ascii")
    return head + b64 + b"\r\n--e2e-boundary--\r\n"


# ---------------------------------------------------------------------------
# Sending many messages


class Item:
    def __init__(self, ident, data, key=None, original=None, port=None):
        self.ident = ident
        self.key = key or ident
        self.data = data                  # as sent (X-E2E-Id added, CRLF)
        self.original = original          # the sample as it is in testdata
        self.sender, self.rcpts = h.envelope(ident)
        self.port = port
        self.results = []                 # every attempt

    @property
    def final(self):
        return self.results[-1] if self.results else None


class Sender:
    """Sends items over `sessions` concurrent SMTP sessions (each re-opened
    every `reconnect_every` messages).  With retry, a 4xx or a broken
    connection puts the item back (as a sending MTA would retry) until
    `deadline`."""

    def __init__(self, port, items, sessions=SESSIONS, retry=False, deadline=None,
                 reconnect_every=5, pause=0.5):
        self.port = port
        self.items = items
        self.sessions = sessions
        self.retry = retry
        self.deadline = deadline
        self.reconnect_every = reconnect_every
        self.pause = pause
        self.queue = list(items)
        self.lock = threading.Lock()
        self.threads = []
        self.completed = 0
        self.attempts = 0

    def _next(self):
        with self.lock:
            return self.queue.pop(0) if self.queue else None

    def _run(self):
        sess = None
        sent = 0
        while True:
            item = self._next()
            if item is None:
                break
            port = item.port or self.port
            if sess is None or sess.port != port or sent >= self.reconnect_every:
                if sess:
                    sess.close()
                sess, sent = h.Session(port), 0
            r = sess.send(item.sender, item.rcpts, item.data)
            sent += 1
            with self.lock:
                item.results.append(r)
                self.attempts += 1
                again = (self.retry and r.klass in ("4xx", "error") and
                         (self.deadline is None or time.monotonic() < self.deadline))
                if again:
                    self.queue.append(item)
                else:
                    self.completed += 1
            if again:
                sess.close()
                sess = None
                time.sleep(self.pause)
        if sess:
            sess.close()

    def start(self):
        for i in range(self.sessions):
            t = threading.Thread(target=self._run, name="client-%d" % i, daemon=True)
            t.start()
            self.threads.append(t)
        return self

    def join(self, timeout):
        deadline = time.monotonic() + timeout
        for t in self.threads:
            t.join(max(0.0, deadline - time.monotonic()))
        return not any(t.is_alive() for t in self.threads)


def send_one(port, item, timeout=180):
    s = h.Session(port, timeout=timeout)
    try:
        r = s.send(item.sender, item.rcpts, item.data)
    finally:
        s.close()
    item.results.append(r)
    return r


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


def received_original(ctx, ident):
    """The original of one test message as mugai received it (from any
    quarantine under the run's directory), or None."""
    tag = ("X-E2E-Id: %s\r\n" % ident).encode()
    for dirpath, _dirs, files in os.walk(ctx.root):
        if "quarantine" not in dirpath:
            continue
        for f in files:
            if f.endswith(".eml"):
                try:
                    with open(os.path.join(dirpath, f), "rb") as fh:
                        data = fh.read()
                except OSError:
                    continue
                if tag in data[:4096]:
                    return data
    return None


def judge_delivered(ctx, item, sink_msgs, milter=None, status_expected=None):
    """Problems with one accepted message at the sink: exactly once,
    check_message, the removed attachments' markers absent."""
    problems = []
    if len(sink_msgs) != 1:
        problems.append("arrived %d times at the sink (expected exactly once)" % len(sink_msgs))
    # A header defect is mugai's only if the message as Postfix handed it
    # to mugai did not already have it: Postfix rewrites some input on the
    # way in (bare CR becomes a space, so a bare-CR message arrives as one
    # long header), and the quarantine holds what mugai was given.
    received = received_original(ctx, item.ident)
    for sm in sink_msgs[:1]:
        c = mt.check_message(sm.data, received if received is not None else item.original)
        problems += ["sink %s: %s" % (os.path.basename(sm.path), l) for l in c.lines() if not l.startswith("warning")]
        if sm.rcpts != item.rcpts or sm.mail_from != item.sender:
            problems.append("envelope changed: from=<%s> to=%s" % (sm.mail_from, sm.rcpts))
        exp = ctx.expected.get(item.key) or {}
        text = sm.data.decode("utf-8", "replace") + "\n".join(t for _p, t in c.texts)
        for s in exp.get("body_absent", []):
            if s in text:
                problems.append("text that must not reach the LGWAN side is there: %s" % mt.short(s))
        if status_expected is not None and c.status != status_expected:
            problems.append("X-Mugai-Status %s, mugai sanitize says %s" % (mt.short(c.status), mt.short(status_expected)))
    return problems


def quarantine_index(m):
    """{queue_id: [(meta, json path, eml path)]}, problems."""
    idx, problems = {}, []
    for meta, jpath, eml in m.quarantine_entries():
        if meta is None:
            problems.append("quarantine: %s without a readable JSON record" % (jpath or eml))
            continue
        idx.setdefault(meta.get("queue_id"), []).append((meta, jpath, eml))
    return idx, problems


def judge_quarantined(item, qid, qidx):
    problems = []
    entries = qidx.get(qid, [])
    if len(entries) != 1:
        return ["%d quarantine records with queue_id %s (expected 1)" % (len(entries), qid)]
    meta, jpath, eml = entries[0]
    if eml is None:
        return ["quarantine record %s has no .eml" % jpath]
    with open(eml, "rb") as f:
        stored = f.read()
    if h.e2e_id(stored) != item.ident:
        problems.append("%s does not hold X-E2E-Id %s" % (eml, item.ident))
    # The original must be kept whole: the body as sent (line ends aside).
    sent_body = item.data.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in item.data else b""
    if sent_body.replace(b"\r\n", b"\n") not in stored.replace(b"\r\n", b"\n"):
        problems.append("%s does not contain the body as sent (%d octets stored, %d sent)"
                        % (os.path.basename(eml), len(stored), len(item.data)))
    sender = meta.get("sender")
    if sender is not None and sender.strip("<>") != item.sender:
        problems.append("quarantine sender %s, envelope sender %s" % (mt.short(sender), item.sender))
    rcpts = meta.get("recipients")
    if rcpts is not None and [r.strip("<>") for r in mt.as_list(rcpts)] != item.rcpts:
        problems.append("quarantine recipients %s, envelope %s" % (mt.short(rcpts), item.rcpts))
    return problems


def audit_index(m):
    lines, bad = m.audit_lines()
    idx = {}
    for a in lines:
        idx.setdefault(a.get("queue_id"), []).append(a)
    return lines, idx, bad


ACTION_OF = {"2xx": "deliver", "5xx": "reject", "4xx": "tempfail"}


def judge_audit(qid, klass, aidx, qidx=None):
    entries = aidx.get(qid, [])
    if len(entries) != 1:
        return ["%d audit lines with queue_id %s (expected 1)" % (len(entries), qid)]
    a = entries[0]
    problems = []
    if a.get("action") != ACTION_OF.get(klass):
        problems.append("audit action %s for an SMTP %s reply" % (mt.short(a.get("action")), klass))
    if klass == "2xx" and qidx is not None:
        qid_ = a.get("quarantine_id")
        names = {os.path.basename(e[2] or "")[:-4] for es in qidx.values() for e in es if e[2]}
        if not qid_ or str(qid_) not in names:
            problems.append("audit quarantine_id %s names no stored original" % mt.short(qid_))
    return problems


def reason_ok(text):
    """A refusal names its reason: more than an enhanced code and a generic
    word."""
    words = re.sub(r"^\d\.\d+\.\d+\s*", "", text or "").strip()
    return len(words) >= 8 and words.lower() not in ("error", "rejected", "message rejected",
                                                     "service unavailable")


def leftover_check(ctx, m, what="nothing of mugai-milter is left running"):
    problems = m.cleanup()
    ctx.ok(not problems, what, problems)


def proc_table(m):
    rows = []
    for pid, depth, comm in m.tree():
        st = h.proc_status(pid)
        rows.append((pid, depth, comm, st.get("VmHWM"), st.get("VmRSS")))
    return rows


# ---------------------------------------------------------------------------
# Scenarios


def sc_plumbing(ctx):
    items = [Item("plumb-%d" % n, h.with_id(text_message("plumb-%d" % n, "plumbing", "hello\r\n"),
                                            "plumb-%d" % n)) for n in range(1, 5)]
    items[-1].port = ctx.postfix.hop_port
    Sender(ctx.postfix.smtp_port, items, sessions=2).start().join(60)
    ctx.ok(all(i.final and i.final.code == 250 for i in items), "4 messages accepted (one via the hop)",
           ["%s: %s" % (i.ident, i.final) for i in items])
    ok = ctx.wait_delivered([i.ident for i in items], 30)
    got = ctx.sink.by_id("plumb-")
    ctx.ok(ok and all(len(got.get(i.ident, [])) == 1 for i in items), "each arrived at the sink once",
           ["%s: %d" % (i.ident, len(got.get(i.ident, []))) for i in items])


def sc_load(ctx):
    m = ctx.new_milter("load")
    if not ctx.start_milter(m):
        return
    items = ctx.items_from_samples("load")
    offset = ctx.postfix.log_offset()
    t0 = time.monotonic()
    snd = Sender(ctx.postfix.smtp_port, items).start()
    finished = snd.join(300)
    elapsed = time.monotonic() - t0
    ctx.ok(finished, "%d messages sent over %d sessions in %.1f s" % (len(items), SESSIONS, elapsed),
           [] if finished else ["the client threads did not finish within 300 s"])
    accepted = [i for i in items if i.final and i.final.klass == "2xx"]
    refused = [i for i in items if i.final and i.final.klass == "5xx"]
    other = [i for i in items if i not in accepted and i not in refused]
    ctx.wait_delivered([i.ident for i in accepted], 90)
    ctx.diag("load: %d accepted, %d refused, %d other" % (len(accepted), len(refused), len(other)))

    # What mugai sanitize says about the same bytes, with the same config.
    cli = {}
    tmp = os.path.join(m.dir, "cli")
    os.makedirs(tmp, exist_ok=True)

    def run_cli(item):
        path = os.path.join(tmp, item.ident + ".eml")
        with open(path, "wb") as f:
            f.write(item.data)
        r = mt.run([ctx.args.mugai, "sanitize", "--config", m.conf, path], timeout=120)
        status = None
        if r.rc == 0:
            c = mt.check_message(r.stdout)
            status = c.status
        cli[item.ident] = (r, status)
    lock = threading.Lock()
    todo = list(items)

    def cli_worker():
        while True:
            with lock:
                if not todo:
                    return
                it = todo.pop()
            run_cli(it)
    ts = [threading.Thread(target=cli_worker, daemon=True) for _ in range(2)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(600)

    agree = sum(1 for i in items if i.ident in cli and i.final and
                {0: "2xx", 3: "5xx", 75: "4xx"}.get(cli[i.ident][0].rc) == i.final.klass)
    ctx.diag("load: `mugai sanitize` on the same bytes agrees with the milter's answer for %d of %d"
             % (agree, len(items)))
    sink = ctx.sink.by_id("load-")
    qidx, qproblems = quarantine_index(m)
    alines, aidx, abad = audit_index(m)
    rejects = ctx.postfix_qids(offset)
    cli_class = {0: "2xx", 3: "5xx", 75: "4xx"}

    for item in items:
        r = item.final
        problems = []
        klass = r.klass if r else "none"
        crun, cstatus = cli.get(item.ident, (None, None))
        qid = None
        if r and r.stage == "EOD" and klass != "2xx":
            qids = rejects.get(item.sender, [])
            qid = qids[-1][0] if qids else None
        if klass == "2xx":
            qid = r.qid
            problems += judge_delivered(ctx, item, sink.get(item.ident, []), status_expected=cstatus)
            problems += judge_quarantined(item, qid, qidx)
        elif klass == "5xx":
            if not reason_ok(r.text):
                problems.append("refusal without a reason: %s" % mt.short(r.text))
            if not (r.text or "").startswith("5.7.1") and r.stage == "EOD":
                problems.append("refusal is not 5.7.1: %s" % mt.short(r.text))
            if item.ident in sink:
                problems.append("refused but %d cop(y/ies) at the sink" % len(sink[item.ident]))
        else:
            problems.append("no 2xx/5xx answer: %s" % r)
        if qid:
            problems += judge_audit(qid, klass, aidx, qidx if klass == "2xx" else None)
        elif r and r.stage == "EOD":
            problems.append("queue id not found (reply or Postfix log)")
        if crun is not None:
            want = cli_class.get(crun.rc, crun.describe())
            if want != klass:
                problems.append("milter answered %s, `mugai sanitize` on the same bytes: %s (%s)"
                                % (klass, want, crun.describe()))
        ctx.ok(not problems, "%s (%s): %s" % (item.ident, item.key, r), problems)

    ctx.ok(not other, "no message got a 4xx or a broken session", ["%s (%s): %s" % (i.ident, i.key, i.final) for i in other])
    n_sink = sum(len(v) for v in sink.values())
    stray = sorted(set(sink) - {i.ident for i in accepted})
    ctx.ok(n_sink == len(accepted) and not stray,
           "messages at the sink (%d) == messages accepted (%d)" % (n_sink, len(accepted)),
           ["at the sink but not accepted: %s" % stray] if stray else [])
    with_qid = [i for i in items if i.final and i.final.stage == "EOD"]
    ctx.ok(len(alines) == len(with_qid) and not abad,
           "audit file: %d lines for %d messages that reached end of data" % (len(alines), len(with_qid)),
           abad + ["queue ids in the audit but not in this test: %s" % sorted(
               set(aidx) - {i.final.qid for i in accepted} - {q for v in rejects.values() for q, _ in v})])
    stored_rejects = sum(1 for i in refused if any(q in qidx for q, _ in rejects.get(i.sender, [])))
    ctx.diag("load: %d of %d refused messages have an original in the quarantine" % (stored_rejects, len(refused)))
    ctx.ok(not qproblems, "quarantine records are readable", qproblems)
    spool = m.spool_files()
    ctx.ok(not spool, "spool directory is empty afterwards", spool[:10])
    leftover_check(ctx, m)


def sc_crash(ctx):
    m = ctx.new_milter("crash")
    if not ctx.start_milter(m):
        return
    items = ctx.items_from_samples("crash", count=60)
    snd = Sender(ctx.postfix.smtp_port, items, retry=True, deadline=time.monotonic() + 150,
                 reconnect_every=3).start()
    h.wait_until(lambda: snd.completed >= 12, 60, step=0.02)
    pid_file = m.pid_from_file()
    ctx.ok(pid_file == m.proc.pid, "pid file names the main process",
           ["pid file: %s, process started: %d" % (pid_file, m.proc.pid)])
    before = m.remember()
    tree = proc_table(m)
    victim = m.proc.pid
    completed_at_kill = snd.completed
    os.kill(victim, signal.SIGKILL)
    m.proc.wait()
    ctx.diag("crash: SIGKILL to %d with %d of %d messages done; tree was: %s"
             % (victim, completed_at_kill, len(items), ", ".join("%d(%s,d%d)" % (p, c, d) for p, d, c, _, _ in tree)))
    time.sleep(1.0)
    ok, err = m.start(timeout=30)
    ctx.ok(ok, "mugai-milter restarts after kill -9 (stale pid file, same socket)",
           [err] + (h.tail(m.log, lines=20) if not ok else []))
    # Orphans: the processes of the killed instance must go away by
    # themselves (a worker holding the listening socket would steal
    # connections from the new daemon).
    old = {p: st for p, st in before.items() if p != victim}
    gone = h.wait_until(lambda: not [p for p, st in old.items() if h.alive(p, st[5])], 10)
    orphans = [(p, st) for p, st in old.items() if h.alive(p, st[5])]
    ctx.ok(gone, "processes of the killed daemon exit by themselves within 10 s",
           ["still running: %d %s" % (p, h.cmdline(p)) for p, _ in orphans])
    for p, st in orphans:
        h.kill_pid(p, st[5])
    finished = snd.join(200)
    accepted = [i for i in items if i.final and i.final.klass == "2xx"]
    refused = [i for i in items if i.final and i.final.klass == "5xx"]
    other = [i for i in items if i not in accepted and i not in refused]
    retried = [i for i in items if len(i.results) > 1]
    ctx.diag("crash: %d attempts; %d messages needed more than one; %d accepted, %d refused"
             % (snd.attempts, len(retried), len(accepted), len(refused)))
    for i in retried[:10]:
        ctx.diag("  %s: %s" % (i.ident, " | ".join(str(r) for r in i.results)))
    ctx.ok(finished and not other, "every message got a final answer after retries",
           ["%s: %s" % (i.ident, " | ".join(str(r) for r in i.results)) for i in other])
    delivered = ctx.wait_delivered([i.ident for i in accepted], 120)
    sink = ctx.sink.by_id("crash-")
    lost = [i.ident for i in accepted if i.ident not in sink]
    dups = [k for k, v in sink.items() if len(v) > 1]
    stray = sorted(set(sink) - {i.ident for i in accepted})
    # The client stops at the first 2xx, so what "accepted twice" can
    # mean is an attempt the client saw fail (a 4xx, a connection cut by
    # the kill) that Postfix queued all the same: a second copy at the sink.
    twice = ["%s: %d copies after %s" % (i.ident, len(sink.get(i.ident, [])),
                                          " | ".join(str(r) for r in i.results))
             for i in retried if len(sink.get(i.ident, [])) > 1]
    ctx.ok(delivered and not twice,
           "no message retried after a failed attempt is at the sink twice (%d retried)" % len(retried),
           twice)
    ctx.ok(delivered and not lost and not dups and not stray,
           "every accepted message is at the sink exactly once (%d)" % len(accepted),
           ["lost: %s" % lost] * bool(lost) + ["duplicated: %s" % dups] * bool(dups) +
           ["not accepted but delivered: %s" % stray] * bool(stray) +
           ([] if delivered else ["Postfix queue: "] + ctx.postfix.mailq()[-20:]))
    bad = []
    for k, msgs in sink.items():
        for sm in msgs:
            c = mt.check_message(sm.data, received_original(ctx, k))
            if c.failures:
                bad.append("%s (%s): %s" % (k, os.path.basename(sm.path), "; ".join(c.lines(3))))
    ctx.ok(not bad, "every message at the sink is sanitized (%d checked)" % sum(map(len, sink.values())), bad)
    qidx, _ = quarantine_index(m)
    missing = [i.ident for i in accepted if i.final.qid not in qidx]
    ctx.ok(not missing, "every accepted message has its original in the quarantine", missing)
    _l, aidx, abad = audit_index(m)
    aprob = abad + ["%s: %s" % (i.ident, p) for i in accepted for p in judge_audit(i.final.qid, "2xx", aidx, qidx)]
    ctx.ok(not aprob, "every accepted message has one audit line (deliver)", aprob[:20])
    ctx.diag("crash: spool files left after restart: %d" % len(m.spool_files()))
    leftover_check(ctx, m)


def sc_poison(ctx):
    timeout = 10
    m = ctx.new_milter("poison", message_timeout=timeout, queue_timeout=20)
    if not ctx.start_milter(m):
        return
    normal = []
    jp = [s for s in ctx.get_samples() if s[0].startswith("jp-")][:8]
    for n, (key, data) in enumerate(jp, 1):
        ident = "poison-ok-%d" % n
        normal.append(Item(ident, h.with_id(data, ident), key=key, original=data))
    hang = Item("poison-hang", h.with_id(text_message("poison-hang", "hang", "this one hangs\r\n"),
                                          "poison-hang", ["X-Mugai-Test-Fault: hang"]))
    crash = Item("poison-crash", h.with_id(text_message("poison-crash", "crash", "this one crashes\r\n"),
                                            "poison-crash", ["X-Mugai-Test-Fault: crash"]))
    offset = ctx.postfix.log_offset()
    # The poison first, so that it occupies workers while the others run.
    items = [hang, crash] + normal
    t0 = time.monotonic()
    snd = Sender(ctx.postfix.smtp_port, items, sessions=len(items)).start()
    snd.join(timeout + 120)
    # What happened to the poison, from the daemon's own words: the front
    # names the queue id and the worker, the pool says what ended that
    # worker (the hang: its message-deadline alarm, SIGALRM; the crash:
    # abort()).  How long it took is a figure for bench/RESULTS.md
    # (printed below), not an assertion.
    # Postfix writes its milter-reject lines a moment after the reply
    h.wait_until(lambda: all(p.sender in ctx.postfix_qids(offset) for p in (hang, crash)), 30)
    rejects = ctx.postfix_qids(offset)
    mlog = "\n".join(h.tail(m.log, lines=10 ** 7))
    for p, name, reply, front_says, pool_says in (
            (hang, "hang", "processing timed out", "worker passed its deadline and was killed",
             r"killed by signal %d \(message deadline\)" % signal.SIGALRM),
            (crash, "crash", "processing failed", "worker failed",
             r"killed by signal %d \(crash or kill\)" % signal.SIGABRT)):
        r = p.final
        probs = []
        if not (r is not None and r.code == 451 and (r.text or "").startswith("4.7.0")):
            probs.append("expected 451 4.7.0, got %s" % r)
            if r and r.code == 250:
                probs.append("is the fault hook compiled into this build (-Dtest_hooks=true)?")
        elif reply not in r.text:
            probs.append("the reply does not say %r: %s" % (reply, r.text))
        qids = [q for q, _ in rejects.get(p.sender, [])]
        fm = [x for x in re.finditer(r"front: qid=(\S+) msgid=\S+ worker=(\d+) error=\"(.*?)\"", mlog)
              if x.group(1) in qids]
        if not fm:
            probs.append("no front line for queue id %s in the milter log" % (qids or "?"))
        elif fm[-1].group(3) != front_says:
            probs.append("the front says the worker %r, expected %r" % (fm[-1].group(3), front_says))
        elif not re.search(r"pool: worker pid=%s %s" % (fm[-1].group(2), pool_says), mlog):
            probs.append("no pool line: worker pid=%s %s" % (fm[-1].group(2), pool_says.replace("\\", "")))
        ctx.ok(not probs, "X-Mugai-Test-Fault: %s gets 451 4.7.0 %r, the front logs %r (%s)"
               % (name, reply, front_says, r), probs)
        ctx.diag("poison: %s answered after %.1f s (message_timeout %d s)"
                 % (name, r.elapsed if r else -1, timeout))
    # The normal messages were not held behind the poison: accepted, none
    # of them timed out in a worker, none deferred by Postfix.
    plog = ctx.postfix.log_text(offset)
    held = []
    for i in normal:
        if not (i.final and i.final.code == 250):
            held.append("%s: %s" % (i.ident, i.final))
            continue
        if re.search(r"front: qid=%s msgid=\S+ worker=\d+ error=\"worker passed its deadline"
                     % re.escape(i.final.qid), mlog):
            held.append("%s (%s): timed out in a worker" % (i.ident, i.final.qid))
        if re.search(r"\b%s: .*status=deferred" % re.escape(i.final.qid), plog):
            held.append("%s (%s): deferred by Postfix" % (i.ident, i.final.qid))
    ctx.ok(not held, "the 8 normal messages are accepted and none waits behind the poison", held)
    ok = ctx.wait_delivered([i.ident for i in normal if i.final and i.final.code == 250], 30)
    sink = ctx.sink.by_id("poison-")
    bad = []
    for i in normal:
        if i.final and i.final.code == 250:
            bad += ["%s: %s" % (i.ident, p) for p in judge_delivered(ctx, i, sink.get(i.ident, []))]
        ctx.diag("poison: %s accepted after %.1f s" % (i.ident, i.final.elapsed if i.final else -1))
    ctx.ok(ok and not bad, "the normal messages are delivered once, sanitized", bad)
    ctx.ok("poison-hang" not in sink and "poison-crash" not in sink, "the poison is not delivered")
    rejects = ctx.postfix_qids(offset)
    _lines, aidx, _bad = audit_index(m)
    aprob = []
    for p in (hang, crash):
        qids = rejects.get(p.sender, [])
        if not qids:
            aprob.append("%s: no milter-reject line in the Postfix log" % p.ident)
            continue
        aprob += ["%s: %s" % (p.ident, x) for x in judge_audit(qids[-1][0], "4xx", aidx)]
    ctx.ok(not aprob, "the poison messages are audited as tempfail", aprob)
    # The front's line about each: key=value with the Postfix queue id and
    # the Message-ID (the front parses nothing: the field as it came)
    mlog = h.tail(m.log, 0, lines=1000000)
    lprob = []
    for p, what in ((hang, "error=\"worker passed its deadline and was killed\""),
                    (crash, "error=\"worker failed\"")):
        qids = rejects.get(p.sender, [])
        want = "front: qid=%s msgid=<%s@internet.test> " % (qids[-1][0] if qids else "?", p.ident)
        if not any(want in l and what in l for l in mlog):
            lprob.append("%s: no line with %r and %s" % (p.ident, want, what))
    ctx.ok(not lprob, "the front logs each poison message with qid= and msgid=",
           lprob + [l for l in mlog if "front:" in l][-6:])
    # The pool recovered: the next messages go through.
    after = []
    for n, (key, data) in enumerate(jp[:4], 1):
        ident = "poison-after-%d" % n
        after.append(Item(ident, h.with_id(data, ident), key=key, original=data))
    Sender(ctx.postfix.smtp_port, after, sessions=4).start().join(120)
    ok = all(i.final and i.final.code == 250 for i in after)
    ok = ctx.wait_delivered([i.ident for i in after], 30) and ok
    ctx.ok(ok, "the pool recovers: 4 more messages accepted and delivered",
           ["%s: %s" % (i.ident, i.final) for i in after])
    ctx.diag("poison: processes now: %s" % ", ".join("%d(%s,d%d)" % (p, c, d) for p, d, c, _, _ in proc_table(m)))
    ctx.diag("poison: took %.1f s" % (time.monotonic() - t0))
    leftover_check(ctx, m)


def quarantine_dates():
    now = time.time()
    out = set()
    for delta in (-86400, 0, 86400):
        out.add(time.strftime("%Y-%m-%d", time.localtime(now + delta)))
        out.add(time.strftime("%Y-%m-%d", time.gmtime(now + delta)))
    return sorted(out)


def sc_store(ctx):
    m = ctx.new_milter("store")
    if not ctx.start_milter(m):
        return
    pf = ctx.postfix
    # Phase A: the quarantine's date directories are regular files: no
    # original can be stored, even by root, even through a directory
    # descriptor the daemon may hold on the quarantine directory.
    blockers = [os.path.join(m.quarantine, d) for d in quarantine_dates()]
    for b in blockers:
        with open(b, "w") as f:
            f.write("e2e: a regular file where the quarantine wants a directory\n")
    direct = Item("store-direct", h.with_id(text_message("store-direct", "store", "direct\r\n"), "store-direct"))
    hop = Item("store-hop", h.with_id(text_message("store-hop", "store", "through the queue\r\n"), "store-hop"),
               port=pf.hop_port)
    offset = pf.log_offset()
    r = send_one(pf.smtp_port, direct)
    ctx.ok(r.code is not None and r.klass == "4xx", "quarantine not writable: the message is deferred with 4xx (%s)" % r,
           [] if r.klass == "4xx" else ["originals found: %s" % [e[2] for e in m.quarantine_entries()]])
    if r.klass == "4xx":
        ctx.ok((r.text or "").startswith("4.7.0") or r.code == 451, "the 4xx is mugai's 451 4.7.0 (%s)" % r)
    r = send_one(pf.hop_port, hop)
    ctx.ok(r.code == 250, "the queueing hop accepts a message (%s)" % r)
    pat = re.compile(r"to=<%s>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:%d.*status=deferred \((.*)\)"
                     % (re.escape(hop.rcpts[0]), pf.relayin_port))
    deferred = h.wait_until(lambda: pat.search(pf.log_text(offset)), 60)
    ctx.ok(deferred, "Postfix's delivery to the milter smtpd is deferred",
           [deferred.group(1)] if deferred else [])
    time.sleep(1)
    sink = ctx.sink.by_id("store-")
    ctx.ok(not sink, "nothing reaches the sink while the quarantine is not writable", sorted(sink))
    # Restore; the client retries, Postfix retries the queued one.
    for b in blockers:
        os.unlink(b)
    t_restore = time.monotonic()
    r = send_one(pf.smtp_port, direct)
    ctx.ok(r.code == 250, "after restoring the quarantine the client's retry is accepted (%s)" % r)
    ok = ctx.wait_delivered(["store-direct", "store-hop"], 90)
    sink = ctx.sink.by_id("store-")
    probs = []
    for it in (direct, hop):
        if it.ident in sink:
            probs += ["%s: %s" % (it.ident, p) for p in judge_delivered(ctx, it, sink[it.ident])]
        else:
            probs.append("%s not delivered" % it.ident)
    if "store-hop" in sink:
        ctx.diag("store: Postfix's retry delivered the queued message %.1f s after the restore"
                 % (sink["store-hop"][0].time - t_restore))
    ctx.ok(ok and not probs, "both are delivered once and sanitized (the queued one by Postfix's own retry)",
           probs + ([] if ok else pf.mailq()[-10:]))
    rejects = ctx.postfix_qids(offset)
    _l, aidx, _b = audit_index(m)
    qids = rejects.get(direct.sender, [])
    ctx.ok(qids and not judge_audit(qids[0][0], "4xx", aidx), "the deferral is audited as tempfail",
           judge_audit(qids[0][0], "4xx", aidx) if qids else ["no milter-reject line in the Postfix log"])

    # Phase B: the quarantine directory itself is a regular file when the
    # daemon starts.  Refusing to start and tempfailing per message are
    # both fail-closed (Postfix tempfails when the milter is down).
    m.stop()
    saved = m.quarantine + ".saved"
    os.rename(m.quarantine, saved)
    with open(m.quarantine, "w") as f:
        f.write("e2e: not a directory\n")
    ok, err = m.start(timeout=10)
    ctx.diag("store: with the quarantine directory a regular file, mugai-milter %s"
             % ("started" if ok else "did not start: %s" % err))
    if not ok:
        ctx.diag("store: its log: " + " | ".join(h.tail(m.log, lines=5)))
    b = Item("store-b", h.with_id(text_message("store-b", "store", "phase b\r\n"), "store-b"))
    r = send_one(pf.smtp_port, b)
    ctx.ok(r.klass == "4xx", "quarantine directory is a regular file: the message gets 4xx (%s)" % r)
    m.stop()
    os.unlink(m.quarantine)
    os.rename(saved, m.quarantine)
    ok, err = m.start()
    ctx.ok(ok, "restarts once the directory is back", [err])
    r = send_one(pf.smtp_port, b)
    ok = r.code == 250 and ctx.wait_delivered(["store-b"], 30)
    sink = ctx.sink.by_id("store-b")
    ctx.ok(ok and not judge_delivered(ctx, b, sink.get("store-b", [])), "and the retry is delivered (%s)" % r,
           judge_delivered(ctx, b, sink.get("store-b", [])))
    leftover_check(ctx, m)


class MemSampler:
    """Samples VmHWM of the daemon's processes every 20 ms (a worker may
    be replaced before it can be read afterwards)."""

    def __init__(self, m):
        self.m = m
        self.peak = {}      # pid -> (depth, comm, max VmHWM kB)
        self.stop_ev = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self):
        for pid, depth, comm in self.m.tree():
            hwm = h.proc_status(pid).get("VmHWM")
            if isinstance(hwm, int):
                old = self.peak.get(pid, (depth, comm, 0))[2]
                self.peak[pid] = (depth, comm, max(old, hwm))

    def _run(self):
        while not self.stop_ev.is_set():
            self._sample()
            time.sleep(0.02)

    def start(self):
        self._sample()
        self.thread.start()
        return self

    def stop(self):
        self.stop_ev.set()
        self.thread.join(5)
        self._sample()


def fmt_kb(kb):
    return "%.1f MB" % (kb / 1024.0) if isinstance(kb, int) else "?"


def sc_large(ctx):
    m = ctx.new_milter("large", message_timeout=40, queue_timeout=15)
    if not ctx.start_milter(m):
        return
    data = big_message("large-1", 22 * 1024 * 1024 + 123)
    item = Item("large-1", h.with_id(data, "large-1"))
    main = m.main_pid()
    front_pid, _workers = m.roles()
    before = {pid: (d, c, h.proc_status(pid).get("VmHWM")) for pid, d, c in m.tree()}
    ctx.diag("memory before: " + ", ".join("%d %s d%d VmHWM=%s" % (p, c, d, fmt_kb(k)) for p, (d, c, k) in before.items()))
    sampler = MemSampler(m).start()
    r = send_one(ctx.postfix.smtp_port, item, timeout=300)
    sampler.stop()
    ctx.ok(r.code == 250, "a %.1f MB message is accepted (%s)" % (len(item.data) / 1e6, r))
    ok = r.code == 250 and ctx.wait_delivered(["large-1"], 120)
    sink = ctx.sink.by_id("large-1").get("large-1", [])
    probs = judge_delivered(ctx, item, sink)
    if sink:
        sm = sink[0]
        c = mt.check_message(sm.data)
        if len(sm.data) > 1024 * 1024:
            probs.append("delivered message is %d octets: the attachment was not removed?" % len(sm.data))
        mm = mt.STATUS_RE.match(c.status or "")
        if not mm or not mm.group(1) or int(mm.group(1)) < 1:
            probs.append("X-Mugai-Status %s does not say the attachment was removed" % mt.short(c.status))
        if "E2E-LARGE-BODY-TEXT" not in "".join(t for _p, t in c.texts):
            probs.append("the text part is not in the delivered message")
    ctx.ok(ok and not probs, "it is delivered once, sanitized, the attachment removed", probs)
    if r.code == 250:
        qidx, _ = quarantine_index(m)
        ent = qidx.get(r.qid, [])
        size = os.path.getsize(ent[0][2]) if ent and ent[0][2] else 0
        ctx.ok(size >= len(data), "the whole original is in the quarantine (%d octets)" % size)
    peak = sampler.peak
    front = peak.get(front_pid, (0, "?", None))[2]
    workers = {p: v for p, v in peak.items() if p not in (main, front_pid) and "pool" not in v[1]}
    top = max(workers.items(), key=lambda kv: kv[1][2], default=(None, (0, "?", None)))
    ctx.diag("memory: front VmHWM=%s worker VmHWM=%s (front pid %s, worker pid %s %s)"
             % (fmt_kb(front), fmt_kb(top[1][2]), front_pid, top[0], top[1][1]))
    for p, (d, c, k) in sorted(peak.items()):
        ctx.diag("memory:   pid %d %s depth %d VmHWM before=%s peak=%s" % (p, c, d, fmt_kb(before.get(p, (0, 0, None))[2]), fmt_kb(k)))
    limit = FRONT_RSS_LIMIT_MB * (4 if ctx.asan else 1)
    ctx.ok(isinstance(front, int) and front < limit * 1024,
           "the front's peak RSS stays under %d MB%s (it spools, it does not hold the message)"
           % (limit, " (ASan build: 4x)" if ctx.asan else ""))
    spool = m.spool_files()
    ctx.ok(not spool, "the spool file is removed afterwards", spool)
    leftover_check(ctx, m)


def sc_reload(ctx):
    m = ctx.new_milter("reload")
    if not ctx.start_milter(m):
        return
    pid = m.main_pid()
    pf = ctx.postfix
    small_n = [0]
    big_n = [0]

    def small():
        small_n[0] += 1
        ident = "reload-small-%d" % small_n[0]
        return Item(ident, h.with_id(text_message(ident, "small", "a small message\r\n"), ident))

    def big():
        big_n[0] += 1
        ident = "reload-big-%d" % big_n[0]
        body = "".join("line %05d of a message of fifty kilobytes, plain text only.....\r\n" % n for n in range(800))
        return Item(ident, h.with_id(text_message(ident, "big", body), ident))

    def hup(text=None, wait=2.0, **changes):
        m.write_config(text, **changes)
        os.kill(pid, signal.SIGHUP)
        time.sleep(wait)

    def expect(item, klass, what):
        r = send_one(pf.smtp_port, item)
        probs = []
        if r.klass != klass:
            probs.append("expected %s" % klass)
        if klass == "2xx" and r.klass == "2xx":
            if not ctx.wait_delivered([item.ident], 30):
                probs.append("not delivered")
            probs += judge_delivered(ctx, item, ctx.sink.by_id(item.ident).get(item.ident, []))
        if klass == "5xx" and r.klass == "5xx" and not reason_ok(r.text):
            probs.append("refusal without a reason")
        alive = m.running() and m.main_pid() == pid
        if not alive:
            probs.append("the daemon is not running any more (or was restarted)")
        return ctx.ok(not probs, "%s: %s" % (what, r), probs + (h.tail(m.log, lines=10) if probs else []))

    expect(big(), "2xx", "before any reload a 50 KB message is accepted")
    hup(extra="\n[limits]\nmessage_size = 20K\n")
    expect(big(), "5xx", "SIGHUP with [limits] message_size = 20K: a 50 KB message is refused")
    expect(small(), "2xx", "and a small one accepted")
    good = m.config_text()
    hup("[milter\nsocket = inet:%d@127.0.0.1\nthis is not a key file\n" % m.port)
    expect(small(), "2xx", "SIGHUP with a file that is not a key file: still serving")
    expect(big(), "5xx", "the old configuration is kept (50 KB still refused)")
    hup(good.replace("workers = 4", "workers = many").replace("message_timeout = 15", "message_timeout = -5"))
    expect(small(), "2xx", "SIGHUP with bad values (workers = many): still serving")
    expect(big(), "5xx", "the old configuration is kept again")
    hup(good.replace("\n[limits]\nmessage_size = 20K\n", ""), extra="")
    expect(big(), "2xx", "SIGHUP with the limit removed: the 50 KB message is accepted")
    ctx.diag("reload: log lines about the reloads: " + " | ".join(
        l for l in h.tail(m.log, lines=200) if re.search(r"reload|HUP|config", l, re.I))[:2000])
    leftover_check(ctx, m)


SIGTERM_VARIANTS = (
    # name, whom to signal, when
    ("body", "main", "the front is still receiving the body (its spool file is open)"),
    ("eom", "main", "a worker is sanitizing it (the spool file is open in a worker)"),
    ("group", "group", "the front is receiving the body; every process of the daemon gets SIGTERM, "
     "as systemd's default KillMode=control-group does"),
)


def sc_sigterm(ctx):
    pf = ctx.postfix
    for variant, whom, when in SIGTERM_VARIANTS:
        ctx.diag("sigterm [%s]: SIGTERM to %s while %s" % (variant, "the main process" if whom == "main"
                                                          else "all processes", when))
        m = ctx.new_milter("sigterm-" + variant, message_timeout=30, queue_timeout=15)
        if not ctx.start_milter(m, "[%s] mugai-milter starts" % variant):
            return
        ident = "sigterm-" + variant
        # Large, so that the body takes a while to reach the front (Postfix
        # sends it in 64 KB chunks, each answered) and the signal lands
        # in the middle of it.
        size = (9 if variant == "eom" else 24) * 1024 * 1024
        item = Item(ident, h.with_id(big_message(ident, size, seed=7), ident))
        main = m.main_pid()
        front, workers = m.roles()
        workers = set(workers)

        def in_flight():
            fds = m.spool_fds()
            if variant == "eom":
                return any(pid in workers for pid, _t in fds)
            return any(pid == front for pid, _t in fds) or bool(m.spool_files())

        s = smtplib.SMTP(timeout=180, local_hostname="client.internet.test")
        r_code, r_text, caught, term_at, rc = None, "", False, None, None
        try:
            s.connect("127.0.0.1", pf.smtp_port)
            s.ehlo()
            s.mail(item.sender)
            s.rcpt(item.rcpts[0])
            code, _ = s.docmd("DATA")
            if code != 354:
                raise RuntimeError("DATA answered %d" % code)
            q = smtplib._quote_periods(item.data)
            if not q.endswith(b"\r\n"):
                q += b"\r\n"
            s.send(q + b".\r\n")
            t_dot = time.monotonic()
            # Postfix hands the message to the milter after the final dot.
            while time.monotonic() - t_dot < 30:
                if select.select([s.sock], [], [], 0)[0]:
                    break  # replied already: missed
                if in_flight():
                    caught = True
                    break
                time.sleep(0.002)
            if caught:
                term_at = time.monotonic()
                if whom == "main":
                    os.kill(main, signal.SIGTERM)
                else:
                    for pid in sorted(m.remember()):
                        os.kill(pid, signal.SIGTERM)
            r_code, r_text = s.getreply()
            r_text = r_text.decode("utf-8", "replace")
            try:
                s.quit()
            except (smtplib.SMTPException, OSError):
                pass
        except (smtplib.SMTPException, OSError, RuntimeError) as e:
            r_text = "%s: %s" % (type(e).__name__, e)
        finally:
            try:
                s.close()
            except OSError:
                pass
        ctx.ok(caught, "[%s] SIGTERM sent while %s" % (variant, when.split(";")[0]),
               [] if caught else ["the reply came first: %s %s" % (r_code, r_text)])
        if not caught:
            leftover_check(ctx, m, "[%s] nothing left running" % variant)
            continue
        reply_after = time.monotonic() - term_at
        # The daemon has nothing left to do once the reply is given and
        # the session closed: 30 s is plenty.
        try:
            rc = m.proc.wait(30)
        except Exception:  # noqa: BLE001 - subprocess.TimeoutExpired
            rc = None
        took = time.monotonic() - term_at
        ctx.ok(r_code == 250, "[%s] the message in flight is finished: %s %s (%.1f s after SIGTERM)"
               % (variant, r_code, r_text, reply_after),
               ["Postfix gave up waiting for the milter (milter_content_timeout): the session was no "
                "longer served after SIGTERM"] if r_code is not None and r_code != 250 and reply_after > 50 else [])
        if r_code == 250:
            item.results.append(h.Result("EOD", r_code, r_text, 0))
            ctx.wait_delivered([item.ident], 60)
            sink = ctx.sink.by_id(item.ident).get(item.ident, [])
            probs = judge_delivered(ctx, item, sink)
            ctx.ok(not probs, "[%s] it is delivered once, sanitized" % variant, probs)
        ctx.ok(rc == 0, "[%s] the daemon exits with status 0 (status %s, %.1f s after SIGTERM)" % (variant, rc, took),
               h.tail(m.log, lines=15) if rc != 0 else [])
        left = m.leftovers()
        ctx.ok(not left, "[%s] no process of the daemon outlives it" % variant,
               ["%d %s" % (p, h.cmdline(p)) for p, _ in left])
        spool = m.spool_files()
        ctx.ok(not spool, "[%s] nothing left in the spool directory" % variant, spool)
        if variant == "body":
            after = Item("sigterm-after", h.with_id(text_message("sigterm-after", "after", "milter is down\r\n"),
                                                    "sigterm-after"))
            r = send_one(pf.smtp_port, after)
            time.sleep(2)
            ctx.ok(r.klass == "4xx" and "sigterm-after" not in ctx.sink.by_id("sigterm-after"),
                   "with the milter gone Postfix tempfails new mail (%s)" % r)
        leftover_check(ctx, m, "[%s] nothing left running" % variant)


# ---------------------------------------------------------------------------
# ClamAV

EICAR = r"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
EICAR_SIG = "Mugai.Test.EICAR"
HASH_SIG = "Mugai.Test.Hash"
LATER_SIG = "Mugai.Test.Later"
LATER_MARKER = "MUGAI-LATER-MARKER-7f3a"
ENCRYPTED_NOTICE = "パスワード付きファイルのため検査できません"


def attachment_message(ident, subject, filename, ctype, payload, text="Please see the attachment.\r\n"):
    """multipart/mixed: a short text and one base64 attachment."""
    b64 = base64.encodebytes(payload).replace(b"\n", b"\r\n")
    head = ("From: Sender <sender@internet.test>\r\nTo: <user@lgwan.test>\r\n"
            "Subject: %s\r\nDate: Mon, 20 Nov 2023 10:00:00 +0900\r\n"
            "Message-ID: <%s@internet.test>\r\nMIME-Version: 1.0\r\n"
            "Content-Type: multipart/mixed; boundary=\"e2e-av-boundary\"\r\n\r\n"
            "--e2e-av-boundary\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n%s\r\n"
            "--e2e-av-boundary\r\nContent-Type: %s; name=\"%s\"\r\n"
            "Content-Disposition: attachment; filename=\"%s\"\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\n"
            % (subject, ident, text, ctype, filename, filename)).encode("ascii")
    return head + b64 + b"\r\n--e2e-av-boundary--\r\n"


def find_member(obj, key):
    """Every value of member `key` anywhere in a JSON value (nested reports
    kept as a JSON string included)."""
    out = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k == key:
                out.append(v)
            out += find_member(v, key)
    elif isinstance(obj, list):
        for v in obj:
            out += find_member(v, key)
    elif isinstance(obj, str) and obj.startswith("{"):
        try:
            out += find_member(json.loads(obj), key)
        except ValueError:
            pass
    return out


def judge_virus_refusal(ctx, item, sig, rejects, qidx, aidx, sink):
    """A message with malware: 550 5.7.1 naming the signature, not
    delivered, its original quarantined, audited as reject with the
    signature in its reason, the quarantine record's report's virus
    member naming it."""
    r = item.final
    problems = []
    if not (r and r.code == 550 and r.stage == "EOD" and (r.text or "").startswith("5.7.1")):
        problems.append("expected 550 5.7.1 at end of data")
    if r and ("virus" not in (r.text or "") or sig not in (r.text or "")):
        problems.append("the reply does not say 'virus' and %s" % sig)
    if item.ident in sink:
        problems.append("refused but %d cop(y/ies) at the sink" % len(sink[item.ident]))
    qids = rejects.get(item.sender, [])
    if not qids:
        problems.append("no milter-reject line in the Postfix log")
    else:
        qid = qids[-1][0]
        problems += judge_quarantined(item, qid, qidx)
        problems += judge_audit(qid, "5xx", aidx)
        reasons = [a.get("reason") for a in aidx.get(qid, [])]
        if not any(isinstance(v, str) and "virus" in v and sig in v for v in reasons):
            problems.append("the audit line's reason does not name virus %s: %s" % (sig, mt.short(reasons)))
        viruses = [v for meta, _j, _e in qidx.get(qid, []) for v in find_member(meta.get("report"), "virus")]
        if not any(isinstance(v, str) and v.startswith(sig) for v in viruses):
            problems.append("the quarantine record's report names no virus %s (virus members: %s)"
                            % (sig, mt.short(viruses)))
    return problems


def sc_virus(ctx):
    m = ctx.new_milter("virus")
    if not ctx.start_milter(m):
        return
    pf = ctx.postfix
    t0 = time.monotonic()
    with open(os.path.join(TESTDATA, "clamav", "mugai-test-hashed.txt"), "rb") as f:
        hashed = f.read()

    def item(ident, data):
        return Item(ident, h.with_id(data, ident))

    a = item("virus-eicar-att", attachment_message("virus-eicar-att", "EICAR attached", "eicar.com",
                                                   "application/octet-stream", EICAR.encode("ascii")))
    b = item("virus-eicar-inline", text_message("virus-eicar-inline", "EICAR inline",
                                                "Hello,\r\n" + EICAR + "\r\nbye\r\n"))
    c = item("virus-hashed-att", attachment_message("virus-hashed-att", "hashed file attached", "hashed.txt",
                                                    "application/octet-stream", hashed))
    e = item("virus-normal", text_message("virus-normal", "normal", "a perfectly normal message\r\n"))
    zipped = None
    zip_exe = shutil.which("zip")
    if zip_exe:
        tmp = tempfile.mkdtemp(prefix="zip-", dir=m.dir)
        with open(os.path.join(tmp, "secret.txt"), "w") as f:
            f.write("secret contents of an encrypted archive\n" * 20)
        p = subprocess.run([zip_exe, "-q", "-j", "-P", "secret", os.path.join(tmp, "secret.zip"),
                            os.path.join(tmp, "secret.txt")], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=60)
        if p.returncode == 0:
            with open(os.path.join(tmp, "secret.zip"), "rb") as f:
                zipped = f.read()
        else:
            ctx.diag("virus: zip -P failed: %s" % p.stdout.decode("utf-8", "replace"))
    d = item("virus-encrypted-zip", attachment_message("virus-encrypted-zip", "encrypted zip", "secret.zip",
                                                       "application/zip", zipped)) if zipped else None
    offset = pf.log_offset()
    items = [a, b, c, e] + ([d] if d else [])
    Sender(pf.smtp_port, items, sessions=len(items)).start().join(120)
    delivered = [i for i in (e, d) if i and i.final and i.final.code == 250]
    ctx.wait_delivered([i.ident for i in delivered], 30)
    sink = ctx.sink.by_id("virus-")
    rejects = ctx.postfix_qids(offset)
    qidx, _qprob = quarantine_index(m)
    _lines, aidx, _bad = audit_index(m)

    for it, sig, what in ((a, EICAR_SIG, "(a) EICAR as a base64 attachment"),
                          (b, EICAR_SIG, "(b) EICAR inline in a text body"),
                          (c, HASH_SIG, "(c) the hashed file as an attachment")):
        probs = judge_virus_refusal(ctx, it, sig, rejects, qidx, aidx, sink)
        ctx.ok(not probs, "%s is refused as virus %s, quarantined, audited: %s" % (what, sig, it.final), probs)

    if d is None:
        ctx.tap.result(True, "virus: (d) an encrypted zip is removed", skip="zip is not installed or failed")
    else:
        r = d.final
        probs = []
        if not (r and r.code == 250):
            probs.append("not accepted")
        else:
            msgs = sink.get(d.ident, [])
            probs += judge_delivered(ctx, d, msgs)
            if msgs:
                chk = mt.check_message(msgs[0].data, d.data)
                text = "\n".join(t for _p, t in chk.texts)
                if ENCRYPTED_NOTICE not in text:
                    probs.append("the notice does not give the encrypted reason %s" % ENCRYPTED_NOTICE)
                zb64 = base64.b64encode(zipped)[:60]
                if zb64 in msgs[0].data.replace(b"\r\n", b"") or b"PK\x03\x04" in msgs[0].data:
                    probs.append("the encrypted zip is still in the delivered message")
                if not (chk.status or "").startswith("sanitized"):
                    probs.append("X-Mugai-Status %s, expected sanitized" % mt.short(chk.status))
            probs += judge_quarantined(d, r.qid, qidx)
            probs += judge_audit(r.qid, "2xx", aidx, qidx)
        ctx.ok(not probs, "(d) an encrypted zip is removed (reason encrypted in the notice), "
               "the message delivered: %s" % r, probs)

    r = e.final
    probs = [] if r and r.code == 250 else ["not accepted"]
    if not probs:
        probs += judge_delivered(ctx, e, sink.get(e.ident, []))
        probs += judge_audit(r.qid, "2xx", aidx, qidx)
    ctx.ok(not probs, "(e) a normal message is delivered: %s" % r, probs)
    ctx.diag("virus: took %.1f s" % (time.monotonic() - t0))
    leftover_check(ctx, m)


def sc_threats(ctx):
    """The real hostile files of tests/threatmail.py through Postfix: each
    message delivered without the file (and with the notice naming what
    was found: archive members, true types, reasons) or refused with 550
    when it carries malware; each original in the quarantine.  The cases
    with settings of their own (office = image, a short sandbox timeout)
    go through a milter started with those settings."""
    tmp = tempfile.mkdtemp(prefix="threats-", dir=ctx.root)
    groups = {}
    for case in threatmail.cases(tmp):
        if case.skip:
            ctx.tap.result(True, "threats: %s" % case.key, skip=case.skip)
            continue
        groups.setdefault(case.config_extra or "", []).append(case)
    for n, (extra, cases) in enumerate(sorted(groups.items())):
        threats_with(ctx, "threats" if not extra else "threats-%d" % n, extra, cases)


def threats_with(ctx, name, extra, cases):
    m = ctx.new_milter(name, extra=("\n" + extra) if extra else "")
    if not ctx.start_milter(m):
        return
    pf = ctx.postfix
    items = []
    for case in cases:
        ident = "threat-" + case.key
        it = Item(ident, h.with_id(case.message, ident))
        it.case = case
        items.append(it)
    before = judges.stale_pipes()
    Sender(pf.smtp_port, items, sessions=4).start().join(300)
    ctx.wait_delivered([i.ident for i in items if i.final and i.final.code == 250], 60)
    sink = ctx.sink.by_id("threat-")
    qidx, _qprob = quarantine_index(m)
    for it in items:
        case, r, probs = it.case, it.final, []
        if case.smtp_reject:
            if not (r and r.code == 550):
                probs.append("expected 550, got %s" % r)
            if sink.get(it.ident):
                probs.append("a refused message reached the sink")
            text = (r.text if r else "") or ""
            for word in case.reply:
                if word not in text:
                    probs.append("the reply does not say %r: %r" % (word, text))
            if "??" in text:
                probs.append("the reply has text that could not be written in ASCII: %r" % text)
        elif not (r and r.code == 250):
            probs.append("not accepted: %s" % r)
        else:
            msgs = sink.get(it.ident, [])
            probs += judge_delivered(ctx, it, msgs)
            if msgs:
                chk = mt.check_message(msgs[0].data, it.data)
                if chk.msg is not None:
                    probs += judges.delivered_problems(chk.msg, case)
                body = chk.main_body or ""
                for s in case.notice:
                    if s not in body:
                        probs.append("the notice does not say %r" % s)
            probs += judge_quarantined(it, r.qid, qidx)
        ctx.ok(not probs, "%s%s: %s" % (case.key, " (%s)" % extra.strip().replace("\n", " ") if extra else "", r),
               probs)
    if any(c.no_stale_pipes for c in cases):
        left = judges.stale_pipes() - before
        if left:
            time.sleep(1)
            left &= judges.stale_pipes()
        ctx.ok(not left, "no LibreOffice pipe is left in /tmp after LibreOffice was killed", sorted(left))
    leftover_check(ctx, m)


HOSTILE_TIMEOUT = 4   # [sandbox] timeout of the hostile scenario, seconds
TIMEOUT_REASON = "変換が制限時間内に終わりませんでした"


def mail(ident, data):
    """An Item whose message carries the X-E2E-Id ident."""
    return Item(ident, h.with_id(data, ident))


def bomb_problems(ctx, it, sink, qidx, aidx):
    """A message with the PDF form bomb must be delivered without any PDF,
    its notice giving the timeout reason, its original quarantined."""
    r, probs = it.final, []
    if not (r and r.code == 250):
        return ["not accepted: %s" % r]
    msgs = sink.get(it.ident, [])
    probs += judge_delivered(ctx, it, msgs)
    if msgs:
        chk = mt.check_message(msgs[0].data, it.data)
        if TIMEOUT_REASON not in (chk.main_body or ""):
            probs.append("the notice does not give the reason %r" % TIMEOUT_REASON)
        if b"/XObject /Subtype /Form" in msgs[0].data or any(
                p.get_content_type() == "application/pdf" for p in (chk.msg.walk() if chk.msg else [])):
            probs.append("a PDF is still in the delivered message")
    probs += judge_quarantined(it, r.qid, qidx)
    probs += judge_audit(r.qid, "2xx", aidx, qidx)
    return probs


def sc_hostile(ctx):
    """A document that never finishes (tests/threatmail.py's PDF form bomb:
    3 KB, 10**12 fills) through Postfix with [sandbox] timeout = 4: the
    filter is killed at its timeout, the PDF removed with the reason, the
    message delivered and its original quarantined; meanwhile ordinary mail
    and a PDF that converts keep flowing through the same milter; no filter
    process and no private directory is left behind."""
    m = ctx.new_milter("hostile", extra="\n[sandbox]\ntimeout = %d\n" % HOSTILE_TIMEOUT)
    if not ctx.start_milter(m):
        return
    pf = ctx.postfix
    bomb = threatmail.pdf_form_bomb()
    hostile = [mail("hostile-bomb-%d" % i, threatmail.message("設計図面 %d" % i, "図面%d.pdf" % i, bomb,
                                                               "application/pdf")) for i in range(2)]
    good_pdf = threatmail.hostile_pdf()
    normal = [mail("hostile-normal-%d" % i, text_message("hostile-normal-%d" % i, "normal %d" % i,
                                                          "an ordinary message %d\r\n" % i)) for i in range(6)]
    normal += [mail("hostile-pdf-%d" % i, threatmail.message("資料 %d" % i, "資料%d.pdf" % i, good_pdf,
                                                             "application/pdf")) for i in range(2)]
    t0 = time.monotonic()
    bombs = Sender(pf.smtp_port, hostile, sessions=2).start()
    time.sleep(0.5)  # the bombs are in their filters while the rest is sent
    others = Sender(pf.smtp_port, normal, sessions=3).start()
    others.join(180)
    t_others = time.monotonic() - t0
    bombs.join(180)
    ctx.diag("hostile: other mail answered after %.1f s, the bombs after %.1f s"
             % (t_others, time.monotonic() - t0))
    items = hostile + normal
    ctx.wait_delivered([i.ident for i in items if i.final and i.final.code == 250], 60)
    sink = ctx.sink.by_id("hostile-")
    qidx, _qprob = quarantine_index(m)
    _alines, aidx, _abad = audit_index(m)
    for it in normal:
        r, probs = it.final, []
        if not (r and r.code == 250):
            probs.append("not accepted: %s" % r)
        else:
            msgs = sink.get(it.ident, [])
            probs += judge_delivered(ctx, it, msgs)
            if it.ident.startswith("hostile-pdf-") and msgs:
                chk = mt.check_message(msgs[0].data, it.data)
                pdfs = [p for p in (chk.msg.walk() if chk.msg else []) if p.get_content_type() == "application/pdf"]
                if len(pdfs) != 1:
                    probs.append("expected the converted PDF in the message, found %d PDFs" % len(pdfs))
        ctx.ok(not probs, "%s is delivered while the bombs are in their filters: %s"
               % (it.ident, r), probs)
    for it in hostile:
        probs = bomb_problems(ctx, it, sink, qidx, aidx)
        ctx.ok(not probs, "%s: the filter is killed at its %d s timeout, the PDF removed with the "
               "reason, the message delivered: %s" % (it.ident, HOSTILE_TIMEOUT, it.final), probs)

    def no_leftovers(m, when):
        filters = [(pid, st[0]) for pid, st in m.remember().items() if st[0].startswith("mugai-filter")]
        ctx.ok(not filters, "%s: no filter process is left running" % when, ["%d %s" % f for f in filters])
        left = sorted(n for n in os.listdir(m.tmp) if n.startswith("mugai-filter-")) if os.path.isdir(m.tmp) else []
        ctx.ok(not left, "%s: no filter's private directory is left in the milter's TMPDIR" % when, left)
    no_leftovers(m, "after the sandbox's timeout")
    leftover_check(ctx, m)

    # The other order: a message deadline (8 s) shorter than the sandbox's
    # timeout (60 s).  Conversions get what is left of the message's time
    # (less a tenth, at least 2 s, for the rest): the bomb costs its part,
    # the message is delivered, not deferred again and again.
    m2 = ctx.new_milter("hostile-deadline", message_timeout=8, queue_timeout=8,
                        extra="\n[sandbox]\ntimeout = 60\n")
    if not ctx.start_milter(m2):
        return
    it = mail("hostile-deadline", threatmail.message("設計図面", "図面.pdf", bomb, "application/pdf"))
    Sender(pf.smtp_port, [it], sessions=1).start().join(60)
    ctx.wait_delivered([it.ident] if it.final and it.final.code == 250 else [], 30)
    _alines, aidx2, _abad = audit_index(m2)
    probs = bomb_problems(ctx, it, ctx.sink.by_id("hostile-deadline"), quarantine_index(m2)[0], aidx2)
    ctx.ok(not probs, "a bomb with the message deadline (8 s) before the sandbox's timeout (60 s): "
           "the filter gets what is left of the message's time, the PDF is removed, the message "
           "delivered: %s" % it.final, probs)

    # A worker killed while its filter runs (here by the test, in life by
    # the kernel's OOM killer): the filter dies with it, the message is
    # deferred, and the pool removes the private directory the worker
    # could not.
    it = mail("hostile-killed", threatmail.message("設計図面", "図面.pdf", bomb, "application/pdf"))
    sender = Sender(pf.smtp_port, [it], sessions=1).start()
    worker = []

    def filter_running():
        for pid, st in m2.remember().items():  # this milter's processes only
            if st[0].startswith("mugai-filter") and st[1] != "Z":
                worker[:] = [st[2]]
                return True
        return False
    running = h.wait_until(filter_running, 10)
    ctx.ok(running, "the bomb's filter is running", [])
    if running:
        os.kill(worker[0], signal.SIGKILL)
    sender.join(60)
    r = it.final
    ctx.ok(r and r.code == 451, "the worker killed during the filter run: deferred (451): %s" % r)
    h.wait_until(lambda: not any(n.startswith("mugai-filter-") for n in os.listdir(m2.tmp)), 5)
    no_leftovers(m2, "after a worker was killed")
    after = mail("hostile-deadline-after", text_message("hostile-deadline-after", "after", "after the kill\r\n"))
    Sender(pf.smtp_port, [after], sessions=1).start().join(60)
    ctx.ok(after.final and after.final.code == 250,
           "the milter goes on accepting mail after the worker was killed: %s" % after.final)
    ctx.wait_delivered([after.ident], 30)
    leftover_check(ctx, m2)


class PacedSender(Sender):
    """A Sender whose sessions wait `gap` seconds between messages."""

    def __init__(self, *args, gap=1.0, **kw):
        super().__init__(*args, **kw)
        self.gap = gap
        self.local = threading.local()

    def _next(self):
        if getattr(self.local, "started", False):
            time.sleep(self.gap)
        self.local.started = True
        return super()._next()


def sc_dbreload(ctx):
    """The ClamAV database changes under load: a new signature file is
    picked up (new worker generation), a corrupt one is refused and the old
    engine kept, and no message in the stream fails or waits."""
    src = os.environ.get("MUGAI_TEST_CLAMAV_DB", "/var/lib/clamav")
    pf = ctx.postfix
    timeout = 15
    dbdir = os.path.join(ctx.root, "dbreload-db")
    os.makedirs(dbdir, exist_ok=True)
    shutil.copy(os.path.join(src, "mugai-test.ndb"), os.path.join(dbdir, "mugai-test.ndb"))
    m = ctx.new_milter("dbreload", message_timeout=timeout, clamav_db=dbdir, extra="reload_check = 1\n")
    if not ctx.start_milter(m):
        return
    t0 = time.monotonic()
    log_start = h.file_size(m.log)

    def log_since():
        return "\n".join(h.tail(m.log, log_start, lines=100000))

    def check(ident, body, subject):
        it = Item(ident, h.with_id(text_message(ident, subject, body), ident))
        send_one(pf.smtp_port, it)
        return it

    # Before: EICAR refused, the marker passes (not known yet).
    pre_e = check("dbreload-pre-eicar", "x\r\n" + EICAR + "\r\n", "eicar")
    ctx.ok(pre_e.final and pre_e.final.code == 550 and EICAR_SIG in (pre_e.final.text or ""),
           "before: EICAR is refused: %s" % pre_e.final)
    pre_m = check("dbreload-pre-marker", "the marker " + LATER_MARKER + " here\r\n", "marker")
    ctx.ok(pre_m.final and pre_m.final.code == 250,
           "before: a message with the marker is accepted (the signature is not there yet): %s" % pre_m.final)

    # The stream: 40 normal messages over 4 sessions, sent continuously.
    body = "".join("line %03d of a normal message streamed while the database changes\r\n" % n
                   for n in range(100))
    stream = []
    for n in range(1, 41):
        ident = "dbreload-stream-%03d" % n
        stream.append(Item(ident, h.with_id(text_message(ident, "stream %d" % n, body), ident)))
    # Paced (about one message per 0.25 s in all) so that the stream
    # spans both database changes and the reloads they cause.
    snd = PacedSender(pf.smtp_port, stream, sessions=4, reconnect_every=5, gap=1.0)
    snd.start()

    def done_count():
        with snd.lock:
            return snd.completed

    # Corrupt file first, while the stream runs.
    h.wait_until(lambda: done_count() >= 8, 60)
    broken = os.path.join(dbdir, "broken.ndb")
    with open(broken + ".tmp", "wb") as f:
        f.write(b"this is not\x00a signature\xff\xfe:::garbage\n" * 4)
    os.replace(broken + ".tmp", broken)
    refused = h.wait_until(lambda: "new ClamAV database not loaded" in log_since(), 15, step=0.2)
    ctx.ok(refused, "a corrupt broken.ndb is refused: 'new ClamAV database not loaded' logged",
           h.tail(m.log, log_start, lines=20) if not refused else [])
    n_reloaded = log_since().count("ClamAV database reloaded")
    mid_e = check("dbreload-mid-eicar", "x\r\n" + EICAR + "\r\n", "eicar")
    ctx.ok(n_reloaded == 0 and mid_e.final and mid_e.final.code == 550 and EICAR_SIG in (mid_e.final.text or ""),
           "the old engine is kept: no reload logged, EICAR still refused: %s" % mid_e.final,
           h.tail(m.log, log_start, lines=20) if n_reloaded else [])
    os.unlink(broken)
    # Removing it changes the directory again (the pool may compile the
    # unchanged database once more): let that settle before counting.
    time.sleep(3)
    n_reloaded = log_since().count("ClamAV database reloaded")
    # The new signature, in the middle of the stream.
    h.wait_until(lambda: done_count() >= 16, 60)
    t_add = time.monotonic()
    later = os.path.join(dbdir, "mugai-later.ndb")
    with open(os.path.join(dbdir, ".mugai-later.tmp"), "w") as f:
        f.write("%s:0:*:%s\n" % (LATER_SIG, LATER_MARKER.encode("ascii").hex()))
    os.replace(os.path.join(dbdir, ".mugai-later.tmp"), later)
    reloaded = h.wait_until(lambda: log_since().count("ClamAV database reloaded") > n_reloaded, 30, step=0.2)
    t_reload = time.monotonic() - t_add
    ctx.ok(reloaded, "the new signature file is picked up: 'ClamAV database reloaded' logged "
           "within 30 s (%.1f s)" % t_reload, h.tail(m.log, log_start, lines=20) if not reloaded else [])
    t_reloaded = time.monotonic()
    finished = snd.join(180)
    after = [i for i in stream if i.final and i.final.t_end > t_reloaded]
    during = [i for i in stream if i.final and i.final.t_end > t_add]
    ctx.ok(len(during) >= 4 and len(after) >= 1,
           "the stream ran through the change: %d replies after the signature was added, %d after the "
           "reload was logged" % (len(during), len(after)))
    ctx.ok(finished and len([i for i in stream if i.final]) == len(stream), "the stream of 40 messages finished")
    bad = [i for i in stream if not (i.final and i.final.code == 250 and i.final.elapsed < timeout)]
    ctx.ok(not bad, "every streamed message got 250, each in less than message_timeout (%d s)" % timeout,
           ["%s: %s (attempts %d)" % (i.ident, i.final, len(i.results)) for i in bad])
    times = [i.final.elapsed for i in stream if i.final]
    if times:
        ctx.diag("dbreload: stream reply times: max %.2f s, mean %.2f s" % (max(times), sum(times) / len(times)))
    ok = ctx.wait_delivered([i.ident for i in stream if i.final and i.final.code == 250], 60)
    sink = ctx.sink.by_id("dbreload-stream-")
    missing = [i.ident for i in stream if len(sink.get(i.ident, [])) != 1]
    ctx.ok(ok and not missing, "each streamed message arrived at the sink once", missing[:10])

    post_m = check("dbreload-post-marker", "the marker " + LATER_MARKER + " here\r\n", "marker")
    r = post_m.final
    ctx.ok(r and r.code == 550 and LATER_SIG in (r.text or "") and "virus" in (r.text or ""),
           "after the reload a message with the marker is refused as %s: %s" % (LATER_SIG, r))
    post_e = check("dbreload-post-eicar", "x\r\n" + EICAR + "\r\n", "eicar")
    r = post_e.final
    ctx.ok(r and r.code == 550 and EICAR_SIG in (r.text or ""), "EICAR is still refused: %s" % r)
    post_n = check("dbreload-post-normal", "normal\r\n", "normal")
    ctx.ok(post_n.final and post_n.final.code == 250, "a normal message is still accepted: %s" % post_n.final)
    ctx.wait_delivered([i.ident for i in (pre_m, post_n) if i.final and i.final.code == 250], 30)
    ctx.diag("dbreload: log lines about the database: " + " | ".join(
        l for l in h.tail(m.log, log_start, lines=500) if re.search(r"clamav|generation|database", l, re.I))[:2000])
    ctx.diag("dbreload: took %.1f s" % (time.monotonic() - t0))
    leftover_check(ctx, m)


# ---------------------------------------------------------------------------
# The audit log fails closed; originals for mugai alone; header blank lines


def mode_of(path):
    try:
        return os.stat(path).st_mode & 0o7777
    except OSError:
        return None


def store_mode_problems(m):
    """The quarantine 0700 with day directories 0700 and files 0600, the
    audit log 0600: nothing for the group (Postfix may be in it)."""
    probs = []
    if mode_of(m.quarantine) != 0o700:
        probs.append("quarantine %s mode %s" % (m.quarantine, oct(mode_of(m.quarantine) or 0)))
    for dirpath, dirs, files in os.walk(m.quarantine):
        for d in dirs:
            p = os.path.join(dirpath, d)
            if mode_of(p) != 0o700:
                probs.append("%s mode %s (expected 0o700)" % (p, oct(mode_of(p) or 0)))
        for f in files:
            p = os.path.join(dirpath, f)
            if mode_of(p) != 0o600:
                probs.append("%s mode %s (expected 0o600)" % (p, oct(mode_of(p) or 0)))
    for p in [m.audit] + [m.audit + ".%d" % n for n in (1, 2)]:
        if os.path.exists(p) and mode_of(p) != 0o600:
            probs.append("%s mode %s (expected 0o600)" % (p, oct(mode_of(p) or 0)))
    return probs


def audit_qids(paths):
    """{queue_id: [(file, action)]} over the audit files given."""
    out = {}
    for path in paths:
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError:
            continue
        for line in data.split(b"\n"):
            if line.strip():
                try:
                    a = json.loads(line.decode("utf-8"))
                except (UnicodeDecodeError, ValueError):
                    a = {"queue_id": "(not JSON)", "action": None}
                out.setdefault(a.get("queue_id"), []).append((os.path.basename(path), a.get("action")))
    return out


def sc_audit(ctx):
    """A record that cannot be written is a 451 and nothing is delivered:
    the audit path a directory (cannot be opened), then a full file system
    (a small tmpfs: the write fails); once fixed, mail flows again without
    a restart.  Then logrotate's rename: SIGUSR1 (and SIGHUP) make the
    front write to the new file, under a stream of mail, none lost."""
    pf = ctx.postfix
    m = ctx.new_milter("audit")
    mnt = os.path.join(m.dir, "auditfs")
    os.makedirs(mnt, exist_ok=True)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "mugai-e2e-audit", mnt],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    mounted = r.returncode == 0
    if not mounted:
        ctx.diag("audit: no tmpfs (%s): the full-disk case is left out" % r.stdout.decode().strip())
    else:
        m.audit = os.path.join(mnt, "audit.jsonl")
        m.write_config(audit=m.audit)
    try:
        _sc_audit(ctx, m, pf, mnt if mounted else None)
    finally:
        if mounted:
            m.cleanup()
            subprocess.run(["umount", mnt], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _sc_audit(ctx, m, pf, mnt):
    n = [0]

    def item(what, subject=""):
        n[0] += 1
        ident = "audit-%s-%d" % (what, n[0])
        return Item(ident, h.with_id(text_message(ident, "audit " + what + subject, "audit %s\r\n" % what), ident))

    def refused(it, what):
        r = send_one(pf.smtp_port, it)
        ok = r.code == 451 and (r.text or "").startswith("4.7.0") and "audit log" in (r.text or "")
        ctx.ok(ok, "%s: 451 4.7.0 naming the audit log (%s)" % (what, r))
        time.sleep(1)
        ctx.ok(it.ident not in ctx.sink.by_id(it.ident), "%s: nothing is delivered" % what)

    def accepted(it, what):
        r = send_one(pf.smtp_port, it)
        ok = r.code == 250 and ctx.wait_delivered([it.ident], 30)
        probs = judge_delivered(ctx, it, ctx.sink.by_id(it.ident).get(it.ident, [])) if ok else []
        ctx.ok(ok and not probs, "%s: accepted and delivered (%s)" % (what, r), probs)
        return r

    # 1. The path is a directory at start: the daemon runs, mail is deferred
    os.makedirs(m.audit)
    if not ctx.start_milter(m):
        return
    a = item("dir")
    refused(a, "the audit path is a directory")
    ctx.ok(received_original(ctx, a.ident) is not None,
           "its original stays in the quarantine (stored before the reply, as mugai-milter(8) says)")
    log = open(m.log, "rb").read().decode("utf-8", "replace")
    ctx.ok("audit record not written" in log, "the front logs the unwritten record with its qid",
           h.tail(m.log, lines=10))
    os.rmdir(m.audit)
    r = accepted(a, "the directory removed, the retry (no restart)")
    if r.qid:
        got = audit_qids([m.audit]).get(r.qid, [])
        ctx.ok([x[1] for x in got] == ["deliver"], "its record is in the log once, as deliver", [str(got)])

    # 2. A full file system under the log: the write fails
    if mnt:
        filler = os.path.join(mnt, "filler")
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            while os.write(fd, b"\0" * 512) > 0:
                pass
        except OSError:
            pass
        finally:
            os.close(fd)
        size = h.file_size(m.audit)
        # a record longer than the room left in the log's last page (tmpfs
        # allocates whole pages): its subject is 8 KB, folded
        b = item("full", "".join("\r\n word%04d" % k for k in range(800)))
        refused(b, "the audit file system is full")
        ctx.ok(h.file_size(m.audit) == size, "no half record is left in the log (%d octets before and after)"
               % size, ["now %d" % h.file_size(m.audit)])
        os.unlink(filler)
        accepted(b, "room again, the retry")

    # 3. Rotation by rename, reopened on SIGUSR1 and on SIGHUP, under mail
    items = [item("rot") for _ in range(60)]
    todo = list(items)
    lock = threading.Lock()
    done = [0]

    def stream():
        while True:
            with lock:
                it = todo.pop(0) if todo else None
            if it is None:
                return
            send_one(pf.smtp_port, it)
            with lock:
                done[0] += 1
            time.sleep(0.1)
    threads = [threading.Thread(target=stream, daemon=True) for _ in range(2)]
    for t in threads:
        t.start()
    pid = m.main_pid()
    for n_rot, sig, after in ((1, signal.SIGUSR1, 10), (2, signal.SIGHUP, 35)):
        h.wait_until(lambda: done[0] >= after, 120)
        before = open(m.log, "rb").read().count(b"audit log reopened")
        try:
            os.rename(m.audit, m.audit + ".%d" % n_rot)
        except OSError as e:
            ctx.ok(False, "the audit log is there to be rotated", [str(e)])
        os.kill(pid, sig)
        ok = h.wait_until(lambda: open(m.log, "rb").read().count(b"audit log reopened") > before, 10)
        ctx.ok(ok, "%s after the rename (%d messages sent): the front says it reopened the audit log"
               % (sig.name, done[0]), h.tail(m.log, lines=10))
    for t in threads:
        t.join(300)
    ok = ctx.wait_delivered([i.ident for i in items], 60)
    results = [i.final for i in items]
    ctx.diag("audit: %d messages sent during the rotations" % done[0])
    qids = [r.qid for r in results if r and r.code == 250 and r.qid]
    ctx.ok(len(qids) == len(items), "every message of the stream is accepted (%d of %d)" % (len(qids), len(items)),
           [str(r) for r in results if not r or r.code != 250][:5])
    files = [m.audit + ".1", m.audit + ".2", m.audit]
    idx = audit_qids(files)
    probs = ["%s: %s" % (q, idx.get(q)) for q in qids if [x[1] for x in idx.get(q, [])] != ["deliver"]]
    ctx.ok(ok and not probs, "each accepted message has exactly one deliver record across the rotated files", probs[:10])
    per_file = {os.path.basename(f): sum(1 for q in qids for x in idx.get(q, []) if x[0] == os.path.basename(f))
                for f in files}
    ctx.diag("audit: records of the stream per file: %s" % per_file)
    ctx.ok(per_file[os.path.basename(m.audit)] > 0,
           "records after the second rotation land in the new file", [str(per_file)])
    # 4. Modes: the store and the log are mugai's alone
    probs = store_mode_problems(m)
    ctx.ok(not probs and m.quarantine_entries(), "quarantine 0700 (day directories 0700, files 0600), audit log 0600",
           probs[:10])
    leftover_check(ctx, m)


SOCK_GROUP = "mugai-e2e-sock"


def sc_sockgroup(ctx):
    """The daemon as an unprivileged user (nobody) with [milter]
    socket_group: the Unix socket is 0660 of that group in a 0710
    directory of that group; Postfix, in that group only, sends mail
    through it; Postfix's uid cannot read the store or the audit log."""
    import grp
    import pwd
    created = False
    try:
        grp.getgrnam(SOCK_GROUP)
    except KeyError:
        r = subprocess.run(["groupadd", "--system", SOCK_GROUP], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if r.returncode != 0:
            ctx.tap.result(True, "sockgroup: a group of its own for the socket", skip="groupadd: %s" % r.stdout.decode().strip())
            return
        created = True
    try:
        subprocess.run(["gpasswd", "-a", "postfix", SOCK_GROUP], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _sc_sockgroup(ctx, grp.getgrnam(SOCK_GROUP).gr_gid, pwd.getpwnam("postfix"))
    finally:
        if created:
            subprocess.run(["groupdel", SOCK_GROUP], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        else:
            subprocess.run(["gpasswd", "-d", "postfix", SOCK_GROUP], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _sc_sockgroup(ctx, gid, postfix_pw):
    pf = ctx.postfix
    sock_dir = os.path.join(ctx.root, "sockgroup-run")
    sock = os.path.join(sock_dir, "milter.sock")
    m = ctx.new_milter("sockgroup", unix_socket=sock,
                       milter_extra="user = nobody\ngroup = nogroup\nsocket_group = %s\n" % SOCK_GROUP)
    # the daemon's user must reach its own files: the scenario's directory
    # is the audit log's (made 0700 and nobody's by the daemon)
    if not ctx.start_milter(m):
        return
    st = os.stat(sock)
    import stat as stat_
    ctx.ok(stat_.S_ISSOCK(st.st_mode) and st.st_gid == gid and st.st_mode & 0o7777 == 0o660,
           "the milter socket is 0660, group %s" % SOCK_GROUP,
           ["mode %s gid %d (expected %d)" % (oct(st.st_mode & 0o7777), st.st_gid, gid)])
    dt = os.stat(sock_dir)
    ctx.ok(dt.st_gid == gid and dt.st_mode & 0o7777 == 0o710,
           "its directory is 0710, group %s (the group may traverse it, no more)" % SOCK_GROUP,
           ["mode %s gid %d" % (oct(dt.st_mode & 0o7777), dt.st_gid)])
    port = pf.add_smtpd("smtpd_milters=unix:%s" % sock)
    if not ctx.ok(port, "a Postfix smtpd with smtpd_milters = unix:%s listens" % sock, h.tail(pf.log, lines=10)):
        return
    it = Item("sockgroup-1", h.with_id(text_message("sockgroup-1", "through the socket", "hello\r\n"), "sockgroup-1"))
    r = send_one(port, it)
    ok = r.code == 250 and ctx.wait_delivered([it.ident], 30)
    sink = ctx.sink.by_id(it.ident).get(it.ident, [])
    probs = judge_delivered(ctx, it, sink) if ok else h.tail(pf.log, lines=10)
    ctx.ok(ok and not probs and b"X-Mugai-Status:" in h.header_block(sink[0].data),
           "Postfix, in %s, sends mail through the socket; delivered sanitized (%s)" % (SOCK_GROUP, r), probs)
    probs = store_mode_problems(m)
    ctx.ok(not probs and m.quarantine_entries(), "quarantine and audit log modes", probs[:10])
    # Postfix's uid and groups (socket group included) read nothing of mugai's
    targets = [m.audit] + [e[2] for e in m.quarantine_entries() if e[2]][:1]
    pid = os.fork()
    if pid == 0:
        try:
            os.setgroups([postfix_pw.pw_gid, gid])
            os.setgid(postfix_pw.pw_gid)
            os.setuid(postfix_pw.pw_uid)
            bad = 0
            for t in targets:
                try:
                    with open(t, "rb"):
                        bad += 1
                except OSError:
                    pass
            os._exit(10 + bad)
        except BaseException:  # noqa: BLE001
            os._exit(99)
    _p, status = os.waitpid(pid, 0)
    ctx.ok(len(targets) == 2 and os.WEXITSTATUS(status) == 10,
           "Postfix's uid (groups postfix, %s) can open neither the audit log nor an original" % SOCK_GROUP,
           ["child exit %d (10 + files it could open) for %s" % (os.WEXITSTATUS(status), targets)])
    leftover_check(ctx, m)


def sc_blankline(ctx):
    """A header field whose continuation line is only white space (RFC
    5322 obsolete folding), through Postfix: the delivered header block
    has no whitespace-only line, and MIME-Version, Content-Type and
    X-Mugai-Status are in it (a reader that ends the header block at such
    a line would lose them)."""
    m = ctx.new_milter("blankline")
    if not ctx.start_milter(m):
        return
    cases = [("space", b"Subject: a\r\n \r\n b"), ("tabs", b"Subject: tabs\r\n\t \t\r\n\tend"),
             ("last", b"Subject: last\r\n  ")]
    for name, field in cases:
        ident = "blankline-%s" % name
        data = (b"From: Sender <sender@internet.test>\r\nTo: <user@lgwan.test>\r\n" + field + b"\r\n"
                b"Date: Mon, 20 Nov 2023 10:00:00 +0900\r\nMessage-ID: <" + ident.encode() + b"@internet.test>\r\n"
                b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nbody\r\n")
        it = Item(ident, h.with_id(data, ident))
        r = send_one(ctx.postfix.smtp_port, it)
        ok = r.code == 250 and ctx.wait_delivered([ident], 30)
        sink = ctx.sink.by_id(ident).get(ident, [])
        probs = []
        if ok and sink:
            lines = sink[0].data.split(b"\r\n")
            end = next((i for i, l in enumerate(lines) if not l.strip(b" \t")), len(lines))
            head = lines[:end]
            if lines[end:end + 1] != [b""]:
                probs.append("the header block ends at a whitespace-only line: %r" % lines[end:end + 1])
            for want in (b"mime-version:", b"content-type:", b"x-mugai-status:"):
                if not any(l.lower().startswith(want) for l in head):
                    probs.append("%s not in the header block" % want.decode())
            if probs:
                probs += [mt.short(l) for l in lines[:end + 2]]
        ctx.ok(ok and not probs, "%s: no whitespace-only line in the delivered header, MIME fields there (%s)"
               % (name, r), probs)
def sc_bombs(ctx):
    """Messages that cost the parser (tests/threatmail.py bombs()): 300,000
    empty parts, 60,000 unused alternatives and 100,000 header fields are
    refused with 550 5.7.1 naming the limit (and quarantined with a report
    of at most 1 MiB; the part bombs' ends with its summary), an HTML
    element with 80,000 attributes costs its part (removed, the message
    delivered), while ordinary mail sent meanwhile is delivered.  The time
    to answer each bomb and the worker's peak memory are printed (figures
    for bench/RESULTS.md; memory is also held to twice the message plus
    64 MB, four times that under ASan)."""
    m = ctx.new_milter("bombs")
    if not ctx.start_milter(m):
        return
    pf = ctx.postfix
    cases = []
    for c in threatmail.bombs(asan=ctx.asan):
        if c.skip:
            ctx.tap.result(True, "bombs: %s" % c.key, skip=c.skip)
        else:
            cases.append(c)
    bombs = [mail("bomb-" + c.key, c.message) for c in cases]
    for it, c in zip(bombs, cases):
        it.case = c
    normal = [mail("bomb-normal-%d" % i, text_message("bomb-normal-%d" % i, "normal %d" % i,
                                                       "an ordinary message %d\r\n" % i)) for i in range(8)]
    main = m.main_pid()
    front_pid, _workers = m.roles()
    offset = pf.log_offset()
    sampler = MemSampler(m).start()
    elapsed = {}

    def send_bombs():
        for it in bombs:
            t = time.monotonic()
            send_one(pf.smtp_port, it, timeout=120)
            elapsed[it.ident] = time.monotonic() - t
    bt = threading.Thread(target=send_bombs, daemon=True)
    bt.start()
    time.sleep(0.3)  # a bomb is on its way while the rest is sent
    Sender(pf.smtp_port, normal, sessions=3).start().join(120)
    bt.join(600)
    sampler.stop()
    items = bombs + normal
    ctx.wait_delivered([i.ident for i in items if i.final and i.final.code == 250], 60)
    sink = ctx.sink.by_id("bomb-")
    rejects = ctx.postfix_qids(offset)
    qidx, _qprob = quarantine_index(m)
    for it in normal:
        r = it.final
        probs = [] if r and r.code == 250 else ["not accepted: %s" % r]
        if not probs:
            probs += judge_delivered(ctx, it, sink.get(it.ident, []))
        ctx.ok(not probs, "%s, sent while the bombs are answered, is delivered: %s" % (it.ident, r), probs)
    for it in bombs:
        case, r, probs = it.case, it.final, []
        if case.smtp_reject:
            if not (r and r.code == 550 and (r.text or "").startswith("5.7.1")):
                probs.append("expected 550 5.7.1, got %s" % r)
            elif case.detail not in r.text or not reason_ok(r.text):
                probs.append("the reply does not name the limit (%r): %s" % (case.detail, r.text))
            if sink.get(it.ident):
                probs.append("a refused message reached the sink")
            qids = rejects.get(it.sender, [])
            if not qids:
                probs.append("no milter-reject line in the Postfix log")
            else:
                qid = qids[-1][0]
                probs += judge_quarantined(it, qid, qidx)
                for meta, jpath, _eml in qidx.get(qid, []):
                    size = os.path.getsize(jpath)
                    if size > threatmail.REPORT_MAX + 64 * 1024:
                        probs.append("quarantine record of %d octets" % size)
                    rep = meta.get("report")
                    keys = list(rep.keys()) if isinstance(rep, dict) else []
                    if case.summary and (not keys or keys[-1] != "summary"):
                        probs.append("the stored report does not end with its summary: %s" % keys[-3:])
        else:
            if not (r and r.code == 250):
                probs.append("not accepted: %s" % r)
            else:
                msgs = sink.get(it.ident, [])
                probs += judge_delivered(ctx, it, msgs)
                if msgs:
                    chk = mt.check_message(msgs[0].data, it.data)
                    body = chk.main_body or ""
                    for want in case.notice:
                        if want not in body:
                            probs.append("the notice does not say %r" % want)
                    if b"bomb text" in msgs[0].data:
                        probs.append("the bomb's text was rendered")
                probs += judge_quarantined(it, r.qid, qidx)
        ctx.ok(not probs, "%s (%.1f MB) answered with its reason: %s" % (case.key, len(it.data) / 1e6, r),
               probs)
    peak = sampler.peak
    workers = {p: v for p, v in peak.items() if p not in (main, front_pid) and "pool" not in v[1]}
    top = max((v[2] for v in workers.values()), default=0)
    largest = max(len(it.data) for it in bombs)
    limit_kb = (2 * largest + 64 * 1024 * 1024) // 1024 * (4 if ctx.asan else 1)
    for it in bombs:
        ctx.diag("bombs: %s answered in %.2f s (a quarter of message_timeout: %.2f s)"
                 % (it.case.key, elapsed.get(it.ident, -1), m.message_timeout / 4))
    ctx.diag("bombs: peak worker VmHWM %s (twice the largest message plus 64 MB: %s)"
             % (fmt_kb(top), fmt_kb(limit_kb)))
    ctx.ok(0 < top <= limit_kb, "the workers' peak memory stays within twice the largest bomb plus 64 MB"
           "%s" % (" (ASan build: 4x)" if ctx.asan else ""), ["VmHWM %s" % fmt_kb(top)])
    leftover_check(ctx, m)


SCENARIO_FUNCS = {"plumbing": sc_plumbing, "load": sc_load, "crash": sc_crash, "poison": sc_poison,
                  "store": sc_store, "large": sc_large, "reload": sc_reload, "sigterm": sc_sigterm,
                  "virus": sc_virus, "dbreload": sc_dbreload, "threats": sc_threats,
                  "hostile": sc_hostile, "audit": sc_audit, "sockgroup": sc_sockgroup,
                  "blankline": sc_blankline, "bombs": sc_bombs}


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



# ---------------------------------------------------------------------------
# What gets installed, and the daemon under its own unit (issue 10)

NOTICE_JA = "【お知らせ】このメールは無害化されています"
NOTICE_EN = "[Notice] This message has been made harmless"


def run_cmd(argv, timeout, env=None, cwd=None):
    try:
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=timeout, env=env, cwd=cwd)
        return p.returncode, p.stdout.decode("utf-8", "replace")
    except (OSError, subprocess.TimeoutExpired) as e:
        return None, "%s: %s" % (argv[0], e)


def delivered_texts(ctx, item, timeout=30):
    """(problems, decoded text of the message delivered for item)."""
    if not ctx.wait_delivered([item.ident], timeout):
        return ["not delivered within %d s" % timeout], ""
    msgs = ctx.sink.by_id(item.ident).get(item.ident, [])
    probs = judge_delivered(ctx, item, msgs)
    text = ""
    if msgs:
        c = mt.check_message(msgs[0].data, item.original)
        text = "\n".join(t for _p, t in c.texts)
    return probs, text


def sc_release(ctx):
    """What an administrator does, in a copy of the source tree: the Quick
    start (tools/quickstart.sh), then the README's install step in the same
    directory (meson setup build && ninja -C build && ninja -C build
    install, into a DESTDIR).  The installed daemon has no fault hook,
    says nothing of one, and a message with X-Mugai-Test-Fault: hang or
    crash is delivered normally and promptly through Postfix."""
    src = os.path.join(ctx.root, "release-src")
    dest = os.path.join(ctx.root, "release-dest")
    top = {"out", ".git"}
    shutil.copytree(SRCDIR, src, symlinks=True, ignore=lambda d, names: [
        n for n in names if os.path.samefile(d, SRCDIR) and (n in top or n.startswith("build"))])
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MESON", "MUGAI_"))}
    rc, out = run_cmd(["tools/quickstart.sh"], 1200, env, cwd=src)
    outs = sorted(os.listdir(os.path.join(src, "out"))) if os.path.isdir(os.path.join(src, "out")) else []
    if not ctx.ok(rc == 0 and any(n.endswith(".mbox") for n in outs) and "maildir" in outs,
                  "tools/quickstart.sh works and writes out/ (%s)" % " ".join(outs),
                  out.splitlines()[-20:]):
        return
    ctx.diag("release: quickstart's last lines: " + " | ".join(out.splitlines()[-3:]))
    for argv, what, extra in ((["meson", "setup", "build"], "meson setup build (the README's install step)", {}),
                              (["ninja", "-C", "build"], "ninja -C build", {}),
                              (["ninja", "-C", "build", "install"], "ninja -C build install (DESTDIR)",
                               {"DESTDIR": dest})):
        rc, out = run_cmd(argv, 1200, dict(env, **extra), cwd=src)
        if not ctx.ok(rc == 0, what, out.splitlines()[-15:]):
            return
    prefix = dest + "/usr/local"
    exe = prefix + "/sbin/mugai-milter"
    unit = prefix + "/lib/systemd/system/mugai-milter.service"
    ctx.ok(os.access(exe, os.X_OK), "mugai-milter is installed in sbindir: " + exe)
    try:
        with open(unit, encoding="utf-8") as f:
            unit_text = f.read()
    except OSError as e:
        unit_text = str(e)
    ctx.ok("ExecStart=/usr/local/sbin/mugai-milter -f" in unit_text,
           "the installed unit names the configured sbindir (/usr/local/sbin)",
           [l for l in unit_text.splitlines() if "Exec" in l])
    m = ctx.new_milter("release", message_timeout=10, queue_timeout=15,
                       filters=prefix + "/libexec/mugai")
    m.exe = exe
    rc, out = m.check_config()
    ctx.ok(rc == 0 and "fault hook" not in out and "TEST BUILD" not in out,
           "mugai-milter -t of the installed daemon passes and mentions no fault hook",
           out.splitlines()[-10:])
    with open(exe, "rb") as f:
        hooked = b"X-Mugai-Test-Fault" in f.read()
    ctx.ok(not hooked, "the installed binary has no X-Mugai-Test-Fault in it")
    with open(ctx.args.milter, "rb") as f:
        test_hooked = b"X-Mugai-Test-Fault" in f.read()
    if test_hooked:
        _rc, out_t = run_cmd([ctx.args.milter, "-c", m.conf, "-t"], 60)
        warn = [l for l in out_t.splitlines() if "warning: TEST BUILD" in l]
        ctx.ok(warn, "the test tree's mugai-milter -t says loudly that the hook is in", out_t.splitlines()[-5:])
    if not ctx.start_milter(m, "the installed mugai-milter starts and answers on its socket"):
        return
    log_start = h.file_size(m.log)
    ctx.ok(not any("TEST BUILD" in l or "fault hook" in l for l in h.tail(m.log, lines=50)),
           "its start-up log mentions no fault hook")
    hang = Item("release-hang", h.with_id(text_message("release-hang", "hang?", "a hook header\r\n"),
                                           "release-hang", ["X-Mugai-Test-Fault: hang"]))
    crash = Item("release-crash", h.with_id(text_message("release-crash", "crash?", "a hook header\r\n"),
                                             "release-crash", ["X-Mugai-Test-Fault: crash"]))
    for it in (hang, crash):
        r = send_one(ctx.postfix.smtp_port, it)
        prompt = r.klass == "2xx" and r.elapsed < m.message_timeout
        probs, text = delivered_texts(ctx, it) if r.klass == "2xx" else (["not accepted"], "")
        ctx.ok(prompt and not probs and "a hook header" in text,
               "%s: accepted promptly (%s, message_timeout %d s) and delivered sanitized"
               % (it.ident, r, m.message_timeout), probs)
    died = [l for l in h.tail(m.log, log_start, lines=200) if "killed by signal" in l or "died" in l]
    ctx.ok(not died, "no worker hung or died", died)
    leftover_check(ctx, m)


def sc_unit(ctx):
    """mugai-milter started as data/mugai-milter.service starts it, by
    hand (see harness.UnitSandbox): the README's configuration ([milter]
    socket in Postfix's spool, a user of its own), the unit's read-only
    file system with its writable paths, its capability bounding set.
    Mail flows; a reload changes what is delivered; a reload with a file
    -t refuses leaves every process on the old one, a pool restart
    included; a stop with mail in flight finishes it and ends at once."""
    unit = os.environ.get("MUGAI_TEST_UNIT") or os.path.join(
        os.path.dirname(os.path.dirname(os.path.abspath(ctx.args.milter))), "mugai-milter.service")
    if not ctx.ok(os.path.exists(unit), "the generated unit is there: " + unit):
        return
    for tool in ("unshare", "setpriv"):
        if not ctx.ok(shutil.which(tool), "%s is installed (util-linux)" % tool):
            return
    sb = h.UnitSandbox(unit, os.path.join(ctx.root, "unit"))
    ctx.diag("unit: writable %s; bounding set %s; sandbox script %s"
             % (" ".join(sb.writable), " ".join(sb.caps), sb.script))
    sock_inside = "/var/spool/postfix/mugai/milter.sock"
    uncreated = [w for w in sb.writable if w.startswith("/var/spool/")
                 and not any(w in pre and "mkdir" in pre for pre in sb.privileged_pre)]
    ctx.ok(os.path.dirname(sock_inside) in sb.writable and not uncreated,
           "the unit makes the README's socket directory writable (ReadWritePaths=) and creates it "
           "(ExecStartPre=+mkdir)", ["not created: %s" % " ".join(uncreated)] if uncreated else
           ["writable: %s" % " ".join(sb.writable)])
    # The README's configuration; the user: nobody, with the group postfix
    # so that this Postfix (not chrooted) may open the socket, as
    # `adduser postfix mugai` does on a gateway.
    db = os.environ.get("MUGAI_TEST_CLAMAV_DB", "/var/lib/clamav")
    filters = os.environ.get("MUGAI_TEST_FILTERS") or os.path.join(
        os.path.dirname(os.path.dirname(os.path.abspath(ctx.args.milter))), "filters")
    conf = ("# the README's, as tests/e2e/run-e2e.py sc_unit runs it\n"
            "[milter]\nsocket = unix:%s\nuser = nobody\ngroup = postfix\nworkers = 2\n"
            "message_timeout = 20\nqueue_timeout = 15\n"
            "[audit]\nsyslog = no\n[sandbox]\nfilters = %s\n[clamav]\ndatabase = %s\n"
            % (sock_inside, filters, db))
    m = ctx.new_milter("unit", message_timeout=20, queue_timeout=15)
    m.prefix = sb.prefix()
    m.conf = os.path.join(sb.etc, "mugai.conf")
    m.conf_arg = "/etc/mugai/mugai.conf"
    m.unix_socket = sb.host_path(sock_inside)
    m.tmpdir = "/tmp"
    m.spool = sb.host_path("/var/lib/mugai/spool")
    m.quarantine = sb.host_path("/var/lib/mugai/quarantine")
    m.audit = sb.host_path("/var/log/mugai/audit.jsonl")

    def set_conf(text):
        m.write_config(text)
        os.chmod(m.conf, 0o644)

    # -t checks what the start checks: a [milter] user that does not exist
    set_conf(conf.replace("user = nobody", "user = mugai-e2e-no-such-user"))
    rc, out = m.check_config()
    ctx.ok(rc == 78 and "[milter] user mugai-e2e-no-such-user does not exist" in out,
           "mugai-milter -t refuses a [milter] user that does not exist (exit %s)" % rc,
           out.splitlines()[-4:])
    set_conf(conf)
    if m.unix_socket is None:
        # the daemon cannot make its socket there: -t says so, and why
        rc, out = m.check_config()
        ctx.ok(False, "mugai-milter -t under this unit (exit %s)" % rc, out.splitlines()[-8:])
        return
    rc, out = ctx.postfix.set_milters("unix:" + m.unix_socket)
    if not ctx.ok(rc == 0, "Postfix talks to the milter on %s" % m.unix_socket, out.splitlines()):
        return
    try:
        _sc_unit(ctx, m, sb, conf)
    finally:
        rc, out = ctx.postfix.set_milters("inet:127.0.0.1:%d" % ctx.milter_port)
        ctx.ok(rc == 0, "Postfix back on the inet milter", out.splitlines())


def _sc_unit(ctx, m, sb, conf):
    pf = ctx.postfix

    def set_conf(text):
        m.write_config(text)
        os.chmod(m.conf, 0o644)

    with open(m.exe, "rb") as f:
        hooked = b"X-Mugai-Test-Fault" in f.read()
    if not ctx.start_milter(m, "mugai-milter -t and its start under the unit's sandbox"):
        return
    main = m.main_pid()
    if hooked:
        warn = [l for l in h.tail(m.log, lines=40) if "warning: TEST BUILD" in l]
        ctx.ok(warn, "a test build says in its start-up log that the fault hook is in", warn)
    st = h.proc_status(main)
    bnd = int(st.get("CapBnd", "0"), 16)
    ctx.ok(bnd == sb.capability_mask() and st.get("Uid", "").split()[:1] == ["0"],
           "the supervisor runs as root with the unit's bounding set (CapBnd %s)" % st.get("CapBnd"))
    front, workers = m.roles()
    uids = {p: h.proc_status(p).get("Uid", "?").split()[:1] for p in [front] + workers}
    nobody = str(__import__("pwd").getpwnam("nobody").pw_uid)
    ctx.ok(workers and all(u == [nobody] for u in uids.values()),
           "the front and the workers run as the [milter] user", ["%s" % uids])
    rc, out = run_cmd(["nsenter", "-t", str(main), "-m", "sh", "-c",
                       "touch /var/lib/mugai-unit-probe 2>&1; touch /etc/mugai/probe 2>&1; "
                       "touch /var/lib/mugai/probe && rm /var/lib/mugai/probe && echo state-writable"], 30)
    ctx.ok(out.count("Read-only file system") == 2 and "state-writable" in out,
           "in its mount namespace only the unit's paths are writable", out.splitlines())
    sock_st = os.stat(m.unix_socket) if os.path.exists(m.unix_socket) else None
    ctx.ok(sock_st is not None, "the milter socket is in the README's directory (host side %s)"
           % m.unix_socket)

    n = [0]

    def mail(tag):
        n[0] += 1
        ident = "unit-%s-%d" % (tag, n[0])
        data = attachment_message(ident, "unit " + tag, "tool.bin", "application/octet-stream",
                                  random.Random(n[0]).randbytes(3000), "Body of %s.\r\n" % ident)
        return Item(ident, h.with_id(data, ident))

    def expect(item, notice, what):
        r = send_one(pf.smtp_port, item)
        probs = [] if r.klass == "2xx" else ["SMTP %s" % r]
        text = ""
        if not probs:
            p2, text = delivered_texts(ctx, item)
            probs += p2
            if notice not in text:
                probs.append("the notice is not the expected one (%s)" % mt.short(notice))
        if not (m.running() and m.main_pid() == main):
            probs.append("the daemon is not running any more (or was restarted)")
        return ctx.ok(not probs, "%s: %s" % (what, r), probs + (h.tail(m.log, lines=15) if probs else []))

    def wait_log(pattern, offset, timeout=60):
        rx = re.compile(pattern)
        found = h.wait_until(lambda: [l for l in h.tail(m.log, offset, lines=400) if rx.search(l)],
                             timeout, step=0.2)
        return found or []

    expect(mail("ja"), NOTICE_JA, "mail is delivered, the notice in Japanese (the default)")

    # a reload that takes: the notice in English from now on
    en = conf + "[notice]\nlanguage = en\n"
    set_conf(en)
    off = h.file_size(m.log)
    os.kill(main, signal.SIGHUP)  # ExecReload=/bin/kill -HUP $MAINPID
    acc = wait_log(r"reload: configuration accepted|reload refused|cannot send", off)
    ctx.ok(any("configuration accepted" in l for l in acc),
           "SIGHUP: the pool and the front take the new file", acc + h.tail(m.log, off, lines=10))
    pool_line = [l for l in h.tail(m.log, off, lines=100) if "pool: configuration reloaded" in l]
    front_line = [l for l in h.tail(m.log, off, lines=100) if "front: settings reloaded" in l]
    ctx.ok(pool_line and front_line, "both children say so in the log", pool_line + front_line)
    expect(mail("en"), NOTICE_EN, "after the reload the notice is in English")

    # a reload with a file that -t refuses: an empty ClamAV directory (and
    # Japanese again, so that taking it would show in the mail)
    empty_inside = "/var/lib/mugai/empty-clamav"
    os.makedirs(sb.host_path(empty_inside), exist_ok=True)
    bad = conf.replace("database = %s" % os.environ.get("MUGAI_TEST_CLAMAV_DB", "/var/lib/clamav"),
                       "database = %s" % empty_inside) + "[notice]\nlanguage = ja\n"
    set_conf(bad)
    rc, out = m.check_config()
    ctx.ok(rc not in (0, None) and "no loadable ClamAV signatures" in out,
           "mugai-milter -t refuses the file with the empty ClamAV directory (exit %s)" % rc,
           out.splitlines()[-5:])
    # `mugai config check` says the same, in the same sandbox (one function)
    rc_c, out_c = run_cmd(m.prefix + [ctx.args.mugai, "config", "check", "--config", m.conf_arg], 60)

    def errors(text, prog):
        return sorted(l[len(prog) + 2:] for l in text.splitlines() if l.startswith(prog + ": error: "))
    ctx.ok(rc_c == 1 and errors(out_c, "mugai") == errors(out, "mugai-milter") and errors(out, "mugai-milter"),
           "mugai config check gives exit 1 and the same errors (exit %s)" % rc_c,
           ["-t: %s" % errors(out, "mugai-milter"), "config check: %s" % errors(out_c, "mugai")])
    off = h.file_size(m.log)
    os.kill(main, signal.SIGHUP)
    ref = wait_log(r"reload refused|configuration accepted", off)
    ctx.ok(any("reload refused" in l for l in ref) and not any("accepted" in l for l in ref),
           "SIGHUP with it: refused, said in the log", ref + h.tail(m.log, off, lines=10))
    expect(mail("kept"), NOTICE_EN, "mail is delivered as before (still English)")
    # a pool restart must start from the old configuration, not the file
    _front, _workers = m.roles()
    pool = next((p for p, _d, c in m.tree() if "pool" in c), None)
    if ctx.ok(pool, "the pool process is found"):
        off = h.file_size(m.log)
        os.kill(pool, signal.SIGKILL)
        back = h.wait_until(lambda: (lambda t: t[0] if t and t[0] != pool else None)(
            [p for p, _d, c in m.tree() if "pool" in c]), 30)
        ctx.ok(back, "the supervisor starts a new pool (pid %s)" % back)
        h.wait_until(lambda: len(m.roles()[1]) >= 2, 30)
        expect(mail("restart"), NOTICE_EN, "after the pool restart mail is delivered as before")
        time.sleep(3)
        died = [l for l in h.tail(m.log, off, lines=400) if re.search(r"pool pid=\d+ died", l)]
        ctx.ok(len(died) == 1, "the pool died once (the kill), not again and again", died)
    set_conf(en)

    # stop with a message in flight: finished, then the daemon ends at once
    ident = "unit-stop"
    item = Item(ident, h.with_id(big_message(ident, 9 * 1024 * 1024, seed=11), ident))
    spool_inside = "/var/lib/mugai/spool/"

    def in_flight():
        for pid in m.remember():
            try:
                fds = os.listdir("/proc/%d/fd" % pid)
            except OSError:
                continue
            for fd in fds:
                try:
                    t = os.readlink("/proc/%d/fd/%s" % (pid, fd))
                except OSError:
                    continue
                if t.startswith(spool_inside) and not t.endswith((".sock", ".conf")):
                    return True
        return False

    s = smtplib.SMTP(timeout=180, local_hostname="client.internet.test")
    caught, code, text, term_at, replied_at = False, None, "", None, None
    try:
        s.connect("127.0.0.1", pf.smtp_port)
        s.ehlo()
        s.mail(item.sender)
        s.rcpt(item.rcpts[0])
        s.docmd("DATA")
        q = smtplib._quote_periods(item.data)
        s.send(q + (b"" if q.endswith(b"\r\n") else b"\r\n") + b".\r\n")
        t_dot = time.monotonic()
        while time.monotonic() - t_dot < 30:
            if select.select([s.sock], [], [], 0)[0]:
                break
            if in_flight():
                caught = True
                break
            time.sleep(0.002)
        if caught:
            term_at = time.monotonic()
            os.kill(main, signal.SIGTERM)  # systemctl stop (KillMode=mixed: the main process)
        code, text = s.getreply()
        replied_at = time.monotonic()
        text = text.decode("utf-8", "replace")
        try:
            s.quit()
        except (smtplib.SMTPException, OSError):
            pass
    except (smtplib.SMTPException, OSError) as e:
        text = "%s: %s" % (type(e).__name__, e)
    finally:
        try:
            s.close()
        except OSError:
            pass
    if not ctx.ok(caught, "SIGTERM sent with a message in flight", ["reply first: %s %s" % (code, text)]):
        return
    ctx.ok(code == 250, "the message in flight is finished: %s %s" % (code, text))
    if code == 250:
        item.results.append(h.Result("EOD", code, text, 0))
        probs, _t = delivered_texts(ctx, item, 60)
        ctx.ok(not probs, "and delivered once, sanitized", probs)
    # the drain's own bound, far below the unit's TimeoutStopSec=240
    bound = m.message_timeout + m.params["queue_timeout"] + 10
    try:
        rc = m.proc.wait(max(1.0, bound - (time.monotonic() - (replied_at or term_at))))
    except subprocess.TimeoutExpired:
        rc = None
    ctx.ok(rc == 0, "the daemon exits with status 0 once the mail is done (status %s, %.1f s after "
           "SIGTERM, %.1f s after the reply)" % (rc, time.monotonic() - term_at,
                                                time.monotonic() - (replied_at or term_at)),
           h.tail(m.log, lines=15) if rc != 0 else [])
    failed = [l for l in h.tail(m.log, lines=400) if "cannot send" in l]
    ctx.ok(not failed, "no signal to a child failed", failed)
    left = m.leftovers()
    ctx.ok(not left, "no process of the daemon outlives it", ["%d %s" % (p, h.cmdline(p)) for p, _ in left])
    leftover_check(ctx, m)

    # kill -9 of the supervisor: its children, which changed their user,
    # die with it all the same (the parent-death signal, which the kernel
    # clears on a change of user, is armed again after the drop)
    ok, err = m.start()
    if ctx.ok(ok, "started again under the unit's sandbox", [err]):
        main = m.main_pid()
        _f, workers = m.roles()
        h.wait_until(lambda: len(m.roles()[1]) >= 2, 30)
        os.kill(main, signal.SIGKILL)
        m.proc.wait(30)
        gone = h.wait_until(lambda: not m.leftovers(), 10)
        ctx.ok(gone, "kill -9 of the supervisor: the front, the pool and the workers die with it",
               ["%d %s" % (p, h.cmdline(p)) for p, _ in m.leftovers()])
    leftover_check(ctx, m)


SCENARIOS += ["release", "unit"]
SCENARIO_FUNCS.update({"release": sc_release, "unit": sc_unit})


if __name__ == "__main__":
    sys.exit(main())
