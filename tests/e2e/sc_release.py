"""The release end-to-end scenario (run-e2e.py, which sets sys.path,
runs it; its docstring describes it)."""

import os
import shutil

import harness as h
from common import (
    SRCDIR, text_message, Item, send_one, leftover_check, run_cmd, delivered_texts)


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
    # the roles' users, as a package would make them
    sysusers = prefix + "/lib/sysusers.d/mugai.conf"
    if shutil.which("systemd-sysusers"):
        rc, out = run_cmd(["systemd-sysusers", "--dry-run", sysusers], 60)
        made = {u for u in ("mugai", "mugai-worker", "mugai-store") if "Creating user '%s'" % u in out
                or "user '%s'" % u in out}
        ctx.ok(os.path.exists(sysusers) and rc == 0 and "is not a valid" not in out,
               "the installed sysusers.d file is one systemd-sysusers takes (the roles' users)",
               out.splitlines()[-8:] + ["users named: %s" % sorted(made)])
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
