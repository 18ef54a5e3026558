"""The audit end-to-end scenario (run-e2e.py, which sets sys.path,
runs it; its docstring describes it)."""

import json
import os
import signal
import subprocess
import threading
import time

import harness as h
from common import (
    run_cmd,
    text_message, Item, send_one, received_original, judge_delivered, leftover_check, store_mode_problems)


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
    # the hash chain runs on across the rotations, untouched
    rc, out = run_cmd([ctx.args.mugai, "audit", "verify"] + files, 60)
    ctx.ok(rc == 0 and out.startswith("intact:"),
           "mugai audit verify: the chain is intact across the rotated files (%s)" % out.strip(),
           out.splitlines()[-3:])
    # 4. Modes: the store and the log are mugai's alone
    probs = store_mode_problems(m)
    ctx.ok(not probs and m.quarantine_entries(), "quarantine 0700 (day directories 0700, files 0600), audit log 0600",
           probs[:10])
    leftover_check(ctx, m)
