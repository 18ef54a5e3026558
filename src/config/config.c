/*
 * config.c - mugai.conf: one GLib key file read by every program
 *
 * DESCRIPTION
 *	The table `keys` is the whole schema: group, key, type and the
 *	values allowed.  Parsing, validation, error texts and the printout
 *	of `mugai config check` are all driven by it, so a key cannot be
 *	documented in one place and forgotten in another.
 *
 *	Each key lands in one of the two parts (KeyDef.part): the policy the
 *	core reads, or the node's settings it never sees.  The file, its
 *	groups and the printout do not show the split: a key's group says
 *	what it is about, its part who needs it ([clamav] reload_check is
 *	the pool's, the rest of [clamav] the core's).
 *
 *	Sizes accept a K, M or G suffix (powers of 1024).
 *
 * OWNERSHIP
 *	The returned MugaiConfig, and both its parts, are owned by the
 *	caller.
 */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <stdarg.h>
#include <pwd.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/un.h>
#include <unistd.h>

#include "convert.h"
#include "notice.h"
#include "scan.h"

/* The quark name is a string, not a subtraction. */
/* clang-format off */
G_DEFINE_QUARK (mugai-config-error-quark, mugai_config_error)
/* clang-format on */

typedef enum
{
  KEY_CHOICE,
  KEY_SIZE,
  KEY_COUNT,
  KEY_PATH,
  KEY_STRING,
  KEY_BOOL
} KeyType;

/* Which part of MugaiConfig a key is in. */
typedef enum
{
  PART_POLICY, /* MugaiPolicy: the core's */
  PART_NODE    /* MugaiNodeSettings: the node's */
} KeyPart;

typedef struct
{
  const char *group;
  const char *key;
  KeyType type;
  const char *const *choices; /* KEY_CHOICE: allowed words, index = enum value */
  gsize min, max;             /* KEY_SIZE, KEY_COUNT */
  gsize offset;               /* into the part */
  KeyPart part;
} KeyDef;

static const char *const alternative_choices[] = { "html", "text", NULL };
static const char *const links_choices[] = { "defang", "show", "drop", NULL };
static const char *const text_links_choices[] = { "defang", "keep", NULL };
static const char *const rfc822_choices[] = { "attach", "inline", NULL };
static const char *const charset_choices[] = { "utf-8", "iso-2022-jp", NULL };
static const char *const on_choices[] = { "remove", "reject", NULL };
static const char *const language_choices[] = { "ja", "en", NULL };
static const char *const position_choices[] = { "top", "bottom", NULL };
static const char *const bool_choices[] = { "no", "yes", NULL };
static const char *const virus_choices[] = { "reject", "discard", "hold", NULL };
static const char *const pdf_choices[] = { "image", "text", "remove", NULL };
static const char *const office_choices[] = { "text", "image", "remove", NULL };
static const char *const image_choices[] = { "reencode", "remove", NULL };
static const char *const backend_choices[] = { "sqlite", "files", "postgresql", NULL };
static const char *const on_approve_choices[] = { "wait", "send", NULL };

#define P(field) G_STRUCT_OFFSET (MugaiPolicy, field), PART_POLICY
#define N(field) G_STRUCT_OFFSET (MugaiNodeSettings, field), PART_NODE
#define KB 1024u
#define MB (1024u * 1024u)
#define GB (1024u * 1024u * 1024u)

