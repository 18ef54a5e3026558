/*
 * scan.h - libclamav in process: one compiled engine, scans of buffers
 *
 * DESCRIPTION
 *	mugai_scanner_new() loads every signature file of a database
 *	directory (official .cvd/.cld, unofficial .ndb/.hdb/.ldb/.yar...) and
 *	compiles the engine once; in the daemon the pool parent does this and
 *	the workers share it copy-on-write.  mugai_scanner_scan() scans one
 *	buffer (the raw message, a decoded part, a converted output) and says
 *	what ClamAV found, sorted into what the policy needs to tell apart:
 *
 *	    VIRUS       a signature matched (the name is returned)
 *	    ENCRYPTED   Heuristics.Encrypted.*: cannot be inspected
 *	    MACROS      Heuristics.OLE2.ContainsMacros
 *	    PHISHING    Heuristics.Phishing.*
 *	    BROKEN      Heuristics.Broken.*: a malformed executable
 *	    INCOMPLETE  Heuristics.Limits.Exceeded.*: not fully scanned.  Never
 *	                a pass: peers that let such files through as clean
 *	                are the most common complaint in their trackers.
 *
 *	The heuristics are chosen here, deliberately, from the settings (not
 *	left at libclamav's defaults), and the engine limits come from the
 *	[clamav] group of mugai.conf.
 *
 *	mugai_scanner_db_state() fingerprints a database directory (names,
 *	sizes, modification times) so that the daemon can notice freshclam's
 *	updates and reload.
 *
 * THREAD SAFETY
 *	A compiled engine may be used by several threads and processes at
 *	once (libclamav's contract); creating and freeing is not thread-safe.
 */
#pragma once

#include <glib.h>

typedef struct
{
  char *database;        /* directory */
  gsize max_scansize;    /* octets scanned per buffer, archives included */
  gsize max_filesize;    /* largest file (or archive member) scanned */
  guint max_recursion;   /* archive nesting */
  guint max_files;       /* members of one archive */
  guint max_scantime;    /* milliseconds per buffer */
  gboolean heuristic_broken;
  gboolean heuristic_macros;
  gboolean heuristic_encrypted;
  gboolean heuristic_phishing;
} MugaiScanSettings;

typedef enum
{
  MUGAI_SCAN_CLEAN,
  MUGAI_SCAN_VIRUS,
  MUGAI_SCAN_ENCRYPTED,
  MUGAI_SCAN_MACROS,
  MUGAI_SCAN_PHISHING,
  MUGAI_SCAN_BROKEN,
  MUGAI_SCAN_INCOMPLETE
} MugaiScanResult;

typedef struct _MugaiScanner MugaiScanner;

#define MUGAI_SCAN_ERROR (mugai_scan_error_quark ())
GQuark mugai_scan_error_quark (void);

typedef enum
{
  MUGAI_SCAN_ERROR_DATABASE, /* no loadable signatures */
  MUGAI_SCAN_ERROR_ENGINE,   /* libclamav failed */
  MUGAI_SCAN_ERROR_SCAN
} MugaiScanError;

MugaiScanner *mugai_scanner_new (const MugaiScanSettings *settings, GError **error);
void mugai_scanner_free (MugaiScanner *scanner);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MugaiScanner, mugai_scanner_free)

guint mugai_scanner_signatures (const MugaiScanner *scanner);

/* name: shown in ClamAV's own messages only.  *signature (may be NULL)
 * receives the signature or heuristic name for every result but CLEAN.
 * Returns FALSE with an error when the scan itself failed: the caller
 * must not treat that as clean. */
gboolean mugai_scanner_scan (MugaiScanner *scanner, const void *data, gsize len, const char *name,
                             MugaiScanResult *result, char **signature, GError **error);

/* Counts the signatures of a database directory without building an
 * engine (cheap: for start-up checks).  FALSE with an error when there
 * is none. */
gboolean mugai_scanner_check_database (const char *database, guint *signatures, GError **error);

/* Fingerprint of the database directory; NULL when it cannot be read. */
char *mugai_scanner_db_state (const char *database);

/* libclamav's own messages (see scan.c): kept, not printed, until the
 * caller takes them and logs them with the ids of the message it was
 * working on.  At most this many are kept between two takes; the rest
 * are only counted (a hostile archive can make libclamav warn once per
 * member). */
#define MUGAI_SCAN_MESSAGES_MAX 32

typedef enum
{
  MUGAI_SCAN_MESSAGE_INFO,    /* CL_MSG_INFO_VERBOSE (only with cl_debug) */
  MUGAI_SCAN_MESSAGE_WARNING, /* "LibClamAV Warning:" */
  MUGAI_SCAN_MESSAGE_ERROR,   /* "LibClamAV Error:" */
} MugaiScanMessageLevel;

typedef struct
{
  MugaiScanMessageLevel level;
  gboolean during_scan; /* about a scanned buffer, not the engine */
  char *text;           /* without libclamav's prefix and line end; valid
                         * UTF-8, at most 300 characters, NOT escaped */
} MugaiScanMessage;

/* The messages kept since the last take, oldest first (owned, never
 * NULL); *dropped (may be NULL): how many more there were. */
GPtrArray *mugai_scan_take_messages (guint *dropped);

/* "error", "warning", "info" */
const char *mugai_scan_message_level_name (MugaiScanMessageLevel level);

