/*
 * quarantine.c - the store's interface: ids, entries, states, and the
 *                backend a location names
 *
 * SYNOPSIS
 *	store = mugai_store_open ("file:/var/lib/mugai/quarantine", MUGAI_STORE_CREATE, &error);
 *	entry->id = mugai_store_new_id ();   (before the notice names it)
 *	mugai_store_add (store, fd, NULL, entry, &error);
 *
 * DESCRIPTION
 *	The API is quarantine.h; what a backend implements, store-backend.h.
 *	This file checks what callers pass (an id that a backend sees has
 *	the shape mugai_store_new_id() makes: an id typed by an
 *	administrator, `mugai quarantine show ../../etc/shadow`, never
 *	reaches one), filters and sorts what backends list, and keeps the
 *	one JSON form of an entry: `mugai quarantine show` prints it, the
 *	files backend stores it, and its reader is strict (the report member
 *	through mugai_report_node_check()).
 *
 * THREADS
 *	Thread-safe: the handle is immutable, no function keeps state.
 *
 * SIZE
 *	About 900 lines and one concept: the store's interface.  The ids, the
 *	states, the entry's JSON and the accounts' checks are what every
 *	backend shares; the backends' own code is in store-*.c.
 */
#include "quarantine.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "logline.h"
#include "notice.h"
#include "report.h"
#include "store-backend.h"

/* "20261122T004644Z-0123456789ab" */
#define ID_LEN 29
#define ID_RANDOM_HEX 12
/* The record's layout; members added since (state, sha256) are optional
 * for readers, so records of version 1 stay readable and older readers
 * ignore the new members. */
#define FORMAT_VERSION 1

/* The quark name is a string, not a subtraction. */
/* clang-format off */
G_DEFINE_QUARK (mugai-store-error-quark, mugai_store_error)
/* clang-format on */

/* The backends, by scheme; a location without one is a directory. */
static const MugaiStoreBackend *const backends[] = {
  &mugai_store_file_backend,
  &mugai_store_sqlite_backend,
  &mugai_store_pg_backend,
};

struct _MugaiStore
{
  const MugaiStoreBackend *backend;
  gpointer handle;
  char *location;
};

/* ---- ids -------------------------------------------------------------------- */

static void
fill_random (guint8 *buf, gsize len)
{
  gsize got = 0;
  while (got < len)
    {
      ssize_t n = getrandom (buf + got, len - got, 0);
      if (n > 0)
        got += (gsize)n;
      else if (n < 0 && errno != EINTR)
        break;
    }
  if (got == len)
    return;
  /* getrandom(2) cannot fail on Linux >= 3.17 once the pool is ready;
   * if it does anyway, mix in what differs between forked workers,
   * because GLib's global generator is copied by fork(2).  The
   * no-replace rename still keeps a collision from losing data. */
  guint64 mix = (guint64)g_get_monotonic_time () ^ ((guint64)getpid () << 32);
  for (gsize i = got; i < len; i++)
    buf[i] = (guint8)(g_random_int () ^ (mix >> (8 * (i % 8))));
}

char *
mugai_store_new_id (void)
{
  guint8 r[ID_RANDOM_HEX / 2];
  fill_random (r, sizeof r);
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *stamp = g_date_time_format (now, "%Y%m%dT%H%M%SZ");
  return g_strdup_printf ("%s-%02x%02x%02x%02x%02x%02x", stamp, r[0], r[1], r[2], r[3], r[4], r[5]);
}

static gboolean
all_digits (const char *s, gsize n)
{
  for (gsize i = 0; i < n; i++)
    if (!g_ascii_isdigit (s[i]))
      return FALSE;
  return TRUE;
}

static guint
number (const char *s, gsize n)
{
  guint v = 0;
  for (gsize i = 0; i < n; i++)
    v = v * 10 + (guint)(s[i] - '0');
  return v;
}

