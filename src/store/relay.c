/*
 * relay.c - the message to re-inject, its SMTP conversation (libcurl)
 *           and the notices (GMime)
 *
 * What the functions promise is in relay.h.  Here:
 *
 *	prepare   one pass over the octets, no recursion: each line of the
 *	          header block is looked at once, a field kept or dropped
 *	          with its continuation lines; the body is copied as one
 *	          block.  A header block that is the whole message, with NUL
 *	          octets in it, costs the same pass.
 *	send      libcurl speaks SMTP; what it does not tell in its return
 *	          code (each reply's text, which recipient was refused) is
 *	          read from its debug callback, which sees every command
 *	          it sends (CURLINFO_HEADER_OUT) and every reply line it
 *	          reads (CURLINFO_HEADER_IN) in the order they pass; the
 *	          header callback sees the reply lines too (pingpong.c
 *	          passes them as "headers") but not the commands they
 *	          answer.  The message body itself goes through a read
 *	          callback; libcurl dot-stuffs it (a "." at the start of a
 *	          line after CRLF, and at the start of the data, is sent
 *	          as "..") and ends it with CRLF "." CRLF.  Checked with a
 *	          recorder on the wire for libcurl 7.88.1: CRLF lines and
 *	          their dots arrive as they were; a "." after a bare LF is
 *	          not stuffed; CURLOPT_CRLF would turn CRLF into CR CR LF.
 *	          So the bare line ends are made CRLF here, before libcurl.
 *	notice    a GMimeMessage written with CRLF line ends.
 */
#include "relay.h"

#include "mugai-gmime.h"
#include "sanitize.h"

#include <curl/curl.h>
#include <string.h>

/* The quark name is a string, not a subtraction. */
/* clang-format off */
G_DEFINE_QUARK (mugai-relay-error-quark, mugai_relay_error)
/* clang-format on */

#define RELEASED_FIELD "X-Mugai-Released"
#define MUGAI_PREFIX "X-Mugai-"
/* RFC 5322 2.1.1: lines SHOULD be at most 78 characters; folding aims
 * for that, and a word that cannot fit a line of 998 is refused. */
#define FOLD_AT 78
#define WORD_MAX 900

const char *
mugai_relay_class_name (MugaiRelayClass klass)
{
  switch (klass)
    {
    case MUGAI_RELAY_SENT:
      return "sent";
    case MUGAI_RELAY_TEMPORARY:
      return "temporary";
    case MUGAI_RELAY_PERMANENT:
      return "permanent";
    }
  return "unknown";
}

static void
refusal_free (gpointer p)
{
  MugaiRelayRefusal *r = p;
  g_free (r->recipient);
  g_free (r->reply);
  g_free (r);
}

void
mugai_relay_result_clear (MugaiRelayResult *result)
{
  if (!result)
    return;
  g_clear_pointer (&result->reply, g_free);
  g_clear_pointer (&result->stage, g_free);
  g_clear_pointer (&result->detail, g_free);
  g_clear_pointer (&result->refused, g_ptr_array_unref);
  result->code = 0;
  result->klass = MUGAI_RELAY_SENT;
  result->maybe_delivered = FALSE;
}

/* ---- prepare ---------------------------------------------------------- */

/* The line at p: its length without its end, and the end's length (2 for
 * CRLF, 1 for LF or a bare CR, 0 at the end of the data). */
static gsize
line_at (const guint8 *p, gsize left, gsize *eol)
{
  for (gsize i = 0; i < left; i++)
    if (p[i] == '\n' || p[i] == '\r')
      {
        *eol = (p[i] == '\r' && i + 1 < left && p[i + 1] == '\n') ? 2 : 1;
        return i;
      }
  *eol = 0;
  return left;
}

/* A field whose name (RFC 5322 3.6.8: printable ASCII but ':'; the
 * obsolete white space before the colon, 4.5.3, allowed) starts with
 * "X-Mugai-". */
static gboolean
is_mugai_field (const guint8 *line, gsize len)
{
  const guint8 *colon = memchr (line, ':', len);
  if (!colon)
    return FALSE;
  gsize name = (gsize)(colon - line);
  while (name > 0 && (line[name - 1] == ' ' || line[name - 1] == '\t'))
    name--;
  if (name < strlen (MUGAI_PREFIX))
    return FALSE;
  for (gsize i = 0; i < name; i++)
    if (line[i] < 33 || line[i] > 126)
      return FALSE;
  return g_ascii_strncasecmp ((const char *)line, MUGAI_PREFIX, strlen (MUGAI_PREFIX)) == 0;
}

