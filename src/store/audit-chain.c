/*
 * audit-chain.c - the audit log's hash chain and its check (audit-chain.h)
 */
#include "audit-chain.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdio.h>
#include <string.h>

#include <gio/gio.h>
#include <json-glib/json-glib.h>

/* ,"hash":"<64 hex>"} closes every chained line */
#define HASH_PREFIX ",\"hash\":\""
#define HASH_TAIL_LEN (sizeof HASH_PREFIX - 1 + MUGAI_AUDIT_HASH_HEX + 2)

void
mugai_audit_head_init (MugaiAuditHead *head)
{
  head->seq = 0;
  memset (head->hash, '0', MUGAI_AUDIT_HASH_HEX);
  head->hash[MUGAI_AUDIT_HASH_HEX] = '\0';
}

static void
sha256_hex (const char *text, gsize len, char out[MUGAI_AUDIT_HASH_HEX + 1])
{
  g_autofree char *hex = g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *)text, len);
  g_strlcpy (out, hex, MUGAI_AUDIT_HASH_HEX + 1);
}

char *
mugai_audit_chain_line (const char *json, MugaiAuditHead *head)
{
  gsize len = strlen (json);
  if (len < 2 || json[0] != '{' || json[len - 1] != '}')
    return NULL;
  g_autoptr (GString) body = g_string_new_len (json, (gssize)len - 1);
  g_string_append_printf (body, "%s\"seq\":%" G_GUINT64_FORMAT ",\"prev\":\"%s\"}",
                          len > 2 ? "," : "", head->seq + 1, head->hash);
  char hash[MUGAI_AUDIT_HASH_HEX + 1];
  sha256_hex (body->str, body->len, hash);
  g_string_truncate (body, body->len - 1);
  g_string_append_printf (body, HASH_PREFIX "%s\"}", hash);
  head->seq++;
  memcpy (head->hash, hash, sizeof hash);
  return g_string_free (g_steal_pointer (&body), FALSE);
}

/* What one line says of the chain. */
typedef enum
{
  LINE_CHAINED,
  LINE_UNCHAINED, /* a record of before the chain (no seq) */
  LINE_BAD_HASH,  /* changed */
  LINE_NOT_JSON,
} LineKind;

typedef struct
{
  guint64 seq;
  char prev[MUGAI_AUDIT_HASH_HEX + 1];
  char hash[MUGAI_AUDIT_HASH_HEX + 1];
} LineChain;

static LineKind
read_line (const char *line, gsize len, LineChain *out)
{
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  if (!json_parser_load_from_data (parser, line, (gssize)len, NULL))
    return LINE_NOT_JSON;
  JsonNode *root = json_parser_get_root (parser);
  if (!root || !JSON_NODE_HOLDS_OBJECT (root))
    return LINE_NOT_JSON;
  JsonObject *o = json_node_get_object (root);
  if (!json_object_has_member (o, "seq") && !json_object_has_member (o, "hash"))
    return LINE_UNCHAINED;
  const char *prev = json_object_get_string_member_with_default (o, "prev", "");
  const char *hash = json_object_get_string_member_with_default (o, "hash", "");
  gint64 seq = json_object_get_int_member_with_default (o, "seq", 0);
  if (seq <= 0 || strlen (prev) != MUGAI_AUDIT_HASH_HEX || strlen (hash) != MUGAI_AUDIT_HASH_HEX
      || len < HASH_TAIL_LEN
      || strncmp (line + len - HASH_TAIL_LEN, HASH_PREFIX, sizeof HASH_PREFIX - 1) != 0)
    return LINE_BAD_HASH;
  /* the hash is over the line up to its own member, brace put back */
  g_autoptr (GString) body = g_string_new_len (line, (gssize)(len - HASH_TAIL_LEN));
  g_string_append_c (body, '}');
  char want[MUGAI_AUDIT_HASH_HEX + 1];
  sha256_hex (body->str, body->len, want);
  if (strcmp (want, hash) != 0)
    return LINE_BAD_HASH;
  out->seq = (guint64)seq;
  g_strlcpy (out->prev, prev, sizeof out->prev);
  g_strlcpy (out->hash, hash, sizeof out->hash);
  return LINE_CHAINED;
}