gboolean
mugai_store_id_is_valid (const char *id)
{
  if (!id || strnlen (id, ID_LEN + 1) != ID_LEN)
    return FALSE;
  if (!all_digits (id, 8) || id[8] != 'T' || !all_digits (id + 9, 6) || id[15] != 'Z'
      || id[16] != '-')
    return FALSE;
  for (gsize i = 17; i < ID_LEN; i++)
    if (!g_ascii_isdigit (id[i]) && !(id[i] >= 'a' && id[i] <= 'f'))
      return FALSE;
  guint year = number (id, 4), month = number (id + 4, 2), day = number (id + 6, 2);
  if (year < 1970 || !g_date_valid_dmy ((GDateDay)day, (GDateMonth)month, (GDateYear)year))
    return FALSE;
  return number (id + 9, 2) < 24 && number (id + 11, 2) < 60 && number (id + 13, 2) < 61;
}

static gboolean
check_id (const char *id, GError **error)
{
  if (mugai_store_id_is_valid (id))
    return TRUE;
  /* the id comes from a command line: show it, but harmlessly */
  g_autofree char *escaped = mugai_log_escape (id ? id : "", 60);
  g_set_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_INVALID_ID,
               "\"%s\" is not a quarantine id (they look like 20261122T004644Z-0123456789ab)",
               escaped);
  return FALSE;
}

/* ---- states ----------------------------------------------------------------- */

static const char *const state_names[MUGAI_STORE_N_STATES] = {
  [MUGAI_STORE_STATE_STORED] = "stored",       [MUGAI_STORE_STATE_HELD] = "held",
  [MUGAI_STORE_STATE_REQUESTED] = "requested", [MUGAI_STORE_STATE_RELEASED] = "released",
  [MUGAI_STORE_STATE_DENIED] = "denied",       [MUGAI_STORE_STATE_PURGED] = "purged",
  [MUGAI_STORE_STATE_APPROVED] = "approved",   [MUGAI_STORE_STATE_SENDING] = "sending",
  [MUGAI_STORE_STATE_EXPIRED] = "expired",
};

const char *
mugai_store_state_name (MugaiStoreState state)
{
  return (guint)state < MUGAI_STORE_N_STATES ? state_names[state] : "unknown";
}

gboolean
mugai_store_state_from_name (const char *name, MugaiStoreState *out)
{
  for (guint i = 0; name && i < MUGAI_STORE_N_STATES; i++)
    if (g_str_equal (name, state_names[i]))
      {
        *out = (MugaiStoreState)i;
        return TRUE;
      }
  return FALSE;
}

MugaiStoreState
mugai_store_initial_state (const char *verdict)
{
  /* on_virus = hold: delivered to no one, the original waits for a
   * decision; everything else is a record of what went on or was
   * refused */
  return g_strcmp0 (verdict, "hold") == 0 ? MUGAI_STORE_STATE_HELD : MUGAI_STORE_STATE_STORED;
}

/* ---- the entry -------------------------------------------------------------- */

MugaiStoreEntry *
mugai_store_entry_new (void)
{
  MugaiStoreEntry *e = g_new0 (MugaiStoreEntry, 1);
  e->recipients = g_ptr_array_new_with_free_func (g_free);
  return e;
}

void
mugai_store_entry_free (MugaiStoreEntry *e)
{
  if (!e)
    return;
  g_free (e->id);
  g_free (e->sha256);
  g_free (e->queue_id);
  g_free (e->sender);
  if (e->recipients)
    g_ptr_array_unref (e->recipients);
  g_free (e->client_addr);
  g_free (e->client_name);
  g_free (e->verdict);
  g_free (e->status);
  g_free (e->message_id);
  g_free (e->subject);
  if (e->report)
    json_node_unref (e->report);
  if (e->workflow)
    json_node_unref (e->workflow);
  g_free (e->node);
  g_free (e);
}

static char *
iso_time (gint64 t)
{
  g_autoptr (GDateTime) dt = g_date_time_new_from_unix_utc (t);
  return dt ? g_date_time_format (dt, "%Y-%m-%dT%H:%M:%SZ") : g_strdup ("?");
}