static gboolean
released_value_ok (const char *value, GError **error)
{
  gsize len = strlen (value);
  if (len == 0 || len > MUGAI_RELAY_RELEASED_MAX)
    {
      g_set_error (error, MUGAI_RELAY_ERROR, MUGAI_RELAY_ERROR_INVALID,
                   "the " RELEASED_FIELD " value is %s (%zu octets; at most %d)",
                   len == 0 ? "empty" : "too long", len, MUGAI_RELAY_RELEASED_MAX);
      return FALSE;
    }
  for (gsize i = 0; i < len; i++)
    {
      guchar c = (guchar)value[i];
      if (c == '\r' || c == '\n')
        {
          g_set_error (error, MUGAI_RELAY_ERROR, MUGAI_RELAY_ERROR_INVALID,
                       "the " RELEASED_FIELD " value holds a %s at octet %zu: it would end the "
                       "field and start another",
                       c == '\r' ? "CR" : "LF", i);
          return FALSE;
        }
      if ((c < 0x20 && c != '\t') || c >= 0x7f)
        {
          g_set_error (error, MUGAI_RELAY_ERROR, MUGAI_RELAY_ERROR_INVALID,
                       "the " RELEASED_FIELD " value holds octet 0x%02x at %zu: only printable "
                       "ASCII is taken",
                       c, i);
          return FALSE;
        }
    }
  if (value[0] == ' ' || value[0] == '\t' || value[len - 1] == ' ' || value[len - 1] == '\t')
    {
      g_set_error_literal (error, MUGAI_RELAY_ERROR, MUGAI_RELAY_ERROR_INVALID,
                           "the " RELEASED_FIELD " value begins or ends with white space");
      return FALSE;
    }
  /* "X-Mugai-Released: id=..." passed as the value would give the field
   * twice over; a name of letters, digits and '-' and a colon is a field
   * name (the values mugai builds are key=value pairs) */
  gsize n = strspn (value, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-");
  gsize w = n + strspn (value + n, " \t");
  if (n > 0 && value[w] == ':')
    {
      g_set_error (error, MUGAI_RELAY_ERROR, MUGAI_RELAY_ERROR_INVALID,
                   "the " RELEASED_FIELD " value begins with a header field name (\"%.*s:\"): "
                   "give the value alone",
                   (int)MIN (n, 64), value);
      return FALSE;
    }
  return TRUE;
}

/* "X-Mugai-Released: VALUE" and eol, folded before white space of the
 * value (RFC 5322 2.2.3: unfolding gives the value back as it was). */
static GString *
released_field (const char *value, const char *eol, GError **error)
{
  GString *f = g_string_new (RELEASED_FIELD ":");
  gsize col = f->len;
  const char *p = value;
  gboolean first = TRUE;
  while (*p)
    {
      /* a piece: its leading white space (none for the first), a word */
      gsize ws = first ? 0 : strspn (p, " \t");
      gsize word = strcspn (p + ws, " \t");
      if (word > WORD_MAX)
        {
          g_set_error (error, MUGAI_RELAY_ERROR, MUGAI_RELAY_ERROR_INVALID,
                       "the " RELEASED_FIELD " value has a word of %zu octets: no line of "
                       "998 could hold it",
                       word);
          g_string_free (f, TRUE);
          return NULL;
        }
      if (first)
        {
          g_string_append_c (f, ' ');
          col++;
        }
      else if (col + ws + word > FOLD_AT)
        {
          g_string_append (f, eol);
          col = 0;
        }
      g_string_append_len (f, p, (gssize)(ws + word));
      col += ws + word;
      p += ws + word;
      first = FALSE;
    }
  g_string_append (f, eol);
  return f;
}

GBytes *
mugai_relay_prepare (GBytes *original, const char *released_value, GError **error)
{
  g_return_val_if_fail (original != NULL, NULL);
  g_return_val_if_fail (released_value != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!released_value_ok (released_value, error))
    return NULL;
  gsize len = 0;
  const guint8 *data = g_bytes_get_data (original, &len);

  /* the added field ends its line as the original's first line does */
  gsize eol = 0;
  gsize first = line_at (data, len, &eol);
  const char *eol_text = (eol == 1 && data[first] == '\n') ? "\n" : "\r\n";
  g_autoptr (GString) field = released_field (released_value, eol_text, error);
  if (!field)
    return NULL;
  /* a GByteArray holds at most G_MAXUINT octets; the milter's size limit
   * keeps every stored original far below */
  if (len > G_MAXUINT - field->len)
    {
      g_set_error (error, MUGAI_RELAY_ERROR, MUGAI_RELAY_ERROR_INVALID,
                   "the message (%zu octets) is too large to re-inject", len);
      return NULL;
    }

  g_autoptr (GByteArray) out = g_byte_array_sized_new ((guint)(len + field->len));
  g_byte_array_append (out, (const guint8 *)field->str, (guint)field->len);
  gsize pos = 0;
  gboolean dropping = FALSE;
  while (pos < len)
    {
      gsize line = line_at (data + pos, len - pos, &eol);
      if (line == 0)
        break; /* the empty line: it and the body are copied below */
      if (data[pos] == ' ' || data[pos] == '\t')
        ; /* a continuation line: it goes with its field */
      else
        dropping = is_mugai_field (data + pos, line);
      if (!dropping)
        g_byte_array_append (out, data + pos, (guint)(line + eol));
      pos += line + eol;
    }
  if (pos < len)
    g_byte_array_append (out, data + pos, (guint)(len - pos));
  return g_byte_array_free_to_bytes (g_steal_pointer (&out));
}

/* ---- send ------------------------------------------------------------- */

/* The message as it goes on the wire: every bare LF and bare CR made
 * CRLF (relay.h, WHAT ARRIVES).  The same bytes when there is none. */
static GBytes *
wire_lines (GBytes *message)
{
  gsize len = 0;
  const guint8 *d = g_bytes_get_data (message, &len);
  gsize bare = 0;
  for (gsize i = 0; i < len; i++)
    if (d[i] == '\r')
      {
        if (i + 1 < len && d[i + 1] == '\n')
          i++;
        else
          bare++;
      }
    else if (d[i] == '\n')
      bare++;
  if (bare == 0)
    return g_bytes_ref (message);
  guint8 *w = g_malloc (len + bare);
  gsize o = 0;
  for (gsize i = 0; i < len; i++)
    {
      if (d[i] == '\r' || d[i] == '\n')
        {
          if (d[i] == '\r' && i + 1 < len && d[i + 1] == '\n')
            i++;
          w[o++] = '\r';
          w[o++] = '\n';
        }
      else
        w[o++] = d[i];
    }
  return g_bytes_new_take (w, o);
}

static gboolean
address_ok (const char *what, const char *a, gboolean may_be_empty, GError **error)
{
  gsize len = strlen (a);
  const char *why = NULL;
  if (len == 0 && !may_be_empty)
    why = "is empty";
  else if (len > MUGAI_RELAY_ADDRESS_MAX)
    why = "is longer than 256 octets (RFC 5321 4.5.3.1.3)";
  else if (!g_utf8_validate (a, (gssize)len, NULL))
    why = "is not UTF-8";
  else
    for (gsize i = 0; i < len && !why; i++)
      {
        guchar c = (guchar)a[i];
        if (c < 0x20 || c == 0x7f)
          why = "holds a control character (a CR or LF would end the SMTP command)";
        else if (c == '<' || c == '>')
          why = "holds '<' or '>' (the address goes between them)";
      }
  if (why)
    {
      g_autofree char *shown = g_strescape (a, NULL);
      g_set_error (error, MUGAI_RELAY_ERROR, MUGAI_RELAY_ERROR_INVALID, "the %s \"%.80s\" %s", what,
                   shown, why);
      return FALSE;
    }
  return TRUE;
}

/* RFC 5321 4.1.2 Domain or address-literal ("[192.0.2.1]", "[IPv6:...]"). */
static gboolean
helo_ok (const char *h)
{
  gsize len = h ? strlen (h) : 0;
  if (len == 0 || len > 255)
    return FALSE;
  if (h[0] == '[')
    {
      const char *in = h + 1;
      if (g_str_has_prefix (in, "IPv6:"))
        in += 5;
      gsize n = strspn (in, "0123456789abcdefABCDEF:.");
      return n > 0 && in[n] == ']' && in[n + 1] == '\0';
    }
  if (h[0] == '.' || h[0] == '-' || h[len - 1] == '.')
    return FALSE;
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isalnum (h[i]) && h[i] != '-' && !(h[i] == '.' && h[i + 1] != '.'))
      return FALSE;
  return TRUE;
}

