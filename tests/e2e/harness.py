"""Plumbing for the Postfix end-to-end tests (tests/e2e/run-e2e.py).

A private Postfix instance, an SMTP sink standing for the LGWAN-side mail
server, mugai-milter processes and an SMTP client, all on 127.0.0.1 and on
ports picked free at run time.  Every process started here is remembered by
PID (and start time, so a recycled PID is never signalled) and stopped by
PID when the test ends.

    test client --smtp--> Postfix smtpd (smtpd_milters = mugai-milter)
                              |  queue
                              v
                          Postfix smtp --> sink (relayhost)

A second smtpd ("hop", no milter) queues mail and hands it on through a
content_filter to a third smtpd that has the milter: a 4xx from the milter
there is a deferral that Postfix itself retries, which the direct path
cannot show (a before-queue milter's 4xx goes back to the SMTP client).

Standard library only (Python 3.11).
"""

import json
import os
import re
import shutil
import signal
import smtplib
import socket
import socketserver
import struct
import subprocess
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
POSTFIX = shutil.which("postfix", path="/usr/sbin:/usr/bin:/sbin:/bin:" + os.environ.get("PATH", ""))
POSTCONF = shutil.which("postconf", path="/usr/sbin:/usr/bin:/sbin:/bin:" + os.environ.get("PATH", ""))
POSTQUEUE = shutil.which("postqueue", path="/usr/sbin:/usr/bin:/sbin:/bin:" + os.environ.get("PATH", ""))
POSTSUPER = shutil.which("postsuper", path="/usr/sbin:/usr/bin:/sbin:/bin:" + os.environ.get("PATH", ""))

MYHOSTNAME = "mx.mugai-e2e.test"


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_ports(n):
    """n distinct free ports (held open together so they differ)."""
    socks, ports = [], []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
            ports.append(s.getsockname()[1])
    finally:
        for s in socks:
            s.close()
    return ports


def wait_until(pred, timeout, step=0.1):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(step)


def tail(path, offset=0, lines=60):
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            data = f.read()
    except OSError as e:
        return ["(%s: %s)" % (path, e.strerror)]
    text = data.decode("utf-8", "replace").splitlines()
    out = text[-lines:]
    if len(text) > lines:
        out.insert(0, "... (%d earlier lines in %s)" % (len(text) - lines, path))
    return out


def file_size(path):
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


# ---------------------------------------------------------------------------
# Processes


def proc_stat(pid):
    """(comm, state, ppid, pgrp, session, starttime) or None."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            data = f.read().decode("ascii", "replace")
    except OSError:
        return None
    lp, rp = data.find("("), data.rfind(")")
    comm = data[lp + 1:rp]
    fields = data[rp + 2:].split()
    # fields[0] = state, [1] ppid, [2] pgrp, [3] session, [19] starttime
    return comm, fields[0], int(fields[1]), int(fields[2]), int(fields[3]), int(fields[19])


def all_procs():
    out = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            st = proc_stat(int(name))
            if st:
                out[int(name)] = st
    return out


def descendants(root, procs=None):
    procs = procs if procs is not None else all_procs()
    children = {}
    for pid, st in procs.items():
        children.setdefault(st[2], []).append(pid)
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        for c in children.get(p, []):
            out.append(c)
            todo.append(c)
    return out


def alive(pid, starttime=None):
    st = proc_stat(pid)
    if st is None or st[1] == "Z":
        return False
    return starttime is None or st[5] == starttime


def proc_status(pid):
    """Fields of /proc/PID/status (VmHWM, VmRSS in kB as ints)."""
    out = {}
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                k, _, v = line.partition(":")
                v = v.strip()
                if v.endswith(" kB"):
                    out[k] = int(v[:-3])
                else:
                    out[k] = v
    except OSError:
        pass
    return out


def cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()
    except OSError:
        return "?"


def become_subreaper():
    """PR_SET_CHILD_SUBREAPER: the Postfix master (it daemonizes) and any
    orphan of mugai-milter become our children, so that they can be
    reaped here even where PID 1 does not reap (some containers)."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(36, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def reap(keep=()):
    """Reaps our zombie children except the PIDs in keep (those a Popen
    object waits for).  Call only when no subprocess.run() is under way in
    another thread."""
    me = os.getpid()
    for pid, st in all_procs().items():
        if st[2] == me and st[1] == "Z" and pid not in keep:
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass


def kill_pid(pid, starttime, sig=signal.SIGKILL):
    """Signals pid only when it is still the process we saw (same start
    time)."""
    if alive(pid, starttime):
        try:
            os.kill(pid, sig)
            return True
        except ProcessLookupError:
            pass
    return False


# ---------------------------------------------------------------------------
# The sink: a small threaded SMTP server that records every message with
# its envelope, in memory and as files (NNNNNN.eml + NNNNNN.json).

E2E_ID = re.compile(rb"^X-E2E-Id:[ \t]*(\S+)", re.I | re.M)


def header_block(data):
    m = re.search(rb"\r?\n\r?\n", data)
    return data[:m.start() + 1] if m else data


def e2e_id(data):
    m = E2E_ID.search(header_block(data))
    return m.group(1).decode("ascii", "replace") if m else None


class SinkMessage:
    def __init__(self, n, mail_from, rcpts, data, path):
        self.n = n
        self.mail_from = mail_from
        self.rcpts = rcpts
        self.data = data
        self.path = path
        self.time = time.monotonic()
        self.id = e2e_id(data)