static const KeyDef keys[] = {
  { "sanitize", "alternative", KEY_CHOICE, alternative_choices, 0, 0, P (alternative) },
  { "sanitize", "links", KEY_CHOICE, links_choices, 0, 0, P (links) },
  { "sanitize", "text_links", KEY_CHOICE, text_links_choices, 0, 0, P (text_links) },
  { "sanitize", "rfc822", KEY_CHOICE, rfc822_choices, 0, 0, P (rfc822) },
  { "sanitize", "charset", KEY_CHOICE, charset_choices, 0, 0, P (charset) },
  { "sanitize", "encrypted", KEY_CHOICE, on_choices, 0, 0, P (encrypted) },
  { "sanitize", "archive", KEY_CHOICE, on_choices, 0, 0, P (archive) },
  { "sanitize", "on_virus", KEY_CHOICE, virus_choices, 0, 0, P (on_virus) },
  { "notice", "language", KEY_CHOICE, language_choices, 0, 0, P (language) },
  { "notice", "position", KEY_CHOICE, position_choices, 0, 0, P (notice_position) },
  { "notice", "template", KEY_PATH, NULL, 0, 0, P (notice_template_path) },
  { "milter", "socket", KEY_STRING, NULL, 0, 0, N (milter.socket) },
  { "milter", "user", KEY_STRING, NULL, 0, 0, N (milter.user) },
  { "milter", "group", KEY_STRING, NULL, 0, 0, N (milter.group) },
  { "milter", "socket_group", KEY_STRING, NULL, 0, 0, N (milter.socket_group) },
  { "milter", "worker_user", KEY_STRING, NULL, 0, 0, N (milter.worker_user) },
  { "milter", "storer_user", KEY_STRING, NULL, 0, 0, N (milter.storer_user) },
  { "milter", "run_dir", KEY_PATH, NULL, 0, 0, N (milter.run_dir) },
  { "milter", "worker_messages", KEY_COUNT, NULL, 1, 1000000, N (milter.worker_messages) },
  { "milter", "pid_file", KEY_PATH, NULL, 0, 0, N (milter.pid_file) },
  { "milter", "spool_dir", KEY_PATH, NULL, 0, 0, N (milter.spool_dir) },
  { "milter", "spool_threshold", KEY_SIZE, NULL, 4 * KB, 1 * GB, N (milter.spool_threshold) },
  { "milter", "workers", KEY_COUNT, NULL, 1, 256, N (milter.workers) },
  { "milter", "worker_memory", KEY_SIZE, NULL, 64 * MB, G_MAXSIZE / 2, N (milter.worker_memory) },
  { "milter", "message_timeout", KEY_COUNT, NULL, 1, 3600, N (milter.message_timeout) },
  { "milter", "queue_timeout", KEY_COUNT, NULL, 1, 3600, N (milter.queue_timeout) },
  { "milter", "node_name", KEY_STRING, NULL, 0, 0, N (node_name) },
  { "quarantine", "backend", KEY_CHOICE, backend_choices, 0, 0, N (quarantine_backend) },
  { "quarantine", "dir", KEY_PATH, NULL, 0, 0, N (quarantine_dir) },
  { "quarantine", "dsn_file", KEY_PATH, NULL, 0, 0, N (quarantine_dsn_file) },
  { "release", "relay", KEY_STRING, NULL, 0, 0, N (release.relay) },
  { "release", "helo", KEY_STRING, NULL, 0, 0, N (release.helo) },
  { "release", "approvals", KEY_COUNT, NULL, 1, 2, N (release.approvals) },
  { "release", "request_days", KEY_COUNT, NULL, 1, 3650, N (release.request_days) },
  { "release", "on_approve", KEY_CHOICE, on_approve_choices, 0, 0, N (release.on_approve) },
  { "release", "notify", KEY_STRING, NULL, 0, 0, N (release.notify) },
  { "release", "from", KEY_STRING, NULL, 0, 0, N (release.from) },
  { "release", "retry_minutes", KEY_COUNT, NULL, 1, 7 * 24 * 60, N (release.retry_minutes) },
  { "quarantine", "keep_days", KEY_COUNT, NULL, 0, 36500, N (keep_days) },
  { "audit", "file", KEY_PATH, NULL, 0, 0, N (audit_file) },
  { "audit", "syslog", KEY_BOOL, bool_choices, 0, 0, N (audit_syslog) },
  { "clamav", "database", KEY_PATH, NULL, 0, 0, P (clamav.database) },
  { "clamav", "required", KEY_BOOL, bool_choices, 0, 0, P (clamav_required) },
  { "clamav", "reload_check", KEY_COUNT, NULL, 1, 86400, N (clamav_reload) },
  { "clamav", "max_scansize", KEY_SIZE, NULL, 1 * MB, 2u * GB - 1, P (clamav.max_scansize) },
  { "clamav", "max_filesize", KEY_SIZE, NULL, 1 * MB, 2u * GB - 1, P (clamav.max_filesize) },
  { "clamav", "max_recursion", KEY_COUNT, NULL, 1, 64, P (clamav.max_recursion) },
  { "clamav", "max_files", KEY_COUNT, NULL, 1, 1000000, P (clamav.max_files) },
  { "clamav", "max_scantime", KEY_COUNT, NULL, 1000, 3600000, P (clamav.max_scantime) },
  { "clamav", "heuristic_broken", KEY_BOOL, bool_choices, 0, 0, P (clamav.heuristic_broken) },
  { "clamav", "heuristic_macros", KEY_BOOL, bool_choices, 0, 0, P (clamav.heuristic_macros) },
  { "clamav", "heuristic_encrypted", KEY_BOOL, bool_choices, 0, 0, P (clamav.heuristic_encrypted) },
  { "clamav", "heuristic_phishing", KEY_BOOL, bool_choices, 0, 0, P (clamav.heuristic_phishing) },
  { "convert", "pdf", KEY_CHOICE, pdf_choices, 0, 0, P (convert.pdf) },
  { "convert", "pdf_text", KEY_BOOL, bool_choices, 0, 0, P (convert.pdf_text) },
  { "convert", "dpi", KEY_COUNT, NULL, 36, 600, P (convert.dpi) },
  { "convert", "max_pages", KEY_COUNT, NULL, 1, 10000, P (convert.max_pages) },
  { "convert", "office", KEY_CHOICE, office_choices, 0, 0, P (convert.office) },
  { "convert", "image", KEY_CHOICE, image_choices, 0, 0, P (convert.image) },
  { "sandbox", "filters", KEY_PATH, NULL, 0, 0, P (convert.filters_dir) },
  { "sandbox", "soffice", KEY_PATH, NULL, 0, 0, P (convert.soffice) },
  { "sandbox", "timeout", KEY_COUNT, NULL, 1, 3600, P (convert.timeout) },
  { "sandbox", "cpu", KEY_COUNT, NULL, 1, 3600, P (convert.cpu) },
  { "sandbox", "memory", KEY_SIZE, NULL, 64 * MB, G_MAXSIZE / 2, P (convert.memory) },
  { "sandbox", "output_max", KEY_SIZE, NULL, 1 * MB, 2u * GB - 1, P (convert.output_max) },
  { "sandbox", "max_running", KEY_COUNT, NULL, 0, 1024, P (convert.max_running) },
  { "sandbox", "slot_wait", KEY_COUNT, NULL, 1, 3600, P (convert.slot_wait) },
  { "limits", "message_size", KEY_SIZE, NULL, 1 * KB, 2u * GB - 1, P (limits.message_size) },
  { "limits", "part_size", KEY_SIZE, NULL, 1 * KB, 2u * GB - 1, P (limits.part_size) },
  { "limits", "header_length", KEY_SIZE, NULL, 998, 1 * MB, P (limits.header_length) },
  { "limits", "depth", KEY_COUNT, NULL, 1, 100, P (limits.depth) },
  { "limits", "parts", KEY_COUNT, NULL, 1, 100000, P (limits.parts) },
  { "limits", "headers", KEY_COUNT, NULL, 10, 100000, P (limits.headers) },
  { "limits", "inline_payloads", KEY_COUNT, NULL, 1, 10000, P (limits.inline_payloads) },
  { "limits", "html_size", KEY_SIZE, NULL, 64 * KB, 1 * GB, P (limits.html_size) },
  { "limits", "html_attributes", KEY_COUNT, NULL, 16, 100000, P (limits.html_attributes) },
  { "limits", "html_time", KEY_COUNT, NULL, 1, 3600000, P (limits.html_time) },
  { "limits", "archive_depth", KEY_COUNT, NULL, 0, 20, P (limits.archive_depth) },
  { "limits", "archive_entries", KEY_COUNT, NULL, 1, 100000, P (limits.archive_entries) },
  { "limits", "archive_expand", KEY_SIZE, NULL, 1 * MB, 2u * GB - 1, P (limits.archive_expand) },
};

