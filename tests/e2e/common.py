"""What several end-to-end scenarios share: the messages, the sender, the
judges of a delivered, quarantined or audited message (run-e2e.py runs
the scenarios; its docstring describes them)."""

import base64
import os
import random
import re
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))
import harness as h  # noqa: E402
import judges  # noqa: E402
import mugaitest as mt  # noqa: E402


SRCDIR = os.environ.get("MUGAI_SRCDIR") or os.path.dirname(os.path.dirname(HERE))


TESTDATA = os.path.join(SRCDIR, "testdata")


SESSIONS = 8


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
    blob = random.Random(seed).randbytes(attachment_bytes)
    return attachment_message(ident, "large attachment", "data.bin", "application/octet-stream", blob,
                              "Please find the data attached. E2E-LARGE-BODY-TEXT\r\n", "e2e-boundary")


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


# Samples whose expectation does not describe the message mugai-milter
# is given, because Postfix (or the test's X-E2E-Id field) changes it on
# the way in.  Only these are judged by what `mugai sanitize` says about
# the octets the milter received (sc_load.py), not by
# testdata/expected.json.
NOT_AS_SENT = {
    "mbox/hostile.mbox#10": "the empty message arrives with header fields (X-E2E-Id, Received)",
    "md-bare-cr": "Postfix reads a bare CR as no line end: the message arrives as one long header field",
}


def expectation_problems(ctx, item, verdict, report=None, checked=None, raw=None):
    """A sample of testdata/ (item.original set) against its entry in
    testdata/expected.json (tests/judges.py expected_problems(), the judge
    of tests/run-samples.py): verdict "clean"/"sanitized" from the
    delivered message's X-Mugai-Status, "reject" for a 5xx; report the one
    the quarantine keeps, when the caller has it.  Nothing for a message
    the test built itself or one of NOT_AS_SENT."""
    if item.original is None or item.key in NOT_AS_SENT:
        return []
    exp = ctx.expected.get(item.key)
    if exp is None:
        return ["no entry for %r in testdata/expected.json" % item.key]
    return [x for x in judges.expected_problems(exp, verdict, report, checked, raw) if not x.startswith("note: ")]


def status_verdict(status):
    """"sanitized" of "sanitized; removed=1; converted=0"."""
    return (status or "").split(";")[0].strip() or None


def judge_delivered(ctx, item, sink_msgs, report=None):
    """Problems with one accepted message at the sink: exactly once,
    check_message, the envelope kept, and for a sample its expectation
    (expectation_problems; report: the quarantine's, when known)."""
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
        problems += expectation_problems(ctx, item, status_verdict(c.status), report, c, sm.data)
    return problems


def judge_case_delivered(ctx, it, sink, qidx, more=None):
    """A case of tests/threatmail.py (it.case) that must be delivered:
    accepted with 250, at the sink once (judge_delivered), the notice
    saying each of case.notice, the original in the quarantine; more(sink
    message, check_message result) adds the caller's own problems."""
    r = it.final
    if not (r and r.code == 250):
        return ["not accepted: %s" % r]
    msgs = sink.get(it.ident, [])
    probs = judge_delivered(ctx, it, msgs)
    if msgs:
        chk = mt.check_message(msgs[0].data, it.data)
        body = chk.main_body or ""
        probs += ["the notice does not say %r" % want for want in it.case.notice if want not in body]
        if more is not None:
            probs += more(msgs[0], chk)
    return probs + judge_quarantined(it, r.qid, qidx)


def judge_refused(it, rejects, qidx, sink):
    """A refused message: not at the sink, its queue id in Postfix's
    milter-reject lines (rejects: Ctx.postfix_qids()), its original in the
    quarantine.  (problems, queue id or None)."""
    probs = []
    if sink.get(it.ident):
        probs.append("refused but %d cop(y/ies) at the sink" % len(sink[it.ident]))
    qids = rejects.get(it.sender, [])
    if not qids:
        return probs + ["no milter-reject line in the Postfix log"], None
    qid = qids[-1][0]
    return probs + judge_quarantined(it, qid, qidx), qid


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


# ---------------------------------------------------------------------------
# ClamAV

EICAR = r"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


EICAR_SIG = "Mugai.Test.EICAR"


def attachment_message(ident, subject, filename, ctype, payload, text="Please see the attachment.\r\n",
                       boundary="e2e-av-boundary"):
    """multipart/mixed: a short text and one base64 attachment."""
    b64 = base64.encodebytes(payload).replace(b"\n", b"\r\n")
    head = ("From: Sender <sender@internet.test>\r\nTo: <user@lgwan.test>\r\n"
            "Subject: %s\r\nDate: Mon, 20 Nov 2023 10:00:00 +0900\r\n"
            "Message-ID: <%s@internet.test>\r\nMIME-Version: 1.0\r\n"
            "Content-Type: multipart/mixed; boundary=\"%s\"\r\n\r\n"
            "--%s\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n%s\r\n"
            "--%s\r\nContent-Type: %s; name=\"%s\"\r\n"
            "Content-Disposition: attachment; filename=\"%s\"\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\n"
            % (subject, ident, boundary, boundary, text, boundary, ctype, filename, filename)).encode("ascii")
    return head + b64 + b"\r\n--%s--\r\n" % boundary.encode("ascii")


def mail(ident, data):
    """An Item whose message carries the X-E2E-Id ident."""
    return Item(ident, h.with_id(data, ident))


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
