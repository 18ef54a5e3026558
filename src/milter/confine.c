/*
 * confine.c - the worker's seccomp filter and Landlock domain (confine.h)
 */
#include "confine.h"

#include <errno.h>
#include <gio/gio.h>
#include <seccomp.h>
#include <sys/prctl.h>
#include <sys/socket.h>

#include "landlock.h"

/* Killed on sight: what no worker, filter or LibreOffice has a use for,
 * and what an exploit would want first. */
static const char *const killed[] = {
  "ptrace",
  "process_vm_readv",
  "process_vm_writev",
  "mount",
  "umount2",
  "pivot_root",
  "chroot",
  "setns",
  "kexec_load",
  "kexec_file_load",
  "init_module",
  "finit_module",
  "delete_module",
  "bpf",
  "perf_event_open",
  "keyctl",
  "add_key",
  "request_key",
  "userfaultfd",
  "io_uring_setup",
  "io_uring_enter",
  "io_uring_register",
  "open_by_handle_at",
  "name_to_handle_at",
  "swapon",
  "swapoff",
  "reboot",
  "settimeofday",
  "clock_settime",
  "clock_adjtime",
  "adjtimex",
  "acct",
  "quotactl",
  "iopl",
  "ioperm",
  "fanotify_init",
  "syslog",
  "vhangup",
  "mount_setattr",
  "move_mount",
  "open_tree",
  "fsopen",
  "fsmount",
  "fsconfig",
  "fspick",
};

static gboolean
apply_seccomp (GError **error)
{
  scmp_filter_ctx ctx = seccomp_init (SCMP_ACT_ALLOW);
  if (!ctx)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "seccomp_init failed");
      return FALSE;
    }
  int rc = 0;
  for (gsize i = 0; i < G_N_ELEMENTS (killed) && rc == 0; i++)
    {
      int nr = seccomp_syscall_resolve_name (killed[i]);
      if (nr != __NR_SCMP_ERROR)
        rc = seccomp_rule_add (ctx, SCMP_ACT_KILL_PROCESS, nr, 0);
    }
  /* sockets: Unix only (LibreOffice's pipe, syslog's /dev/log) */
  if (rc == 0)
    rc = seccomp_rule_add (ctx, SCMP_ACT_KILL_PROCESS, SCMP_SYS (socket), 1,
                           SCMP_A0 (SCMP_CMP_NE, AF_UNIX));
  if (rc == 0)
    rc = seccomp_rule_add (ctx, SCMP_ACT_ERRNO (EACCES), SCMP_SYS (connect), 0);
  if (rc == 0)
    rc = seccomp_load (ctx);
  seccomp_release (ctx);
  if (rc != 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "seccomp: %s", g_strerror (-rc));
      return FALSE;
    }
  return TRUE;
}

gboolean
mugai_worker_confine (const MugaiWorkerJail *jail, GString *layers, GError **error)
{
  gboolean all = TRUE;
  g_autoptr (GString) missing = g_string_new (NULL);
  if (prctl (PR_SET_DUMPABLE, 0, 0, 0, 0) == 0)
    g_string_append (layers, " nodump");
  else
    g_string_append (missing, " nodump");

  g_autofree char *soffice_dir = NULL;
  if (jail->soffice)
    {
      g_autofree char *real = realpath (jail->soffice, NULL);
      if (real)
        {
          /* .../program/soffice: LibreOffice's whole tree */
          g_autofree char *program = g_path_get_dirname (real);
          soffice_dir = g_path_get_dirname (program);
        }
    }
  const MugaiLandlockRights rx = MUGAI_LANDLOCK_READ | MUGAI_LANDLOCK_EXECUTE;
  const MugaiLandlockRights rwc
      = MUGAI_LANDLOCK_READ | MUGAI_LANDLOCK_WRITE | MUGAI_LANDLOCK_CREATE;
  MugaiLandlockPath paths[] = {
    { "/usr", rx },
    { "/lib", rx },
    { "/lib64", rx },
    { "/bin", rx },
    { "/sbin", rx },
    { "/opt", rx },
    { "/etc", MUGAI_LANDLOCK_READ },
    { "/proc", MUGAI_LANDLOCK_READ },
    { "/sys", MUGAI_LANDLOCK_READ },
    { "/dev", MUGAI_LANDLOCK_READ },
    { "/var/cache/fontconfig", MUGAI_LANDLOCK_READ },
    /* Debian's LibreOffice: share/uno_packages/cache links here */
    { "/var/spool/libreoffice", MUGAI_LANDLOCK_READ },
    { "/var/lib/libreoffice", MUGAI_LANDLOCK_READ },
    { "/dev/null", MUGAI_LANDLOCK_READ | MUGAI_LANDLOCK_WRITE },
    { "/dev/zero", MUGAI_LANDLOCK_READ | MUGAI_LANDLOCK_WRITE },
    { "/dev/urandom", MUGAI_LANDLOCK_READ },
    { "/dev/shm", rwc },
    { "/tmp", rwc },
    { jail->tmp_dir, rwc },
    { jail->filters_dir, rx },
    { soffice_dir ? soffice_dir : "/usr", rx },
  };
  int abi = 0;
  g_autoptr (GError) ll = NULL;
  if (mugai_landlock_restrict (paths, G_N_ELEMENTS (paths), jail->landlock_max_abi, &abi, &ll))
    g_string_append_printf (layers, " landlock-abi=%d", abi);
  else
    {
      g_string_append_printf (missing, " landlock (%s)", ll->message);
      all = FALSE;
    }
  g_autoptr (GError) sc = NULL;
  if (apply_seccomp (&sc))
    g_string_append (layers, " seccomp");
  else
    {
      g_string_append_printf (missing, " seccomp (%s)", sc->message);
      all = FALSE;
    }
  if (!all)
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, "not in force:%s", missing->str);
  return all;
}

char *
mugai_worker_confinement_text (gboolean *complete)
{
  int abi = mugai_landlock_abi ();
  /* seccomp filters: PR_GET_SECCOMP answers 0 (none in force yet) on a
   * kernel built with them, EINVAL without */
  gboolean seccomp = prctl (PR_GET_SECCOMP, 0, 0, 0, 0) >= 0;
  *complete = abi > 0 && seccomp;
  g_autoptr (GString) out = g_string_new (NULL);
  g_string_append (out, seccomp ? "seccomp" : "NO seccomp (the kernel lacks it)");
  if (abi > 0)
    g_string_append_printf (out, ", Landlock ABI %d", abi);
  else
    g_string_append (out, ", NO Landlock (Linux 5.13 or later with landlock in lsm=): the "
                          "workers' user's file permissions alone keep them off the store");
  g_string_append (out, ", not dumpable");
  return g_string_free (g_steal_pointer (&out), FALSE);
}
