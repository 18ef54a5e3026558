/*
 * soffice.c - mugai-filter-soffice: an office document to PDF (or OOXML)
 *             with LibreOffice, inside the sandbox
 *
 * SYNOPSIS
 *	mugai-filter-soffice --ext EXT [--to FORMAT] [--soffice PATH] < document > output
 *
 * DESCRIPTION
 *	Legacy Word, Excel and PowerPoint files, RTF, OOXML and OpenDocument
 *	are read by no code of mugai's own: LibreOffice lays them out.  This
 *	filter runs it headless on one document, in the private directory
 *	the sandbox made (the current directory), and writes what it
 *	produced on standard output: a PDF (--to pdf, the default), or, for
 *	text, the same document saved as docx, xlsx or pptx (--to), which
 *	mugai-filter-office then reads (paragraphs, sheet rows with cells
 *	tab-separated, slides): legacy .doc/.xls/.ppt and .rtf become text
 *	as well laid out as OOXML does.  mugai hands a PDF to mugai-filter-pdf
 *	like any PDF from outside: what reaches the message is page images or
 *	text, never LibreOffice's output itself.
 *
 *	1. The document is written to in/document.EXT (EXT from the caller,
 *	   from mugai's own idea of the true type: a fixed set of names,
 *	   never the sender's file name).  The legacy binary formats are
 *	   read with their own import filter (--infilter), never left to
 *	   LibreOffice's type detection, which reads unknown bytes as text.
 *	2. A throw-away profile is made in profile/ with the settings that
 *	   matter for hostile documents: macros never run
 *	   (DisableMacrosExecution, MacroSecurityLevel 3 "very high", no
 *	   trusted locations), links and fields are never updated on load,
 *	   no loads of untrusted links, Java off, no OpenCL.
 *	3. In the child that becomes LibreOffice, between fork and execve,
 *	   mugai_filter_confine_foreign() (lockdown.c) puts a seccomp
 *	   allowlist of its own in force: only Unix stream sockets, and no connect(), so
 *	   LibreOffice reaches neither the network nor a socket on the host;
 *	   no setsid or setpgid; signals to its own process group and
 *	   threads only; one execve, of soffice.bin (or --soffice) by this
 *	   child, and no other (LibreOffice's popen of paperconf dies, it
 *	   takes its default paper size); ptrace, mount, namespaces, bpf and
 *	   the like kill it.  LibreOffice cannot live
 *	   under the allowlist of the other filters (it starts threads,
 *	   binds its single-instance pipe and writes its profile).  This
 *	   process itself never parses the document: it writes it, waits,
 *	   and copies LibreOffice's output.
 *	4. LibreOffice runs with an environment of our own (HOME and TMPDIR
 *	   in the private directory, the headless "svp" back end), standard
 *	   descriptors on /dev/null, and converts to out/document.FORMAT.  The
 *	   process started is soffice.bin itself (found beside the real path
 *	   of --soffice), not the shell script and launcher in front of it,
 *	   and it gets PR_SET_PDEATHSIG: when the worker is killed at its
 *	   deadline and takes this filter with it, LibreOffice goes too.
 *
 *	The sandbox around this process adds the rest: user, network, pid
 *	and mount namespaces where the kernel allows, a Landlock domain
 *	(LibreOffice reads its install, /etc/libreoffice and the fonts,
 *	executes below /usr and /bin, writes and binds its pipe only in the
 *	private directory), resource limits (RLIMIT_NPROC too), the
 *	wall-clock timeout that ends every process of the run (LibreOffice
 *	included), the private directory removed afterwards.
 *
 * EXIT STATUS
 *	0 the output is on standard output; 1 LibreOffice could not load or
 *	convert the document (the diagnostic says which); 3 the document or
 *	the output was over the size limit; 64 usage.
 *
 * BUGS
 *	LibreOffice reports a password-protected legacy document as one it
 *	cannot load, so it ends as "could not convert" (exit 1), not as
 *	encrypted.  Where the kernel has no Landlock, read access is what
 *	the filter's user may read, which is also why links to local files
 *	are never updated (step 2).  LibreOffice binds its pipe in /tmp
 *	whatever TMPDIR says: with a mount namespace that is the private
 *	directory; without one it is the host's /tmp, where, killed, it
 *	leaves the socket file, which mugai_convert_sweep_stale()
 *	(src/convert/convert.c) removes.
 */