static const KeyDef *
find_key (const char *group, const char *key)
{
  for (gsize i = 0; i < G_N_ELEMENTS (keys); i++)
    if (g_str_equal (keys[i].group, group) && g_str_equal (keys[i].key, key))
      return &keys[i];
  return NULL;
}

/* The groups a profile may override. */
static gboolean
profile_section (const char *group)
{
  return g_str_equal (group, "sanitize") || g_str_equal (group, "convert")
         || g_str_equal (group, "sandbox") || g_str_equal (group, "limits");
}

#define PROFILE_PREFIX "profile "

/* "convert.pdf", or "pdf" when only one of the profile sections has it;
 * NULL with *ambiguous set when several do. */
static const KeyDef *
find_profile_key (const char *name, gboolean *ambiguous)
{
  *ambiguous = FALSE;
  const char *dot = strchr (name, '.');
  if (dot)
    {
      g_autofree char *group = g_strndup (name, (gsize)(dot - name));
      return profile_section (group) ? find_key (group, dot + 1) : NULL;
    }
  const KeyDef *found = NULL;
  for (gsize i = 0; i < G_N_ELEMENTS (keys); i++)
    if (profile_section (keys[i].group) && g_str_equal (keys[i].key, name))
      {
        if (found)
          *ambiguous = TRUE;
        found = &keys[i];
      }
  return *ambiguous ? NULL : found;
}

/* A profile's name: what [profile NAME] may say. */
static gboolean
profile_name_ok (const char *name)
{
  gsize n = strlen (name);
  if (n == 0 || n > 32)
    return FALSE;
  for (const char *p = name; *p; p++)
    if (!g_ascii_isalnum (*p) && *p != '-' && *p != '_')
      return FALSE;
  return TRUE;
}

static gboolean
known_group (const char *group)
{
  for (gsize i = 0; i < G_N_ELEMENTS (keys); i++)
    if (g_str_equal (keys[i].group, group))
      return TRUE;
  return FALSE;
}

/* GKeyFile reports syntax errors with line numbers but forgets lines once
 * parsed; for value errors the line is found again in the text. */
static guint
line_of (const char *data, const char *group, const char *key)
{
  g_auto (GStrv) lines = g_strsplit (data, "\n", -1);
  gboolean in_group = FALSE;
  for (guint i = 0; lines[i]; i++)
    {
      g_autofree char *l = g_strstrip (g_strdup (lines[i]));
      if (l[0] == '[')
        {
          g_autofree char *want = g_strdup_printf ("[%s]", group);
          in_group = g_str_equal (l, want);
          if (!key && in_group)
            return i + 1;
          continue;
        }
      if (in_group && key && g_str_has_prefix (l, key))
        {
          const char *rest = l + strlen (key);
          while (*rest == ' ' || *rest == '\t')
            rest++;
          if (*rest == '=')
            return i + 1;
        }
    }
  return 0;
}

static gboolean
parse_size (const char *text, gsize *out)
{
  char *end = NULL;
  errno = 0;
  if (!g_ascii_isdigit (text[0]))
    return FALSE;
  guint64 v = g_ascii_strtoull (text, &end, 10);
  if (errno != 0)
    return FALSE;
  guint64 mult = 1;
  if (*end == 'K' || *end == 'k')
    mult = KB, end++;
  else if (*end == 'M' || *end == 'm')
    mult = MB, end++;
  else if (*end == 'G' || *end == 'g')
    mult = GB, end++;
  if (*end != '\0' || v > G_MAXUINT64 / mult)
    return FALSE;
  *out = (gsize)(v * mult);
  return TRUE;
}

static char *
describe_allowed (const KeyDef *def)
{
  switch (def->type)
    {
    case KEY_CHOICE:
      {
        g_autofree char *j = g_strjoinv (" | ", (char **)def->choices);
        return g_strdup_printf ("one of: %s", j);
      }
    case KEY_SIZE:
      return g_strdup_printf ("a size in octets from %zu to %zu, with an optional K, M or G suffix",
                              def->min, def->max);
    case KEY_COUNT:
      return g_strdup_printf ("a whole number from %zu to %zu", def->min, def->max);
    case KEY_PATH:
      return g_strdup ("an absolute path");
    case KEY_STRING:
      return g_strdup ("a non-empty value of at most 255 printable characters");
    case KEY_BOOL:
      return g_strdup ("yes or no");
    }
  return g_strdup ("");
}

/* The start of the part a key is in. */
static guint8 *
part_of (const MugaiConfig *config, const KeyDef *def)
{
  return def->part == PART_NODE ? (guint8 *)config->node : (guint8 *)config->policy;
}

