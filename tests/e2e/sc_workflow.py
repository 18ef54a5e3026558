"""The release workflow end-to-end scenario (run-e2e.py, which sets
sys.path, runs it; its docstring describes it): request, approve, deny
and release by the actors' own Unix logins, the original re-injected
through a Postfix smtpd without milters to the sink (issue 14)."""

import io
import json
import os
import pwd
import re
import signal
import socket
import subprocess
import threading
import zipfile

import harness as h
import mugaitest as mt
from common import (EICAR, EICAR_SIG, attachment_message, Item, send_one, leftover_check)


# The actors: a Unix login each, mapped to an account by `mugai admin add`.
# root has no account: it may not act in the workflow.
ACTORS = {
    "staff": ("mugai-e2e-staff", "requester"),
    "boss": ("mugai-e2e-boss", "approver"),
    "boss2": ("mugai-e2e-boss2", "approver"),
    "auditor": ("mugai-e2e-audit", "auditor"),
}

RELEASE_FROM = "mugai-release@mx.mugai-e2e.test"

# The sender's own X-Mugai-* fields (one folded): a re-injected message
# must carry none of them, only mugai's X-Mugai-Released.
FORGED = ["X-Mugai-Status: clean; forged by the sender",
          "X-Mugai-Note: a forged field\r\n\tfolded on a second line"]


def ensure_actor_users():
    """The actors' logins (useradd --system when missing); False when one
    cannot be made."""
    for login, _role in ACTORS.values():
        try:
            pwd.getpwnam(login)
        except KeyError:
            subprocess.run(["useradd", "--system", "--user-group", "--no-create-home",
                            "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", login],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            try:
                pwd.getpwnam(login)  # made here, or by a run beside this one
            except KeyError:
                return False
    return True


class Cli:
    """`mugai ... --config CONF`, as root (login None) or as a login
    (runuser -u LOGIN --)."""

    def __init__(self, exe, conf):
        self.exe = os.path.abspath(exe)
        self.conf = conf

    def run(self, login, *args, timeout=120):
        argv = [self.exe] + list(args) + ["--config", self.conf]
        if login:
            argv = ["runuser", "-u", login, "--"] + argv
        try:
            p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=timeout, cwd="/")
            return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")
        except subprocess.TimeoutExpired:
            return None, "", "%s did not finish in %d s" % (" ".join(args), timeout)

    def spawn(self, login, *args):
        argv = ["runuser", "-u", login, "--", self.exe] + list(args) + ["--config", self.conf]
        return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, cwd="/")

    def entry(self, ident):
        """The entry as `mugai quarantine show ID` prints it (root), or None."""
        rc, out, _err = self.run(None, "quarantine", "show", ident)
        if rc != 0:
            return None
        try:
            return json.loads(out)
        except ValueError:
            return None

    def state(self, ident):
        e = self.entry(ident)
        return e.get("state") if e else None


def check(ctx, cond, name, diags=()):
    """ctx.ok, the diagnostics only when it fails."""
    return ctx.ok(cond, name, [] if cond else list(diags))


def described(rc, out, err):
    return ["exit %s" % rc, "stdout: " + out.strip()[-400:], "stderr: " + err.strip()[-400:]]


class Blackhole:
    """An SMTP server that takes a whole message and never answers the
    final ".": the attempt is on the wire, its reply never comes.  Each
    connection does what the next word of plan says: "reject" answers
    the final "." with 554 (a permanent refusal), "partial" refuses the
    second RCPT with 550 and takes the message for the first, "accept"
    takes it (the notice that follows a release), "hangup"
    closes the
    connection right after the "." (the message may have been queued: RFC
    1047), "hang" keeps it open without a word (what a crash between
    "sending" and "sent" looks like from the relay's side).  got[n] is set
    once the final "." of connection n arrived."""

    def __init__(self, plan):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        self.plan = list(plan)
        self.got = [threading.Event() for _ in self.plan]
        self.stop_ev = threading.Event()
        self.conns = []
        self.thread = threading.Thread(target=self._serve, name="blackhole", daemon=True)
        self.thread.start()

    def _serve(self):
        self.sock.settimeout(0.5)
        while not self.stop_ev.is_set():
            try:
                c, _a = self.sock.accept()
            except OSError:
                continue
            n = len(self.conns)
            self.conns.append(c)
            threading.Thread(target=self._talk, args=(c, n), daemon=True).start()

    def _talk(self, c, n):
        what = self.plan[n] if n < len(self.plan) else "hang"
        try:
            f = c.makefile("rb")
            c.sendall(b"220 blackhole.mugai-e2e.test ESMTP\r\n")
            data, rcpts = False, 0
            for line in f:
                if data:
                    if line in (b".\r\n", b".\n"):
                        if n < len(self.got):
                            self.got[n].set()
                        if what in ("reject", "partial", "accept"):
                            c.sendall(b"554 5.7.1 the LGWAN side refuses it\r\n" if what == "reject"
                                      else b"250 2.0.0 queued\r\n")
                            data = False
                            continue
                        if what == "hangup":
                            c.shutdown(socket.SHUT_RDWR)
                            c.close()
                        else:
                            self.stop_ev.wait(600)  # never answers
                        return
                    continue
                verb = line[:4].upper()
                if verb == b"EHLO":
                    c.sendall(b"250-blackhole.mugai-e2e.test\r\n250 8BITMIME\r\n")
                elif verb == b"DATA":
                    c.sendall(b"354 go on\r\n")
                    data = True
                elif verb == b"RCPT":
                    rcpts += 1
                    c.sendall(b"550 5.1.1 no such user here\r\n" if what == "partial" and rcpts == 2
                              else b"250 ok\r\n")
                elif verb == b"QUIT":
                    c.sendall(b"221 bye\r\n")
                    return
                else:
                    c.sendall(b"250 ok\r\n")
        except OSError:
            return

    def close(self):
        self.stop_ev.set()
        for c in self.conns:
            try:
                c.close()
            except OSError:
                pass
        self.sock.close()