void
mugai_store_entry_add_envelope (JsonBuilder *b, const MugaiStoreEntry *e)
{
  mugai_json_add_string (b, "queue_id", e->queue_id);
  mugai_json_add_string (b, "sender", e->sender);
  mugai_json_add_strings (b, "recipients", e->recipients);
  mugai_json_add_string (b, "client_addr", e->client_addr);
  mugai_json_add_string (b, "client_name", e->client_name);
  mugai_json_add_string (b, "verdict", e->verdict);
  mugai_json_add_string (b, "status", e->status);
  mugai_json_add_string (b, "message_id", e->message_id);
  mugai_json_add_string (b, "subject", e->subject);
  json_builder_set_member_name (b, "size");
  json_builder_add_int_value (b, (gint64)e->size);
}

char *
mugai_store_entry_to_json (const MugaiStoreEntry *e, gboolean pretty)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "format");
  json_builder_add_int_value (b, FORMAT_VERSION);
  mugai_json_add_string (b, "id", e->id);
  json_builder_set_member_name (b, "time");
  json_builder_add_int_value (b, e->time);
  /* for the human reading `show`; "time" is the one that counts */
  g_autofree char *utc = iso_time (e->time);
  mugai_json_add_string (b, "time_utc", utc);
  mugai_json_add_string (b, "state", mugai_store_state_name (e->state));
  mugai_json_add_string (b, "sha256", e->sha256);
  mugai_store_entry_add_envelope (b, e);
  mugai_json_add_string (b, "node", e->node);
  json_builder_set_member_name (b, "workflow");
  if (e->workflow)
    json_builder_add_value (b, json_node_copy (e->workflow));
  else
    json_builder_add_null_value (b);
  /* the report is data already: put in as the object it is, never
   * parsed again from text */
  json_builder_set_member_name (b, "report");
  if (e->report)
    json_builder_add_value (b, json_node_copy (e->report));
  else
    json_builder_add_null_value (b);
  json_builder_end_object (b);

  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  json_generator_set_pretty (gen, pretty);
  return json_generator_to_data (gen, NULL);
}

static char *
get_string (JsonObject *o, const char *name)
{
  JsonNode *n = json_object_get_member (o, name);
  if (!n || !JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING)
    return NULL;
  return g_strdup (json_node_get_string (n));
}

static gboolean
get_int (JsonObject *o, const char *name, gint64 *out)
{
  JsonNode *n = json_object_get_member (o, name);
  if (!n || !JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_INT64)
    return FALSE;
  *out = json_node_get_int (n);
  return TRUE;
}

/* FALSE when the member is there but neither a string nor null. */
static gboolean
optional_string (JsonObject *o, const char *name, char **out)
{
  JsonNode *n = json_object_get_member (o, name);
  *out = get_string (o, name);
  return !n || JSON_NODE_HOLDS_NULL (n) || *out;
}

static gboolean
is_sha256 (const char *s)
{
  if (strlen (s) != 64)
    return FALSE;
  for (const char *p = s; *p; p++)
    if (!g_ascii_isdigit (*p) && !(*p >= 'a' && *p <= 'f'))
      return FALSE;
  return TRUE;
}