static gboolean
set_value (MugaiConfig *config, const KeyDef *def, const char *value, const char *source,
           const char *data, GError **error)
{
  guint8 *base = part_of (config, def);
  gboolean ok = FALSE;
  switch (def->type)
    {
    case KEY_CHOICE:
      for (guint i = 0; def->choices[i]; i++)
        if (g_ascii_strcasecmp (def->choices[i], value) == 0)
          {
            /* every choice field is an enum of int size */
            *(int *)(base + def->offset) = (int)i;
            ok = TRUE;
          }
      break;
    case KEY_SIZE:
    case KEY_COUNT:
      {
        gsize v = 0;
        if (def->type == KEY_SIZE)
          ok = parse_size (value, &v);
        else
          {
            guint64 n = 0;
            ok = g_ascii_string_to_unsigned (value, 10, 0, G_MAXUINT, &n, NULL);
            v = (gsize)n;
          }
        ok = ok && v >= def->min && v <= def->max;
        if (ok && def->type == KEY_SIZE)
          *(gsize *)(base + def->offset) = v;
        else if (ok)
          *(guint *)(base + def->offset) = (guint)v;
        break;
      }
    case KEY_BOOL:
      ok = g_ascii_strcasecmp (value, "yes") == 0 || g_ascii_strcasecmp (value, "no") == 0
           || g_ascii_strcasecmp (value, "true") == 0 || g_ascii_strcasecmp (value, "false") == 0;
      if (ok)
        *(gboolean *)(base + def->offset)
            = g_ascii_strcasecmp (value, "yes") == 0 || g_ascii_strcasecmp (value, "true") == 0;
      break;
    case KEY_PATH:
    case KEY_STRING:
      ok = def->type == KEY_PATH ? g_path_is_absolute (value)
                                 : (*value && strlen (value) <= 255 && g_str_is_ascii (value));
      if (ok)
        {
          char **field = (char **)(base + def->offset);
          g_free (*field);
          *field = g_strdup (value);
        }
      break;
    }
  if (!ok)
    {
      g_autofree char *allowed = describe_allowed (def);
      g_set_error (error, MUGAI_CONFIG_ERROR, MUGAI_CONFIG_ERROR_VALUE,
                   "%s:%u: [%s] %s = %s: bad value; allowed: %s", source,
                   line_of (data, def->group, def->key), def->group, def->key, value, allowed);
    }
  return ok;
}

MugaiConfig *
mugai_config_new_default (void)
{
  MugaiConfig *config = g_new0 (MugaiConfig, 1);
  config->policy = mugai_policy_new_default ();
  config->node = mugai_node_settings_new_default ();
  return config;
}

void
mugai_config_free (MugaiConfig *config)
{
  if (!config)
    return;
  mugai_policy_free (config->policy);
  mugai_node_settings_free (config->node);
  g_free (config->source);
  g_free (config->text);
  if (config->profiles)
    g_ptr_array_unref (config->profiles);
  g_free (config);
}

MugaiPolicy *
mugai_config_steal_policy (MugaiConfig *config)
{
  if (!config)
    return NULL;
  MugaiPolicy *policy = g_steal_pointer (&config->policy);
  mugai_config_free (config);
  return policy;
}

/* Sets the keys of the [profile NAME] group on config's policy. */
static gboolean
apply_profile (MugaiConfig *config, GKeyFile *kf, const char *group, const char *source,
               const char *data, GError **error)
{
  g_auto (GStrv) names = g_key_file_get_keys (kf, group, NULL, NULL);
  for (guint k = 0; names && names[k]; k++)
    {
      gboolean ambiguous = FALSE;
      const KeyDef *def = find_profile_key (names[k], &ambiguous);
      if (!def)
        {
          g_set_error (error, MUGAI_CONFIG_ERROR, MUGAI_CONFIG_ERROR_UNKNOWN,
                       ambiguous ? "%s:%u: [%s] %s: more than one section has this key: write "
                                   "SECTION.%s (sanitize, convert, sandbox or limits)"
                                 : "%s:%u: [%s] %s: a profile sets keys of [sanitize], [convert], "
                                   "[sandbox] and [limits] only%s",
                       source, line_of (data, group, names[k]), group, names[k],
                       ambiguous ? names[k] : "");
          return FALSE;
        }
      g_autofree char *value = g_key_file_get_string (kf, group, names[k], NULL);
      if (!value || !set_value (config, def, g_strstrip (value), source, data, error))
        return FALSE;
    }
  return TRUE;
}