static CURLcode curl_global_code = CURLE_FAILED_INIT;

static gboolean
curl_ready (GError **error)
{
  static gsize once = 0;
  if (g_once_init_enter (&once))
    {
      curl_global_code = curl_global_init (CURL_GLOBAL_DEFAULT);
      g_once_init_leave (&once, 1);
    }
  if (curl_global_code != CURLE_OK)
    {
      g_set_error (error, MUGAI_RELAY_ERROR, MUGAI_RELAY_ERROR_INTERNAL,
                   "libcurl could not be initialised: %s", curl_easy_strerror (curl_global_code));
      return FALSE;
    }
  return TRUE;
}

/* One conversation: the message being read by libcurl, and what the debug
 * callback has seen of the commands and replies. */
typedef struct
{
  const guint8 *data;
  gsize len, off;
  gboolean all_read; /* libcurl has been given the last octet */
  const char *const *recipients;
  guint n_recipients;
  guint rcpt_sent;        /* RCPT commands seen */
  const char *stage;      /* what the next reply answers */
  gboolean command_start; /* the next HEADER_OUT octet starts a command */
  GString *lines;         /* the reply being read */
  guint last_code;
  char *last_reply;
  const char *last_stage;
  gboolean data_going; /* DATA got its 354 */
  gboolean data_replied;
  GPtrArray *refused;
} Conversation;

