"""The dbreload end-to-end scenario (run-e2e.py, which sets sys.path,
runs it; its docstring describes it)."""

import os
import re
import shutil
import threading
import time

import harness as h
from common import text_message, Item, Sender, send_one, leftover_check, EICAR, EICAR_SIG


LATER_SIG = "Mugai.Test.Later"


LATER_MARKER = "MUGAI-LATER-MARKER-7f3a"


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
