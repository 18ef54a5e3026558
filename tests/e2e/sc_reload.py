"""The reload end-to-end scenario (run-e2e.py, which sets sys.path,
runs it; its docstring describes it)."""

import os
import re
import signal
import time

import harness as h
from common import text_message, Item, send_one, judge_delivered, reason_ok, leftover_check


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