static size_t
on_read (char *buf, size_t size, size_t n, void *user)
{
  Conversation *c = user;
  gsize want = size * n;
  gsize k = MIN (want, c->len - c->off);
  memcpy (buf, c->data + c->off, k);
  c->off += k;
  /* libcurl knows the size (CURLOPT_INFILESIZE_LARGE) and may not ask
   * again once it has it all */
  if (c->off == c->len)
    c->all_read = TRUE;
  return k;
}

/* Reply text kept as printable ASCII (RFC 5321 2.4: replies are ASCII),
 * within MUGAI_RELAY_REPLY_MAX. */
static void
append_printable (GString *s, const char *p, gsize len)
{
  for (gsize i = 0; i < len && s->len < MUGAI_RELAY_REPLY_MAX; i++)
    g_string_append_c (s, (p[i] >= 0x20 && p[i] < 0x7f) ? p[i] : '?');
}

static void
on_command (Conversation *c, const char *p, gsize len)
{
  static const char *const verbs[] = { "EHLO", "HELO", "MAIL",     "RCPT", "DATA", "QUIT",
                                       "RSET", "AUTH", "STARTTLS", "NOOP", "VRFY" };
  if (c->command_start)
    {
      gsize w = 0;
      while (w < len && g_ascii_isalpha (p[w]))
        w++;
      c->stage = "command";
      for (gsize i = 0; i < G_N_ELEMENTS (verbs); i++)
        if (w == strlen (verbs[i]) && g_ascii_strncasecmp (p, verbs[i], w) == 0)
          c->stage = verbs[i];
      if (strcmp (c->stage, "RCPT") == 0)
        c->rcpt_sent++;
    }
  c->command_start = len > 0 && p[len - 1] == '\n';
}