def zip_of(name, text):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(name, text)
    return buf.getvalue()


def message(ident, subject, filename="quotation.zip", payload=None, ctype="application/zip",
            text="Please see the attachment.\r\n"):
    if payload is None:
        payload = zip_of("quotation.txt", "Quotation for the city office, %s\n" % ident * 40)
    data = attachment_message(ident, subject, filename, ctype, payload, text)
    return Item(ident, h.with_id(data, ident, FORGED))


# ---- what arrived -------------------------------------------------------


def header_fields(data):
    """[(name, raw octets of the field with its continuation lines)] of the
    header block, and the rest (the empty line and the body)."""
    fields, pos = [], 0
    while pos < len(data):
        m = re.compile(rb"[^\r\n]*(\r\n|\n|\r)?").match(data, pos)
        line = m.group(0)
        if line.strip(b"\r\n") == b"":
            break
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1] = (fields[-1][0], fields[-1][1] + line)
        else:
            fields.append((line.split(b":", 1)[0].strip(), line))
        pos = m.end()
        if not m.group(1):
            break
    return fields, data[pos:]


def without_mugai(data):
    fields, rest = header_fields(data)
    return b"".join(raw for name, raw in fields if not name.lower().startswith(b"x-mugai-")) + rest


def released_copies(ctx, ident):
    return [m for m in ctx.sink.by_id(ident).get(ident, [])
            if any(n.lower() == b"x-mugai-released" for n, _r in header_fields(m.data)[0])]


def judge_released(sm, original, item, qid, by, approved_by, attempt, rcpts=None):
    """The released copy sm against the original (`mugai quarantine
    extract`): Postfix's own Received fields of the re-injection on top,
    then X-Mugai-Released, then the original octet for octet without its
    X-Mugai-* fields; the original envelope sender, and rcpts (the
    request's; all of the original's when None)."""
    probs = []
    fields, rest = header_fields(sm.data)
    at = [i for i, (n, _r) in enumerate(fields) if n.lower() == b"x-mugai-released"]
    if len(at) != 1:
        return ["%d X-Mugai-Released fields" % len(at)]
    before = [n for n, _r in fields[:at[0]]]
    if any(n.lower() != b"received" for n in before):
        probs.append("fields above X-Mugai-Released other than the re-injection's Received: %s" % before)
    value = re.sub(rb"\r?\n[ \t]+", b" ", fields[at[0]][1].split(b":", 1)[1]).strip().decode("ascii", "replace")
    parts = dict(p.strip().split("=", 1) for p in value.split(";") if "=" in p)
    want = {"id": qid, "by": by, "approved-by": approved_by, "mode": "original", "attempt": str(attempt)}
    for k, v in want.items():
        if parts.get(k) != v:
            probs.append("X-Mugai-Released %s=%s, expected %s (value: %s)" % (k, parts.get(k), v, value))
    after = b"".join(r for _n, r in fields[at[0] + 1:]) + rest
    expected = without_mugai(original)
    if after != expected:
        n = next((i for i in range(min(len(after), len(expected))) if after[i] != expected[i]),
                 min(len(after), len(expected)))
        probs.append("below X-Mugai-Released the message is not the original without its X-Mugai-* fields: "
                     "%d octets vs %d, first difference at %d: %r / %r"
                     % (len(after), len(expected), n, after[max(0, n - 30):n + 30],
                        expected[max(0, n - 30):n + 30]))
    if any(n.lower().startswith(b"x-mugai-") and n.lower() != b"x-mugai-released" for n, _r in fields):
        probs.append("a sender's X-Mugai-* field is still in it")
    rcpts = item.rcpts if rcpts is None else rcpts
    if sm.mail_from != item.sender or sm.rcpts != rcpts:
        probs.append("envelope from=<%s> to=%s, expected from=<%s> to=%s"
                     % (sm.mail_from, sm.rcpts, item.sender, rcpts))
    return probs


def notices(ctx, rcpt, qid):
    """The notices the workflow mailed to rcpt about qid: from [release]
    from, Auto-Submitted, the id in the subject; [(subject, text)]."""
    out = []
    for sm in list(ctx.sink.messages):
        if sm.mail_from != RELEASE_FROM or sm.rcpts != [rcpt]:
            continue
        chk = mt.check_message(sm.data)
        subject = str(chk.msg["Subject"] or "") if chk.msg is not None else ""
        if qid in subject and b"Auto-Submitted: auto-generated" in sm.data:
            out.append((subject, "\n".join(t for _p, t in chk.texts)))
    return out


def audit_of(m, qid):
    lines, _bad = m.audit_lines()
    return [a for a in lines if a.get("quarantine_id") == qid]


def judge_audit_steps(m, qid, steps):
    """steps: [(action, text the record's reason names)], each at least
    once, in this order."""
    recs = audit_of(m, qid)
    probs, pos = [], 0
    for action, who in steps:
        found = next((i for i in range(pos, len(recs)) if recs[i].get("action") == action
                      and who in (recs[i].get("reason") or "")), None)
        if found is None:
            probs.append("no audit record %s naming %s (after record %d)" % (action, who, pos))
        else:
            pos = found + 1
    if probs:
        probs += ["audit: %s: %s" % (a.get("action"), (a.get("reason") or "")[:200]) for a in recs]
    return probs