MugaiStoreEntry *
mugai_store_entry_from_json (const char *text, gsize len, const char *id, const char *where,
                             GError **error)
{
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  g_autoptr (GError) local = NULL;
  if (!json_parser_load_from_data (parser, text, (gssize)len, &local))
    {
      g_set_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_CORRUPT, "%s: damaged metadata: %s",
                   where, local->message);
      return NULL;
    }
  JsonNode *root = json_parser_get_root (parser);
  JsonObject *o = root && JSON_NODE_HOLDS_OBJECT (root) ? json_node_get_object (root) : NULL;
  g_autoptr (MugaiStoreEntry) e = mugai_store_entry_new ();
  gint64 size = 0;
  /* the id inside must be the one the backend found it by, so that a
   * record copied under another name is not taken for another entry */
  if (!o || !(e->id = get_string (o, "id")) || !g_str_equal (e->id, id)
      || !get_int (o, "time", &e->time) || !get_int (o, "size", &size) || size < 0)
    {
      g_set_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_CORRUPT,
                   "%s: damaged metadata: id, time or size missing or wrong", where);
      return NULL;
    }
  e->size = (gsize)size;
  e->queue_id = get_string (o, "queue_id");
  e->sender = get_string (o, "sender");
  e->client_addr = get_string (o, "client_addr");
  e->client_name = get_string (o, "client_name");
  e->verdict = get_string (o, "verdict");
  e->status = get_string (o, "status");
  e->message_id = get_string (o, "message_id");
  e->subject = get_string (o, "subject");
  g_autofree char *state = NULL;
  if (!optional_string (o, "sha256", &e->sha256) || !optional_string (o, "state", &state)
      || (e->sha256 && !is_sha256 (e->sha256))
      || (state && !mugai_store_state_from_name (state, &e->state)))
    {
      g_set_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_CORRUPT,
                   "%s: damaged metadata: sha256 or state not one mugai writes", where);
      return NULL;
    }
  if (!state) /* written before states were recorded */
    e->state = mugai_store_initial_state (e->verdict);
  JsonNode *rcpts = json_object_get_member (o, "recipients");
  if (rcpts && JSON_NODE_HOLDS_ARRAY (rcpts))
    {
      JsonArray *a = json_node_get_array (rcpts);
      for (guint i = 0; i < json_array_get_length (a); i++)
        {
          JsonNode *n = json_array_get_element (a, i);
          if (JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_STRING)
            g_ptr_array_add (e->recipients, g_strdup (json_node_get_string (n)));
        }
    }
  e->node = get_string (o, "node");
  JsonNode *workflow = json_object_get_member (o, "workflow");
  if (workflow && JSON_NODE_HOLDS_OBJECT (workflow))
    e->workflow = json_node_copy (workflow);
  else if (workflow && !JSON_NODE_HOLDS_NULL (workflow))
    {
      g_set_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_CORRUPT,
                   "%s: damaged metadata: the workflow is not an object", where);
      return NULL;
    }
  JsonNode *report = json_object_get_member (o, "report");
  if (report && !JSON_NODE_HOLDS_NULL (report))
    {
      if (!mugai_report_node_check (report, &local))
        {
          g_set_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_CORRUPT,
                       "%s: damaged metadata: %s", where, local->message);
          return NULL;
        }
      e->report = json_node_ref (report);
    }
  return g_steal_pointer (&e);
}

/* ---- the store -------------------------------------------------------------- */

/* "scheme:" when location starts with one (RFC 3986 3.1: a letter, then
 * letters, digits, "+", "-", "."), else NULL: a directory. */
static char *
scheme_of (const char *location)
{
  if (!g_ascii_isalpha (location[0]))
    return NULL;
  const char *p = location + 1;
  while (g_ascii_isalnum (*p) || *p == '+' || *p == '-' || *p == '.')
    p++;
  return *p == ':' ? g_ascii_strdown (location, p - location) : NULL;
}

MugaiStore *
mugai_store_open (const char *location, MugaiStoreMode mode, GError **error)
{
  g_return_val_if_fail (location != NULL, NULL);
  g_autofree char *scheme = scheme_of (location);
  const MugaiStoreBackend *backend = scheme ? NULL : &mugai_store_file_backend;
  const char *rest = scheme ? location + strlen (scheme) + 1 : location;
  for (gsize i = 0; scheme && i < G_N_ELEMENTS (backends); i++)
    if (g_str_equal (scheme, backends[i]->scheme))
      backend = backends[i];
  if (!backend || !*rest)
    {
      g_autofree char *safe = mugai_text_safe_display (location, 80);
      g_set_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_LOCATION,
                   "%s: not a quarantine location (a directory, file:DIRECTORY, sqlite:DIRECTORY "
                   "or postgresql:DSN-FILE)",
                   safe);
      return NULL;
    }
  /* file:///var/lib/... as well as file:/var/lib/...; a host
   * (file://host/...) is not a local directory */
  if (scheme && backend != NULL && backend->open != NULL && g_str_has_prefix (rest, "//"))
    {
      if (!g_str_has_prefix (rest, "///"))
        {
          g_autofree char *safe = mugai_text_safe_display (location, 80);
          g_set_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_LOCATION,
                       "%s: a file location names a local directory, not a host", safe);
          return NULL;
        }
      rest += 2;
    }
  gpointer handle = backend->open (rest, mode, error);
  if (!handle)
    return NULL;
  MugaiStore *s = g_new0 (MugaiStore, 1);
  s->backend = backend;
  s->handle = handle;
  s->location = g_strdup (location);
  return s;
}