MugaiConfig *
mugai_config_load_data (const char *data, gsize len, const char *source, GError **error)
{
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  g_autoptr (GError) local = NULL;
  if (!g_key_file_load_from_data (kf, data, len, G_KEY_FILE_NONE, &local))
    {
      g_set_error (error, MUGAI_CONFIG_ERROR, MUGAI_CONFIG_ERROR_SYNTAX, "%s: %s", source,
                   local->message);
      return NULL;
    }

  g_autoptr (MugaiConfig) config = mugai_config_new_default ();
  MugaiPolicy *policy = config->policy;
  g_auto (GStrv) groups = g_key_file_get_groups (kf, NULL);
  for (guint g = 0; groups[g]; g++)
    {
      if (g_str_has_prefix (groups[g], PROFILE_PREFIX))
        {
          /* checked against a scratch policy once the main one is read,
           * below */
          continue;
        }
      if (!known_group (groups[g]))
        {
          g_set_error (
              error, MUGAI_CONFIG_ERROR, MUGAI_CONFIG_ERROR_UNKNOWN,
              "%s:%u: unknown group [%s]; known groups: [sanitize] [notice] [limits] "
              "[convert] [sandbox] [milter] [quarantine] [release] [audit] [clamav] [profile NAME]",
              source, line_of (data, groups[g], NULL), groups[g]);
          return NULL;
        }
      g_auto (GStrv) names = g_key_file_get_keys (kf, groups[g], NULL, NULL);
      for (guint k = 0; names && names[k]; k++)
        {
          const KeyDef *def = find_key (groups[g], names[k]);
          if (!def)
            {
              g_autoptr (GString) known = g_string_new (NULL);
              for (gsize i = 0; i < G_N_ELEMENTS (keys); i++)
                if (g_str_equal (keys[i].group, groups[g]))
                  g_string_append_printf (known, " %s", keys[i].key);
              g_set_error (error, MUGAI_CONFIG_ERROR, MUGAI_CONFIG_ERROR_UNKNOWN,
                           "%s:%u: unknown key \"%s\" in [%s]; known keys:%s", source,
                           line_of (data, groups[g], names[k]), names[k], groups[g], known->str);
              return NULL;
            }
          g_autofree char *value = g_key_file_get_string (kf, groups[g], names[k], NULL);
          if (!value || !set_value (config, def, g_strstrip (value), source, data, error))
            return NULL;
        }
    }

  /* The language picks the built-in template; a template file replaces it. */
  g_free (policy->notice_template);
  if (policy->notice_template_path)
    {
      g_autofree char *text = NULL;
      gsize text_len = 0;
      if (!g_file_get_contents (policy->notice_template_path, &text, &text_len, &local))
        {
          g_set_error (error, MUGAI_CONFIG_ERROR, MUGAI_CONFIG_ERROR_VALUE,
                       "%s:%u: [notice] template: %s", source, line_of (data, "notice", "template"),
                       local->message);
          policy->notice_template = NULL;
          return NULL;
        }
      if (!g_utf8_validate_len (text, text_len, NULL) || text_len > 64 * KB)
        {
          g_set_error (error, MUGAI_CONFIG_ERROR, MUGAI_CONFIG_ERROR_VALUE,
                       "%s:%u: [notice] template %s: must be UTF-8 text of at most 64K", source,
                       line_of (data, "notice", "template"), policy->notice_template_path);
          policy->notice_template = NULL;
          return NULL;
        }
      policy->notice_template = g_steal_pointer (&text);
    }
  else
    policy->notice_template = g_strdup (mugai_notice_builtin_template (policy->language));

  config->source = g_strdup (source);
  config->text = g_strndup (data, len);
  config->profiles = g_ptr_array_new_with_free_func (g_free);
  for (guint g = 0; groups[g]; g++)
    {
      if (!g_str_has_prefix (groups[g], PROFILE_PREFIX))
        continue;
      const char *name = groups[g] + strlen (PROFILE_PREFIX);
      if (!profile_name_ok (name))
        {
          g_set_error (error, MUGAI_CONFIG_ERROR, MUGAI_CONFIG_ERROR_VALUE,
                       "%s:%u: [%s]: a profile's name is 1 to 32 letters, digits, - and _", source,
                       line_of (data, groups[g], NULL), groups[g]);
          return NULL;
        }
      /* every key and value checked now, against a scratch copy */
      g_autoptr (MugaiConfig) scratch = mugai_config_new_default ();
      if (!apply_profile (scratch, kf, groups[g], source, data, error))
        return NULL;
      g_ptr_array_add (config->profiles, g_strdup (name));
    }
  return g_steal_pointer (&config);
}

MugaiPolicy *
mugai_config_profile (const MugaiConfig *config, const char *name, GError **error)
{
  gboolean known = FALSE;
  for (guint i = 0; config->profiles && i < config->profiles->len; i++)
    known = known || g_str_equal (config->profiles->pdata[i], name);
  if (!known || !config->text)
    {
      g_autoptr (GString) names = g_string_new (NULL);
      for (guint i = 0; config->profiles && i < config->profiles->len; i++)
        g_string_append_printf (names, " %s", (const char *)config->profiles->pdata[i]);
      g_set_error (
          error, MUGAI_CONFIG_ERROR, MUGAI_CONFIG_ERROR_UNKNOWN, "%s: no [profile %s]; profiles:%s",
          config->source ? config->source : "(defaults)", name, names->len ? names->str : " none");
      return NULL;
    }
  /* the main policy as the file makes it, then the profile's keys */
  const char *source = config->source ? config->source : "(text)";
  g_autoptr (MugaiConfig) fresh
      = mugai_config_load_data (config->text, strlen (config->text), source, error);
  if (!fresh)
    return NULL;
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  if (!g_key_file_load_from_data (kf, config->text, strlen (config->text), G_KEY_FILE_NONE, error))
    return NULL;
  g_autofree char *group = g_strconcat (PROFILE_PREFIX, name, NULL);
  if (!apply_profile (fresh, kf, group, source, config->text, error))
    return NULL;
  g_free (fresh->policy->profile);
  fresh->policy->profile = g_strdup (name);
  return mugai_config_steal_policy (g_steal_pointer (&fresh));
}

MugaiConfig *
mugai_config_load (const char *path, GError **error)
{
  return mugai_config_load_text (path, NULL, NULL, error);
}