# ---- the scenario -------------------------------------------------------


def quarantine_id(cli, qid_postfix):
    rc, out, _err = cli.run(None, "quarantine", "list", "--json")
    for line in out.splitlines():
        try:
            e = json.loads(line)
        except ValueError:
            continue
        if e.get("queue_id") == qid_postfix:
            return e.get("id")
    return None


def sc_workflow(ctx):
    """The release workflow as an administrator runs it: accounts for
    the actors' logins (mugai admin add, as root), the milter's [release]
    relay a Postfix smtpd with -o smtpd_milters= that delivers to the
    sink.  A message with an attachment is delivered sanitized; request
    (staff) + approve + release (boss) give the sink the original once,
    its X-Mugai-* fields replaced by X-Mugai-Released, with the original
    envelope; show says released, the audit log has request, approve,
    release-attempt and release with who.  request + deny delivers
    nothing.  Refused with a clear error: the requester approving their
    own request, root (no account) approving, an auditor requesting, a
    release before approval, a recipient that was not one.  A message
    held as a virus (on_virus = hold) is refused at release naming the
    signature.  --mode resanitize=loose sends the message sanitized
    again under [profile loose].  A relay's 554 fails the release (it
    can be released again); a relay that hangs up after the data: the
    attempt is uncertain, not retried.  approvals = 2 with on_approve =
    send: the second approver's approval sends it.  kill -9 of the milter while a release is on
    the wire: after the restart the entry is approved and uncertain,
    release is refused naming --again, --again delivers it once (the
    null sender kept).  With no ClamAV database ([clamav] required =
    no) a release is refused, never sent unscanned.  quarantine check
    passes."""
    uids = h.role_uids()
    if len(uids) != 3 or not ensure_actor_users():
        ctx.tap.result(True, "workflow: the roles' and actors' users", skip="useradd failed")
        return
    pf = ctx.postfix
    reinject = pf.add_smtpd("smtpd_milters=", "myhostname=reinject.mugai-e2e.test")
    if not check(ctx, reinject, "a re-injection smtpd without milters listens (-o smtpd_milters=)"):
        return
    blackhole = Blackhole(["reject", "partial", "accept", "hangup", "hang"])
    try:
        run(ctx, reinject, blackhole)
    finally:
        blackhole.close()


URL = "https://www.example.com/tender/2026"
REASON = "入札の見積書が必要です (the quotation for the tender)"


def release_conf(port, clamav="", approvals=1, on_approve="wait"):
    """The lines after [clamav] database: clamav (more [clamav] keys),
    then [sanitize], a looser [profile loose] (links in text kept, not
    defanged) and [release]."""
    return (clamav + "\n[sanitize]\non_virus = hold\n\n[profile loose]\ntext_links = keep\n\n"
            "[release]\nrelay = smtp://127.0.0.1:%d\nfrom = %s\napprovals = %d\non_approve = %s\n"
            % (port, RELEASE_FROM, approvals, on_approve))


