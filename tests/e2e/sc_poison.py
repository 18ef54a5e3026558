"""The poison end-to-end scenario (run-e2e.py, which sets sys.path,
runs it; its docstring describes it)."""

import re
import signal
import time

import harness as h
from common import (
    text_message, Item, Sender, judge_delivered, audit_index, judge_audit, leftover_check, proc_table)


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
    # the pool reaps the worker a moment after the front has answered:
    # its two lines (SIGALRM, SIGABRT) are waited for, not raced
    def log_text():
        return "\n".join(h.tail(m.log, lines=10 ** 7))
    h.wait_until(lambda: len(re.findall(r"pool: worker pid=\d+ killed by signal", log_text())) >= 2,
                 10)
    mlog = log_text()
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
