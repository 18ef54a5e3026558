/*
 * lockdown.h - what every filter calls before it reads the document
 *
 * DESCRIPTION
 *	A filter (filters/pdf.c, office/main.c, image.c) initialises its libraries
 *	(fontconfig, poppler, codecs), then calls mugai_filter_lockdown(),
 *	then reads the untrusted document from standard input and writes its
 *	output on standard output.  mugai_filter_lockdown() puts a seccomp
 *	allowlist in force for the rest of the process's life: reading and
 *	writing already-open descriptors, memory management, read-only opens
 *	(fonts), time, exit.  Anything else (sockets, exec, write-opens,
 *	ptrace, ...) kills the process with SIGSYS.
 *
 *	The sandbox (src/convert/sandbox.c) adds what a process cannot do to itself
 *	after the fact: resource limits, an empty environment, a private
 *	temporary directory, a new network namespace, a wall-clock timeout.
 *
 * RETURN VALUE
 *	TRUE when the filter is in force; FALSE (error set) when it could
 *	not be installed: the filter must then exit without reading input.
 */
#pragma once

#include <gio/gio.h>

typedef enum
{
  MUGAI_LOCKDOWN_DEFAULT = 0,
  /* the filter needs to create and write files in its private
   * temporary directory ($TMPDIR) */
  MUGAI_LOCKDOWN_ALLOW_TMP_WRITE = 1 << 0,
} MugaiLockdownFlags;

gboolean mugai_filter_lockdown (MugaiLockdownFlags flags, GError **error);

/* For a filter that runs a program mugai does not write (LibreOffice in
 * filters/soffice.c), which needs threads, a fork, a Unix socket and
 * files of its own and so cannot live under the allowlist above: a
 * second allowlist (lockdown.c), in force for the caller and everything
 * it executes, where an unlisted call fails with ENOSYS.  socket()
 * fails with EACCES but for a Unix stream socket, connect() always (no
 * network, not even a Unix socket on the host such as Postfix's or
 * clamd's); setsid and setpgid fail with EPERM (nothing leaves the
 * run's process group); signals reach only the caller's own process
 * group (kill with pid 0) and its own threads; ptrace, mount,
 * namespaces, execveat, kernel modules, bpf, keyrings, io_uring and the
 * like kill the process.  What it may read, write, execute and where it
 * may bind its Unix socket is Landlock's, put in force by the sandbox
 * (src/convert/sandbox.c).  execve is allowed once: program (NULL:
 * never) with the path the call stores in *exec_path, which the caller
 * passes to its execve next; any other execve kills the process.  Call
 * it in the process that executes the foreign program (after fork,
 * before execve): its pid is part of the rules.  TRUE when in force;
 * FALSE (error set) otherwise: the caller must not go on. */
gboolean mugai_filter_confine_foreign (const char *program, const char **exec_path, GError **error);

/* Reads all of standard input, at most max octets (more is an error).
 * Returns NULL with error set on failure or when over max. */
GBytes *mugai_filter_read_stdin (gsize max, GError **error);

/* Writes all of data to standard output; FALSE with error set on failure. */
gboolean mugai_filter_write_stdout (const void *data, gsize len, GError **error);

/* Exit codes every filter uses; the sandbox turns them into reasons. */
enum
{
  MUGAI_FILTER_OK = 0,
  MUGAI_FILTER_FAILED = 1,    /* malformed or unreadable input, internal error */
  MUGAI_FILTER_ENCRYPTED = 2, /* password-protected: cannot be converted */
  MUGAI_FILTER_LIMIT = 3,     /* a limit was reached (pages, pixels, size) */
  MUGAI_FILTER_USAGE = 64,    /* bad command line */
};