def run(ctx, reinject, blackhole):
    pf = ctx.postfix
    m = ctx.new_milter("workflow", extra=release_conf(reinject))
    if not m.users:
        ctx.tap.result(True, "workflow: the roles' users", skip="not root")
        return
    # the actors' command reads the configuration to find run_dir (and
    # workflow.sock in it): 0644, as /etc/mugai/mugai.conf; it holds no
    # secret (a PostgreSQL DSN is in [quarantine] dsn_file, the storer's)
    os.chmod(m.conf, 0o644)
    if not ctx.start_milter(m):
        return
    cli = Cli(ctx.args.mugai, m.conf)
    login = {k: v[0] for k, v in ACTORS.items()}

    # -- the accounts, by root on control.sock
    probs = []
    for name, (lg, role) in ACTORS.items():
        rc, out, err = cli.run(None, "admin", "add", name, "--role", role, "--unix-user", lg)
        if rc != 0:
            probs += ["admin add %s:" % name] + described(rc, out, err)
    rc, out, err = cli.run(None, "admin", "list")
    listed = [l.split() for l in out.splitlines()[1:]]
    for name, (lg, role) in ACTORS.items():
        if [name, role, lg] not in [row[:3] for row in listed]:
            probs.append("admin list has no %s %s %s: %s" % (name, role, lg, out.strip()))
    if not check(ctx, not probs, "mugai admin add makes an account per actor's login (admin list shows them)",
                  probs):
        return

    idle_callers(ctx, m)

    # -- a message with an attachment, delivered sanitized
    # lines that SMTP must dot-stuff on the way out again (RFC 5321
    # 4.5.2): a "." alone would end the data early, a ".x" lose its dot
    a = message("wf-release", "quotation attached",
                text="Please see the attachment.\r\n.\r\n.leading dot\r\n..two dots\r\n")
    a.rcpts = a.rcpts + ["colleague@lgwan.test"]   # released to the first alone
    r = send_one(pf.smtp_port, a)
    delivered = r.code == 250 and ctx.wait_delivered([a.ident], 60)
    qa = quarantine_id(cli, r.qid) if delivered else None
    sanitized = ctx.sink.by_id(a.ident).get(a.ident, [])
    check(ctx, delivered and qa and len(sanitized) == 1 and b"X-Mugai-Status: sanitized" in sanitized[0].data,
           "a message with a zip attachment is accepted (%s), delivered sanitized, its original "
           "quarantined as %s" % (r, qa))
    if not qa:
        return
    p = subprocess.run([cli.exe, "quarantine", "extract", qa, "--config", m.conf], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, timeout=60)
    original = p.stdout
    check(ctx, p.returncode == 0 and h.e2e_id(original) == a.ident and b"X-Mugai-Note" in original,
           "mugai quarantine extract gives the original as received, its forged X-Mugai-* fields in it",
           [p.stderr.decode("utf-8", "replace")])

    # -- refusals before the request
    def refused(who, args, what, words):
        rc, out, err = cli.run(login.get(who), *args)
        missing = [w for w in words if w not in err]
        return check(ctx, rc == 1 and err.strip() and not missing,
                      "%s is refused with a clear error (exit 1): %s" % (what, err.strip()[:300]),
                      described(rc, out, err) + ["the error does not say %r" % w for w in missing])

    refused("auditor", ["quarantine", "request", qa, "--reason", "audit"], "an auditor requesting",
            ["auditor"])
    refused(None, ["quarantine", "request", qa, "--reason", "root"], "root (a login with no account) requesting",
            ["no account"])
    refused("staff", ["quarantine", "request", qa, "--reason", "for someone else", "--recipient",
                      "stranger@lgwan.test"], "a --recipient that was not an envelope recipient",
            ["stranger@lgwan.test", "not a recipient"])
    refused("boss", ["quarantine", "release", qa], "a release before any request", [qa])
    # reading: an auditor (not root) sees the record through the storer,
    # a requester does not
    rc, out, err = cli.run(login["auditor"], "quarantine", "show", qa)
    try:
        shown = json.loads(out) if rc == 0 else {}
    except ValueError:
        shown = {}
    check(ctx, rc == 0 and shown.get("id") == qa and shown.get("state") == "stored",
          "an auditor's `mugai quarantine show` (not root) gives the record, read by the storer",
          described(rc, out, err))
    refused("staff", ["quarantine", "show", qa], "a requester reading an entry", ["may not read"])

    # -- request, refusals, approve, release
    rc, out, err = cli.run(login["staff"], "quarantine", "request", qa, "--reason", REASON,
                           "--recipient", a.rcpts[0])
    check(ctx, rc == 0 and cli.state(qa) == "requested",
           "staff requests the release (state requested): %s" % out.strip()[:200], described(rc, out, err))
    refused("boss", ["quarantine", "release", qa], "a release before approval", ["requested"])
    refused(None, ["quarantine", "approve", qa], "root (a login with no account) approving", ["no account"])
    refused("staff", ["quarantine", "approve", qa], "a requester approving", ["requester"])
    refused("auditor", ["quarantine", "approve", qa], "an auditor approving", ["auditor"])
    steps = [("refused", "request %s by %s" % (qa, login["auditor"])), ("refused", "request %s by root" % qa),
             ("refused", "stranger@lgwan.test"), ("refused", "approve %s by root" % qa),
             ("refused", "approve %s by %s" % (qa, login["staff"]))]
    check(ctx, not judge_audit_steps(m, qa, steps),
          "each refusal is an audit record of the entry (its quarantine_id), naming who tried what",
          judge_audit_steps(m, qa, steps))
    rc, out, err = cli.run(login["boss"], "quarantine", "approve", qa)
    check(ctx, rc == 0 and cli.state(qa) == "approved",
           "boss approves (state approved): %s" % out.strip()[:200], described(rc, out, err))
    check(ctx, not released_copies(ctx, a.ident), "nothing is sent before release ([release] on_approve = wait)")
    rc, out, err = cli.run(login["boss"], "quarantine", "release", qa)
    check(ctx, rc == 0, "boss releases it: %s" % out.strip()[:300], described(rc, out, err))
    h.wait_until(lambda: released_copies(ctx, a.ident), 60, step=0.25)
    ctx.wait_delivered([a.ident], 30)
    copies = released_copies(ctx, a.ident)
    probs = ["%d released copies at the sink" % len(copies)] if len(copies) != 1 else []
    if copies:
        probs += judge_released(copies[0], original, a, qa, "boss", "boss", 1, a.rcpts[:1])
    check(ctx, not probs, "the sink receives the original once: the re-injection's Received, X-Mugai-Released "
           "(id, by, approved-by, mode, attempt), then the original octet for octet without its "
           "X-Mugai-* fields; the original envelope sender, the one recipient requested of two", probs)
    e = cli.entry(qa) or {}
    check(ctx, e.get("state") == "released" and (e.get("workflow") or {}).get("released"),
           "mugai quarantine show: state released, with the release's record",
           [json.dumps(e.get("workflow"))[:600]])
    check(ctx, (e.get("workflow") or {}).get("request", {}).get("reason") == REASON
          and not judge_audit_steps(m, qa, [("request", REASON)]),
          "the request's Japanese reason is kept as written, in the entry and in the audit record",
          [json.dumps((e.get("workflow") or {}).get("request"), ensure_ascii=False)]
          + judge_audit_steps(m, qa, [("request", REASON)]))
    check(ctx, not judge_audit_steps(m, qa, [("request", "staff"), ("approve", "boss"),
                                         ("release-attempt", "boss"), ("release", "boss")]),
           "the audit log has request (staff), approve, release-attempt and release (boss)",
           judge_audit_steps(m, qa, [("request", "staff"), ("approve", "boss"),
                                     ("release-attempt", "boss"), ("release", "boss")]))
    refused("boss", ["quarantine", "release", qa], "a second release of a released entry", ["released"])
    got = notices(ctx, a.rcpts[0], qa)
    check(ctx, len(got) == 1 and "original released" in got[0][0] and not notices(ctx, a.rcpts[1], qa),
          "the recipient it was released to is told by a notice (original released); the other is not",
          ["%r" % (got,)])

    # -- the requester approving their own request; deny
    b = message("wf-deny", "another quotation")
    r = send_one(pf.smtp_port, b)
    qb = quarantine_id(cli, r.qid) if r.code == 250 and ctx.wait_delivered([b.ident], 60) else None
    if not check(ctx, qb, "a second message is delivered and quarantined (%s)" % r):
        return
    rc, out, err = cli.run(login["boss2"], "quarantine", "request", qb, "--reason", "I need it")
    check(ctx, rc == 0, "an approver (boss2) may request", described(rc, out, err))
    refused("boss2", ["quarantine", "approve", qb], "the requester approving their own request",
            ["never approved by its requester"])
    rc, out, err = cli.run(login["boss"], "quarantine", "deny", qb, "--reason", "not needed")
    check(ctx, rc == 0 and cli.state(qb) == "denied", "boss denies it (state denied): %s" % out.strip()[:200],
           described(rc, out, err))
    refused("boss", ["quarantine", "release", qb], "a release of a denied entry", ["denied"])
    h.wait_until(lambda: notices(ctx, b.rcpts[0], qb), 30, step=0.25)
    got = notices(ctx, b.rcpts[0], qb)
    check(ctx, len(got) == 1 and "release denied" in got[0][0] and "not needed" in got[0][1],
          "the recipient is told of the denial and its reason by a notice", ["%r" % (got,)])
    check(ctx, not judge_audit_steps(m, qb, [("request", "boss2"), ("deny", "boss")]),
           "the audit log has request (boss2) and deny (boss)",
           judge_audit_steps(m, qb, [("request", "boss2"), ("deny", "boss")]))

    # -- a virus held, released: refused naming the signature
    v = message("wf-virus", "a virus", "eicar.com", EICAR.encode("ascii"), "application/octet-stream")
    r = send_one(pf.smtp_port, v)
    h.wait_until(lambda: quarantine_id(cli, r.qid), 30, step=0.5)
    qv = quarantine_id(cli, r.qid) if r.code == 250 else None
    check(ctx, qv and cli.state(qv) == "held" and not ctx.sink.by_id(v.ident),
           "EICAR with on_virus = hold: accepted (%s), not delivered, held as %s" % (r, qv))
    if qv:
        ok1 = cli.run(login["staff"], "quarantine", "request", qv, "--reason", "I trust the sender")[0] == 0
        ok2 = cli.run(login["boss"], "quarantine", "approve", qv)[0] == 0
        check(ctx, ok1 and ok2, "the held message is requested and approved")
        refused("boss", ["quarantine", "release", qv], "its release (ClamAV finds it again)",
                [EICAR_SIG])
        check(ctx, not judge_audit_steps(m, qv, [("release-attempt", "boss"), ("release-refused", EICAR_SIG)]),
               "the audit log has release-attempt and release-refused naming %s" % EICAR_SIG,
               judge_audit_steps(m, qv, [("release-attempt", "boss"), ("release-refused", EICAR_SIG)]))

    resanitize(ctx, m, cli, login)

    # -- kill -9 while a release is on the wire
    crash(ctx, m, cli, login, blackhole, reinject)
    two_approvers(ctx, m, cli, login)
    unscanned = no_clamav(ctx, m, cli, login, reinject)

    # nothing more arrived for the denied and the virus message, the whole
    # crash part later; the released one still once
    check(ctx, not released_copies(ctx, b.ident) and not ctx.sink.by_id(v.ident).get(v.ident)
           and len(released_copies(ctx, a.ident)) == 1
           and not (unscanned and released_copies(ctx, unscanned.ident)),
           "at the end: nothing of the denied or the held message at the sink, the released one once",
           ["denied: %d, virus: %d, released: %d" % (len(released_copies(ctx, b.ident)),
                                                    len(ctx.sink.by_id(v.ident).get(v.ident, [])),
                                                    len(released_copies(ctx, a.ident)))])
    rc, out, err = cli.run(None, "quarantine", "check")
    check(ctx, rc == 0 and "every record readable" in out, "mugai quarantine check: the store is intact",
          described(rc, out, err))
    rc, out, err = cli.run(None, "audit", "verify", m.audit)
    check(ctx, rc == 0 and "intact" in out, "mugai audit verify: the chain with every workflow record is intact: "
          + out.strip()[:200], described(rc, out, err))
    leftover_check(ctx, m)