/* A record is at most the report's 1 MiB and its envelope: the tail
 * read to find the last one. */
#define TAIL_MAX (4u * 1024u * 1024u)

/* The last line of path (without newline), or NULL when it has none or
 * is no regular file (a FIFO planted there must not block the reader). */
static char *
last_line (const char *path)
{
  int fd = open (path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0)
    return NULL;
  struct stat st;
  if (fstat (fd, &st) != 0 || !S_ISREG (st.st_mode) || st.st_size == 0)
    {
      close (fd);
      return NULL;
    }
  gsize want = (gsize)MIN ((guint64)st.st_size, TAIL_MAX);
  g_autofree char *text = g_malloc (want);
  ssize_t got = pread (fd, text, want, st.st_size - (off_t)want);
  close (fd);
  if (got <= 0)
    return NULL;
  gsize end = (gsize)got;
  while (end > 0 && text[end - 1] == '\n')
    end--;
  gsize start = end;
  while (start > 0 && text[start - 1] != '\n')
    start--;
  return end > start ? g_strndup (text + start, end - start) : NULL;
}

gboolean
mugai_audit_head_recover (const char *path, MugaiAuditHead *head, GError **error)
{
  mugai_audit_head_init (head);
  g_autofree char *line = last_line (path);
  g_autofree char *from = g_strdup (path);
  if (!line)
    {
      /* a log just rotated: the chain goes on from the file before */
      g_free (from);
      from = g_strconcat (path, ".1", NULL);
      line = last_line (from);
      if (!line)
        return TRUE; /* a new chain */
    }
  LineChain c;
  switch (read_line (line, strlen (line), &c))
    {
    case LINE_CHAINED:
      head->seq = c.seq;
      memcpy (head->hash, c.hash, sizeof head->hash);
      return TRUE;
    case LINE_UNCHAINED:
      return TRUE; /* a log of before the chain: it starts here */
    case LINE_BAD_HASH:
    case LINE_NOT_JSON:
    default:
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "%s: its last record is not intact (mugai audit verify says where); the chain "
                   "cannot go on from it: move the file aside",
                   from);
      return FALSE;
    }
}

gboolean
mugai_audit_checkpoint_write (const char *log_path, const MugaiAuditHead *head, GError **error)
{
  g_autofree char *path = g_strconcat (log_path, ".checkpoint", NULL);
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *stamp = g_date_time_format (now, "%Y-%m-%dT%H:%M:%SZ");
  g_autofree char *text = g_strdup_printf ("seq=%" G_GUINT64_FORMAT " hash=%s time=%s\n", head->seq,
                                           head->hash, stamp);
  return g_file_set_contents_full (path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, error);
}

static gboolean
read_checkpoint (const char *path, MugaiAuditHead *cp, char **problem)
{
  g_autofree char *text = NULL;
  if (!g_file_get_contents (path, &text, NULL, NULL))
    {
      *problem = g_strdup_printf ("%s: cannot be read", path);
      return FALSE;
    }
  guint64 seq = 0;
  char hash[MUGAI_AUDIT_HASH_HEX + 1] = { 0 };
  if (sscanf (text, "seq=%" G_GUINT64_FORMAT " hash=%64s", &seq, hash) != 2
      || strlen (hash) != MUGAI_AUDIT_HASH_HEX)
    {
      *problem = g_strdup_printf ("%s: not a checkpoint of mugai's", path);
      return FALSE;
    }
  cp->seq = seq;
  memcpy (cp->hash, hash, sizeof cp->hash);
  return TRUE;
}

gboolean
mugai_audit_verify (const char *const *files, const char *checkpoint, guint64 *records,
                    char **problem)
{
  *problem = NULL;
  *records = 0;
  MugaiAuditHead cp = { 0 };
  if (checkpoint && !read_checkpoint (checkpoint, &cp, problem))
    return FALSE;
  return mugai_audit_verify_head (files, &cp, "the checkpoint", records, problem);
}