class _SinkHandler(socketserver.StreamRequestHandler):
    timeout = 300

    def reply(self, text):
        self.wfile.write(text.encode("ascii") + b"\r\n")
        self.wfile.flush()

    def handle(self):
        sink = self.server.sink
        self.reply("220 lgwan-sink.mugai-e2e.test ESMTP e2e sink")
        mail_from, rcpts = None, []
        while True:
            line = self.rfile.readline(65536)
            if not line:
                return
            cmd = line.decode("utf-8", "replace").rstrip("\r\n")
            verb = cmd.split(" ", 1)[0].upper()
            if verb == "EHLO":
                self.wfile.write(b"250-lgwan-sink.mugai-e2e.test\r\n250-8BITMIME\r\n"
                                 b"250-SIZE 200000000\r\n250-SMTPUTF8\r\n250 ENHANCEDSTATUSCODES\r\n")
                self.wfile.flush()
            elif verb == "HELO":
                self.reply("250 lgwan-sink.mugai-e2e.test")
            elif verb == "MAIL":
                m = re.match(r"(?i)MAIL FROM:\s*<([^>]*)>", cmd)
                mail_from, rcpts = (m.group(1) if m else cmd), []
                self.reply("250 2.1.0 Ok")
            elif verb == "RCPT":
                m = re.match(r"(?i)RCPT TO:\s*<([^>]*)>", cmd)
                rcpts.append(m.group(1) if m else cmd)
                self.reply("250 2.1.5 Ok")
            elif verb == "DATA":
                if mail_from is None or not rcpts:
                    self.reply("503 5.5.1 Error: need MAIL and RCPT")
                    continue
                self.reply("354 End data with <CR><LF>.<CR><LF>")
                chunks = []
                while True:
                    l = self.rfile.readline(1 << 20)
                    if not l:
                        return
                    if l in (b".\r\n", b".\n"):
                        break
                    if l.startswith(b"."):
                        l = l[1:]
                    chunks.append(l)
                n = sink.store(mail_from, rcpts, b"".join(chunks))
                self.reply("250 2.0.0 Ok: stored as %d" % n)
                mail_from, rcpts = None, []
            elif verb == "RSET":
                mail_from, rcpts = None, []
                self.reply("250 2.0.0 Ok")
            elif verb == "NOOP":
                self.reply("250 2.0.0 Ok")
            elif verb == "QUIT":
                self.reply("221 2.0.0 Bye")
                return
            else:
                self.reply("502 5.5.2 Error: command not recognized")


class _SinkServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class Sink:
    def __init__(self, directory):
        self.dir = directory
        os.makedirs(directory, exist_ok=True)
        self.lock = threading.Lock()
        self.messages = []
        self.server = None
        self.thread = None
        self.port = None

    def start(self):
        self.server = _SinkServer(("127.0.0.1", 0), _SinkHandler)
        self.server.sink = self
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, name="sink", daemon=True)
        self.thread.start()

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def store(self, mail_from, rcpts, data):
        with self.lock:
            n = len(self.messages) + 1
            path = os.path.join(self.dir, "%06d.eml" % n)
            with open(path, "wb") as f:
                f.write(data)
            with open(os.path.join(self.dir, "%06d.json" % n), "w") as f:
                json.dump({"mail_from": mail_from, "rcpts": rcpts, "id": e2e_id(data)}, f)
            self.messages.append(SinkMessage(n, mail_from, rcpts, data, path))
            return n

    def by_id(self, prefix=None):
        """{X-E2E-Id: [SinkMessage]} (ids starting with prefix)."""
        out = {}
        with self.lock:
            for m in self.messages:
                if prefix is None or (m.id or "").startswith(prefix):
                    out.setdefault(m.id, []).append(m)
        return out

    def count(self, prefix=None):
        return sum(len(v) for v in self.by_id(prefix).values())


# ---------------------------------------------------------------------------
# The private Postfix instance