def crash(ctx, m, cli, login, blackhole, reinject):
    """The relay that hangs up after the data (hh), then one that never
    answers while mugai-milter is killed (k); both sent again with
    --again to the re-injection smtpd after the restart."""
    pf = ctx.postfix
    k = message("wf-crash", "released through a crash")
    k.sender = ""   # a bounce: released with the null sender <>
    hh = message("wf-hangup", "released to a relay that hangs up")
    rj = message("wf-reject", "refused by the relay")
    pa = message("wf-partial", "one recipient of two refused by the relay")
    pa.rcpts = pa.rcpts + ["gone@lgwan.test"]
    ids = {}
    for it in (rj, pa, hh, k):
        r = send_one(pf.smtp_port, it)
        ids[it.ident] = quarantine_id(cli, r.qid) if r.code == 250 and ctx.wait_delivered([it.ident], 60) else None
        ok1 = ids[it.ident] and cli.run(login["staff"], "quarantine", "request", ids[it.ident], "--reason",
                                         "needed")[0] == 0
        ok2 = ok1 and cli.run(login["boss"], "quarantine", "approve", ids[it.ident])[0] == 0
        check(ctx, ok2, "%s is delivered, quarantined (%s), requested and approved" % (it.ident, r))
    qk, qh, qr, qp = ids[k.ident], ids[hh.ident], ids[rj.ident], ids[pa.ident]
    if not (qk and qh and qr and qp):
        return
    # the relay becomes a server that takes the data and never answers
    rc, probs = m.stop()
    m.write_config(extra=release_conf(blackhole.port))
    os.chmod(m.conf, 0o644)
    if not check(ctx, rc == 0 and not probs and ctx.start_milter(m), "mugai-milter restarts with [release] "
                 "relay a server that never answers the end of the data", probs):
        return

    # a 5xx to the end of the data: failed, approved still, no retry
    rc, out, err = cli.run(login["boss"], "quarantine", "release", qr)
    e = cli.entry(qr) or {}
    wf = e.get("workflow") or {}
    check(ctx, blackhole.got[0].is_set() and rc == 1 and "554 5.7.1" in err and e.get("state") == "approved"
          and "554" in (wf.get("failed") or "") and not wf.get("retry_at"),
          "a relay's 554 fails the release (exit 1) with the reply recorded, the entry approved, no retry: %s"
          % err.strip()[:200], described(rc, out, err) + [json.dumps(wf)[:600]])
    check(ctx, not judge_audit_steps(m, qr, [("release-attempt", "boss"), ("release-failed", "554 5.7.1")]),
          "the audit log has the attempt and release-failed with the reply",
          judge_audit_steps(m, qr, [("release-attempt", "boss"), ("release-failed", "554 5.7.1")]))

    # one recipient refused at RCPT: sent to the other, the record says so
    rc, out, err = cli.run(login["boss"], "quarantine", "release", qp)
    check(ctx, blackhole.got[1].is_set() and rc == 0 and "gone@lgwan.test refused it: 550 5.1.1" in out
          and cli.state(qp) == "released",
          "a relay refusing one recipient of two: released to the other, the answer naming the refused one: %s"
          % out.strip()[:300], described(rc, out, err))
    check(ctx, not judge_audit_steps(m, qp, [("release", "gone@lgwan.test refused it")]),
          "the release's audit record names the recipient that did not get it",
          judge_audit_steps(m, qp, [("release", "gone@lgwan.test refused it")]))
    check(ctx, blackhole.got[2].is_set(), "the notice of that release went to the same relay")

    # the connection lost after the whole message: it may have arrived
    rc, out, err = cli.run(login["boss"], "quarantine", "release", qh)
    e = cli.entry(qh) or {}
    wf = e.get("workflow") or {}
    check(ctx, blackhole.got[3].is_set() and rc == 1 and "--again" in err,
          "a relay that hangs up after the whole message: release fails (exit 1) naming --again: %s"
          % err.strip()[:300], described(rc, out, err))
    check(ctx, e.get("state") == "approved" and wf.get("uncertain") and not wf.get("retry_at"),
          "the entry is approved with the attempt uncertain, and no retry is planned (it may have arrived)",
          [json.dumps(wf)[:800]])
    check(ctx, not judge_audit_steps(m, qh, [("release-attempt", "boss"), ("release-uncertain", "--again")]),
          "the audit log has the attempt and release-uncertain",
          judge_audit_steps(m, qh, [("release-attempt", "boss"), ("release-uncertain", "--again")]))

    # kill -9 with the message on the wire
    proc = cli.spawn(login["boss"], "quarantine", "release", qk)
    on_wire = blackhole.got[4].wait(60)
    state = cli.state(qk)
    check(ctx, on_wire and state == "sending",
          "the release is on the wire (the whole message sent, no reply) and the entry is sending (%s)" % state)
    m.remember()
    try:
        os.killpg(m.proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    m.proc.wait(30)
    try:
        out, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    err = err.decode("utf-8", "replace")
    check(ctx, proc.returncode == 1 and "no answer" in err and "mugai quarantine show " + qk in err,
          "the command whose storer was killed says so (exit 1) and where to look: %s" % err.strip()[:300],
          ["exit %s" % proc.returncode])
    h.wait_until(lambda: not m.leftovers(), 15)
    check(ctx, not m.leftovers(), "kill -9 of the process group leaves nothing of mugai-milter running",
          ["%d %s" % (p, h.cmdline(p)) for p, _s in m.leftovers()])
    m.write_config(extra=release_conf(reinject, approvals=2, on_approve="send"))
    os.chmod(m.conf, 0o644)
    if not ctx.start_milter(m, "mugai-milter starts again, its relay the re-injection smtpd "
                            "([release] approvals = 2, on_approve = send from here on)"):
        return
    e = cli.entry(qk) or {}
    wf = e.get("workflow") or {}
    check(ctx, e.get("state") == "approved" and wf.get("uncertain") and not wf.get("retry_at"),
          "after the restart the entry is approved, its attempt marked uncertain", [json.dumps(wf)[:800]])
    check(ctx, not judge_audit_steps(m, qk, [("release-attempt", "boss"), ("release-uncertain", "--again")]),
          "the audit log has the attempt and release-uncertain",
          judge_audit_steps(m, qk, [("release-attempt", "boss"), ("release-uncertain", "--again")]))
    rc, out, err = cli.run(login["boss"], "quarantine", "release", qk)
    check(ctx, rc == 1 and "attempt" in err and "--again" in err and cli.state(qk) == "approved",
          "release without --again is refused naming the attempt and --again: %s" % err.strip()[:300],
          described(rc, out, err))
    check(ctx, not released_copies(ctx, k.ident) and not released_copies(ctx, hh.ident)
          and not released_copies(ctx, rj.ident), "nothing of the three has reached the sink")
    for it, q, again in ((k, qk, ["--again"]), (hh, qh, ["--again"]), (rj, qr, [])):
        rc, out, err = cli.run(login["boss"], "quarantine", "release", q, *again)
        check(ctx, rc == 0, "%s sends %s: %s" % (" ".join(["release"] + again), it.ident, out.strip()[:300]),
              described(rc, out, err))
        h.wait_until(lambda: released_copies(ctx, it.ident), 60, step=0.25)
        ctx.wait_delivered([it.ident], 30)
        copies = released_copies(ctx, it.ident)
        p = subprocess.run([cli.exe, "quarantine", "extract", q, "--config", m.conf], stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, timeout=60)
        probs = ["%d released copies at the sink" % len(copies)] if len(copies) != 1 else []
        if copies:
            probs += judge_released(copies[0], p.stdout, it, q, "boss", "boss", 2)
        check(ctx, not probs and cli.state(q) == "released",
              "%s: the sink receives %s once (attempt 2%s), its state released"
              % (" ".join(["release"] + again), it.ident, ", the null sender" if it.sender == "" else ""), probs)


IDLE_CALLERS = 40  # more than the storer has threads


def idle_callers(ctx, m):
    """workflow.sock is anyone's to connect to: callers that connect and
    say nothing must not hold up the mail (the front's requests to the
    storer).  A message sent while IDLE_CALLERS such connections are
    open is accepted and delivered while they are all still open (the
    storer drops an idle caller after 30 s: mail that waited for that
    would find them closed)."""
    path = os.path.join(m.run_dir, "workflow.sock")
    idle = []
    try:
        for _ in range(IDLE_CALLERS):
            c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            c.connect(path)
            idle.append(c)
        it = message("wf-idle", "mail beside idle callers")
        r = send_one(ctx.postfix.smtp_port, it)
        delivered = r.code == 250 and ctx.wait_delivered([it.ident], 60)
        still = 0
        for c in idle:
            try:
                still += c.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) != b""
            except BlockingIOError:
                still += 1
            except OSError:
                pass
        check(ctx, delivered and still == len(idle),
              "%d callers idle on workflow.sock do not hold up mail: accepted (%s) and delivered while "
              "all of them were still open (%d)" % (len(idle), r, still))
    finally:
        for c in idle:
            c.close()


