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
 * LIMITS
 *	Engine limits from the settings (ClamAV's own defaults are 400 MB
 *	scan size and 100 MB file size, far above a mail gateway's needs).
 */
#include "scan.h"

#include <clamav.h>
#include <string.h>
#include <sys/stat.h>
#include <glib/gstdio.h>

G_DEFINE_QUARK (mugai-scan-error-quark, mugai_scan_error)

struct _MugaiScanner
{
  struct cl_engine *engine;
  struct cl_scan_options options;
  guint signatures;
};

/* libclamav 1.x names some alerts (the scan-limit heuristics) only through
 * this callback, with virname left NULL; the first name wins. */
static void
on_virus_found (int fd, const char *virname, void *context)
{
  char **first = context;
  (void) fd;
  if (first && !*first && virname)
    *first = g_strdup (virname);
}

static gboolean
global_init (GError **error)
{
  static gsize once = 0;
  static cl_error_t status = CL_SUCCESS;
  if (g_once_init_enter (&once))
    {
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
  if (r != CL_SUCCESS)
    {
      g_set_error (error, MUGAI_SCAN_ERROR, MUGAI_SCAN_ERROR_DATABASE,
                   "cannot load the ClamAV database %s: %s", settings->database, cl_strerror (r));
      return NULL;
    }
  if (sigs == 0)
    {
      g_set_error (error, MUGAI_SCAN_ERROR, MUGAI_SCAN_ERROR_DATABASE,
                   "no signatures in the ClamAV database %s (run freshclam, or see [clamav] database)",
                   settings->database);
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
  g_autofree char *reported = NULL;
  unsigned long scanned = 0;
  struct cl_scan_options options = scanner->options;
  cl_error_t r = cl_scanmap_callback (map, name, &virname, &scanned, scanner->engine, &options,
                                      &reported);
  cl_fmap_close (map);
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
      g_set_error (error, MUGAI_SCAN_ERROR, MUGAI_SCAN_ERROR_DATABASE,
                   "no loadable ClamAV signatures in %s%s%s (run freshclam, or see [clamav] "
                   "database)",
                   database, r != CL_SUCCESS ? ": " : "", r != CL_SUCCESS ? cl_strerror (r) : "");
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