void
mugai_store_free (MugaiStore *store)
{
  if (!store)
    return;
  store->backend->close (store->handle);
  g_free (store->location);
  g_free (store);
}

const char *
mugai_store_location (const MugaiStore *store)
{
  return store->location;
}

gboolean
mugai_store_add (MugaiStore *store, int fd, GBytes *data, const MugaiStoreEntry *entry,
                 GError **error)
{
  g_return_val_if_fail (store != NULL && entry != NULL, FALSE);
  g_return_val_if_fail (fd >= 0 || data != NULL, FALSE);
  g_return_val_if_fail (entry->report == NULL || JSON_NODE_HOLDS_OBJECT (entry->report), FALSE);
  if (!check_id (entry->id, error))
    return FALSE;
  return store->backend->add (store->handle, fd, data, entry, error);
}

static int
compare_entries (gconstpointer a, gconstpointer b)
{
  const MugaiStoreEntry *x = *(MugaiStoreEntry *const *)a;
  const MugaiStoreEntry *y = *(MugaiStoreEntry *const *)b;
  if (x->time != y->time)
    return x->time < y->time ? -1 : 1;
  return strcmp (x->id, y->id);
}

static int
compare_entries_newest (gconstpointer a, gconstpointer b)
{
  return compare_entries (b, a);
}

/* store-backend.h: the folding of every search, ours and a database's */
char *
mugai_store_search_fold (const char *text)
{
  g_autofree char *valid = g_utf8_make_valid (text, -1);
  g_autofree char *nfkc = g_utf8_normalize (valid, -1, G_NORMALIZE_ALL_COMPOSE);
  return g_utf8_casefold (nfkc ? nfkc : valid, -1);
}

static gboolean
contains (const char *haystack, const char *needle)
{
  if (!needle || !*needle)
    return TRUE;
  if (!haystack)
    return FALSE;
  g_autofree char *h = mugai_store_search_fold (haystack);
  g_autofree char *n = mugai_store_search_fold (needle);
  return strstr (h, n) != NULL;
}

static gboolean
wanted (const MugaiStoreEntry *e, const MugaiStoreFilter *f)
{
  if (!f)
    return TRUE;
  if (e->time < f->since || (f->before != 0 && e->time >= f->before))
    return FALSE;
  /* a damaged record has no state to go by: it is shown, so that
   * nothing in the store is invisible (unless a search asks for text it
   * cannot be matched against) */
  gboolean unreadable = g_strcmp0 (e->verdict, "unreadable") == 0;
  if (unreadable)
    return !f->sender && !f->recipient && !f->subject && !f->verdict;
  if (f->states != 0 && (f->states & (1u << e->state)) == 0)
    return FALSE;
  if (f->verdict && g_strcmp0 (e->verdict, f->verdict) != 0)
    return FALSE;
  if (!contains (e->sender, f->sender) || !contains (e->subject, f->subject))
    return FALSE;
  if (f->recipient)
    {
      gboolean any = FALSE;
      for (guint i = 0; e->recipients && i < e->recipients->len && !any; i++)
        any = contains (e->recipients->pdata[i], f->recipient);
      if (!any)
        return FALSE;
    }
  return TRUE;
}

