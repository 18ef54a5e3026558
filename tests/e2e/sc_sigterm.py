"""The sigterm end-to-end scenario (run-e2e.py, which sets sys.path,
runs it; its docstring describes it)."""

import os
import select
import signal
import smtplib
import time

import harness as h
from common import text_message, big_message, Item, send_one, judge_delivered, leftover_check


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
