#!/usr/bin/env python3
"""A private PostgreSQL cluster for the tests, under a temporary directory.

Debian's postgresql package (tools/install-deps.sh installs it, and keeps
it from creating the system cluster "main") gives the binaries; a test
never touches a system cluster.  The cluster:

  ROOT/data        initdb -D, run by a user of its own (PG_USER) when the
                   tests run as root (initdb and postgres refuse root)
  ROOT/sock        its only listener: listen_addresses = '' (no TCP), the
                   Unix socket .s.PGSQL.5432 in a directory of mode 0700
                   (the cluster's user and root reach it, no one else);
                   authentication "trust" for that socket alone
  ROOT/postgres.log

Shared with other users (Cluster(root, client_group=GROUP), for the e2e
tests where mugai-milter's storer connects under a user of its own):

  ROOT and ROOT/sock are mode 0710 of GROUP, the socket 0770 of GROUP
  (unix_socket_group; the postmaster runs with GROUP as a supplementary
  group so that it may give the socket to it): the members of GROUP and
  root reach it, still no one else and no TCP;
  authentication: "peer" for the superuser, as root or the cluster's
  user only (pg_ident.conf), and scram-sha-256 for every other role,
  so that reaching the socket is not enough: make_store() gives the
  store's role a random password and writes it into the DSN file.

As a module (Python e2e tests):

    c = pgcluster.Cluster(root)        # root: an empty directory
    c.init(); c.start()
    dsn_file = c.make_store("mugai")   # a role and a database, a DSN file
    ...; c.kill() / c.start() / c.stop()

As a wrapper around a program (a C test):

    pgcluster.py run -- PROGRAM ARGS...

makes the cluster in a temporary directory, the store's role and database
and a DSN file (mode 0600), runs PROGRAM with

    MUGAI_TEST_PG_DSN_FILE   the DSN file, for postgresql:PATH
    MUGAI_TEST_PG_ADMIN      a conninfo as the superuser, to the store's database
    MUGAI_TEST_PG_STORER     the DSN file's conninfo, as a string
    MUGAI_TEST_PG_CTL        "PYTHON pgcluster.py ctl ROOT": add kill, start
                             or stop (a program can stop and restart the
                             database under its store)

then stops the cluster (by the postmaster's PID) and removes the directory;
its exit status is PROGRAM's.  Without the binaries it prints
"1..0 # SKIP" (TAP) and exits 0: that is the only reason to skip.

    pgcluster.py ctl ROOT kill    SIGKILL to the postmaster, then waits
                                  until it and its children are gone
    pgcluster.py ctl ROOT start   starts it again, waits until it answers
    pgcluster.py ctl ROOT stop    a fast shutdown (SIGINT), waited for

Processes are found by PID (postmaster.pid, /proc), never by name.
Standard library only.
"""

import glob
import grp
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mugaitest import Tap  # noqa: E402

PG_USER = "mugai-e2e-pg"
SUPERUSER = "postgres"
STORER = "mugai_storer"
PORT = 5432
START_TIMEOUT = 60
STOP_TIMEOUT = 60


def bindir():
    """The newest /usr/lib/postgresql/N/bin holding initdb, postgres and
    psql, or None."""
    found = []
    for d in glob.glob("/usr/lib/postgresql/*/bin"):
        if all(os.access(os.path.join(d, p), os.X_OK) for p in ("initdb", "postgres", "psql")):
            try:
                found.append((int(d.split("/")[-2]), d))
            except ValueError:
                pass
    return max(found)[1] if found else None


def ensure_user():
    """(uid, gid) to run the cluster as: PG_USER (made if missing) when we
    are root, else ourselves."""
    if os.geteuid() != 0:
        return os.getuid(), os.getgid()
    try:
        pw = pwd.getpwnam(PG_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--user-group", "--no-create-home", "--home-dir",
                        "/nonexistent", "--shell", "/usr/sbin/nologin", PG_USER],
                       check=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        pw = pwd.getpwnam(PG_USER)
    return pw.pw_uid, pw.pw_gid