def released_texts(sm):
    return "\n".join(t for _p, t in mt.check_message(sm.data).texts)


def resanitize(ctx, m, cli, login):
    """--mode resanitize=loose: the message sanitized again under [profile
    loose] is what goes out (the link kept, the zip still removed), its
    notice naming the entry's own quarantine id; a profile that does not
    exist is refused."""
    pf = ctx.postfix
    it = message("wf-loose", "a link and a zip", text="The tender is at %s today.\r\n" % URL)
    r = send_one(pf.smtp_port, it)
    q = quarantine_id(cli, r.qid) if r.code == 250 and ctx.wait_delivered([it.ident], 60) else None
    first = ctx.sink.by_id(it.ident).get(it.ident, [])
    check(ctx, q and first and URL not in released_texts(first[0]),
          "a message with a link and a zip is delivered with the link defanged (%s)" % r)
    if not q:
        return
    rc, out, err = cli.run(login["staff"], "quarantine", "request", q, "--reason", "the link",
                           "--mode", "resanitize=nosuch")
    check(ctx, rc == 1 and "nosuch" in err, "a request under a profile the configuration lacks is refused: %s"
          % err.strip()[:200], described(rc, out, err))
    ok1 = cli.run(login["staff"], "quarantine", "request", q, "--reason", "the link", "--mode",
                  "resanitize=loose")[0] == 0
    ok2 = ok1 and cli.run(login["boss"], "quarantine", "approve", q)[0] == 0
    rc, out, err = cli.run(login["boss"], "quarantine", "release", q) if ok2 else (None, "", "")
    check(ctx, ok2 and rc == 0, "requested with --mode resanitize=loose, approved, released: %s"
          % out.strip()[:200], described(rc, out, err))
    h.wait_until(lambda: released_copies(ctx, it.ident), 60, step=0.25)
    ctx.wait_delivered([it.ident], 30)
    copies = released_copies(ctx, it.ident)
    probs = ["%d released copies at the sink" % len(copies)] if len(copies) != 1 else []
    for sm in copies[:1]:
        fields, _rest = header_fields(sm.data)
        released = [raw for n, raw in fields if n.lower() == b"x-mugai-released"]
        value = re.sub(rb"\r?\n[ \t]+", b" ", released[0]).decode("ascii", "replace") if released else ""
        if "mode=resanitize=loose" not in value or "id=%s" % q not in value:
            probs.append("X-Mugai-Released: %s" % value)
        if any(n.lower().startswith(b"x-mugai-") and n.lower() != b"x-mugai-released" for n, _r in fields):
            probs.append("an X-Mugai-* field other than X-Mugai-Released is in it")
        text = released_texts(sm)
        if URL not in text:
            probs.append("the link is not kept as it is under [profile loose]")
        if q not in text:
            probs.append("its notice does not name the entry's quarantine id %s" % q)
        if b"PK\x03\x04" in sm.data or b"UEsDB" in sm.data:
            probs.append("the zip is in it (the profile keeps [sanitize] archive as it is)")
        if sm.mail_from != it.sender or sm.rcpts != it.rcpts:
            probs.append("envelope from=<%s> to=%s" % (sm.mail_from, sm.rcpts))
        # well-formed as any delivered output, but for X-Mugai-Status:
        # a release carries no X-Mugai-* field but X-Mugai-Released
        chk = mt.check_message(sm.data)
        probs += [l for l in chk.lines() if not l.startswith(("warning", "status-count"))]
    check(ctx, not probs, "the sink receives the message sanitized again under the profile, once: link kept, "
          "zip removed, the notice naming %s, X-Mugai-Released mode=resanitize=loose" % q, probs)


