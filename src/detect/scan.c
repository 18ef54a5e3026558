/*
 * scan.c - libclamav in process: one compiled engine, scans of buffers
 *
 * DESCRIPTION
 *	See scan.h.  Buffers are scanned through cl_fmap_open_memory(), so a
 *	decoded part is never written to disk to be scanned.  Heuristic
 *	alerts are switched on one by one from the settings, and
 *	CL_SCAN_HEURISTIC_EXCEEDS_MAX is always on: a buffer ClamAV could not
 *	scan to the end is reported, not passed.  All-match mode is off: the
 *	first alert decides.
 *
 *	libclamav's own messages ("LibClamAV Warning: Partial message
 *	received ...", "LibClamAV Error: cli_loaddbdir() ...") would go
 *	straight to standard error.  A callback (cl_set_clcb_msg) keeps them
 *	instead, and the caller takes them with mugai_scan_take_messages()
 *	and logs them as its own lines, with the queue id and message id it
 *	knows (this layer knows neither: it reports, the top layer logs).
 *	The context libclamav hands the callback is the one of the scan
 *	(cl_scanmap_callback), NULL outside a scan: that is how a message
 *	about one mail is told from one about loading the database.
 *
 * LIMITS
 *	Engine limits from the settings (ClamAV's own defaults are 400 MB
 *	scan size and 100 MB file size, far above a mail gateway's needs).
 *	At most MUGAI_SCAN_MESSAGES_MAX libclamav messages are kept until
 *	they are taken (a hostile archive can make it warn once per member),
 *	each cut at 300 characters; the rest are counted.
 *
 * THREADS
 *	A scanner is used by one thread at a time.  The messages kept are
 *	the process's (libclamav's callback is process-wide), under a lock:
 *	take them from the thread that scanned, in a process that scans one
 *	message at a time (a worker, the command).
 */
#include "scan.h"

#include <clamav.h>
#include <string.h>
#include <sys/stat.h>
#include <glib/gstdio.h>

#include "buildtree.h"

/* The quark name is a string, not a subtraction. */
/* clang-format off */
G_DEFINE_QUARK (mugai-scan-error-quark, mugai_scan_error)
/* clang-format on */

struct _MugaiScanner
{
  struct cl_engine *engine;
  struct cl_scan_options options;
  guint signatures;
};

/* What libclamav is handed as the context of one scan. */
typedef struct
{
  char *reported; /* the first name on_virus_found() saw */
} ScanContext;

/* libclamav 1.x names some alerts (the scan-limit heuristics) only through
 * this callback, with virname left NULL; the first name wins. */
static void
on_virus_found (int fd, const char *virname, void *context)
{
  ScanContext *ctx = context;
  (void) fd;
  if (ctx && !ctx->reported && virname)
    ctx->reported = g_strdup (virname);
}

/* ---- libclamav's messages ---- */

#define MESSAGE_CHARS_MAX 300

G_LOCK_DEFINE_STATIC (messages);
static GPtrArray *messages; /* MugaiScanMessage, under the lock */
static guint messages_dropped;

static void
message_free (gpointer p)
{
  MugaiScanMessage *m = p;
  g_free (m->text);
  g_free (m);
}

static void
on_message (enum cl_msg severity, const char *fullmsg, const char *msg, void *context)
{
  (void) fullmsg;
  MugaiScanMessageLevel level = severity >= CL_MSG_ERROR  ? MUGAI_SCAN_MESSAGE_ERROR
                                : severity >= CL_MSG_WARN ? MUGAI_SCAN_MESSAGE_WARNING
                                                          : MUGAI_SCAN_MESSAGE_INFO;
  /* "text\n" as libclamav formats it: the line end is ours to write */
  g_autofree char *text = g_strdup (msg ? msg : "");
  g_strchomp (text);
  G_LOCK (messages);
  if (!messages)
    messages = g_ptr_array_new_with_free_func (message_free);
  if (messages->len < MUGAI_SCAN_MESSAGES_MAX)
    {
      MugaiScanMessage *m = g_new0 (MugaiScanMessage, 1);
      m->level = level;
      m->during_scan = context != NULL;
      /* raw octets of libclamav's (the mail's words in it, maybe): kept
       * valid and bounded here, escaped by whoever writes the line */
      g_autofree char *valid = g_utf8_make_valid (text, -1);
      m->text = g_utf8_substring (valid, 0, MIN (g_utf8_strlen (valid, -1), MESSAGE_CHARS_MAX));
      g_ptr_array_add (messages, m);
    }
  else
    messages_dropped++;
  G_UNLOCK (messages);
}

GPtrArray *
mugai_scan_take_messages (guint *dropped)
{
  G_LOCK (messages);
  GPtrArray *out = g_steal_pointer (&messages);
  if (dropped)
    *dropped = messages_dropped;
  messages_dropped = 0;
  G_UNLOCK (messages);
  return out ? out : g_ptr_array_new_with_free_func (message_free);
}