#include "lockdown.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define USAGE "usage: mugai-filter-soffice --ext EXT [--to pdf|docx|xlsx|pptx] [--soffice PATH]"
#define INPUT_MAX (256u * 1024u * 1024u)
#define OUTPUT_MAX (512u * 1024u * 1024u)

/* One line per setting: officecfg path, property, value. */
static const char *const profile_settings[][3] = {
  { "/org.openoffice.Office.Common/Security/Scripting", "MacroSecurityLevel", "3" },
  { "/org.openoffice.Office.Common/Security/Scripting", "DisableMacrosExecution", "true" },
  { "/org.openoffice.Office.Common/Security/Scripting", "BlockUntrustedRefererLinks", "true" },
  /* Writer reads 0 as "never" (sw's link update modes), Calc 1 */
  { "/org.openoffice.Office.Writer/Content/Update", "Link", "0" },
  { "/org.openoffice.Office.Writer/Content/Update", "Field", "false" },
  { "/org.openoffice.Office.Calc/Content/Update", "Link", "1" },
  { "/org.openoffice.Office.Java/VirtualMachine", "Enable", "false" },
  { "/org.openoffice.Office.Common/Misc", "UseLocking", "false" },
  { "/org.openoffice.Office.Common/Misc", "UseOpenCL", "false" },
  { "/org.openoffice.Office.Common/Misc", "ShowTipOfTheDay", "false" },
  { "/org.openoffice.Office.Common/Misc", "FirstRun", "false" },
};

/* The types mugai hands over, and for the legacy binary formats the
 * import filter LibreOffice must read them with: left to its own type
 * detection, LibreOffice reads any bytes it does not recognise as plain
 * text and "converts" them.  (Word 6/95 and Excel 5/95 files are read by
 * the same filters.)  The zip-based formats fail to load when they are
 * not what they claim; RTF's filter takes anything. */
static const char *const known_ext[][2] = {
  { "doc", "MS Word 97" }, { "xls", "MS Excel 97" }, { "ppt", "MS PowerPoint 97" },
  { "rtf", NULL },         { "docx", NULL },         { "xlsx", NULL },
  { "pptx", NULL },        { "odt", NULL },          { "ods", NULL },
  { "odp", NULL },
};