GPtrArray *
mugai_store_list (MugaiStore *store, const MugaiStoreFilter *filter, GError **error)
{
  g_return_val_if_fail (store != NULL, NULL);
  g_autoptr (GPtrArray) all = store->backend->list (store->handle, filter, error);
  if (!all)
    return NULL;
  if (store->backend->list_filters)
    {
      for (guint i = 0; i < all->len; i++)
        g_clear_pointer (&((MugaiStoreEntry *)all->pdata[i])->report, json_node_unref);
      return g_steal_pointer (&all);
    }
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify)mugai_store_entry_free);
  for (guint i = 0; i < all->len; i++)
    {
      MugaiStoreEntry *e = all->pdata[i];
      if (!wanted (e, filter))
        continue;
      g_clear_pointer (&e->report, json_node_unref);
      g_ptr_array_add (out, g_steal_pointer (&all->pdata[i]));
    }
  g_ptr_array_sort (out, filter && filter->newest_first ? compare_entries_newest : compare_entries);
  /* the page asked for, of the matches in order */
  if (filter && filter->offset)
    g_ptr_array_remove_range (out, 0, MIN (filter->offset, out->len));
  if (filter && filter->limit && out->len > filter->limit)
    g_ptr_array_remove_range (out, filter->limit, out->len - filter->limit);
  return out;
}

MugaiStoreEntry *
mugai_store_get (MugaiStore *store, const char *id, GError **error)
{
  g_return_val_if_fail (store != NULL, NULL);
  if (!check_id (id, error))
    return NULL;
  return store->backend->get (store->handle, id, error);
}

GInputStream *
mugai_store_open_original (MugaiStore *store, const char *id, GError **error)
{
  g_return_val_if_fail (store != NULL, NULL);
  if (!check_id (id, error))
    return NULL;
  return store->backend->open_original (store->handle, id, error);
}

GBytes *
mugai_store_read_original (MugaiStore *store, const char *id, gsize max_size, GError **error)
{
  g_autoptr (GInputStream) in = mugai_store_open_original (store, id, error);
  if (!in)
    return NULL;
  g_autoptr (GByteArray) out = g_byte_array_new ();
  guint8 buf[64 * 1024];
  for (;;)
    {
      g_autoptr (GError) local = NULL;
      gssize n = g_input_stream_read (in, buf, sizeof buf, NULL, &local);
      if (n < 0)
        {
          g_set_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_IO, "%s: %s: %s",
                       store->location, id, local->message);
          return NULL;
        }
      if (n == 0)
        break;
      if ((gsize)n > max_size - out->len)
        {
          g_set_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_IO,
                       "%s: %s: the original is larger than %zu octets", store->location, id,
                       max_size);
          return NULL;
        }
      g_byte_array_append (out, buf, (guint)n);
    }
  return g_byte_array_free_to_bytes (g_steal_pointer (&out));
}

guint
mugai_store_purge (MugaiStore *store, gint64 older_than, GError **error)
{
  g_return_val_if_fail (store != NULL, 0);
  return store->backend->purge (store->handle, older_than, error);
}

gboolean
mugai_store_update (MugaiStore *store, const char *id, MugaiStoreState from, MugaiStoreState to,
                    JsonNode *workflow, GError **error)
{
  g_return_val_if_fail (store != NULL, FALSE);
  g_return_val_if_fail (workflow == NULL || JSON_NODE_HOLDS_OBJECT (workflow), FALSE);
  if (!check_id (id, error))
    return FALSE;
  if (!store->backend->update)
    {
      g_set_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_UNSUPPORTED,
                   "%s: the %s backend keeps no release workflow: use [quarantine] backend = "
                   "sqlite (`mugai quarantine reindex` makes its index from this store)",
                   store->location, store->backend->scheme);
      return FALSE;
    }
  return store->backend->update (store->handle, id, from, to, workflow, error);
}

const char *
mugai_store_backend_name (const MugaiStore *store)
{
  return store->backend->scheme;
}

void
mugai_store_schema (MugaiStore *store, guint *found, guint *current)
{
  *found = *current = 0;
  if (store->backend->schema)
    store->backend->schema (store->handle, found, current);
}