static void
on_reply_line (Conversation *c, const char *p, gsize len)
{
  while (len > 0 && (p[len - 1] == '\n' || p[len - 1] == '\r'))
    len--;
  if (c->lines->len > 0 && c->lines->len < MUGAI_RELAY_REPLY_MAX)
    g_string_append_c (c->lines, '\n');
  append_printable (c->lines, p, len);
  /* RFC 5321 4.2.1: "250-" goes on, "250 " (or "250" alone) is the last */
  gboolean last = len >= 3 && g_ascii_isdigit (p[0]) && g_ascii_isdigit (p[1])
                  && g_ascii_isdigit (p[2]) && (len == 3 || p[3] == ' ');
  if (!last)
    return;
  guint code = (guint)((p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0'));
  g_autofree char *text = g_string_free (g_steal_pointer (&c->lines), FALSE);
  c->lines = g_string_new (NULL);
  if (strcmp (c->stage, "QUIT") == 0)
    return; /* the goodbye says nothing of the message */
  c->last_code = code;
  g_free (c->last_reply);
  c->last_reply = g_strdup (text);
  c->last_stage = c->stage;
  if (strcmp (c->stage, "RCPT") == 0 && code / 100 != 2 && c->rcpt_sent >= 1
      && c->rcpt_sent <= c->n_recipients)
    {
      MugaiRelayRefusal *r = g_new0 (MugaiRelayRefusal, 1);
      r->recipient = g_strdup (c->recipients[c->rcpt_sent - 1]);
      r->code = code;
      r->reply = g_steal_pointer (&text);
      r->klass = code / 100 == 5 ? MUGAI_RELAY_PERMANENT : MUGAI_RELAY_TEMPORARY;
      g_ptr_array_add (c->refused, r);
    }
  else if (strcmp (c->stage, "DATA") == 0 && code == 354)
    {
      c->data_going = TRUE;
      c->stage = "."; /* the next reply is the one to the end of the data */
    }
  else if (strcmp (c->stage, ".") == 0)
    c->data_replied = TRUE;
}

static int
on_debug (CURL *handle, curl_infotype type, char *p, size_t len, void *user)
{
  Conversation *c = user;
  if (type == CURLINFO_HEADER_OUT)
    on_command (c, p, len);
  else if (type == CURLINFO_HEADER_IN)
    on_reply_line (c, p, len);
  return 0;
}

static void
curl_slist_free_all0 (struct curl_slist *l)
{
  curl_slist_free_all (l);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CURL, curl_easy_cleanup)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CURLU, curl_url_cleanup)
typedef struct curl_slist MugaiCurlList;
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MugaiCurlList, curl_slist_free_all0)

static void
curl_free0 (char *p)
{
  curl_free (p);
}
typedef char MugaiCurlString;
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MugaiCurlString, curl_free0)

/* What curl_url_get() says of a part, the part itself freed. */
static CURLUcode
url_has (CURLU *u, CURLUPart what)
{
  char *part = NULL;
  CURLUcode rc = curl_url_get (u, what, &part, 0);
  curl_free (part);
  return rc;
}

/* The relay's URL with the EHLO name as its path (libcurl takes the EHLO
 * name from there, RFC 5321 4.1.1.1), or NULL. */