def two_approvers(ctx, m, cli, login):
    """[release] approvals = 2 and on_approve = send: one approval leaves
    it requested, the same approver twice is refused, the second approver
    sends it at once (approved-by names both)."""
    it = message("wf-two", "two approvers")
    r = send_one(ctx.postfix.smtp_port, it)
    q = quarantine_id(cli, r.qid) if r.code == 250 and ctx.wait_delivered([it.ident], 60) else None
    if not check(ctx, q, "a message for two approvers is delivered and quarantined (%s)" % r):
        return
    ok1 = cli.run(login["staff"], "quarantine", "request", q, "--reason", "needed")[0] == 0
    rc, out, err = cli.run(login["boss"], "quarantine", "approve", q)
    check(ctx, ok1 and rc == 0 and cli.state(q) == "requested" and not released_copies(ctx, it.ident),
          "approvals = 2: one approval leaves it requested, nothing sent: %s" % out.strip()[:200],
          described(rc, out, err))
    rc, out, err = cli.run(login["boss"], "quarantine", "approve", q)
    check(ctx, rc == 1 and "approvals = 2" in err,
          "the same approver approving twice is refused: %s" % err.strip()[:200], described(rc, out, err))
    rc, out, err = cli.run(login["boss"], "quarantine", "release", q)
    check(ctx, rc == 1 and "requested" in err, "a release with one approval of two is refused: %s"
          % err.strip()[:200], described(rc, out, err))
    rc, out, err = cli.run(login["boss2"], "quarantine", "approve", q)
    check(ctx, rc == 0 and "released" in out,
          "the second approver's approval sends it (on_approve = send): %s" % out.strip()[:300],
          described(rc, out, err))
    h.wait_until(lambda: released_copies(ctx, it.ident), 60, step=0.25)
    ctx.wait_delivered([it.ident], 30)
    copies = released_copies(ctx, it.ident)
    p = subprocess.run([cli.exe, "quarantine", "extract", q, "--config", m.conf], stdout=subprocess.PIPE,
                       stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, timeout=60)
    probs = ["%d released copies at the sink" % len(copies)] if len(copies) != 1 else []
    if copies:
        probs += judge_released(copies[0], p.stdout, it, q, "boss2", "boss,boss2", 1)
    check(ctx, not probs and cli.state(q) == "released",
          "the sink receives it once, X-Mugai-Released by=boss2; approved-by=boss,boss2", probs)
    steps = [("request", "staff"), ("approve", "boss"), ("refused", "approvals = 2"), ("approve", "boss2"),
             ("release-attempt", "boss2"), ("release", "boss2")]
    check(ctx, not judge_audit_steps(m, q, steps), "the audit log has each step with who",
          judge_audit_steps(m, q, steps))