gboolean
mugai_store_audit_append (MugaiStore *store, const char *node, gint64 seq, const char *hash,
                          const char *line, GError **error)
{
  g_return_val_if_fail (store != NULL && hash != NULL && line != NULL, FALSE);
  return !store->backend->audit_append
         || store->backend->audit_append (store->handle, node ? node : "", seq, hash, line, error);
}

gboolean
mugai_store_audit_last (MugaiStore *store, const char *node, gint64 *seq, GError **error)
{
  g_return_val_if_fail (store != NULL && seq != NULL, FALSE);
  *seq = 0;
  return !store->backend->audit_last
         || store->backend->audit_last (store->handle, node ? node : "", seq, error);
}

gboolean
mugai_store_migrate (MugaiStore *store, guint *found, guint *current, GError **error)
{
  mugai_store_schema (store, found, current);
  if (*found == *current || !store->backend->migrate)
    return TRUE;
  return store->backend->migrate (store->handle, error);
}

gboolean
mugai_store_backup (MugaiStore *store, const char *dir, guint *entries, GError **error)
{
  *entries = 0;
  if (!store->backend->backup)
    {
      g_set_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_UNSUPPORTED,
                   "%s: the %s backend is backed up with its own tools (postgresql: pg_dump; "
                   "files: a copy of the directory with mugai-milter stopped)",
                   store->location, store->backend->scheme);
      return FALSE;
    }
  return store->backend->backup (store->handle, dir, entries, error);
}

gboolean
mugai_store_checkpoint_put (MugaiStore *store, const char *node, guint64 seq, const char *hash,
                            GError **error)
{
  return !store->backend->checkpoint_put
         || store->backend->checkpoint_put (store->handle, node ? node : "", seq, hash, error);
}

gboolean
mugai_store_checkpoint_get (MugaiStore *store, const char *node, guint64 *seq, char **hash,
                            GError **error)
{
  *seq = 0;
  *hash = NULL;
  return store->backend->checkpoint_get
         && store->backend->checkpoint_get (store->handle, node ? node : "", seq, hash, error);
}

/* ---- accounts --------------------------------------------------------------- */

static const char *const role_names[] = {
  [MUGAI_ROLE_REQUESTER] = "requester",
  [MUGAI_ROLE_APPROVER] = "approver",
  [MUGAI_ROLE_AUDITOR] = "auditor",
};

const char *
mugai_role_name (MugaiRole role)
{
  return (guint)role < G_N_ELEMENTS (role_names) ? role_names[role] : "unknown";
}

gboolean
mugai_role_from_name (const char *name, MugaiRole *out)
{
  for (guint i = 0; name && i < G_N_ELEMENTS (role_names); i++)
    if (g_str_equal (name, role_names[i]))
      {
        *out = (MugaiRole)i;
        return TRUE;
      }
  return FALSE;
}

MugaiAccount *
mugai_account_new (void)
{
  return g_new0 (MugaiAccount, 1);
}

void
mugai_account_free (MugaiAccount *a)
{
  if (!a)
    return;
  g_free (a->name);
  g_free (a->unix_user);
  if (a->password)
    {
      /* a hash, not a password; cleared all the same */
      memset (a->password, 0, strlen (a->password));
      g_free (a->password);
    }
  g_free (a);
}

gboolean
mugai_account_name_is_valid (const char *name)
{
  gsize n = name ? strlen (name) : 0;
  if (n == 0 || n > 64)
    return FALSE;
  for (const char *p = name; *p; p++)
    if (!g_ascii_isalnum (*p) && *p != '.' && *p != '_' && *p != '-')
      return FALSE;
  return TRUE;
}

static gboolean
accounts_supported (MugaiStore *store, GError **error)
{
  if (store->backend->account_put && store->backend->account_list)
    return TRUE;
  g_set_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_UNSUPPORTED,
               "%s: the %s backend keeps no accounts: use [quarantine] backend = sqlite or "
               "postgresql",
               store->location, store->backend->scheme);
  return FALSE;
}