gboolean
mugai_audit_verify_head (const char *const *files, const MugaiAuditHead *checkpoint,
                         const char *name, guint64 *records, char **problem)
{
  *problem = NULL;
  *records = 0;
  MugaiAuditHead cp = { 0 };
  if (checkpoint)
    cp = *checkpoint;
  gboolean started = FALSE;
  MugaiAuditHead head;
  mugai_audit_head_init (&head);
  gboolean cp_seen = cp.seq == 0;
  for (gsize f = 0; files[f]; f++)
    {
      g_autofree char *text = NULL;
      gsize len = 0;
      g_autoptr (GError) error = NULL;
      if (!g_file_get_contents (files[f], &text, &len, &error))
        {
          *problem = g_strdup_printf ("%s", error->message);
          return FALSE;
        }
      if (len > 0 && text[len - 1] != '\n')
        {
          guint n = 1;
          for (gsize i = 0; i + 1 < len; i++)
            n += text[i] == '\n';
          *problem
              = g_strdup_printf ("%s:%u: the file ends inside a record: truncated", files[f], n);
          return FALSE;
        }
      guint lineno = 0;
      for (gsize pos = 0; pos < len;)
        {
          const char *nl = memchr (text + pos, '\n', len - pos);
          gsize l = (gsize)(nl - (text + pos));
          const char *line = text + pos;
          pos += l + 1;
          lineno++;
          if (l == 0)
            continue;
          LineChain c;
          LineKind k = read_line (line, l, &c);
          if (k == LINE_UNCHAINED && !started)
            continue;
          if (k != LINE_CHAINED)
            {
              *problem = g_strdup_printf ("%s:%u: the record after seq %" G_GUINT64_FORMAT
                                          " was changed (%s)",
                                          files[f], lineno, head.seq,
                                          k == LINE_NOT_JSON ? "it is not JSON any more"
                                                             : "its hash does not match its text");
              return FALSE;
            }
          if (started && c.seq != head.seq + 1)
            {
              /* the missing one further on: moved, not removed */
              g_autofree char *next
                  = g_strdup_printf (",\"seq\":%" G_GUINT64_FORMAT ",\"prev\"", head.seq + 1);
              gboolean later = g_strstr_len (text + pos, (gssize)(len - pos), next) != NULL;
              *problem = c.seq > head.seq + 1 && !later
                             ? g_strdup_printf (
                                 "%s:%u: seq %" G_GUINT64_FORMAT " follows seq %" G_GUINT64_FORMAT
                                 ": %" G_GUINT64_FORMAT " record(s) removed",
                                 files[f], lineno, c.seq, head.seq, c.seq - head.seq - 1)
                             : g_strdup_printf ("%s:%u: seq %" G_GUINT64_FORMAT
                                                " follows seq %" G_GUINT64_FORMAT
                                                ": records reordered or repeated",
                                                files[f], lineno, c.seq, head.seq);
              return FALSE;
            }
          if ((started || c.seq == 1) && strcmp (c.prev, head.hash) != 0)
            {
              *problem = g_strdup_printf ("%s:%u: seq %" G_GUINT64_FORMAT
                                          " does not name the record before it: records reordered, "
                                          "or one before it changed or replaced",
                                          files[f], lineno, c.seq);
              return FALSE;
            }
          started = TRUE;
          head.seq = c.seq;
          memcpy (head.hash, c.hash, sizeof head.hash);
          (*records)++;
          if (c.seq == cp.seq)
            {
              if (strcmp (c.hash, cp.hash) != 0)
                {
                  *problem = g_strdup_printf ("%s:%u: seq %" G_GUINT64_FORMAT
                                              " is not the record %s names: the log was replaced",
                                              files[f], lineno, c.seq, name);
                  return FALSE;
                }
              cp_seen = TRUE;
            }
        }
    }
  if (!cp_seen)
    {
      *problem = g_strdup_printf ("the chain ends at seq %" G_GUINT64_FORMAT
                                  " but %s names seq %" G_GUINT64_FORMAT
                                  ": records were removed from its end, or the log was replaced "
                                  "by a shorter one",
                                  head.seq, name, cp.seq);
      return FALSE;
    }
  return TRUE;
}
