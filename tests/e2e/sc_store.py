"""The store end-to-end scenario (run-e2e.py, which sets sys.path,
runs it; its docstring describes it)."""

import os
import re
import time

import harness as h
from common import (
    text_message, Item, send_one, judge_delivered, audit_index, judge_audit, leftover_check)


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
        ctx.ok(r.code == 451 and (r.text or "").startswith("4.7.0"), "the 4xx is mugai's 451 4.7.0 (%s)" % r)
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