MugaiConfig *
mugai_config_load_text (const char *path, char **text, gsize *text_len, GError **error)
{
  gboolean must_exist = path != NULL;
  if (!path)
    path = g_getenv ("MUGAI_CONFIG");
  if (!path || !*path)
    path = MUGAI_CONFIG_DEFAULT_PATH;

  g_autofree char *data = NULL;
  gsize len = 0;
  g_autoptr (GError) local = NULL;
  if (!g_file_get_contents (path, &data, &len, &local))
    {
      if (!must_exist && g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        {
          if (text)
            *text = g_strdup ("");
          if (text_len)
            *text_len = 0;
          return mugai_config_new_default ();
        }
      g_set_error (error, MUGAI_CONFIG_ERROR, MUGAI_CONFIG_ERROR_READ, "%s", local->message);
      return NULL;
    }
  MugaiConfig *config = mugai_config_load_data (data, len, path, error);
  if (config && text)
    *text = g_steal_pointer (&data);
  if (config && text_len)
    *text_len = len;
  return config;
}

char *
mugai_config_to_string (const MugaiConfig *config)
{
  g_autoptr (GString) out = g_string_new (NULL);
  const char *group = NULL;

  g_string_append_printf (out, "# effective configuration (source: %s)\n",
                          config->source ? config->source : "built-in defaults");
  for (gsize i = 0; i < G_N_ELEMENTS (keys); i++)
    {
      const KeyDef *def = &keys[i];
      const guint8 *base = part_of (config, def);
      if (!group || !g_str_equal (group, def->group))
        {
          group = def->group;
          g_string_append_printf (out, "%s[%s]\n", i ? "\n" : "", group);
        }
      switch (def->type)
        {
        case KEY_CHOICE:
          g_string_append_printf (out, "%s = %s\n", def->key,
                                  def->choices[*(const int *)(base + def->offset)]);
          break;
        case KEY_SIZE:
          g_string_append_printf (out, "%s = %zu\n", def->key,
                                  *(const gsize *)(base + def->offset));
          break;
        case KEY_COUNT:
          g_string_append_printf (out, "%s = %u\n", def->key, *(const guint *)(base + def->offset));
          break;
        case KEY_BOOL:
          g_string_append_printf (out, "%s = %s\n", def->key,
                                  *(const gboolean *)(base + def->offset) ? "yes" : "no");
          break;
        case KEY_PATH:
        case KEY_STRING:
          {
            const char *v = *(char *const *)(base + def->offset);
            if (v)
              g_string_append_printf (out, "%s = %s\n", def->key, v);
            else
              g_string_append_printf (out, "# %s = (not set)\n", def->key);
            break;
          }
        }
    }
  /* the profiles, as the file sets them over the above */
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  if (config->profiles && config->profiles->len && config->text
      && g_key_file_load_from_data (kf, config->text, strlen (config->text), G_KEY_FILE_NONE, NULL))
    for (guint i = 0; i < config->profiles->len; i++)
      {
        g_autofree char *pg = g_strconcat (PROFILE_PREFIX, config->profiles->pdata[i], NULL);
        g_string_append_printf (out, "\n[%s]\n# over the policy above\n", pg);
        g_auto (GStrv) names = g_key_file_get_keys (kf, pg, NULL, NULL);
        for (guint k = 0; names && names[k]; k++)
          {
            g_autofree char *v = g_key_file_get_string (kf, pg, names[k], NULL);
            g_string_append_printf (out, "%s = %s\n", names[k], v ? g_strstrip (v) : "");
          }
      }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

/* ---- the start-up check ---------------------------------------------------- */

/* A process role's user after the drop: (uid_t) -1 when it keeps the
 * starting user. */
typedef struct
{
  const char *key;  /* "[milter] user", "[milter] worker_user"... */
  const char *name; /* the login, or NULL */
  uid_t uid;
  gid_t gid;
  gid_t *groups; /* its groups (initgroups) */
  int ngroups;
} Role;

typedef struct
{
  GPtrArray *lines;
  gboolean fatal;
  gboolean root;    /* the checking process can chown and setuid */
  const Role *role; /* whose directory check_dir() is looking at */
} Check;

static void G_GNUC_PRINTF (3, 4) check_say (Check *c, gboolean fatal, const char *format, ...)
{
  va_list ap;
  va_start (ap, format);
  g_autofree char *text = g_strdup_vprintf (format, ap);
  va_end (ap);
  g_ptr_array_add (c->lines, g_strconcat (fatal ? "error: " : "warning: ", text, NULL));
  if (fatal)
    c->fatal = TRUE;
}

/* May the daemon's user (after the drop) do `need` (R_OK, W_OK, X_OK
 * bits) on a file with this stat?  By the mode bits, as the kernel
 * decides for a process without capabilities. */
static gboolean
user_may (const Role *r, const struct stat *st, int need)
{
  if (r->uid == 0)
    return TRUE;
  int shift = 0;
  if (st->st_uid == r->uid)
    shift = 6;
  else
    {
      gboolean in_group = st->st_gid == r->gid;
      for (int i = 0; i < r->ngroups && !in_group; i++)
        in_group = r->groups[i] == st->st_gid;
      shift = in_group ? 3 : 0;
    }
  int have = (int)(st->st_mode >> shift) & 7;
  return (have & need) == need;
}

/* A directory the daemon creates (if missing) and gives to its user at
 * start, exactly as mugai-milter does: the nearest existing ancestor must
 * be a directory on a writable file system that the starting process may
 * write, every existing ancestor must let the user through, and an
 * existing directory must be one, writable, and chown-able. */
static void
check_dir (Check *c, const char *what, const char *dir)
{
  if (!dir || !g_path_is_absolute (dir))
    {
      check_say (c, TRUE, "%s %s: not an absolute path", what, dir ? dir : "(unset)");
      return;
    }
  g_autofree char *path = g_canonicalize_filename (dir, NULL);
  g_autofree char *existing = g_strdup (path);
  struct stat st;
  while (stat (existing, &st) != 0)
    {
      if (errno != ENOENT && errno != ENOTDIR)
        {
          check_say (c, TRUE, "%s %s: %s: %s", what, dir, existing, g_strerror (errno));
          return;
        }
      char *up = g_path_get_dirname (existing);
      g_free (existing);
      existing = up;
    }
  gboolean exists = g_str_equal (existing, path);
  if (!S_ISDIR (st.st_mode))
    {
      check_say (c, TRUE, "%s %s: %s is not a directory", what, dir, existing);
      return;
    }
  struct statvfs vfs;
  if (statvfs (existing, &vfs) == 0 && (vfs.f_flag & ST_RDONLY))
    {
      check_say (c, TRUE,
                 "%s %s: %s is on a read-only file system (under systemd: is it in the "
                 "unit's ReadWritePaths=?)",
                 what, dir, existing);
      return;
    }
  if (!exists && access (existing, W_OK | X_OK) != 0)
    {
      check_say (c, TRUE, "%s %s: cannot be created in %s: %s", what, dir, existing,
                 g_strerror (errno));
      return;
    }
  const Role *r = c->role;
  if (exists && r->uid != (uid_t)-1 && !c->root && st.st_uid != r->uid)
    {
      check_say (c, TRUE, "%s %s: owned by uid %u and cannot be given to %s %s without root", what,
                 dir, (unsigned)st.st_uid, r->key, r->name);
      return;
    }
  if (exists && r->uid == (uid_t)-1 && access (path, W_OK | X_OK) != 0)
    {
      check_say (c, TRUE, "%s %s: %s", what, dir, g_strerror (errno));
      return;
    }
  /* every ancestor that exists must let the user walk through it (the
   * ones mugai-milter creates are given to the user itself) */
  if (r->uid == (uid_t)-1)
    return;
  g_autofree char *walk = g_path_get_dirname (exists ? path : existing);
  if (!exists)
    {
      g_free (walk);
      walk = g_strdup (existing);
    }
  for (;;)
    {
      struct stat a;
      if (stat (walk, &a) == 0 && S_ISDIR (a.st_mode) && !user_may (r, &a, X_OK))
        {
          check_say (c, TRUE, "%s %s: %s %s cannot enter %s (mode %04o, owner %u:%u)", what, dir,
                     r->key, r->name, walk, (unsigned)(a.st_mode & 07777), (unsigned)a.st_uid,
                     (unsigned)a.st_gid);
          return;
        }
      if (g_str_equal (walk, "/"))
        break;
      char *up = g_path_get_dirname (walk);
      g_free (walk);
      walk = up;
    }
}

/* [quarantine] dsn_file of backend = postgresql: the storer opens it
 * after it has become its user, and store-pg.c refuses a file its group
 * or others may read (it may hold the database's password).  Only the
 * metadata are looked at, never the text: `mugai config check` may run
 * as a user who must not read it, and the connection is the storer's to
 * make (a database that is down defers mail, it does not stop the
 * daemon). */
static void
check_dsn_file (Check *c, const char *path)
{
  const Role *r = c->role;
  const char *who = r->name ? r->name : "the starting user";
  if (!path || !g_path_is_absolute (path))
    {
      check_say (c, TRUE, "[quarantine] dsn_file %s: not an absolute path",
                 path ? path : "(unset)");
      return;
    }
  struct stat st;
  if (stat (path, &st) != 0)
    {
      int e = errno;
      /* a directory on the way this user may not enter: the storer's
       * user may, so only a warning */
      check_say (c, e != EACCES,
                 "[quarantine] dsn_file %s: %s (backend = postgresql reads the database's "
                 "connection string there: a libpq conninfo or URI, mode 0600, owned by %s)",
                 path, g_strerror (e), who);
      return;
    }
  if (!S_ISREG (st.st_mode))
    {
      check_say (c, TRUE, "[quarantine] dsn_file %s: not a regular file", path);
      return;
    }
  if ((st.st_mode & 077) != 0)
    {
      check_say (c, TRUE,
                 "[quarantine] dsn_file %s: mode %04o: it may hold the database's password and "
                 "the storer refuses a file its group or others may read (chmod 600)",
                 path, (unsigned)(st.st_mode & 07777));
      return;
    }
  if (r->uid != (uid_t)-1 ? !user_may (r, &st, R_OK) : access (path, R_OK) != 0)
    {
      check_say (c, TRUE,
                 "[quarantine] dsn_file %s: %s %s cannot read it (mode %04o, owner %u:%u): chown "
                 "it to that user",
                 path, r->key, who, (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid,
                 (unsigned)st.st_gid);
      return;
    }
  if (r->uid == (uid_t)-1)
    return;
  g_autofree char *walk = g_path_get_dirname (path);
  for (;;)
    {
      struct stat a;
      if (stat (walk, &a) == 0 && S_ISDIR (a.st_mode) && !user_may (r, &a, X_OK))
        {
          check_say (c, TRUE,
                     "[quarantine] dsn_file %s: %s %s cannot enter %s (mode %04o, owner %u:%u)",
                     path, r->key, who, walk, (unsigned)(a.st_mode & 07777), (unsigned)a.st_uid,
                     (unsigned)a.st_gid);
          return;
        }
      if (g_str_equal (walk, "/") || g_str_equal (walk, "."))
        break;
      char *up = g_path_get_dirname (walk);
      g_free (walk);
      walk = up;
    }
}

/* "unix:/path" (or "local:"), "inet:PORT@HOST", "inet6:PORT@HOST", as
 * libmilter's smfi_setconn() takes them; returns the socket's directory
 * for a Unix socket. */
static char *
check_socket (Check *c, const char *spec)
{
  if (spec && (g_str_has_prefix (spec, "unix:") || g_str_has_prefix (spec, "local:")))
    {
      const char *path = strchr (spec, ':') + 1;
      if (!g_path_is_absolute (path))
        check_say (c, TRUE, "[milter] socket = %s: the path must be absolute", spec);
      else if (strlen (path) >= sizeof ((struct sockaddr_un *)NULL)->sun_path)
        check_say (c, TRUE, "[milter] socket = %s: the path is too long for a Unix socket", spec);
      else
        return g_path_get_dirname (path);
      return NULL;
    }
  if (spec && (g_str_has_prefix (spec, "inet:") || g_str_has_prefix (spec, "inet6:")))
    {
      const char *port = strchr (spec, ':') + 1;
      const char *at = strchr (port, '@');
      guint64 n = 0;
      g_autofree char *digits = g_strndup (port, at ? (gsize)(at - port) : strlen (port));
      if (!g_ascii_string_to_unsigned (digits, 10, 1, 65535, &n, NULL) || (at && !at[1]))
        check_say (c, TRUE,
                   "[milter] socket = %s: allowed: inet:PORT@HOST with PORT from 1 to 65535", spec);
      return NULL;
    }
  check_say (c, TRUE, "[milter] socket = %s: allowed: unix:/PATH, inet:PORT@HOST, inet6:PORT@HOST",
             spec ? spec : "(unset)");
  return NULL;
}

GPtrArray *
mugai_config_check (const MugaiConfig *config, gboolean *fatal)
{
  g_return_val_if_fail (config != NULL && fatal != NULL, NULL);
  const MugaiPolicy *policy = config->policy;
  const MugaiNodeSettings *node = config->node;
  Check c = {
    .lines = g_ptr_array_new_with_free_func (g_free),
    .root = geteuid () == 0,
  };

  /* the users the roles become (mugai-milter(8), ROLES) */
  const MugaiMilterSettings *m = &node->milter;
  Role front = { "[milter] user", m->user, (uid_t)-1, (gid_t)-1, NULL, 0 };
  Role worker = { "[milter] worker_user", m->worker_user, (uid_t)-1, (gid_t)-1, NULL, 0 };
  Role storer = { "[milter] storer_user", m->storer_user, (uid_t)-1, (gid_t)-1, NULL, 0 };
  Role starter = { "the starting user", NULL, (uid_t)-1, (gid_t)-1, NULL, 0 };
  Role *roles[] = { &front, &worker, &storer };
  if (!m->user && m->group)
    check_say (&c, FALSE, "[milter] group %s is ignored without a [milter] user", m->group);
  if (!m->user && (m->worker_user || m->storer_user))
    check_say (&c, TRUE, "[milter] worker_user and storer_user need a [milter] user (the front's)");
  for (gsize i = 0; i < G_N_ELEMENTS (roles); i++)
    {
      Role *r = roles[i];
      if (!r->name && i > 0)
        {
          /* unset: the front's user */
          r->name = front.name;
          r->uid = front.uid;
          r->gid = front.gid;
          continue;
        }
      if (!r->name)
        continue;
      struct passwd *pw = getpwnam (r->name);
      if (!pw)
        {
          check_say (&c, TRUE, "%s %s does not exist", r->key, r->name);
          continue;
        }
      r->uid = pw->pw_uid;
      r->gid = pw->pw_gid;
      if (!c.root && pw->pw_uid != geteuid ())
        check_say (&c, TRUE, "%s %s: mugai-milter must start as root to become it", r->key,
                   r->name);
      if (pw->pw_uid == 0)
        check_say (&c, FALSE, "%s %s is root: that role is not confined by a user of its own",
                   r->key, r->name);
      if (i == 0 && m->group)
        {
          struct group *gr = getgrnam (m->group);
          if (!gr)
            check_say (&c, TRUE, "[milter] group %s does not exist", m->group);
          else
            r->gid = gr->gr_gid;
        }
      int n = 64;
      r->groups = g_new (gid_t, n);
      if (getgrouplist (r->name, r->gid, r->groups, &n) < 0)
        {
          r->groups = g_renew (gid_t, r->groups, n);
          if (getgrouplist (r->name, r->gid, r->groups, &n) < 0)
            n = 0;
        }
      r->ngroups = n;
    }
  if (front.uid != (uid_t)-1
      && (worker.uid == front.uid || storer.uid == front.uid || worker.uid == storer.uid))
    check_say (&c, FALSE,
               "the front (%s), the workers (%s) and the storer (%s) do not each have a user of "
               "their own: a parser that is exploited in a worker could then reach what the "
               "others hold (set [milter] worker_user and storer_user, mugai-milter(8))",
               front.name, worker.name, storer.name);
  /* worker and storer copy the front's groups when they are the front's
   * user (roles[i] above), so check_dir sees the same */
  if (worker.name == front.name)
    worker = (Role){ worker.key, front.name, front.uid, front.gid, front.groups, front.ngroups };
  if (storer.name == front.name)
    storer = (Role){ storer.key, front.name, front.uid, front.gid, front.groups, front.ngroups };

  /* what each writes */
  g_autofree char *sock_dir = check_socket (&c, m->socket);
  c.role = &front;
  check_dir (&c, "[milter] spool_dir", m->spool_dir);
  if (sock_dir)
    check_dir (&c, "[milter] socket's directory", sock_dir);
  c.role = &storer;
  check_dir (&c, "[quarantine] dir", node->quarantine_dir);
  g_autofree char *audit_dir = node->audit_file ? g_path_get_dirname (node->audit_file) : NULL;
  check_dir (&c, "[audit] file's directory", audit_dir);
  if (node->quarantine_backend == MUGAI_BACKEND_POSTGRESQL)
    check_dsn_file (&c, node->quarantine_dsn_file);
  /* the supervisor's own (it stays the starting user) */
  c.role = &starter;
  check_dir (&c, "[milter] run_dir", m->run_dir);

  /* no malware scanning, no service, unless a lab said so */
  g_autoptr (GError) error = NULL;
  if (!mugai_scanner_check_database (policy->clamav.database, NULL, &error))
    {
      if (policy->clamav_required)
        check_say (&c, TRUE, "%s; mugai-milter refuses to start ([clamav] required = yes)",
                   error->message);
      else
        check_say (&c, FALSE, "%s; running WITHOUT malware scanning ([clamav] required = no)",
                   error->message);
    }

  /* the filter programs the policy needs */
  gboolean convert_fatal = FALSE;
  g_autoptr (GPtrArray) convert = mugai_convert_check (&policy->convert, &convert_fatal);
  for (guint i = 0; i < convert->len; i++)
    g_ptr_array_add (c.lines, g_strdup (convert->pdata[i]));
  if (convert_fatal)
    c.fatal = TRUE;

  /* [release]: where released mail goes, and who the notices are from */
  const MugaiReleaseSettings *rel = &node->release;
  if (!g_str_has_prefix (rel->relay, "smtp://") && !g_str_has_prefix (rel->relay, "smtps://"))
    check_say (&c, TRUE, "[release] relay = %s: an smtp:// or smtps:// URL is expected",
               rel->relay);
  if (!rel->from || !strchr (rel->from, '@'))
    check_say (&c, FALSE, "[release] from = %s: the notices' sender is not an address",
               rel->from ? rel->from : "(none)");
  if (node->quarantine_backend == MUGAI_BACKEND_FILES)
    check_say (&c, FALSE,
               "[quarantine] backend = files keeps no release workflow and no accounts: "
               "`mugai quarantine reindex` and backend = sqlite give both");

  g_free (front.groups);
  if (worker.groups != front.groups)
    g_free (worker.groups);
  if (storer.groups != front.groups)
    g_free (storer.groups);
  *fatal = c.fatal;
  return c.lines;
}
