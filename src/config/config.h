/*
 * config.h - mugai.conf: one GLib key file read by every program
 *
 * DESCRIPTION
 *	One file describes one node, and is read in one parse into two
 *	parts that are handed on apart (MugaiConfig): the policy, which is
 *	all the core reads for a message (src/core/policy.h), and the node's
 *	settings (node.h), which the core never sees.  A process keeps the
 *	part it needs: the front the node's settings, the pool the policy
 *	and the few node values it and its workers use (pool.c, worker.h),
 *	the supervisor and the command both.
 *
 *	mugai_config_load() reads the file named by --config, else
 *	$MUGAI_CONFIG, else /etc/mugai/mugai.conf; when the file named by
 *	the environment or the default path does not exist, the built-in
 *	defaults are used (a file named with --config must exist).  Unknown
 *	groups and keys and bad values are refused with the file, the line,
 *	the key and what is allowed: a typo must never silently fall back to
 *	a default in a security gateway.
 *
 *	mugai_config_to_string() prints the effective configuration (both
 *	parts, in mugai.conf(5)'s order) as a key file
 *	that mugai_config_load() would accept (`mugai config check`).
 *
 *	mugai_config_check() checks what a file cannot say by itself and
 *	mugai-milter needs at start: the [milter] user and group exist, the
 *	socket is well formed, every directory the daemon writes can be
 *	created or used by that user on a writable file system, the ClamAV
 *	database has signatures, the filter programs are there.  It is the
 *	one check behind `mugai-milter -t`, the daemon's start, its reload
 *	(SIGHUP) and `mugai config check`, so that they refuse the same
 *	files for the same reasons.
 *
 * ERRORS
 *	MUGAI_CONFIG_ERROR, with a message meant for the administrator.
 */
#pragma once

#include <glib.h>

#include "node.h"
#include "policy.h"

#define MUGAI_CONFIG_DEFAULT_PATH "/etc/mugai/mugai.conf"

#define MUGAI_CONFIG_ERROR (mugai_config_error_quark ())
GQuark mugai_config_error_quark (void);

typedef enum
{
  MUGAI_CONFIG_ERROR_READ,
  MUGAI_CONFIG_ERROR_SYNTAX,
  MUGAI_CONFIG_ERROR_UNKNOWN,
  MUGAI_CONFIG_ERROR_VALUE
} MugaiConfigError;

/* Both parts of one file, owned. */
typedef struct
{
  MugaiPolicy *policy;     /* what the core reads for each message */
  MugaiNodeSettings *node; /* the node's own settings */
  char *source;            /* the file it came from; NULL: the built-in defaults */
  GPtrArray *profiles;     /* the names of its [profile NAME] groups (char *), checked */
  char *text;              /* the text it was read from, for the profiles; NULL: none */
} MugaiConfig;

MugaiConfig *mugai_config_new_default (void);
void mugai_config_free (MugaiConfig *config);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MugaiConfig, mugai_config_free)

/* The policy, taken out; the rest of config is freed (NULL: NULL).  For a
 * caller that sanitizes and keeps nothing of the node. */
MugaiPolicy *mugai_config_steal_policy (MugaiConfig *config);

/* path: the --config argument or NULL. */
MugaiConfig *mugai_config_load (const char *path, GError **error);

/* Parses key-file text; source names it in error messages. */
MugaiConfig *mugai_config_load_data (const char *data, gsize len, const char *source,
                                     GError **error);

char *mugai_config_to_string (const MugaiConfig *config);

/* [profile NAME]: a named policy that overrides keys of [sanitize],
 * [convert], [sandbox] and [limits] of the main one ("links = drop", or
 * "convert.pdf = image" where a key's name alone would be ambiguous);
 * the rest is the main policy's.  A new policy, or NULL with
 * MUGAI_CONFIG_ERROR_UNKNOWN for a profile the file does not have.  The
 * keys were checked when the file was loaded. */
MugaiPolicy *mugai_config_profile (const MugaiConfig *config, const char *name, GError **error);

/* Like mugai_config_load(), and gives the text that was parsed (owned by
 * the caller; "" for the built-in defaults), so that a caller can hand
 * exactly the bytes it checked to another process. */
MugaiConfig *mugai_config_load_text (const char *path, char **text, gsize *len, GError **error);

/* The start-up check (see above), as the process calling it would start
 * mugai-milter (as root, becoming [milter] user).  Returns lines meant
 * for the administrator, each beginning "error: " or "warning: ";
 * *fatal is TRUE when mugai-milter would refuse to start (or a reload
 * would be refused) with this configuration: the node's users,
 * socket and directories, the policy's ClamAV database and filters. */
GPtrArray *mugai_config_check (const MugaiConfig *config, gboolean *fatal);