static CURLU *
relay_url (const MugaiRelay *relay, GError **error)
{
  g_autoptr (CURLU) u = curl_url ();
  if (!u)
    {
      g_set_error_literal (error, MUGAI_RELAY_ERROR, MUGAI_RELAY_ERROR_INTERNAL,
                           "libcurl: out of memory");
      return NULL;
    }
  const char *why = NULL;
  g_autoptr (MugaiCurlString) scheme = NULL;
  g_autoptr (MugaiCurlString) path = NULL;
  if (!relay->url || curl_url_set (u, CURLUPART_URL, relay->url, 0) != CURLUE_OK)
    why = "is no URL";
  else if (curl_url_get (u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK
           || (strcmp (scheme, "smtp") != 0 && strcmp (scheme, "smtps") != 0))
    why = "is not smtp:// or smtps://";
  else if (url_has (u, CURLUPART_HOST) != CURLUE_OK)
    why = "names no host";
  else if (url_has (u, CURLUPART_USER) != CURLUE_NO_USER
           || url_has (u, CURLUPART_PASSWORD) != CURLUE_NO_PASSWORD
           || url_has (u, CURLUPART_OPTIONS) != CURLUE_NO_OPTIONS)
    why = "holds a user or password (the relay is a port that takes mail without one)";
  else if (curl_url_get (u, CURLUPART_PATH, &path, 0) != CURLUE_OK || strcmp (path, "/") != 0
           || url_has (u, CURLUPART_QUERY) != CURLUE_NO_QUERY
           || url_has (u, CURLUPART_FRAGMENT) != CURLUE_NO_FRAGMENT)
    why = "has something after the port (the EHLO name is a setting of its own)";
  if (why)
    {
      g_set_error (error, MUGAI_RELAY_ERROR, MUGAI_RELAY_ERROR_SETTING, "the relay \"%.200s\" %s",
                   relay->url ? relay->url : "(none)", why);
      return NULL;
    }
  if (!helo_ok (relay->helo))
    {
      g_set_error (error, MUGAI_RELAY_ERROR, MUGAI_RELAY_ERROR_SETTING,
                   "the EHLO name \"%.100s\" is neither a domain nor an address literal",
                   relay->helo ? relay->helo : "");
      return NULL;
    }
  g_autofree char *helo_path = g_strconcat ("/", relay->helo, NULL);
  if (curl_url_set (u, CURLUPART_PATH, helo_path, CURLU_URLENCODE) != CURLUE_OK)
    {
      g_set_error_literal (error, MUGAI_RELAY_ERROR, MUGAI_RELAY_ERROR_INTERNAL,
                           "libcurl did not take the EHLO name as the URL's path");
      return NULL;
    }
  return g_steal_pointer (&u);
}

#if LIBCURL_VERSION_NUM >= 0x080200
#define MUGAI_CURLOPT_RCPT_ALLOWFAILS CURLOPT_MAIL_RCPT_ALLOWFAILS
#else
/* its name until curl 8.2.0 (Debian 12 has 7.88.1) */
#define MUGAI_CURLOPT_RCPT_ALLOWFAILS CURLOPT_MAIL_RCPT_ALLLOWFAILS
#endif

gboolean
mugai_relay_send (const MugaiRelay *relay, const char *sender, const char *const *recipients,
                  GBytes *message, MugaiRelayResult *result, GError **error)
{
  g_return_val_if_fail (relay != NULL, FALSE);
  g_return_val_if_fail (sender != NULL, FALSE);
  g_return_val_if_fail (recipients != NULL, FALSE);
  g_return_val_if_fail (message != NULL, FALSE);
  g_return_val_if_fail (result != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (relay->timeout == 0)
    {
      g_set_error_literal (error, MUGAI_RELAY_ERROR, MUGAI_RELAY_ERROR_SETTING,
                           "the relay's timeout is 0 seconds");
      return FALSE;
    }
  if (!address_ok ("envelope sender", sender, TRUE, error))
    return FALSE;
  guint n = 0;
  for (; recipients[n]; n++)
    if (n >= MUGAI_RELAY_RECIPIENTS_MAX)
      {
        g_set_error (error, MUGAI_RELAY_ERROR, MUGAI_RELAY_ERROR_INVALID,
                     "more than %d recipients in one send", MUGAI_RELAY_RECIPIENTS_MAX);
        return FALSE;
      }
    else if (!address_ok ("recipient", recipients[n], FALSE, error))
      return FALSE;
  if (n == 0)
    {
      g_set_error_literal (error, MUGAI_RELAY_ERROR, MUGAI_RELAY_ERROR_INVALID,
                           "no recipient to send to");
      return FALSE;
    }
  if (!curl_ready (error))
    return FALSE;
  g_autoptr (CURLU) url = relay_url (relay, error);
  if (!url)
    return FALSE;

  g_autoptr (MugaiCurlList) rcpt = NULL;
  for (guint i = 0; i < n; i++)
    {
      struct curl_slist *l = curl_slist_append (rcpt, recipients[i]);
      if (!l)
        {
          g_set_error_literal (error, MUGAI_RELAY_ERROR, MUGAI_RELAY_ERROR_INTERNAL,
                               "libcurl: out of memory");
          return FALSE;
        }
      rcpt = l;
    }
  g_autoptr (GBytes) wire = wire_lines (message);
  Conversation c = {
    .recipients = recipients,
    .n_recipients = n,
    .stage = "greeting",
    .command_start = TRUE,
    .lines = g_string_new (NULL),
    .refused = g_ptr_array_new_with_free_func (refusal_free),
  };
  c.data = g_bytes_get_data (wire, &c.len);

  char errbuf[CURL_ERROR_SIZE] = "";
  g_autoptr (CURL) h = curl_easy_init ();
  CURLcode rc = h ? CURLE_OK : CURLE_OUT_OF_MEMORY;
#define SET(opt, val)                                                                              \
  do                                                                                               \
    if (rc == CURLE_OK)                                                                            \
      rc = curl_easy_setopt (h, opt, val);                                                         \
  while (0)
  SET (CURLOPT_CURLU, url);
  SET (CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  SET (CURLOPT_PROXY, ""); /* never through a proxy of the environment (all_proxy) */
  SET (CURLOPT_NOSIGNAL, 1L);
  SET (CURLOPT_FORBID_REUSE, 1L);
  SET (CURLOPT_TIMEOUT, (long)MIN (relay->timeout, (guint)G_MAXINT));
  SET (CURLOPT_CONNECTTIMEOUT, (long)MIN (relay->timeout, (guint)G_MAXINT));
  SET (CURLOPT_ERRORBUFFER, errbuf);
  SET (CURLOPT_MAIL_FROM, sender); /* "" gives MAIL FROM:<> */
  SET (CURLOPT_MAIL_RCPT, (struct curl_slist *)rcpt);
  SET (MUGAI_CURLOPT_RCPT_ALLOWFAILS, 1L);
  SET (CURLOPT_UPLOAD, 1L);
  SET (CURLOPT_READFUNCTION, on_read);
  SET (CURLOPT_READDATA, &c);
  SET (CURLOPT_INFILESIZE_LARGE, (curl_off_t)c.len); /* SIZE= when the server takes it */
  SET (CURLOPT_DEBUGFUNCTION, on_debug);
  SET (CURLOPT_DEBUGDATA, &c);
  SET (CURLOPT_VERBOSE, 1L); /* to the debug callback only, never stderr */
#undef SET
  if (rc != CURLE_OK)
    {
      g_set_error (error, MUGAI_RELAY_ERROR, MUGAI_RELAY_ERROR_INTERNAL,
                   "libcurl refused an option: %s", curl_easy_strerror (rc));
      g_string_free (c.lines, TRUE);
      g_ptr_array_unref (c.refused);
      return FALSE;
    }

  CURLcode done = curl_easy_perform (h);
  /* the handle (and its QUIT, which on_reply_line ignores) goes before
   * the conversation it writes to */
  g_clear_pointer (&h, curl_easy_cleanup);

  mugai_relay_result_clear (result);
  result->code = c.last_code;
  result->reply = g_steal_pointer (&c.last_reply);
  result->stage = g_strdup (c.last_stage ? c.last_stage : "connect");
  result->refused = g_steal_pointer (&c.refused);
  gboolean all_refused = result->refused->len == n;
  if (done == CURLE_OK && !all_refused)
    result->klass = MUGAI_RELAY_SENT;
  else
    {
      const char *why = errbuf[0] ? errbuf : curl_easy_strerror (done);
      GString *d = g_string_new (NULL);
      append_printable (d, why, strlen (why));
      result->detail = g_string_free (d, FALSE);
      result->maybe_delivered = c.data_going && c.all_read && !c.data_replied;
      if (all_refused)
        {
          result->klass = MUGAI_RELAY_PERMANENT;
          for (guint i = 0; i < result->refused->len; i++)
            if (((MugaiRelayRefusal *)result->refused->pdata[i])->klass == MUGAI_RELAY_TEMPORARY)
              result->klass = MUGAI_RELAY_TEMPORARY;
        }
      else if (c.last_code / 100 == 5)
        result->klass = MUGAI_RELAY_PERMANENT;
      else if (c.last_code / 100 != 4
               && (done == CURLE_URL_MALFORMAT || done == CURLE_BAD_FUNCTION_ARGUMENT
                   || done == CURLE_UNSUPPORTED_PROTOCOL || done == CURLE_NOT_BUILT_IN))
        /* what libcurl cannot make a command of (a domain libidn2
         * refuses): no retry makes it better */
        result->klass = MUGAI_RELAY_PERMANENT;
      else
        result->klass = MUGAI_RELAY_TEMPORARY;
    }
  g_string_free (c.lines, TRUE);
  return TRUE;
}

/* ---- notices ---------------------------------------------------------- */

static gboolean
notice_text_ok (const char *what, const char *s, gboolean one_line, GError **error)
{
  gsize len = strlen (s);
  const char *why = NULL;
  if (len > MUGAI_RELAY_NOTICE_MAX)
    why = "is too long";
  else if (!g_utf8_validate (s, (gssize)len, NULL))
    why = "is not UTF-8";
  else if (one_line && strpbrk (s, "\r\n"))
    why = "holds a CR or LF";
  if (why)
    {
      g_set_error (error, MUGAI_RELAY_ERROR, MUGAI_RELAY_ERROR_INVALID, "the notice's %s %s", what,
                   why);
      return FALSE;
    }
  return TRUE;
}

/* The addresses of s, each a mailbox (no group), at least one, at most
 * max; NULL when s is not that. */
static InternetAddressList *
notice_addresses (const char *what, const char *s, int max, GError **error)
{
  g_autoptr (InternetAddressList) l = internet_address_list_parse (NULL, s);
  int n = l ? internet_address_list_length (l) : 0;
  gboolean ok = n >= 1 && n <= max;
  for (int i = 0; ok && i < n; i++)
    {
      InternetAddress *a = internet_address_list_get_address (l, i);
      ok = INTERNET_ADDRESS_IS_MAILBOX (a)
           && strchr (internet_address_mailbox_get_addr (INTERNET_ADDRESS_MAILBOX (a)), '@');
    }
  if (!ok)
    {
      g_set_error (error, MUGAI_RELAY_ERROR, MUGAI_RELAY_ERROR_INVALID,
                   "the notice's %s \"%.100s\" is not %s", what, s,
                   max == 1 ? "one address" : "a list of addresses");
      return NULL;
    }
  return g_steal_pointer (&l);
}

GBytes *
mugai_relay_build_notice (const char *from, const char *to, const char *subject,
                          const char *body_utf8, GError **error)
{
  g_return_val_if_fail (from != NULL && to != NULL && subject != NULL, NULL);
  g_return_val_if_fail (body_utf8 != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!notice_text_ok ("sender", from, TRUE, error)
      || !notice_text_ok ("recipient", to, TRUE, error)
      || !notice_text_ok ("subject", subject, TRUE, error)
      || !notice_text_ok ("body", body_utf8, FALSE, error))
    return NULL;
  mugai_init ();
  g_autoptr (InternetAddressList) from_list = notice_addresses ("sender", from, 1, error);
  if (!from_list)
    return NULL;
  g_autoptr (InternetAddressList) to_list
      = notice_addresses ("recipient", to, MUGAI_RELAY_RECIPIENTS_MAX, error);
  if (!to_list)
    return NULL;

  g_autoptr (GMimeMessage) msg = g_mime_message_new (TRUE);
  internet_address_list_append (g_mime_message_get_from (msg), from_list);
  internet_address_list_append (g_mime_message_get_to (msg), to_list);
  /* RFC 2047 encoded-words for what is not ASCII */
  g_mime_message_set_subject (msg, subject, "UTF-8");
  g_autoptr (GDateTime) now = g_date_time_new_now_local ();
  g_mime_message_set_date (msg, now);
  const char *addr = internet_address_mailbox_get_addr (
      INTERNET_ADDRESS_MAILBOX (internet_address_list_get_address (from_list, 0)));
  g_autofree char *id = g_mime_utils_generate_message_id (strrchr (addr, '@') + 1);
  g_mime_message_set_message_id (msg, id);
  /* RFC 3834 5: no vacation reply or other automatic answer to it */
  g_mime_object_set_header (GMIME_OBJECT (msg), "Auto-Submitted", "auto-generated", NULL);

  g_autoptr (GMimeTextPart) part = g_mime_text_part_new_with_subtype ("plain");
  g_mime_text_part_set_text (part, body_utf8);
  g_mime_text_part_set_charset (part, "UTF-8");
  g_mime_part_set_content_encoding (
      GMIME_PART (part),
      g_mime_part_get_best_content_encoding (GMIME_PART (part), GMIME_ENCODING_CONSTRAINT_7BIT));
  g_mime_message_set_mime_part (msg, GMIME_OBJECT (part));

  g_autoptr (GMimeFormatOptions) fo = g_mime_format_options_new ();
  g_mime_format_options_set_newline_format (fo, GMIME_NEWLINE_FORMAT_DOS);
  g_autoptr (GMimeStream) mem = g_mime_stream_mem_new ();
  if (g_mime_object_write_to_stream (GMIME_OBJECT (msg), fo, mem) < 0)
    {
      g_set_error_literal (error, MUGAI_RELAY_ERROR, MUGAI_RELAY_ERROR_INTERNAL,
                           "GMime could not write the notice");
      return NULL;
    }
  GByteArray *bytes = g_mime_stream_mem_get_byte_array (GMIME_STREAM_MEM (mem));
  return g_bytes_new (bytes->data, bytes->len);
}