MASTER_CF = """\
# generated by tests/e2e/harness.py
# service type  private unpriv  chroot  wakeup  maxproc command + args
127.0.0.1:{smtp_port} inet n - n - - smtpd
127.0.0.1:{hop_port} inet n - n - - smtpd
  -o smtpd_milters=
  -o content_filter=smtp:[127.0.0.1]:{relayin_port}
127.0.0.1:{relayin_port} inet n - n - - smtpd
  -o myhostname=milter-in.mugai-e2e.test
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""

MAIN_CF = """\
# generated by tests/e2e/harness.py: a private instance for the mugai
# end-to-end tests; nothing here listens beyond 127.0.0.1.
compatibility_level = 3.6
queue_directory = {queue}
data_directory = {data}
mail_owner = postfix
setgid_group = postdrop
myhostname = {myhostname}
mydomain = mugai-e2e.test
myorigin = $myhostname
mydestination =
local_recipient_maps =
local_transport = error:5.1.1 local delivery is disabled
alias_maps =
alias_database =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relay_domains =
relayhost = [127.0.0.1]:{sink_port}
smtpd_relay_restrictions = permit_mynetworks, reject
smtpd_recipient_restrictions =
# Mail from 127.0.0.1 stands for Internet mail: no header completion.
local_header_rewrite_clients =
smtpd_peername_lookup = no
smtpd_banner = $myhostname ESMTP
biff = no
append_dot_mydomain = no
enable_long_queue_ids = yes
smtpd_milters = {milters}
non_smtpd_milters =
milter_protocol = 6
milter_default_action = tempfail
milter_connect_timeout = 10s
milter_command_timeout = 30s
milter_content_timeout = {content_timeout}
message_size_limit = 60000000
mailbox_size_limit = 0
smtp_tls_security_level = none
smtpd_tls_security_level = none
maillog_file = {log}
maillog_file_prefixes = {root}
queue_run_delay = 5s
minimal_backoff_time = 5s
maximal_backoff_time = 10s
# Many refusals in one session are expected here: no tarpit.
smtpd_error_sleep_time = 0
smtpd_soft_error_limit = 1000
smtpd_hard_error_limit = 2000
smtpd_junk_command_limit = 1000
smtp_connect_timeout = 10s
"""


class Postfix:
    def __init__(self, root, sink_port, milter_port, content_timeout="60s"):
        self.root = root
        self.conf = os.path.join(root, "etc")
        self.queue = os.path.join(root, "spool")
        self.data = os.path.join(root, "data")
        self.log = os.path.join(root, "postfix.log")
        self.smtp_port, self.hop_port, self.relayin_port = free_ports(3)
        self.sink_port = sink_port
        self.milter_port = milter_port
        self.content_timeout = content_timeout
        self.master = None  # (pid, starttime)
        self.seen = {}

    def env(self):
        env = dict(os.environ)
        env["MAIL_CONFIG"] = self.conf
        env.pop("MAIL_DEBUG", None)
        return env

    def run(self, *args, timeout=60):
        p = subprocess.run([POSTFIX, "-c", self.conf] + list(args), stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout,
                           env=self.env())
        return p.returncode, p.stdout.decode("utf-8", "replace")

    def write_config(self):
        for d in (self.conf, self.queue, self.data):
            os.makedirs(d, exist_ok=True)
        os.chmod(self.root, 0o755)
        milters = "inet:127.0.0.1:%d" % self.milter_port if self.milter_port else ""
        with open(os.path.join(self.conf, "main.cf"), "w") as f:
            f.write(MAIN_CF.format(queue=self.queue, data=self.data, myhostname=MYHOSTNAME,
                                   sink_port=self.sink_port, milters=milters, log=self.log,
                                   root=self.root, content_timeout=self.content_timeout))
        with open(os.path.join(self.conf, "master.cf"), "w") as f:
            f.write(MASTER_CF.format(smtp_port=self.smtp_port, hop_port=self.hop_port,
                                     relayin_port=self.relayin_port))
        # Postfix wants root-owned configuration and a postfix-owned data
        # directory; post-install creates the queue tree with its owners.
        for name in ("main.cf", "master.cf"):
            os.chmod(os.path.join(self.conf, name), 0o644)
        shutil.chown(self.data, "postfix", "postfix")
        os.chmod(self.data, 0o700)

    def check(self):
        return self.run("check")

    def add_smtpd(self, *options):
        """One more smtpd on a free 127.0.0.1 port with `-o` options (e.g.
        smtpd_milters=unix:PATH), added to master.cf and taken by `postfix
        reload`; returns the port, or None when it does not listen."""
        port = free_port()
        with open(os.path.join(self.conf, "master.cf"), "a") as f:
            f.write("127.0.0.1:%d inet n - n - - smtpd\n" % port)
            for o in options:
                f.write("  -o %s\n" % o)
        rc, _out = self.run("reload")
        if rc != 0 or not wait_until(lambda: self.listening(port), 15):
            return None
        self.remember()
        return port

    def set_milters(self, spec):
        """smtpd_milters = spec (the hop's own override stays), then
        postfix reload; returns (rc, output)."""
        p = subprocess.run([POSTCONF, "-c", self.conf, "-e", "smtpd_milters=" + spec],
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=30, env=self.env())
        if p.returncode != 0:
            return p.returncode, p.stdout.decode("utf-8", "replace")
        rc, out = self.run("reload")
        time.sleep(2)  # smtpd processes of the old configuration finish
        self.remember()
        return rc, out

    def master_pid(self):
        try:
            with open(os.path.join(self.queue, "pid", "master.pid")) as f:
                pid = int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            return None
        return pid if alive(pid) else None

    def start(self):
        rc, out = self.run("start")
        if rc != 0:
            return rc, out
        pid = wait_until(self.master_pid, 15)
        if not pid:
            return 1, out + "\nmaster did not write its pid file"
        self.master = (pid, proc_stat(pid)[5])
        ok = wait_until(lambda: self.listening(self.smtp_port), 15)
        if not ok:
            return 1, out + "\nsmtpd is not listening on 127.0.0.1:%d" % self.smtp_port
        self.remember()
        return 0, out

    @staticmethod
    def listening(port):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
                s.settimeout(5)
                return s.recv(100).startswith(b"220")
        except OSError:
            return False

    def remember(self):
        if self.master:
            procs = all_procs()
            for pid in [self.master[0]] + descendants(self.master[0], procs):
                if pid in procs:
                    self.seen[pid] = procs[pid][5]

    def queue_files(self):
        """Queue files still in the instance (incoming, active, deferred,
        hold, maildrop)."""
        out = []
        for sub in ("maildrop", "incoming", "active", "deferred", "hold"):
            for dirpath, _dirs, files in os.walk(os.path.join(self.queue, sub)):
                out += [os.path.join(dirpath, f) for f in files]
        return out

    def wait_queue_empty(self, timeout):
        return wait_until(lambda: not self.queue_files(), timeout, step=0.25)

    def flush(self):
        """Asks the queue manager to retry deferred mail now."""
        try:
            subprocess.run([POSTQUEUE, "-c", self.conf, "-f"], stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30,
                           env=self.env())
        except (OSError, subprocess.TimeoutExpired):
            pass

    def purge(self):
        """Deletes every queued message (postsuper -d ALL)."""
        try:
            subprocess.run([POSTSUPER, "-c", self.conf, "-d", "ALL"], stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60,
                           env=self.env())
        except (OSError, subprocess.TimeoutExpired):
            pass

    def mailq(self):
        try:
            p = subprocess.run([POSTQUEUE, "-c", self.conf, "-p"], stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30,
                               env=self.env())
            return p.stdout.decode("utf-8", "replace").splitlines()
        except (OSError, subprocess.TimeoutExpired) as e:
            return ["postqueue: %s" % e]

    def log_offset(self):
        return file_size(self.log)

    def log_text(self, offset=0):
        try:
            with open(self.log, "rb") as f:
                f.seek(offset)
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def stop(self):
        """postfix stop, then makes sure the master and every process it
        started are gone (SIGKILL by PID as a last resort).  Returns a list
        of problems."""
        problems = []
        if self.master is None:
            return problems
        self.remember()
        try:
            rc, out = self.run("stop")
            if rc != 0:
                problems.append("postfix stop: exit %d: %s" % (rc, out.strip()))
        except subprocess.TimeoutExpired:
            problems.append("postfix stop timed out")
        pid, start = self.master
        if not wait_until(lambda: not alive(pid, start), 20):
            problems.append("master %d still running 20 s after postfix stop: killed" % pid)
            kill_pid(pid, start)
        # Children exit when the master goes; anything left is killed.
        wait_until(lambda: not any(alive(p, s) for p, s in self.seen.items()), 10)
        for p, s in self.seen.items():
            if kill_pid(p, s):
                problems.append("postfix process %d (%s) left running: killed" % (p, cmdline(p)))
        self.master = None
        reap()
        return problems


# ---------------------------------------------------------------------------
# mugai-milter processes

CONFIG_TEMPLATE = """\
# generated by tests/e2e/harness.py
[milter]
socket = {socket}
spool_dir = {spool}
spool_threshold = 1M
workers = {workers}
message_timeout = {message_timeout}
queue_timeout = {queue_timeout}
pid_file = {pid_file}
run_dir = {run_dir}
{users}{milter_extra}
[quarantine]
dir = {quarantine}

[audit]
file = {audit}
syslog = no

[sandbox]
filters = {filters}

[clamav]
database = {clamav_db}
{extra}"""


# A user per role, as the README makes them (mugai-milter(8), ROLES): the
# front (Postfix's peer), the pool and its workers, the storer (the only
# one that can open the quarantine and the audit log).
ROLE_USERS = {"user": "mugai-e2e-front", "worker_user": "mugai-e2e-worker",
              "storer_user": "mugai-e2e-store"}


def ensure_role_users():
    """Makes the roles' system users if missing (root only).  Returns the
    [milter] lines that name them, or "" when they cannot be made."""
    import pwd
    for name in ROLE_USERS.values():
        try:
            pwd.getpwnam(name)
        except KeyError:
            r = subprocess.run(["useradd", "--system", "--user-group", "--no-create-home",
                                "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", name],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            if r.returncode != 0:
                return ""
    return "".join("%s = %s\n" % kv for kv in ROLE_USERS.items())


def role_uids():
    """{role key: uid} of ROLE_USERS that exist."""
    import pwd
    out = {}
    for key, name in ROLE_USERS.items():
        try:
            out[key] = pwd.getpwnam(name).pw_uid
        except KeyError:
            pass
    return out


def _milter_connect(port, timeout, path=None):
    if path is None:
        return socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(path)
    except OSError:
        s.close()
        raise
    return s


def milter_ping(port, timeout=2.0, path=None):
    """True when a milter on 127.0.0.1:port (or the Unix socket path)
    answers option negotiation (SMFIC_OPTNEG, protocol version 6), as
    Postfix would open a session."""
    try:
        with _milter_connect(port, timeout, path) as s:
            s.settimeout(timeout)
            body = b"O" + struct.pack(">III", 6, 0x1FF, 0x1FFFFF)
            s.sendall(struct.pack(">I", len(body)) + body)
            hdr = b""
            while len(hdr) < 5:
                chunk = s.recv(5 - len(hdr))
                if not chunk:
                    return False
                hdr += chunk
            ok = hdr[4:5] == b"O"
            try:
                s.sendall(struct.pack(">I", 1) + b"Q")
            except OSError:
                pass
            return ok
    except OSError:
        return False


class Milter:
    """One mugai-milter configuration and the processes started with it.
    Every process seen in the sessions of the processes started here is
    remembered (PID, start time) so that nothing is left behind."""

    def __init__(self, exe, directory, port, workers=4, message_timeout=15, queue_timeout=20,
                 extra="", milter_extra="", clamav_db=None, unix_socket=None, filters=None,
                 users=None):
        self.exe = exe
        # set by a scenario that starts the daemon another way (UnitSandbox):
        self.prefix = []          # argv before the executable
        self.conf_arg = None      # the -c argument, when not self.conf
        self.tmpdir = None        # TMPDIR, when not self.tmp
        self.dir = directory
        self.port = port
        self.unix_socket = unix_socket  # a path: the milter listens there, not on port
        self.spool = os.path.join(directory, "spool")
        self.quarantine = os.path.join(directory, "quarantine")
        # a directory of its own: the storer makes it 0700, its own
        self.audit = os.path.join(directory, "log", "audit.jsonl")
        self.pid_file = os.path.join(directory, "mugai-milter.pid")
        self.conf = os.path.join(directory, "mugai.conf")
        self.log = os.path.join(directory, "milter.log")
        self.tmp = os.path.join(directory, "tmp")
        self.run_dir = os.path.join(directory, "run")
        # users=None: the roles' own users (ensure_role_users), as the
        # README runs the daemon; "": the starting user for every role
        self.users = ensure_role_users() if users is None and os.geteuid() == 0 else (users or "")
        self.params = dict(run_dir=self.run_dir, users=self.users,port=port, socket=("unix:" + unix_socket) if unix_socket
                           else "inet:%d@127.0.0.1" % port, spool=self.spool, quarantine=self.quarantine,
                           audit=self.audit, pid_file=self.pid_file, workers=workers,
                           message_timeout=message_timeout, queue_timeout=queue_timeout,
                           extra=extra, milter_extra=milter_extra,
                           clamav_db=clamav_db or os.environ.get("MUGAI_TEST_CLAMAV_DB", "/var/lib/clamav"),
                           # the filters of the same build tree: TREE/src/mugai-milter -> TREE/filters
                           filters=filters or os.environ.get("MUGAI_TEST_FILTERS") or os.path.join(
                               os.path.dirname(os.path.dirname(os.path.abspath(exe))), "filters"))
        for d in (self.dir, self.spool, self.quarantine):
            os.makedirs(d, exist_ok=True)
        self.procs = []     # Popen of every start
        self.seen = {}      # pid -> starttime
        self.logf = None
        self.write_config()

    @property
    def message_timeout(self):
        return self.params["message_timeout"]

    def config_text(self, **changes):
        p = dict(self.params)
        p.update(changes)
        return CONFIG_TEMPLATE.format(**p)

    def write_config(self, text=None, **changes):
        if changes:
            self.params.update(changes)
        with open(self.conf + ".tmp", "w") as f:
            f.write(text if text is not None else self.config_text())
        os.replace(self.conf + ".tmp", self.conf)

    def check_config(self):
        try:
            p = subprocess.run(self.prefix + [self.exe, "-c", self.conf_arg or self.conf, "-t"],
                               stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
            return p.returncode, p.stdout.decode("utf-8", "replace")
        except subprocess.TimeoutExpired:
            return None, "mugai-milter -t did not finish in 60 s"

    def start(self, timeout=30):
        """Starts `mugai-milter -c CONF -f` and waits until it answers on its
        socket.  Returns (ok, problem text)."""
        if self.logf is None:
            self.logf = open(self.log, "ab")
        self.logf.write(b"==== e2e: starting mugai-milter at %s\n" % time.strftime("%H:%M:%S").encode())
        self.logf.flush()
        # a temporary directory of its own, so that what the filters'
        # sandbox leaves there can be seen (self.tmp); the workers make
        # their private directories there under their own user
        os.makedirs(self.tmp, exist_ok=True)
        os.chmod(self.tmp, 0o1777)
        proc = subprocess.Popen(self.prefix + [self.exe, "-c", self.conf_arg or self.conf, "-f"],
                                stdin=subprocess.DEVNULL,
                                stdout=self.logf, stderr=subprocess.STDOUT, start_new_session=True,
                                env=dict(os.environ, TMPDIR=self.tmpdir or self.tmp))
        self.procs.append(proc)
        st = proc_stat(proc.pid)
        if st:
            self.seen[proc.pid] = st[5]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                return False, "mugai-milter exited with status %s at start" % proc.returncode
            if milter_ping(self.port, timeout=1.0, path=self.unix_socket):
                self.remember()
                return True, None
            time.sleep(0.1)
        return False, "mugai-milter did not answer on %s within %d s" % (
            self.unix_socket or "127.0.0.1:%d" % self.port, timeout)

    @property
    def proc(self):
        return self.procs[-1] if self.procs else None

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def pid_from_file(self):
        try:
            with open(self.pid_file) as f:
                return int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def main_pid(self):
        """The main process: from the pid file when it names a live process
        of ours, else the process we started."""
        pid = self.pid_from_file()
        if pid and alive(pid) and self.proc and pid == self.proc.pid:
            return pid
        return self.proc.pid if self.proc else None

    def remember(self):
        """Records every process of our sessions and under our main
        processes; returns {pid: stat} of those alive now."""
        procs = all_procs()
        mine = {}
        sids = {p.pid for p in self.procs}
        for pid, st in procs.items():
            if st[4] in sids or st[3] in sids:
                mine[pid] = st
        for p in self.procs:
            if p.poll() is None:
                for d in descendants(p.pid, procs):
                    mine[d] = procs[d]
        for pid, st in mine.items():
            if st[1] != "Z":
                self.seen.setdefault(pid, st[5])
        return {pid: st for pid, st in mine.items() if st[1] != "Z"}

    def tree(self):
        """[(pid, depth, comm)] under the current main process."""
        main = self.main_pid()
        if not main or not alive(main):
            return []
        procs = all_procs()
        out = [(main, 0, procs.get(main, ("?",))[0])]
        depth = {main: 0}
        children = {}
        for pid, st in procs.items():
            children.setdefault(st[2], []).append(pid)
        todo = [main]
        while todo:
            p = todo.pop(0)
            for c in sorted(children.get(p, [])):
                depth[c] = depth[p] + 1
                out.append((c, depth[c], procs[c][0]))
                todo.append(c)
        self.remember()
        return out

    def leftovers(self, exclude_current=False):
        """Processes we saw that are still alive: [(pid, starttime)]."""
        current = set()
        if exclude_current and self.running():
            current = set(self.remember())
        return [(p, s) for p, s in self.seen.items() if p not in current and alive(p, s)]

    def signal(self, sig):
        pid = self.main_pid()
        if pid:
            self.remember()
            os.kill(pid, sig)
        return pid

    def stop(self, timeout=30):
        """SIGTERM to the main process and waits; SIGKILL after timeout.
        Returns (exit status or None, problems)."""
        problems = []
        proc = self.proc
        rc = None
        if proc is not None and proc.poll() is None:
            self.remember()
            try:
                proc.send_signal(signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                rc = proc.wait(timeout)
            except subprocess.TimeoutExpired:
                problems.append("mugai-milter %d did not exit within %d s of SIGTERM: killed"
                                % (proc.pid, timeout))
                proc.kill()
                proc.wait()
        elif proc is not None:
            rc = proc.returncode
        return rc, problems

    def cleanup(self, grace=5):
        """Stops everything of ours; returns problems (processes that had to
        be killed)."""
        problems = []
        for proc in self.procs:
            if proc.poll() is None:
                self.remember()
                try:
                    proc.send_signal(signal.SIGTERM)
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    problems.append("mugai-milter %d did not exit within 15 s of SIGTERM: killed" % proc.pid)
                    proc.kill()
                    proc.wait()
                except ProcessLookupError:
                    pass
        wait_until(lambda: not self.leftovers(), grace)
        for pid, start in self.leftovers():
            problems.append("process %d (%s) of mugai-milter left running: killed" % (pid, cmdline(pid)))
            kill_pid(pid, start)
        reap(keep={p.pid for p in self.procs if p.returncode is None})
        if self.logf:
            self.logf.close()
            self.logf = None
        return problems

    # -- what the daemon wrote

    def audit_lines(self):
        out, bad = [], []
        try:
            with open(self.audit, "rb") as f:
                data = f.read()
        except OSError:
            return out, bad
        for n, line in enumerate(data.split(b"\n"), 1):
            if not line.strip():
                continue
            try:
                out.append(json.loads(line.decode("utf-8")))
            except (UnicodeDecodeError, ValueError) as e:
                bad.append("audit line %d is not JSON: %s" % (n, e))
        return out, bad

    def quarantine_entries(self):
        """[(record dict or None, where, eml path or None)] of every entry
        of the quarantine: with the sqlite backend (the default) as
        `mugai quarantine list --json` lists them (where: "index:ID"),
        with the files backend every ID.json (where: its path); plus every
        .eml that no entry names (None, None, path)."""
        out = []
        emls = set()
        for dirpath, _dirs, files in os.walk(self.quarantine):
            for f in files:
                if f.endswith(".eml"):
                    emls.add(os.path.join(dirpath, f))
        cli = os.environ.get("MUGAI_BIN")
        if cli and os.path.exists(os.path.join(self.quarantine, "index.sqlite")):
            p = subprocess.run([cli, "quarantine", "list", "--json", "--config",
                                self.conf_arg or self.conf], stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
            for line in p.stdout.decode("utf-8", "replace").splitlines():
                try:
                    meta = json.loads(line)
                except ValueError:
                    continue
                ident = meta.get("id") or "?"
                eml = os.path.join(self.quarantine, "%s-%s-%s" % (ident[0:4], ident[4:6], ident[6:8]),
                                   ident + ".eml")
                # a list carries no reports: `show` gives the whole record
                if meta.get("verdict") != "unreadable":
                    sp = subprocess.run([cli, "quarantine", "show", "--config", self.conf_arg or self.conf,
                                         ident], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL, timeout=60)
                    try:
                        meta = json.loads(sp.stdout.decode("utf-8", "replace")) if sp.returncode == 0 else meta
                    except ValueError:
                        pass
                out.append((None if meta.get("verdict") == "unreadable" else meta, "index:" + ident,
                            eml if eml in emls else None))
                emls.discard(eml)
            if p.returncode != 0:
                out.append((None, "mugai quarantine list: " + p.stderr.decode("utf-8", "replace")[-300:], None))
        for dirpath, _dirs, files in os.walk(self.quarantine):
            for f in sorted(files):
                if not f.endswith(".json"):
                    continue
                path = os.path.join(dirpath, f)
                eml = path[:-5] + ".eml"
                if eml not in emls:
                    continue
                try:
                    with open(path, "rb") as fh:
                        meta = json.loads(fh.read().decode("utf-8"))
                except (OSError, UnicodeDecodeError, ValueError):
                    meta = None
                out.append((meta, path, eml))
                emls.discard(eml)
        for eml in sorted(emls):
            out.append((None, None, eml))
        return out

    def spool_files(self):
        """Regular files in the spool directory (the daemon's sockets
        there do not count)."""
        out = []
        for dirpath, _dirs, files in os.walk(self.spool):
            for f in files:
                path = os.path.join(dirpath, f)
                if os.path.isfile(path) and not os.path.islink(path):
                    out.append(path)
        return out

    def spool_fds(self):
        """[(pid, target)] of open descriptors of our processes on files in
        the spool directory (unlinked ones included: O_TMPFILE shows as
        "DIR/#N (deleted)"): a message being spooled or processed."""
        out = []
        prefix = os.path.realpath(self.spool) + "/"
        for pid in self.remember():
            try:
                fds = os.listdir("/proc/%d/fd" % pid)
            except OSError:
                continue
            for fd in fds:
                try:
                    target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
                except OSError:
                    continue
                if target.startswith(prefix):
                    out.append((pid, target))
        return out

    def roles(self):
        """(front pid, [worker pids]) under the current main process: the
        front is the process named *front* (else the main process), the
        workers are the descendants of the one named *pool* (else every
        other process)."""
        tree = self.tree()
        main = tree[0][0] if tree else None
        front = next((p for p, _d, c in tree if "front" in c), main)
        pool = next((p for p, _d, c in tree if "pool" in c), None)
        if pool:
            workers = descendants(pool)
        else:
            workers = [p for p, _d, _c in tree if p not in (main, front)]
        return front, workers


# ---------------------------------------------------------------------------
# SMTP client


class Result:
    def __init__(self, stage, code, text, elapsed, error=None):
        self.stage = stage      # "connect", "MAIL", "RCPT", "DATA", "EOD"
        self.code = code        # int or None (connection failure)
        self.text = text
        self.elapsed = elapsed
        self.error = error
        m = re.search(r"queued as ([0-9A-Za-z]+)", text or "")
        self.qid = m.group(1) if m else None
        self.t_end = time.monotonic()

    @property
    def klass(self):
        """'2xx', '4xx', '5xx' or 'error'."""
        if self.code is None:
            return "error"
        return "%dxx" % (self.code // 100)

    def __str__(self):
        if self.code is None:
            return "%s failed: %s (%.1f s)" % (self.stage, self.error, self.elapsed)
        return "%s %d %s (%.1f s)" % (self.stage, self.code, self.text, self.elapsed)


class Session:
    """One SMTP client session, re-opened after a disconnect or 421."""

    def __init__(self, port, timeout=180):
        self.port = port
        self.timeout = timeout
        self.smtp = None

    def close(self):
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (smtplib.SMTPException, OSError):
                try:
                    self.smtp.close()
                except OSError:
                    pass
            self.smtp = None

    def send(self, sender, rcpts, data):
        t0 = time.monotonic()

        def res(stage, code, text, error=None):
            if isinstance(text, bytes):
                text = text.decode("utf-8", "replace")
            r = Result(stage, code, text, time.monotonic() - t0, error)
            if code is None or code == 421:
                self.close()
            return r

        stage = "connect"
        try:
            if self.smtp is None:
                s = smtplib.SMTP(timeout=self.timeout, local_hostname="client.internet.test")
                code, msg = s.connect("127.0.0.1", self.port)
                if code != 220:
                    try:
                        s.close()
                    except OSError:
                        pass
                    return res("connect", code, msg)
                code, msg = s.ehlo()
                if code != 250:
                    code, msg = s.helo()
                    if code != 250:
                        s.close()
                        return res("EHLO", code, msg)
                self.smtp = s
            s = self.smtp
            stage = "MAIL"
            code, msg = s.mail(sender)
            if code != 250:
                self._rset()
                return res(stage, code, msg)
            stage = "RCPT"
            for r in rcpts:
                code, msg = s.rcpt(r)
                if code not in (250, 251):
                    self._rset()
                    return res(stage, code, msg)
            stage = "DATA"
            try:
                code, msg = s.data(data)
            except smtplib.SMTPDataError as e:
                self._rset()
                return res("DATA", e.smtp_code, e.smtp_error)
            stage = "EOD"
            if code >= 400:
                self._rset()
            return res("EOD", code, msg)
        except smtplib.SMTPResponseException as e:
            return res(stage, e.smtp_code, e.smtp_error)
        except (smtplib.SMTPException, OSError) as e:
            return res(stage, None, "", "%s: %s" % (type(e).__name__, e))

    def _rset(self):
        try:
            if self.smtp is not None:
                self.smtp.rset()
        except (smtplib.SMTPException, OSError):
            self.smtp = None


def crlf(data):
    """LF or CRLF line ends to CRLF, as an MTA sends them (bare CR kept)."""
    return re.sub(rb"\r?\n", b"\r\n", data)


def with_id(data, ident, extra_headers=()):
    head = b"X-E2E-Id: " + ident.encode("ascii") + b"\r\n"
    for h in extra_headers:
        head += h.encode("ascii") + b"\r\n"
    return head + crlf(data)


def envelope(ident):
    return "sender-%s@internet.test" % ident, ["%s@lgwan.test" % ident]


# ---------------------------------------------------------------------------
# mugai-milter.service by hand (no systemd here)


def unit_settings(path):
    """{key: [values]} of the [Service] section of a systemd unit file."""
    out = {}
    section = None
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith(("#", ";")):
                continue
            if line.startswith("["):
                section = line.strip("[]")
                continue
            if section == "Service" and "=" in line:
                k, v = line.split("=", 1)
                out.setdefault(k.strip(), []).append(v.strip())
    return out


class UnitSandbox:
    """What mugai-milter.service gives the daemon, reproduced by hand where
    no systemd runs, from the unit file itself:

      - a mount namespace (unshare -m) where every mount but /dev, /proc
        and /sys is read-only (ProtectSystem=strict), /tmp and /var/tmp
        are private tmpfs (PrivateTmp=yes), /home, /root and /run/user
        empty (ProtectHome=yes), and only the unit's writable
        paths (StateDirectory=, LogsDirectory=, RuntimeDirectory=,
        ReadWritePaths=) are writable: each is bound from a directory of
        the test, so what the daemon writes there is seen from outside
        (the milter socket for Postfix, the quarantine, the audit log).
        A mount point missing on the host (/var/lib/mugai, ...) is made
        in an overlay of its parent: the host is not touched.  The
        configuration is bound read-only at /etc/mugai;
      - the unit's CapabilityBoundingSet= and NoNewPrivileges= (setpriv),
        and its UMask=.

    Not reproduced (seccomp and namespace restrictions, which need systemd):
    SystemCallFilter=, RestrictNamespaces=, RestrictAddressFamilies=,
    MemoryDenyWriteExecute=, the Protect*= of kernel settings."""

    def __init__(self, unit_path, root):
        self.unit = unit_path
        self.root = root
        self.settings = unit_settings(unit_path)
        st = self.settings
        self.caps = " ".join(st.get("CapabilityBoundingSet", [])).split()
        self.no_new_privs = st.get("NoNewPrivileges", ["no"])[-1] in ("yes", "true", "1")
        self.umask = st.get("UMask", [None])[-1]
        self.private_tmp = st.get("PrivateTmp", ["no"])[-1] in ("yes", "true", "1")
        self.protect_home = st.get("ProtectHome", ["no"])[-1] in ("yes", "true", "1")
        writable = []
        for key, base in (("StateDirectory", "/var/lib"), ("LogsDirectory", "/var/log"),
                          ("RuntimeDirectory", "/run"), ("CacheDirectory", "/var/cache")):
            for v in " ".join(st.get(key, [])).split():
                writable.append(os.path.join(base, v))
        for v in " ".join(st.get("ReadWritePaths", [])).split():
            writable.append(v.lstrip("-"))
        self.writable = writable
        # ExecStartPre=+... lines: run by systemd outside the sandbox
        self.privileged_pre = [v[1:] for v in st.get("ExecStartPre", []) if v.startswith("+")]
        self.binds = []  # (host dir, path inside, writable)
        for w in writable:
            self.binds.append((self.host_dir(w), w, True))
        self.etc = os.path.join(root, "etc-mugai")
        self.binds.append((self.etc, "/etc/mugai", False))
        for d, _w, _rw in self.binds:
            os.makedirs(d, exist_ok=True)
        os.chmod(root, 0o755)
        self.script = os.path.join(root, "unit-sandbox.sh")
        self.write_script()

    def host_dir(self, path):
        return os.path.join(self.root, "fs", path.strip("/").replace("/", "_"))

    def host_path(self, path):
        """The host file behind a path inside the sandbox (under one of
        the bound directories), or None."""
        for host, inside, _rw in self.binds:
            if path == inside or path.startswith(inside + "/"):
                return host + path[len(inside):]
        return None

    def capability_mask(self):
        names = {"CAP_CHOWN": 0, "CAP_DAC_OVERRIDE": 1, "CAP_DAC_READ_SEARCH": 2, "CAP_FOWNER": 3,
                 "CAP_FSETID": 4, "CAP_KILL": 5, "CAP_SETGID": 6, "CAP_SETUID": 7,
                 "CAP_SETPCAP": 8, "CAP_NET_BIND_SERVICE": 10, "CAP_SYS_RESOURCE": 24}
        mask = 0
        for c in self.caps:
            mask |= 1 << names[c]
        return mask

    def write_script(self):
        sh = ["#!/bin/sh", "# generated by tests/e2e/harness.py UnitSandbox from " + self.unit,
              "set -eu",
              "# ProtectSystem=strict: every mount of the host but /dev, /proc and /sys",
              "ro=$(awk '{print $5}' /proc/self/mountinfo | grep -Ev '^/(dev|proc|sys)(/|$)' | grep -v '\\\\' || true)"]
        overlaid = set()
        n = 0
        for host, inside, rw in self.binds:
            if not os.path.isdir(inside):
                # the nearest existing ancestor gets an overlay, so that the
                # mount point can be made without touching the host
                parent = os.path.dirname(inside)
                while not os.path.isdir(parent):
                    parent = os.path.dirname(parent)
                if parent not in overlaid:
                    n += 1
                    up = os.path.join(self.root, "overlay", str(n), "upper")
                    wk = os.path.join(self.root, "overlay", str(n), "work")
                    os.makedirs(up, exist_ok=True)
                    os.makedirs(wk, exist_ok=True)
                    sh.append("mount -t overlay overlay -o lowerdir=%s,upperdir=%s,workdir=%s %s"
                              % (parent, up, wk, parent))
                    sh.append("ro=\"$ro %s\"" % parent)
                    overlaid.add(parent)
                sh.append("mkdir -p %s" % inside)
            sh.append("mount --bind %s %s" % (host, inside))
            if not rw:
                sh.append("ro=\"$ro %s\"" % inside)
        if self.private_tmp:
            sh.append("# PrivateTmp=yes (what was mounted under /tmp is hidden by it)")
            sh.append("ro=$(for mp in $ro; do case $mp in /tmp/*|/var/tmp/*) ;; *) echo $mp;; esac; done)")
            sh.append("mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /tmp")
            sh.append("mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /var/tmp")
        if self.protect_home:
            sh.append("# ProtectHome=yes: empty and read-only")
            for d in ("/home", "/root", "/run/user"):
                if os.path.isdir(d):
                    sh.append("mount -t tmpfs -o ro,mode=0755,nosuid,nodev tmpfs %s" % d)
            sh.append("ro=$(for mp in $ro; do case $mp in /home/*|/root/*|/run/user/*) ;; *) echo $mp;; esac; done)")
        sh.append("for mp in $ro; do")
        sh.append("    mount -o remount,bind,ro \"$mp\" 2>/dev/null || "
                  "echo \"unit-sandbox: $mp stays writable\" >&2")
        sh.append("done")
        if self.umask:
            sh.append("umask %s" % self.umask)
        caps = ",".join("+" + c.lower()[4:] for c in self.caps)
        setpriv = "setpriv --bounding-set -all%s" % ("," + caps if caps else "")
        if self.no_new_privs:
            setpriv += " --no-new-privs"
        sh.append("exec %s -- \"$@\"" % setpriv)
        with open(self.script, "w") as f:
            f.write("\n".join(sh) + "\n")
        os.chmod(self.script, 0o755)

    def prefix(self):
        return [shutil.which("unshare") or "/usr/bin/unshare", "-m", "--propagation", "private",
                "/bin/sh", self.script]