/* --to: the format, LibreOffice's export filter for it, its type */
static const char *const targets[][3] = {
  { "pdf", "pdf", "application/pdf" },
  { "docx", "docx:MS Word 2007 XML",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document" },
  { "xlsx", "xlsx:Calc MS Excel 2007 XML",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" },
  { "pptx", "pptx:Impress MS PowerPoint 2007 XML",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation" },
};

static void
die (int code, const char *what, const GError *error)
{
  if (error)
    g_printerr ("error: %s: %s\n", what, error->message);
  else
    g_printerr ("error: %s\n", what);
  exit (code);
}

static char *
profile_xcu (void)
{
  GString *x = g_string_new ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                             "<oor:items xmlns:oor=\"http://openoffice.org/2001/registry\" "
                             "xmlns:xs=\"http://www.w3.org/2001/XMLSchema\" "
                             "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\n");
  for (gsize i = 0; i < G_N_ELEMENTS (profile_settings); i++)
    g_string_append_printf (x,
                            "<item oor:path=\"%s\"><prop oor:name=\"%s\" oor:op=\"fuse\">"
                            "<value>%s</value></prop></item>\n",
                            profile_settings[i][0], profile_settings[i][1], profile_settings[i][2]);
  g_string_append (x, "</oor:items>\n");
  return g_string_free (x, FALSE);
}

/* Runs LibreOffice and waits for it.  Its exit status, or -1. */
static int
run_soffice (const char *soffice, const char *dir, const char *input, const char *infilter,
             const char *convert_to)
{
  g_autofree char *infilter_arg = infilter ? g_strconcat ("--infilter=", infilter, NULL) : NULL;
  g_autofree char *profile_uri
      = g_strconcat ("-env:UserInstallation=file://", dir, "/profile", NULL);
  g_autofree char *outdir = g_build_filename (dir, "out", NULL);
  g_autofree char *home = g_strconcat ("HOME=", dir, NULL);
  g_autofree char *tmp = g_strconcat ("TMPDIR=", dir, NULL);
  const char *argv[] = { soffice,     "--headless",   "--invisible",   "--norestore",
                         "--nologo",  "--nodefault",  "--nolockcheck", "--nofirststartwizard",
                         profile_uri, "--convert-to", convert_to,      "--outdir",
                         outdir,      input,          infilter_arg,    NULL };
  const char *envp[] = { home,
                         tmp,
                         "PATH=/usr/bin:/bin",
                         "LANG=C.UTF-8",
                         "SAL_USE_VCLPLUGIN=svp",
                         "SAL_DISABLE_SYNCHRONOUS_PRINTER_DETECTION=1",
                         NULL };
  pid_t parent = getpid ();
  pid_t pid = fork ();
  if (pid < 0)
    return -1;
  if (pid == 0)
    {
      /* LibreOffice dies with this filter, whatever kills it */
      if (prctl (PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0 || getppid () != parent)
        _exit (127);
      /* the allowlist, with this pid (the one LibreOffice will have) in
       * its signal rules; single-threaded, so allocating here is safe */
      g_autoptr (GError) error = NULL;
      const char *exec_path = NULL;
      if (!mugai_filter_confine_foreign (soffice, &exec_path, &error))
        {
          g_printerr ("error: seccomp: %s\n", error->message);
          _exit (126);
        }
      int null = open ("/dev/null", O_RDWR);
      if (null < 0 || dup2 (null, 0) < 0 || dup2 (null, 1) < 0 || dup2 (null, 2) < 0)
        _exit (127);
      if (close_range (3, ~0u, 0) != 0)
        _exit (127);
      /* the one execve the filter allows: exec_path, not soffice */
      execve (exec_path, (char *const *)argv, (char *const *)envp);
      _exit (127);
    }
  int status;
  while (waitpid (pid, &status, 0) < 0)
    if (errno != EINTR)
      return -1;
  if (WIFSIGNALED (status))
    return 128 + WTERMSIG (status);
  return WEXITSTATUS (status);
}

int
main (int argc, char **argv)
{
  const char *ext = NULL;
  const char *soffice = "/usr/bin/soffice";
  const char *to = "pdf";
  for (int i = 1; i < argc; i++)
    {
      if (strcmp (argv[i], "--ext") == 0 && i + 1 < argc)
        ext = argv[++i];
      else if (strcmp (argv[i], "--soffice") == 0 && i + 1 < argc)
        soffice = argv[++i];
      else if (strcmp (argv[i], "--to") == 0 && i + 1 < argc)
        to = argv[++i];
      else
        die (MUGAI_FILTER_USAGE, USAGE, NULL);
    }
  gsize target = G_N_ELEMENTS (targets);
  for (gsize i = 0; i < G_N_ELEMENTS (targets); i++)
    if (strcmp (to, targets[i][0]) == 0)
      target = i;
  if (target == G_N_ELEMENTS (targets))
    die (MUGAI_FILTER_USAGE, USAGE, NULL);
  gboolean ext_ok = FALSE;
  const char *infilter = NULL;
  for (gsize i = 0; ext && i < G_N_ELEMENTS (known_ext); i++)
    if (strcmp (ext, known_ext[i][0]) == 0)
      {
        ext_ok = TRUE;
        infilter = known_ext[i][1];
      }
  if (!ext_ok || !g_path_is_absolute (soffice))
    die (MUGAI_FILTER_USAGE, USAGE, NULL);
  if (access (soffice, X_OK) != 0)
    die (MUGAI_FILTER_FAILED, "LibreOffice is not installed", NULL);

  /* the sandbox's private directory; the filter starts in it */
  g_autofree char *dir = g_get_current_dir ();
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) doc = mugai_filter_read_stdin (INPUT_MAX, &error);
  if (!doc)
    die (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE) ? MUGAI_FILTER_LIMIT
                                                                  : MUGAI_FILTER_FAILED,
         "reading the document", error);

  g_autofree char *in_dir = g_build_filename (dir, "in", NULL);
  g_autofree char *user_dir = g_build_filename (dir, "profile", "user", NULL);
  g_autofree char *out_dir = g_build_filename (dir, "out", NULL);
  if (g_mkdir_with_parents (in_dir, 0700) != 0 || g_mkdir_with_parents (user_dir, 0700) != 0
      || g_mkdir_with_parents (out_dir, 0700) != 0)
    die (MUGAI_FILTER_FAILED, "making the work directories", NULL);
  g_autofree char *name = g_strconcat ("document.", ext, NULL);
  g_autofree char *input = g_build_filename (in_dir, name, NULL);
  gsize len = 0;
  const char *data = g_bytes_get_data (doc, &len);
  g_autofree char *xcu = profile_xcu ();
  g_autofree char *xcu_path = g_build_filename (user_dir, "registrymodifications.xcu", NULL);
  if (!g_file_set_contents (input, data, (gssize)len, &error)
      || !g_file_set_contents (xcu_path, xcu, -1, &error))
    die (MUGAI_FILTER_FAILED, "writing the work files", error);
  g_clear_pointer (&doc, g_bytes_unref);

  /* /usr/bin/soffice is a shell script that starts oosplash, which
   * starts soffice.bin: run soffice.bin itself, so that the one process
   * doing the work is our child and dies with us (PR_SET_PDEATHSIG).
   * Its first start in a new profile ends with status 81 ("restart"):
   * the profile is made, and the second start converts. */
  g_autofree char *real = realpath (soffice, NULL);
  g_autofree char *program_dir = real ? g_path_get_dirname (real) : NULL;
  g_autofree char *bin = program_dir ? g_build_filename (program_dir, "soffice.bin", NULL) : NULL;
  const char *run = bin && access (bin, X_OK) == 0 ? bin : soffice;
  int rc = run_soffice (run, dir, input, infilter, targets[target][1]);
  for (int again = 0; rc == 81 && again < 2; again++)
    rc = run_soffice (run, dir, input, infilter, targets[target][1]);
  /* a regular file, opened without following a link, judged by what
   * was opened (nothing can swap it between the check and the read) */
  g_autofree char *out_name = g_strconcat ("document.", targets[target][0], NULL);
  g_autofree char *pdf_path = g_build_filename (out_dir, out_name, NULL);
  int fd = open (pdf_path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat (fd, &st) != 0 || !S_ISREG (st.st_mode) || st.st_size == 0)
    {
      if (rc == 0)
        die (MUGAI_FILTER_FAILED, "LibreOffice could not load the document", NULL);
      g_printerr ("error: LibreOffice failed (status %d)\n", rc);
      return MUGAI_FILTER_FAILED;
    }
  if ((guint64)st.st_size > OUTPUT_MAX)
    die (MUGAI_FILTER_LIMIT, "the output is too large", NULL);
  g_autoptr (GMappedFile) pdf = g_mapped_file_new_from_fd (fd, FALSE, &error);
  if (!pdf)
    die (MUGAI_FILTER_FAILED, "reading the output", error);
  gsize pdf_len = g_mapped_file_get_length (pdf);
  if (!mugai_filter_write_stdout (g_mapped_file_get_contents (pdf), pdf_len, &error))
    die (MUGAI_FILTER_FAILED, "writing", error);
  close (fd);
  g_printerr ("info type=%s size=%zu\n", targets[target][2], pdf_len);
  return MUGAI_FILTER_OK;
}