def _alive(pid):
    """True while pid exists and is not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def _exists(pid):
    """True while pid exists, zombie or not."""
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def _children(pid):
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                    out.append(int(d))
        except (OSError, IndexError, ValueError):
            pass
    return out


class Cluster:
    def __init__(self, root, bin_dir=None, client_group=None):
        self.root = os.path.abspath(root)
        # a group name or gid whose members may reach the socket (see
        # the module's docstring), or None: the cluster's user and root
        self.client_gid = None
        if client_group is not None:
            self.client_gid = (client_group if isinstance(client_group, int)
                               else grp.getgrnam(client_group).gr_gid)
        self.bin = bin_dir or bindir()
        self.data = os.path.join(self.root, "data")
        self.sock = os.path.join(self.root, "sock")
        self.log = os.path.join(self.root, "postgres.log")
        self.uid, self.gid = ensure_user()
        self.proc = None  # the postmaster, when this process started it
        self.reap = None  # called while waiting for processes to end

    def _as_user(self):
        if os.geteuid() != 0:
            return {}
        extra = [self.client_gid] if self.client_gid is not None else []
        return {"user": self.uid, "group": self.gid, "extra_groups": extra}

    def _tool(self, name):
        return os.path.join(self.bin, name)

    def init(self):
        os.chown(self.root, self.uid, self.gid)
        os.chmod(self.root, 0o700)
        os.mkdir(self.sock, 0o700)
        os.chown(self.sock, self.uid, self.gid)
        subprocess.run([self._tool("initdb"), "-D", self.data, "-U", SUPERUSER, "-A", "trust",
                        "-E", "UTF8", "--no-locale", "--no-instructions"],
                       check=True, cwd=self.root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       **self._as_user())
        if self.client_gid is not None:
            self._share()

    def _share(self):
        """The socket for the members of client_gid, and passwords for
        every role but the superuser (the module's docstring)."""
        for d in (self.root, self.sock):
            os.chown(d, self.uid, self.client_gid)
            os.chmod(d, 0o710)
        admins = ["root", pwd.getpwuid(self.uid).pw_name]
        # written in place: the files stay the cluster user's
        with open(os.path.join(self.data, "pg_hba.conf"), "w") as f:
            f.write("# tests/pgcluster.py, client_group %d: local only, no TCP\n" % self.client_gid)
            f.write("local all %s peer map=admins\n" % SUPERUSER)
            f.write("local all all scram-sha-256\n")
        with open(os.path.join(self.data, "pg_ident.conf"), "w") as f:
            for a in admins:
                f.write("admins %s %s\n" % (a, SUPERUSER))

    def pid(self):
        """The postmaster's PID from postmaster.pid, or None."""
        try:
            with open(os.path.join(self.data, "postmaster.pid")) as f:
                return int(f.readline())
        except (OSError, ValueError):
            return None

    def conninfo(self, user=SUPERUSER, dbname="postgres"):
        return "host=%s port=%d user=%s dbname=%s" % (self.sock, PORT, user, dbname)

    def psql(self, sql, user=SUPERUSER, dbname="postgres"):
        """Runs sql; returns its output (unaligned, tuples only)."""
        p = subprocess.run([self._tool("psql"), "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1",
                            "-d", self.conninfo(user, dbname), "-c", sql],
                           capture_output=True, text=True, timeout=60)
        if p.returncode != 0:
            raise RuntimeError("psql %r: %s" % (sql, p.stderr.strip()))
        return p.stdout

    def start(self):
        """Starts the postmaster (this process's child) and waits until it
        answers."""
        # a postmaster killed a moment ago may not be reaped yet: postgres
        # takes its zombie for a live owner of postmaster.pid
        old = self.pid()
        deadline = time.monotonic() + STOP_TIMEOUT
        while old is not None and _exists(old) and not _alive(old) and time.monotonic() < deadline:
            time.sleep(0.05)
        logf = open(self.log, "ab")
        socket = ["-c", "unix_socket_permissions=0700"]
        if self.client_gid is not None:
            socket = ["-c", "unix_socket_permissions=0770",
                      "-c", "unix_socket_group=%d" % self.client_gid]
        try:
            self.proc = subprocess.Popen(
                [self._tool("postgres"), "-D", self.data, "-p", str(PORT),
                 "-c", "listen_addresses=", "-c", "unix_socket_directories=" + self.sock]
                + socket + ["-c", "max_connections=40",
                 "-c", "shared_buffers=16MB", "-c", "fsync=on", "-c", "synchronous_commit=on"],
                cwd=self.root, stdin=subprocess.DEVNULL, stdout=logf, stderr=logf,
                start_new_session=True, **self._as_user())
        finally:
            logf.close()
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("postgres exited with %d: %s" % (self.proc.returncode,
                                                                    self.log_tail()))
            r = subprocess.run([self._tool("pg_isready"), "-q", "-h", self.sock, "-p", str(PORT),
                                "-U", SUPERUSER, "-d", "postgres"])
            if r.returncode == 0:
                return
            time.sleep(0.1)
        raise RuntimeError("postgres did not answer in %d s: %s" % (START_TIMEOUT, self.log_tail()))

    def log_tail(self, n=8):
        try:
            with open(self.log, errors="replace") as f:
                return " | ".join(f.read().splitlines()[-n:])
        except OSError:
            return "(no log)"

    def _wait_gone(self, pids, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None:
                self.proc.poll()  # reaps our own child
            if self.reap is not None:
                self.reap()
            if not any(_alive(p) for p in pids):
                return True
            time.sleep(0.05)
        return False

    def _signal(self, sig):
        pid = self.pid()
        if pid is None or not _alive(pid):
            return
        kids = _children(pid)
        os.kill(pid, sig)
        if not self._wait_gone([pid], STOP_TIMEOUT):
            raise RuntimeError("postgres %d did not exit on signal %d" % (pid, sig))
        # after SIGKILL its backends see the postmaster die and leave by
        # themselves; a restart waits for them (they hold its shared memory)
        if not self._wait_gone(kids, STOP_TIMEOUT):
            for k in kids:
                if _alive(k):
                    os.kill(k, signal.SIGKILL)
            self._wait_gone(kids, 10)
        if self.proc is not None and self.proc.pid == pid:
            self.proc.wait()
            self.proc = None

    def kill(self):
        """The database dies: SIGKILL to the postmaster."""
        self._signal(signal.SIGKILL)

    def stop(self):
        """Fast shutdown (SIGINT)."""
        self._signal(signal.SIGINT)

    def make_store(self, dbname="mugai", role=STORER):
        """A login role (not a superuser) owning a new database, and a DSN
        file for it (mode 0600, in ROOT); returns the file's path.  With
        a client_group the role has a random password, in the file."""
        password = None
        if self.client_gid is not None:
            password = secrets.token_hex(16)
            self.psql("CREATE ROLE \"%s\" LOGIN PASSWORD '%s'" % (role, password))
        else:
            self.psql('CREATE ROLE "%s" LOGIN' % role)
        self.psql('CREATE DATABASE "%s" OWNER "%s"' % (dbname, role))
        path = os.path.join(self.root, dbname + ".dsn")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write("# the test cluster's store (tests/pgcluster.py)\n")
            f.write(self.conninfo(role, dbname) + "\n")
            if password:
                f.write("password=%s\n" % password)
        return path


def _set_subreaper():
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    PR_SET_CHILD_SUBREAPER = 36
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def _reap():
    """Reaps whatever children have exited (the wrapper, after its program)."""
    try:
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass
    except ChildProcessError:
        pass


def run_wrapped(argv):
    b = bindir()
    if b is None:
        Tap.plan(0, skip="no PostgreSQL binaries (/usr/lib/postgresql/N/bin): "
                          "tools/install-deps.sh installs them")
        return 0
    root = tempfile.mkdtemp(prefix="mugai-pg-")
    c = Cluster(root, b)
    # meson's timeout sends SIGTERM: the cluster (a session of its own) is
    # stopped all the same, by the finally below
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    try:
        c.init()
        c.start()
        dsn_file = c.make_store()
        env = dict(os.environ)
        env["MUGAI_TEST_PG_DSN_FILE"] = dsn_file
        env["MUGAI_TEST_PG_ADMIN"] = c.conninfo(SUPERUSER, "mugai")
        env["MUGAI_TEST_PG_STORER"] = c.conninfo(STORER, "mugai")
        env["MUGAI_TEST_PG_CTL"] = "%s %s ctl %s" % (sys.executable, os.path.abspath(__file__),
                                                     root)
        # the program restarts the postmaster through `ctl`, whose
        # children end up here (a subreaper) and are reaped below, so
        # that a killed postmaster leaves no zombie owning postmaster.pid
        _set_subreaper()
        prog = subprocess.Popen(argv, env=env)
        try:
            while True:
                pid, status = os.waitpid(-1, 0)
                if pid == prog.pid:
                    prog = None
                    return os.waitstatus_to_exitcode(status)
        finally:
            if prog is not None:  # we were stopped: so is the program
                prog.kill()
                os.waitpid(prog.pid, 0)
    finally:
        c.reap = _reap
        try:
            c.stop()
        finally:
            shutil.rmtree(root, ignore_errors=True)


def main(argv):
    if len(argv) >= 3 and argv[1] == "run" and argv[2] == "--":
        return run_wrapped(argv[3:])
    if len(argv) == 4 and argv[1] == "ctl" and argv[3] in ("kill", "start", "stop"):
        c = Cluster(argv[2])
        getattr(c, argv[3])()
        return 0
    print("usage: pgcluster.py run -- PROGRAM ARGS... | pgcluster.py ctl ROOT kill|start|stop",
          file=sys.stderr)
    return 64


if __name__ == "__main__":
    sys.exit(main(sys.argv))
