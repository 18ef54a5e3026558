"""The hostile end-to-end scenario (run-e2e.py, which sets sys.path,
runs it; its docstring describes it)."""

import os
import signal
import time

import harness as h
import mugaitest as mt
import threatmail
from common import (
    text_message, Sender, judge_delivered, quarantine_index, judge_quarantined, audit_index, judge_audit,
    leftover_check, mail)


HOSTILE_TIMEOUT = 4   # [sandbox] timeout of the hostile scenario, seconds


TIMEOUT_REASON = "変換が制限時間内に終わりませんでした"


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