gboolean
mugai_store_account_put (MugaiStore *store, const MugaiAccount *a, gboolean replace, GError **error)
{
  g_return_val_if_fail (store != NULL && a != NULL, FALSE);
  if (!mugai_account_name_is_valid (a->name))
    {
      g_autofree char *safe = mugai_log_escape (a->name ? a->name : "", 60);
      g_set_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_INVALID_ID,
                   "\"%s\" is not an account name (1 to 64 of A-Z a-z 0-9 . _ -)", safe);
      return FALSE;
    }
  if (a->unix_user && !mugai_account_name_is_valid (a->unix_user))
    {
      g_autofree char *safe = mugai_log_escape (a->unix_user, 60);
      g_set_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_INVALID_ID,
                   "\"%s\" is not a Unix login name", safe);
      return FALSE;
    }
  return accounts_supported (store, error)
         && store->backend->account_put (store->handle, a, replace, error);
}

GPtrArray *
mugai_store_account_list (MugaiStore *store, GError **error)
{
  g_return_val_if_fail (store != NULL, NULL);
  return accounts_supported (store, error) ? store->backend->account_list (store->handle, error)
                                           : NULL;
}

MugaiAccount *
mugai_store_account_get (MugaiStore *store, const char *name, const char *unix_user, GError **error)
{
  g_autoptr (GPtrArray) all = mugai_store_account_list (store, error);
  if (!all)
    return NULL;
  for (guint i = 0; i < all->len; i++)
    {
      MugaiAccount *a = all->pdata[i];
      if ((name && g_str_equal (a->name, name))
          || (!name && unix_user && g_strcmp0 (a->unix_user, unix_user) == 0))
        return g_steal_pointer (&all->pdata[i]);
    }
  g_autofree char *safe = mugai_log_escape (name ? name : unix_user ? unix_user : "", 60);
  g_set_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_NOT_FOUND,
               name ? "no account named \"%s\"" : "no account is mapped to the Unix user \"%s\"",
               safe);
  return NULL;
}

/* The size and SHA-256 of the original of id, read through the stream. */
static gboolean
original_digest (MugaiStore *store, const char *id, gsize *size, char **hex, GError **error)
{
  g_autoptr (GInputStream) in = mugai_store_open_original (store, id, error);
  if (!in)
    return FALSE;
  g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  g_autofree guint8 *buf = g_malloc (65536);
  gsize total = 0;
  for (;;)
    {
      gssize n = g_input_stream_read (in, buf, 65536, NULL, error);
      if (n < 0)
        return FALSE;
      if (n == 0)
        break;
      g_checksum_update (sum, buf, n);
      total += (gsize)n;
    }
  *size = total;
  *hex = g_strdup (g_checksum_get_string (sum));
  return TRUE;
}

GPtrArray *
mugai_store_check (MugaiStore *store, guint *checked, GError **error)
{
  g_return_val_if_fail (store != NULL, NULL);
  *checked = 0;
  g_autoptr (GPtrArray) all = mugai_store_list (store, NULL, error);
  if (!all)
    return NULL;
  GPtrArray *problems = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < all->len; i++)
    {
      const MugaiStoreEntry *listed = all->pdata[i];
      (*checked)++;
      g_autoptr (GError) e = NULL;
      g_autoptr (MugaiStoreEntry) entry = mugai_store_get (store, listed->id, &e);
      if (!entry)
        {
          g_ptr_array_add (problems, g_strdup_printf ("%s: %s", listed->id, e->message));
          continue;
        }
      gsize size = 0;
      g_autofree char *hex = NULL;
      if (!original_digest (store, entry->id, &size, &hex, &e))
        g_ptr_array_add (problems, g_strdup_printf ("%s: the original: %s", entry->id, e->message));
      else if (size != entry->size)
        g_ptr_array_add (problems,
                         g_strdup_printf ("%s: the original is %zu octets, the record says %zu",
                                          entry->id, size, entry->size));
      else if (entry->sha256 && strcmp (hex, entry->sha256) != 0)
        g_ptr_array_add (problems,
                         g_strdup_printf ("%s: the original's SHA-256 is not the one recorded "
                                          "when it was stored: it was changed",
                                          entry->id));
    }
  return problems;
}