def no_clamav(ctx, m, cli, login, reinject):
    """[clamav] required = no and no database: mail is still sanitized,
    but a release is refused, never sent unscanned.  Returns the item."""
    empty = os.path.join(m.dir, "no-signatures")
    os.makedirs(empty, exist_ok=True)
    rc, probs = m.stop()
    m.write_config(clamav_db=empty, extra=release_conf(reinject, "required = no\n"))
    os.chmod(m.conf, 0o644)
    if not check(ctx, rc == 0 and not probs and ctx.start_milter(m),
                 "mugai-milter restarts with no ClamAV database ([clamav] required = no)", probs):
        return None
    n = message("wf-unscanned", "no signatures today")
    r = send_one(ctx.postfix.smtp_port, n)
    qn = quarantine_id(cli, r.qid) if r.code == 250 and ctx.wait_delivered([n.ident], 60) else None
    ok1 = qn and cli.run(login["staff"], "quarantine", "request", qn, "--reason", "needed")[0] == 0
    ok2 = ok1 and cli.run(login["boss"], "quarantine", "approve", qn)[0] == 0
    if not check(ctx, ok2, "a message is delivered unscanned, quarantined (%s), requested and approved" % r):
        return n
    rc, out, err = cli.run(login["boss"], "quarantine", "release", qn)
    check(ctx, rc == 1 and "ClamAV" in err and cli.state(qn) == "approved",
          "its release is refused, naming ClamAV (never sent unscanned): %s" % err.strip()[:300],
          described(rc, out, err))
    check(ctx, not judge_audit_steps(m, qn, [("release-attempt", "boss"), ("release-refused", "ClamAV")]),
          "the audit log has release-attempt and release-refused",
          judge_audit_steps(m, qn, [("release-attempt", "boss"), ("release-refused", "ClamAV")]))
    return n