const char *
mugai_scan_message_level_name (MugaiScanMessageLevel level)
{
  switch (level)
    {
    case MUGAI_SCAN_MESSAGE_ERROR:
      return "error";
    case MUGAI_SCAN_MESSAGE_WARNING:
      return "warning";
    case MUGAI_SCAN_MESSAGE_INFO:
    default:
      return "info";
    }
}

/* A database that gives no signature, said so that a newcomer knows the
 * one line to add (README, Using it).  why: libclamav's cl_strerror(),
 * or NULL for a directory without signatures.  What libclamav said
 * while loading (cli_loaddbdir(): No supported database files found) is
 * taken from the messages kept and told here, once, instead of on
 * standard error. */
static void
database_error (GError **error, const char *database, const char *why)
{
  g_autoptr (GString) said = g_string_new (NULL);
  g_autoptr (GPtrArray) kept = mugai_scan_take_messages (NULL);
  for (guint i = 0; i < kept->len; i++)
    {
      const MugaiScanMessage *m = kept->pdata[i];
      if (m->during_scan || m->level < MUGAI_SCAN_MESSAGE_WARNING || said->len > 0)
        continue;
      g_string_printf (said, " (libclamav: %s)", m->text);
    }
  const char *tree = mugai_build_tree ();
  g_autofree char *test_set = tree ? g_strdup_printf (
                                  "; this build tree has a test set: database = %s/tests", tree)
                                   : g_strdup ("");
  g_set_error (error, MUGAI_SCAN_ERROR, MUGAI_SCAN_ERROR_DATABASE,
               "no loadable ClamAV signatures in %s%s%s%s: add the line \"database = DIR\" under "
               "[clamav] in the configuration file (--config FILE), DIR a directory of ClamAV "
               "signatures (freshclam keeps them in /var/lib/clamav)%s",
               database, why ? ": " : "", why ? why : "", said->str, test_set);
}

static gboolean
global_init (GError **error)
{
  static gsize once = 0;
  static cl_error_t status = CL_SUCCESS;
  if (g_once_init_enter (&once))
    {
      /* before cl_init, so that not even its messages reach stderr */
      cl_set_clcb_msg (on_message);
      status = cl_init (CL_INIT_DEFAULT);
      g_once_init_leave (&once, 1);
    }
  if (status != CL_SUCCESS)
    {
      g_set_error (error, MUGAI_SCAN_ERROR, MUGAI_SCAN_ERROR_ENGINE, "cl_init: %s",
                   cl_strerror (status));
      return FALSE;
    }
  return TRUE;
}

MugaiScanner *
mugai_scanner_new (const MugaiScanSettings *settings, GError **error)
{
  g_return_val_if_fail (settings != NULL && settings->database != NULL, NULL);
  if (!global_init (error))
    return NULL;

  g_autoptr (MugaiScanner) s = g_new0 (MugaiScanner, 1);
  s->engine = cl_engine_new ();
  if (!s->engine)
    {
      g_set_error (error, MUGAI_SCAN_ERROR, MUGAI_SCAN_ERROR_ENGINE, "cl_engine_new failed");
      return NULL;
    }
  struct
  {
    enum cl_engine_field field;
    long long value;
  } limits[] = {
    { CL_ENGINE_MAX_SCANSIZE, (long long) settings->max_scansize },
    { CL_ENGINE_MAX_FILESIZE, (long long) settings->max_filesize },
    { CL_ENGINE_MAX_RECURSION, settings->max_recursion },
    { CL_ENGINE_MAX_FILES, settings->max_files },
    { CL_ENGINE_MAX_SCANTIME, settings->max_scantime },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (limits); i++)
    {
      cl_error_t r = cl_engine_set_num (s->engine, limits[i].field, limits[i].value);
      if (r != CL_SUCCESS)
        {
          g_set_error (error, MUGAI_SCAN_ERROR, MUGAI_SCAN_ERROR_ENGINE, "engine limit: %s",
                       cl_strerror (r));
          return NULL;
        }
    }

  unsigned int sigs = 0;
  cl_error_t r = cl_load (settings->database, s->engine, &sigs, CL_DB_STDOPT);
  if (r != CL_SUCCESS || sigs == 0)
    {
      database_error (error, settings->database, r != CL_SUCCESS ? cl_strerror (r) : NULL);
      return NULL;
    }
  r = cl_engine_compile (s->engine);
  if (r != CL_SUCCESS)
    {
      g_set_error (error, MUGAI_SCAN_ERROR, MUGAI_SCAN_ERROR_ENGINE,
                   "cannot compile the ClamAV engine: %s", cl_strerror (r));
      return NULL;
    }
  s->signatures = sigs;
  cl_engine_set_clcb_virus_found (s->engine, on_virus_found);

  /* Everything a mail gateway meets is parsed; heuristics as configured;
   * scan-limit alerts always. */
  s->options.parse = ~0u;
  s->options.general = CL_SCAN_GENERAL_HEURISTICS;
  s->options.heuristic = CL_SCAN_HEURISTIC_EXCEEDS_MAX;
  if (settings->heuristic_broken)
    s->options.heuristic |= CL_SCAN_HEURISTIC_BROKEN;
  if (settings->heuristic_macros)
    s->options.heuristic |= CL_SCAN_HEURISTIC_MACROS;
  if (settings->heuristic_encrypted)
    s->options.heuristic |= CL_SCAN_HEURISTIC_ENCRYPTED_ARCHIVE | CL_SCAN_HEURISTIC_ENCRYPTED_DOC;
  if (settings->heuristic_phishing)
    s->options.heuristic |= CL_SCAN_HEURISTIC_PHISHING_SSL_MISMATCH
                            | CL_SCAN_HEURISTIC_PHISHING_CLOAK;
  return g_steal_pointer (&s);
}

void
mugai_scanner_free (MugaiScanner *scanner)
{
  if (!scanner)
    return;
  if (scanner->engine)
    cl_engine_free (scanner->engine);
  g_free (scanner);
}

guint
mugai_scanner_signatures (const MugaiScanner *scanner)
{
  return scanner ? scanner->signatures : 0;
}

static MugaiScanResult
classify (const char *name)
{
  static const struct
  {
    const char *prefix;
    MugaiScanResult result;
  } table[] = {
    { "Heuristics.Limits.Exceeded", MUGAI_SCAN_INCOMPLETE },
    { "Heuristics.Encrypted", MUGAI_SCAN_ENCRYPTED },
    { "Heuristics.OLE2.ContainsMacros", MUGAI_SCAN_MACROS },
    { "Heuristics.Phishing", MUGAI_SCAN_PHISHING },
    { "Heuristics.Broken", MUGAI_SCAN_BROKEN },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (table); i++)
    if (g_str_has_prefix (name, table[i].prefix))
      return table[i].result;
  return MUGAI_SCAN_VIRUS;
}

gboolean
mugai_scanner_scan (MugaiScanner *scanner, const void *data, gsize len, const char *name,
                    MugaiScanResult *result, char **signature, GError **error)
{
  g_return_val_if_fail (scanner != NULL && result != NULL, FALSE);
  *result = MUGAI_SCAN_CLEAN;
  if (signature)
    *signature = NULL;
  if (len == 0)
    return TRUE;

  cl_fmap_t *map = cl_fmap_open_memory (data, len);
  if (!map)
    {
      g_set_error (error, MUGAI_SCAN_ERROR, MUGAI_SCAN_ERROR_SCAN, "cannot map the buffer");
      return FALSE;
    }
  const char *virname = NULL;
  ScanContext ctx = { 0 };
  unsigned long scanned = 0;
  struct cl_scan_options options = scanner->options;
  cl_error_t r = cl_scanmap_callback (map, name, &virname, &scanned, scanner->engine, &options,
                                      &ctx);
  cl_fmap_close (map);
  g_autofree char *reported = g_steal_pointer (&ctx.reported);
  if (r == CL_CLEAN)
    return TRUE;
  if (r == CL_VIRUS)
    {
      /* an alert without a name is still an alert: never clean */
      const char *v = virname ? virname : reported ? reported : "Heuristics.Unnamed";
      *result = classify (v);
      if (signature)
        *signature = g_strdup (v);
      return TRUE;
    }
  g_set_error (error, MUGAI_SCAN_ERROR, MUGAI_SCAN_ERROR_SCAN, "scan failed: %s", cl_strerror (r));
  return FALSE;
}

gboolean
mugai_scanner_check_database (const char *database, guint *signatures, GError **error)
{
  if (!global_init (error))
    return FALSE;
  unsigned int sigs = 0;
  cl_error_t r = cl_countsigs (database, CL_COUNTSIGS_ALL, &sigs);
  if (r != CL_SUCCESS || sigs == 0)
    {
      database_error (error, database, r != CL_SUCCESS ? cl_strerror (r) : NULL);
      return FALSE;
    }
  if (signatures)
    *signatures = sigs;
  return TRUE;
}

static gint
compare_strings (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(char *const *) a, *(char *const *) b);
}

char *
mugai_scanner_db_state (const char *database)
{
  g_autoptr (GDir) dir = g_dir_open (database, 0, NULL);
  if (!dir)
    return NULL;
  g_autoptr (GPtrArray) rows = g_ptr_array_new_with_free_func (g_free);
  const char *name;
  while ((name = g_dir_read_name (dir)))
    {
      g_autofree char *path = g_build_filename (database, name, NULL);
      GStatBuf st;
      if (g_stat (path, &st) != 0 || !S_ISREG (st.st_mode))
        continue;
      g_ptr_array_add (rows, g_strdup_printf ("%s:%lld:%lld", name, (long long) st.st_size,
                                              (long long) st.st_mtime));
    }
  g_ptr_array_sort (rows, compare_strings);
  g_ptr_array_add (rows, NULL);
  return g_strjoinv ("/", (char **) rows->pdata);
}
