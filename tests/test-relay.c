/*
 * test-relay.c - relay.c: the message to re-inject (X-Mugai-* fields of
 *                the sender gone, X-Mugai-Released added, the rest octet
 *                for octet), its delivery to Postfix's smtp-sink through
 *                libcurl (envelope, dots, Japanese text, 4xx, 5xx, a
 *                closed port, a timeout), and the notices read back by
 *                GMime
 *
 * smtp-sink(1) (package postfix) is started by each test on 127.0.0.1
 * and a free port, with -d so that every message it takes is written to
 * a file: its own fields (X-Client-Addr... Received) and then the message
 * with its lines ended by LF (it keeps no CR) and its dots unstuffed.
 * What it cannot show (the CRs and dots on the wire, one recipient of
 * several refused) a recorder of the raw octets shows (/relay/wire/).
 */
#include "header.h"
#include "relay.h"
#include "testfiles.h"
#include "testutil.h"

#include "mugai-gmime.h"

#include <arpa/inet.h>
#include <gio/gio.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define SMTP_SINK "/usr/sbin/smtp-sink"
/* short enough for one line: folding has a test of its own */
#define VALUE "id=20261204-abc; by=sato; approved-by=suzuki; attempt=1"

static char *tmp_root;
/* The sink running, killed when an assertion aborts the test. */
static GPid running_sink;

static void
on_abort (int sig)
{
  if (running_sink > 0)
    kill (running_sink, SIGTERM);
  signal (sig, SIG_DFL);
  raise (sig);
}

/* ---- prepare ---------------------------------------------------------- */

typedef struct
{
  const char *name;
  const char *in;
  gsize in_len; /* 0: strlen */
  const char *out;
  gsize out_len;
} PrepareCase;

#define R "X-Mugai-Released: " VALUE
#define BIN(s) s, sizeof (s) - 1

static const PrepareCase prepare_cases[] = {
  { "crlf",
    "X-Mugai-Status: clean\r\nFrom: a@example.jp\r\nx-mugai-report: r\r\n\tmore\r\n"
    "Subject: s\r\n\r\nX-Mugai-Status: in the body stays\r\n",
    0, R "\r\nFrom: a@example.jp\r\nSubject: s\r\n\r\nX-Mugai-Status: in the body stays\r\n", 0 },
  { "lf", "From: a@example.jp\nX-MUGAI-STATUS: clean\n  folded\nSubject: s\n\nbody\n", 0,
    R "\nFrom: a@example.jp\nSubject: s\n\nbody\n", 0 },
  { "forged-released", "X-Mugai-Released: id=forged\r\nFrom: a@example.jp\r\n\r\nb\r\n", 0,
    R "\r\nFrom: a@example.jp\r\n\r\nb\r\n", 0 },
  { "no-body", "From: a@example.jp\r\nX-Mugai-A: 1\r\n", 0, R "\r\nFrom: a@example.jp\r\n", 0 },
  { "no-final-line-end", "From: a@example.jp\r\nX-Mugai-A: 1", 0, R "\r\nFrom: a@example.jp\r\n",
    0 },
  { "no-header", "\r\nbody\r\n", 0, R "\r\n\r\nbody\r\n", 0 },
  { "empty", "", 0, R "\r\n", 0 },
  { "space-before-colon", "X-Mugai-Status : forged\r\nFrom: a@example.jp\r\n\r\nb", 0,
    R "\r\nFrom: a@example.jp\r\n\r\nb", 0 },
  /* a bare CR ends a line (relay.h): the forged field behind it goes */
  { "bare-cr", "Subject: s\rX-Mugai-Status: forged\r\n\r\nb\r\n", 0, R "\r\nSubject: s\r\r\nb\r\n",
    0 },
  { "similar-names-stay", "X-Mugai: 1\r\nX-Mugaix-A: 2\r\nX-Mugai-Foo no colon\r\n\r\n", 0,
    R "\r\nX-Mugai: 1\r\nX-Mugaix-A: 2\r\nX-Mugai-Foo no colon\r\n\r\n", 0 },
  { "continuation-at-top", " lead\r\nFrom: a@example.jp\r\n\r\n", 0,
    R "\r\n lead\r\nFrom: a@example.jp\r\n\r\n", 0 },
  { "nul", BIN ("From: a\0b\r\nX-Mugai-A: \0\r\n \0\r\nTo: c\r\n\r\nbody\0\r\n"),
    BIN (R "\r\nFrom: a\0b\r\nTo: c\r\n\r\nbody\0\r\n") },
  /* the body's line ends and octets are not the header's business */
  { "mixed-line-ends", "From: a@example.jp\r\nX-Mugai-A: 1\n\nline\r\nbare\n\xe6\x97\xa5\r", 0,
    R "\r\nFrom: a@example.jp\r\n\nline\r\nbare\n\xe6\x97\xa5\r", 0 },
};

static void
test_prepare_case (gconstpointer data)
{
  const PrepareCase *c = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) in = g_bytes_new_static (c->in, c->in_len ? c->in_len : strlen (c->in));
  g_autoptr (GBytes) out = mugai_relay_prepare (in, VALUE, &error);
  g_assert_no_error (error);
  gsize len = 0;
  const char *got = g_bytes_get_data (out, &len);
  g_assert_cmpmem (got, len, c->out, c->out_len ? c->out_len : strlen (c->out));
}

/* A long value is folded before its spaces, lines within 78, and
 * unfolding gives it back. */
static void
test_prepare_fold (void)
{
  const char *value = "id=20261204-0123456789abcdef; by=yamada.taro; "
                      "approved-by=suzuki.hanako,tanaka.jiro; mode=resanitize=loose-pdf; "
                      "attempt=12; node=gw2.city.example.lg.jp";
  g_autoptr (GBytes) in = g_bytes_new_static ("From: a@example.jp\r\n\r\nb\r\n", 25);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) out = mugai_relay_prepare (in, value, &error);
  g_assert_no_error (error);
  g_autofree char *text = g_strndup (g_bytes_get_data (out, NULL), g_bytes_get_size (out));
  const char *end = strstr (text, "\r\nFrom: ");
  g_assert_nonnull (end);
  g_autofree char *field = g_strndup (text, (gsize)(end - text));
  g_auto (GStrv) lines = g_strsplit (field, "\r\n", -1);
  g_assert_cmpuint (g_strv_length (lines), >=, 3);
  for (guint i = 0; lines[i]; i++)
    {
      g_assert_cmpuint (strlen (lines[i]), <=, 78);
      if (i > 0)
        g_assert_true (lines[i][0] == ' ');
    }
  g_autofree char *unfolded = g_strjoinv ("", lines);
  g_autofree char *want = g_strconcat ("X-Mugai-Released: ", value, NULL);
  g_assert_cmpstr (unfolded, ==, want);
  g_assert_true (g_str_has_suffix (text, "\r\nFrom: a@example.jp\r\n\r\nb\r\n"));
}

typedef struct
{
  const char *name;
  const char *value;
} BadValue;

static const BadValue bad_values[] = {
  { "crlf", "id=1\r\nBcc: victim@example.jp" },
  { "lf", "id=1\nX-Mugai-Status: clean" },
  { "cr", "id=1\rTo: x" },
  { "field-name", "X-Mugai-Released: id=1" },
  { "other-field-name", "Bcc : victim@example.jp" },
  { "empty", "" },
  { "not-ascii", "id=1; by=\xe4\xbd\x90\xe8\x97\xa4" },
  { "control", "id=1\x01" },
  { "leading-space", " id=1" },
};

static void
test_prepare_refused (gconstpointer data)
{
  const BadValue *b = data;
  g_autoptr (GBytes) in = g_bytes_new_static ("From: a@example.jp\r\n\r\nb\r\n", 25);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) out = mugai_relay_prepare (in, b->value, &error);
  g_assert_null (out);
  g_assert_error (error, MUGAI_RELAY_ERROR, MUGAI_RELAY_ERROR_INVALID);
}

static void
test_prepare_long_word (void)
{
  g_autofree char *value = g_strnfill (1000, 'a');
  g_autoptr (GBytes) in = g_bytes_new_static ("From: a\r\n\r\n", 11);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) out = mugai_relay_prepare (in, value, &error);
  g_assert_null (out);
  g_assert_error (error, MUGAI_RELAY_ERROR, MUGAI_RELAY_ERROR_INVALID);
}

/* A header block of 8 MiB with NUL octets and no empty line: every
 * X-Mugai- field (and its continuations) gone, the rest kept. */
static void
test_prepare_huge_header (void)
{
  GString *in = g_string_new (NULL);
  GString *want = g_string_new (R "\r\n");
  while (in->len < 8 * 1024 * 1024)
    {
      static const char drop[] = "X-Mugai-A: \0\0\r\n \0cont\r\n";
      static const char keep[] = "K: v\0\r\n\tkept\r\n";
      g_string_append_len (in, drop, sizeof drop - 1);
      g_string_append_len (in, keep, sizeof keep - 1);
      g_string_append_len (want, keep, sizeof keep - 1);
    }
  g_autoptr (GBytes) bytes = g_string_free_to_bytes (in);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) out = mugai_relay_prepare (bytes, VALUE, &error);
  g_assert_no_error (error);
  gsize len = 0;
  const char *got = g_bytes_get_data (out, &len);
  g_assert_cmpmem (got, len, want->str, want->len);
  g_string_free (want, TRUE);
}

/* ---- smtp-sink -------------------------------------------------------- */

typedef struct
{
  GPid pid;
  guint16 port;
  char *dir;
} Sink;

static guint16
free_port (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GSocket) s
      = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
  g_assert_no_error (error);
  g_autoptr (GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) any = g_inet_socket_address_new (lo, 0);
  g_assert_true (g_socket_bind (s, any, FALSE, &error));
  g_autoptr (GSocketAddress) bound = g_socket_get_local_address (s, &error);
  g_assert_no_error (error);
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
}

static gboolean
listening (guint16 port)
{
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autoptr (GSocketConnection) conn
      = g_socket_client_connect_to_host (client, "127.0.0.1", port, NULL, NULL);
  return conn != NULL;
}

/* smtp-sink with the options given (NULL-terminated) on a free port,
 * writing what it takes below a directory of its own. */
static void
sink_start (Sink *s, const char *const *options)
{
  g_assert_true (g_file_test (SMTP_SINK, G_FILE_TEST_IS_EXECUTABLE));
  s->dir = g_build_filename (tmp_root, "sinkXXXXXX", NULL);
  g_assert_nonnull (g_mkdtemp (s->dir));
  s->port = free_port ();
  g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (argv, g_strdup (SMTP_SINK));
  g_ptr_array_add (argv, g_strdup ("-4"));
  if (geteuid () == 0)
    {
      /* it refuses to run as root without -u; nobody must write the
       * dump directory and reach it */
      struct passwd *pw = getpwnam ("nobody");
      g_assert_nonnull (pw);
      g_assert_cmpint (chown (s->dir, pw->pw_uid, (gid_t)-1), ==, 0);
      g_assert_cmpint (chmod (tmp_root, 0711), ==, 0);
      g_ptr_array_add (argv, g_strdup ("-u"));
      g_ptr_array_add (argv, g_strdup ("nobody"));
    }
  for (gsize i = 0; options && options[i]; i++)
    g_ptr_array_add (argv, g_strdup (options[i]));
  g_ptr_array_add (argv, g_strdup ("-d"));
  g_ptr_array_add (argv, g_build_filename (s->dir, "m.", NULL));
  g_ptr_array_add (argv, g_strdup_printf ("127.0.0.1:%u", s->port));
  g_ptr_array_add (argv, g_strdup ("10"));
  g_ptr_array_add (argv, NULL);
  g_autoptr (GError) error = NULL;
  g_spawn_async (NULL, (char **)argv->pdata, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, &s->pid,
                 &error);
  g_assert_no_error (error);
  running_sink = s->pid;
  for (int i = 0; i < 200 && !listening (s->port); i++)
    g_usleep (25 * 1000);
  g_assert_true (listening (s->port));
}

static void
sink_stop (Sink *s)
{
  kill (s->pid, SIGTERM);
  int status = 0;
  g_assert_cmpint (waitpid (s->pid, &status, 0), ==, s->pid);
  g_spawn_close_pid (s->pid);
  running_sink = 0;
  testfiles_rm_rf (s->dir);
  g_free (s->dir);
}

/* The names of the files the sink wrote. */
static GPtrArray *
sink_files (Sink *s)
{
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GDir) d = g_dir_open (s->dir, 0, NULL);
  g_assert_nonnull (d);
  for (const char *n; (n = g_dir_read_name (d));)
    g_ptr_array_add (names, g_build_filename (s->dir, n, NULL));
  return names;
}

/* The one message the sink took: its own fields in *fields, the message
 * after them.  Waits for the file's last line (smtp-sink ends each
 * message with an empty line of its own, removed here). */
static char *
sink_message (Sink *s, gsize *len, char **fields)
{
  g_autofree char *text = NULL;
  gsize n = 0;
  for (int i = 0; i < 400; i++)
    {
      g_autoptr (GPtrArray) files = sink_files (s);
      g_assert_cmpuint (files->len, <=, 1);
      g_clear_pointer (&text, g_free);
      if (files->len == 1 && g_file_get_contents (files->pdata[0], &text, &n, NULL)
          && g_str_has_suffix (text, "\n\n"))
        break;
      g_usleep (25 * 1000);
    }
  g_assert_nonnull (text);
  g_assert_true (g_str_has_suffix (text, "\n\n"));
  /* the sink's fields end with its three-line Received: field */
  const char *rcvd = strstr (text, "\nReceived: from ");
  g_assert_nonnull (rcvd);
  const char *p = rcvd + 1;
  for (int line = 0; line < 3; line++)
    {
      p = strchr (p, '\n');
      g_assert_nonnull (p);
      p++;
    }
  *fields = g_strndup (text, (gsize)(rcvd + 1 - text));
  *len = n - (gsize)(p - text) - 1;
  return g_memdup2 (p, *len);
}

/* What the sink's dump shows of bytes sent: CRLF as LF. */
static char *
as_dumped (GBytes *b, gsize *len)
{
  gsize n = 0;
  const char *d = g_bytes_get_data (b, &n);
  GString *s = g_string_new (NULL);
  for (gsize i = 0; i < n; i++)
    if (!(d[i] == '\r' && i + 1 < n && d[i + 1] == '\n'))
      g_string_append_c (s, d[i]);
  *len = s->len;
  return g_string_free (s, FALSE);
}

static MugaiRelay
relay_for (const Sink *s, char **url)
{
  *url = g_strdup_printf ("smtp://127.0.0.1:%u", s->port);
  return (MugaiRelay){ .url = *url, .helo = "gw1.city.example.lg.jp", .timeout = 30 };
}

static const char original_crlf[]
    = "Received: from mx.example.jp (mx.example.jp [192.0.2.7])\r\n"
      "\tby gw1.city.example.lg.jp (Postfix) with ESMTP id 4ZxY1\r\n"
      "X-Mugai-Status: sanitized; removed=1\r\n"
      "From: =?UTF-8?B?5bGx55Sw?= <yamada@example.jp>\r\n"
      "To: sato@city.example.lg.jp\r\n"
      "Subject: =?UTF-8?B?6KaL56mN5pu4?=\r\n"
      "X-Mugai-Report: removed=1;\r\n  converted=0\r\n"
      "MIME-Version: 1.0\r\n"
      "Content-Type: text/plain; charset=UTF-8\r\n"
      "Content-Transfer-Encoding: 8bit\r\n"
      "\r\n"
      "\xe4\xbd\x90\xe8\x97\xa4\xe6\xa7\x98\r\n" /* 佐藤様 */
      ".dot at the start\r\n"
      "..two dots\r\n"
      ".\r\n"
      "\xe8\xa6\x8b\xe7\xa9\x8d\xe6\x9b\xb8\xe3\x82\x92\xe3\x81\x8a\xe9\x80\x81\xe3\x82\x8a"
      "\xe3\x81\x97\xe3\x81\xbe\xe3\x81\x99\xe3\x80\x82\r\n" /* 見積書をお送りします。 */
      "X-Mugai-Status: a line of the body\r\n";

static void
test_send_delivered (void)
{
  Sink s = { 0 };
  sink_start (&s, NULL);
  g_autofree char *url = NULL;
  MugaiRelay relay = relay_for (&s, &url);
  g_autoptr (GBytes) in = g_bytes_new_static (original_crlf, sizeof original_crlf - 1);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) msg = mugai_relay_prepare (in, VALUE, &error);
  g_assert_no_error (error);
  const char *rcpt[] = { "sato@city.example.lg.jp", "kakari@city.example.lg.jp", NULL };
  g_auto (MugaiRelayResult) r = { 0 };
  g_assert_true (mugai_relay_send (&relay, "yamada@example.jp", rcpt, msg, &r, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (mugai_relay_class_name (r.klass), ==, "sent");
  g_assert_cmpuint (r.code, ==, 250);
  g_assert_cmpstr (r.reply, ==, "250 2.0.0 Ok");
  g_assert_cmpstr (r.stage, ==, ".");
  g_assert_cmpuint (r.refused->len, ==, 0);
  g_assert_false (r.maybe_delivered);

  gsize len = 0;
  g_autofree char *fields = NULL;
  g_autofree char *got = sink_message (&s, &len, &fields);
  g_assert_nonnull (strstr (fields, "\nX-Helo-Args: gw1.city.example.lg.jp\n"));
  g_assert_nonnull (strstr (fields, "\nX-Mail-Args: <yamada@example.jp>\n"));
  g_assert_nonnull (strstr (fields, "\nX-Rcpt-Args: <sato@city.example.lg.jp>\n"
                                    "X-Rcpt-Args: <kakari@city.example.lg.jp>\n"));
  /* the original without its two X-Mugai- fields, the new one on top */
  static const char want[]
      = "X-Mugai-Released: " VALUE "\n"
        "Received: from mx.example.jp (mx.example.jp [192.0.2.7])\n"
        "\tby gw1.city.example.lg.jp (Postfix) with ESMTP id 4ZxY1\n"
        "From: =?UTF-8?B?5bGx55Sw?= <yamada@example.jp>\n"
        "To: sato@city.example.lg.jp\n"
        "Subject: =?UTF-8?B?6KaL56mN5pu4?=\n"
        "MIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=UTF-8\n"
        "Content-Transfer-Encoding: 8bit\n"
        "\n"
        "\xe4\xbd\x90\xe8\x97\xa4\xe6\xa7\x98\n"
        ".dot at the start\n"
        "..two dots\n"
        ".\n"
        "\xe8\xa6\x8b\xe7\xa9\x8d\xe6\x9b\xb8\xe3\x82\x92\xe3\x81\x8a\xe9\x80\x81\xe3\x82\x8a"
        "\xe3\x81\x97\xe3\x81\xbe\xe3\x81\x99\xe3\x80\x82\n"
        "X-Mugai-Status: a line of the body\n";
  g_assert_cmpmem (got, len, want, sizeof want - 1);
  /* and that is the prepared message as sent, its CRLF as the sink writes them */
  gsize dlen = 0;
  g_autofree char *dumped = as_dumped (msg, &dlen);
  g_assert_cmpmem (got, len, dumped, dlen);
  sink_stop (&s);
}

/* "" is the null sender; a message with bare LF lines, one of them ".",
 * arrives whole (the "." made a CRLF line and stuffed). */
static void
test_send_null_sender_bare_lf (void)
{
  Sink s = { 0 };
  sink_start (&s, NULL);
  g_autofree char *url = NULL;
  MugaiRelay relay = relay_for (&s, &url);
  static const char lf[] = "From: a@example.jp\nSubject: lf\n\nfirst\n.\n.second\nlast\n";
  g_autoptr (GBytes) in = g_bytes_new_static (lf, sizeof lf - 1);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) msg = mugai_relay_prepare (in, VALUE, &error);
  g_assert_no_error (error);
  const char *rcpt[] = { "sato@city.example.lg.jp", NULL };
  g_auto (MugaiRelayResult) r = { 0 };
  g_assert_true (mugai_relay_send (&relay, "", rcpt, msg, &r, &error));
  g_assert_cmpint (r.klass, ==, MUGAI_RELAY_SENT);
  gsize len = 0;
  g_autofree char *fields = NULL;
  g_autofree char *got = sink_message (&s, &len, &fields);
  g_assert_nonnull (strstr (fields, "\nX-Mail-Args: <>\n"));
  g_autofree char *want = g_strconcat ("X-Mugai-Released: " VALUE "\n", lf, NULL);
  g_assert_cmpmem (got, len, want, strlen (want));
  sink_stop (&s);
}

typedef struct
{
  const char *name;
  const char *options[5];
  MugaiRelayClass klass;
  guint code;
  const char *reply;
  const char *stage;
  guint refused; /* recipients refused */
} Failure;

static const Failure failures[] = {
  { "4xx-end-of-data",
    { "-r", ".", "-b", "451 4.3.0 Try again later" },
    MUGAI_RELAY_TEMPORARY,
    451,
    "451 4.3.0 Try again later",
    ".",
    0 },
  { "5xx-end-of-data",
    { "-f", ".", "-B", "554 5.7.1 Refused by policy" },
    MUGAI_RELAY_PERMANENT,
    554,
    "554 5.7.1 Refused by policy",
    ".",
    0 },
  { "4xx-mail",
    { "-r", "MAIL" },
    MUGAI_RELAY_TEMPORARY,
    450,
    "450 4.3.0 Error: command failed",
    "MAIL",
    0 },
  { "5xx-data",
    { "-f", "DATA" },
    MUGAI_RELAY_PERMANENT,
    500,
    "500 5.3.0 Error: command failed",
    "DATA",
    0 },
  /* every recipient refused: nothing sent, each refusal listed */
  { "5xx-rcpt",
    { "-f", "RCPT" },
    MUGAI_RELAY_PERMANENT,
    500,
    "500 5.3.0 Error: command failed",
    "RCPT",
    2 },
  { "4xx-rcpt",
    { "-r", "RCPT" },
    MUGAI_RELAY_TEMPORARY,
    450,
    "450 4.3.0 Error: command failed",
    "RCPT",
    2 },
  { "421-greeting", { "-Q", "CONNECT" }, MUGAI_RELAY_TEMPORARY, 421, NULL, "greeting", 0 },
};

static void
test_send_failure (gconstpointer data)
{
  const Failure *f = data;
  Sink s = { 0 };
  sink_start (&s, f->options);
  g_autofree char *url = NULL;
  MugaiRelay relay = relay_for (&s, &url);
  g_autoptr (GBytes) msg = g_bytes_new_static ("From: a@example.jp\r\n\r\nb\r\n", 25);
  const char *rcpt[] = { "sato@city.example.lg.jp", "kakari@city.example.lg.jp", NULL };
  g_auto (MugaiRelayResult) r = { 0 };
  g_autoptr (GError) error = NULL;
  g_assert_true (mugai_relay_send (&relay, "yamada@example.jp", rcpt, msg, &r, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (mugai_relay_class_name (r.klass), ==, mugai_relay_class_name (f->klass));
  g_assert_cmpuint (r.code, ==, f->code);
  if (f->reply)
    g_assert_cmpstr (r.reply, ==, f->reply);
  else
    g_assert_true (g_str_has_prefix (r.reply, "421 "));
  g_assert_cmpstr (r.stage, ==, f->stage);
  g_assert_nonnull (r.detail);
  g_assert_false (r.maybe_delivered);
  g_assert_cmpuint (r.refused->len, ==, f->refused);
  for (guint i = 0; i < r.refused->len; i++)
    {
      MugaiRelayRefusal *x = r.refused->pdata[i];
      g_assert_cmpstr (x->recipient, ==, rcpt[i]);
      g_assert_cmpuint (x->code, ==, f->code);
      g_assert_cmpstr (x->reply, ==, f->reply);
      g_assert_cmpint (x->klass, ==, f->klass);
    }
  /* refused before the data: the sink wrote no message (after the data
   * it writes what it took, whatever it answers to the ".") */
  g_autoptr (GPtrArray) files = sink_files (&s);
  if (strcmp (f->stage, ".") != 0 && files->len == 1)
    {
      g_autofree char *text = NULL;
      g_assert_true (g_file_get_contents (files->pdata[0], &text, NULL, NULL));
      g_assert_false (g_str_has_suffix (text, "\nb\n\n"));
    }
  sink_stop (&s);
}

static void
test_send_closed_port (void)
{
  g_autofree char *url = g_strdup_printf ("smtp://127.0.0.1:%u", free_port ());
  MugaiRelay relay = { .url = url, .helo = "gw1.city.example.lg.jp", .timeout = 10 };
  g_autoptr (GBytes) msg = g_bytes_new_static ("From: a\r\n\r\nb\r\n", 14);
  const char *rcpt[] = { "sato@city.example.lg.jp", NULL };
  g_auto (MugaiRelayResult) r = { 0 };
  g_autoptr (GError) error = NULL;
  g_assert_true (mugai_relay_send (&relay, "a@example.jp", rcpt, msg, &r, &error));
  g_assert_cmpint (r.klass, ==, MUGAI_RELAY_TEMPORARY);
  g_assert_cmpuint (r.code, ==, 0);
  g_assert_null (r.reply);
  g_assert_cmpstr (r.stage, ==, "connect");
  g_assert_nonnull (strstr (r.detail, "onnect"));
  g_assert_false (r.maybe_delivered);
}

/* No reply in time: before the data, nothing can have been delivered;
 * after the whole message and the final ".", it may have been. */
static void
test_send_timeout (gconstpointer data)
{
  gboolean after_dot = GPOINTER_TO_INT (data);
  const char *options[] = { "-W", after_dot ? ".:5" : "DATA:5", NULL };
  Sink s = { 0 };
  sink_start (&s, options);
  g_autofree char *url = NULL;
  MugaiRelay relay = relay_for (&s, &url);
  relay.timeout = 1;
  g_autoptr (GBytes) msg = g_bytes_new_static ("From: a\r\n\r\nb\r\n", 14);
  const char *rcpt[] = { "sato@city.example.lg.jp", NULL };
  g_auto (MugaiRelayResult) r = { 0 };
  g_autoptr (GError) error = NULL;
  g_assert_true (mugai_relay_send (&relay, "a@example.jp", rcpt, msg, &r, &error));
  g_assert_cmpint (r.klass, ==, MUGAI_RELAY_TEMPORARY);
  g_assert_nonnull (r.detail);
  g_assert_cmpint (r.maybe_delivered, ==, after_dot);
  g_assert_cmpstr (r.stage, ==, after_dot ? "DATA" : "RCPT");
  sink_stop (&s);
}

/* What is refused before any connection: result untouched. */
static void
test_send_refused_arguments (void)
{
  const char *ok_rcpt[] = { "sato@city.example.lg.jp", NULL };
  const char *no_rcpt[] = { NULL };
  const char *bad_rcpt[] = { "sato@city.example.lg.jp>\r\nRCPT TO:<x@example.jp", NULL };
  const char *angle_rcpt[] = { "<sato@city.example.lg.jp>", NULL };
  struct
  {
    const char *url, *helo;
    guint timeout;
    const char *sender;
    const char *const *rcpt;
    MugaiRelayError code;
  } cases[] = {
    { "smtp://127.0.0.1:1", "gw1", 10, "a@example.jp\r\nRSET", ok_rcpt, MUGAI_RELAY_ERROR_INVALID },
    { "smtp://127.0.0.1:1", "gw1", 10, "a@example.jp", no_rcpt, MUGAI_RELAY_ERROR_INVALID },
    { "smtp://127.0.0.1:1", "gw1", 10, "a@example.jp", bad_rcpt, MUGAI_RELAY_ERROR_INVALID },
    { "smtp://127.0.0.1:1", "gw1", 10, "a@example.jp", angle_rcpt, MUGAI_RELAY_ERROR_INVALID },
    { "http://127.0.0.1:1", "gw1", 10, "", ok_rcpt, MUGAI_RELAY_ERROR_SETTING },
    { "127.0.0.1:10026", "gw1", 10, "", ok_rcpt, MUGAI_RELAY_ERROR_SETTING },
    { "smtp://127.0.0.1:1/other", "gw1", 10, "", ok_rcpt, MUGAI_RELAY_ERROR_SETTING },
    { "smtp://u:p@127.0.0.1:1", "gw1", 10, "", ok_rcpt, MUGAI_RELAY_ERROR_SETTING },
    { "smtp://127.0.0.1:1", "gw1 bad", 10, "", ok_rcpt, MUGAI_RELAY_ERROR_SETTING },
    { "smtp://127.0.0.1:1", "gw1\r\nMAIL", 10, "", ok_rcpt, MUGAI_RELAY_ERROR_SETTING },
    { "smtp://127.0.0.1:1", "gw1", 0, "", ok_rcpt, MUGAI_RELAY_ERROR_SETTING },
  };
  g_autoptr (GBytes) msg = g_bytes_new_static ("From: a\r\n\r\nb\r\n", 14);
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      MugaiRelay relay = { cases[i].url, cases[i].helo, cases[i].timeout };
      MugaiRelayResult r = { .code = 777 };
      g_autoptr (GError) error = NULL;
      g_assert_false (mugai_relay_send (&relay, cases[i].sender, cases[i].rcpt, msg, &r, &error));
      g_assert_error (error, MUGAI_RELAY_ERROR, (gint)cases[i].code);
      g_assert_cmpuint (r.code, ==, 777);
      g_assert_null (r.refused);
    }
}

/* Releases sent from several threads at once (the storer may send one
 * per request): each is delivered, whole, once. */
#define SENDERS 4

typedef struct
{
  const MugaiRelay *relay;
  int n;
  MugaiRelayClass klass;
} SendJob;

static gpointer
send_one (gpointer p)
{
  SendJob *j = p;
  g_autofree char *text = g_strdup_printf (
      "From: a@example.jp\r\nSubject: %d\r\nX-Mugai-Status: x\r\n\r\nbody %d\r\n", j->n, j->n);
  g_autoptr (GBytes) in = g_bytes_new (text, strlen (text));
  g_autofree char *value = g_strdup_printf ("id=t%d; by=sato", j->n);
  g_autoptr (GBytes) msg = mugai_relay_prepare (in, value, NULL);
  const char *rcpt[] = { "sato@city.example.lg.jp", NULL };
  g_auto (MugaiRelayResult) r = { 0 };
  j->klass = MUGAI_RELAY_PERMANENT;
  if (msg && mugai_relay_send (j->relay, "", rcpt, msg, &r, NULL))
    j->klass = r.klass;
  return NULL;
}

static void
test_send_threads (void)
{
  Sink s = { 0 };
  sink_start (&s, NULL);
  g_autofree char *url = NULL;
  MugaiRelay relay = relay_for (&s, &url);
  SendJob jobs[SENDERS];
  GThread *threads[SENDERS];
  for (int i = 0; i < SENDERS; i++)
    {
      jobs[i] = (SendJob){ &relay, i, MUGAI_RELAY_PERMANENT };
      threads[i] = g_thread_new ("sender", send_one, &jobs[i]);
    }
  for (int i = 0; i < SENDERS; i++)
    {
      g_thread_join (threads[i]);
      g_assert_cmpint (jobs[i].klass, ==, MUGAI_RELAY_SENT);
    }
  g_autoptr (GPtrArray) files = sink_files (&s);
  g_assert_cmpuint (files->len, ==, SENDERS);
  guint seen = 0;
  for (guint f = 0; f < files->len; f++)
    {
      g_autofree char *text = NULL;
      g_assert_true (g_file_get_contents (files->pdata[f], &text, NULL, NULL));
      for (int i = 0; i < SENDERS; i++)
        {
          g_autofree char *want = g_strdup_printf (
              "X-Mugai-Released: id=t%d; by=sato\nFrom: a@example.jp\nSubject: %d\n\nbody %d\n\n",
              i, i, i);
          if (g_str_has_suffix (text, want))
            seen |= 1u << i;
        }
    }
  g_assert_cmpuint (seen, ==, (1u << SENDERS) - 1);
  sink_stop (&s);
}

/* ---- the octets on the wire ------------------------------------------ */

/* smtp-sink's dump keeps no CR and undoes the dot-stuffing, and it takes
 * every recipient or none.  This recorder is the other half: a scripted
 * peer of one connection that keeps the commands and the raw octets of
 * the data as they came over TCP, and refuses the recipients whose
 * address starts with "refuse5-" (550) or "refuse4-" (450).  It only
 * answers; the client under test is still libcurl. */
typedef struct
{
  int listen_fd;
  guint16 port;
  GThread *thread;
  GByteArray *data;    /* between the 354 and the line "." */
  GPtrArray *commands; /* each without its CRLF */
  guint messages;      /* data ended by "." */
} Recorder;

static void
say (int fd, const char *text)
{
  gsize len = strlen (text);
  g_assert_cmpint (write (fd, text, len), ==, (gssize)len);
}

static gpointer
recorder_run (gpointer p)
{
  Recorder *r = p;
  struct pollfd pfd = { .fd = r->listen_fd, .events = POLLIN };
  if (poll (&pfd, 1, 30 * 1000) != 1)
    return NULL;
  int fd = accept (r->listen_fd, NULL, NULL);
  g_assert_cmpint (fd, >=, 0);
  g_autoptr (GByteArray) in = g_byte_array_new ();
  gsize scan = 0;
  gboolean in_data = FALSE, quit = FALSE;
  say (fd, "220 recorder ESMTP\r\n");
  while (!quit)
    {
      const guint8 *nl = in->len > scan ? memchr (in->data + scan, '\n', in->len - scan) : NULL;
      if (!nl)
        {
          guint8 buf[4096];
          ssize_t k = read (fd, buf, sizeof buf);
          if (k <= 0)
            break;
          g_byte_array_append (in, buf, (guint)k);
          continue;
        }
      const char *line = (const char *)in->data + scan;
      gsize len = (gsize)(nl - in->data) + 1 - scan;
      scan += len;
      if (in_data)
        {
          if (len == 3 && memcmp (line, ".\r\n", 3) == 0)
            {
              in_data = FALSE;
              r->messages++;
              say (fd, "250 2.0.0 Ok: queued as 4Xyz\r\n");
            }
          else
            g_byte_array_append (r->data, (const guint8 *)line, (guint)len);
          continue;
        }
      char *cmd = g_strndup (line, len >= 2 ? len - 2 : 0);
      g_ptr_array_add (r->commands, cmd);
      if (g_ascii_strncasecmp (cmd, "EHLO", 4) == 0)
        say (fd, "250-recorder\r\n250 8BITMIME\r\n");
      else if (g_ascii_strncasecmp (cmd, "RCPT TO:<refuse5-", 17) == 0)
        say (fd, "550 5.1.1 <refused>: Recipient address rejected: User unknown\r\n");
      else if (g_ascii_strncasecmp (cmd, "RCPT TO:<refuse4-", 17) == 0)
        say (fd, "450 4.2.1 <refused>: Mailbox busy, try again\r\n");
      else if (g_ascii_strncasecmp (cmd, "DATA", 4) == 0)
        {
          in_data = TRUE;
          say (fd, "354 End data with <CR><LF>.<CR><LF>\r\n");
        }
      else if (g_ascii_strncasecmp (cmd, "QUIT", 4) == 0)
        {
          say (fd, "221 2.0.0 Bye\r\n");
          quit = TRUE;
        }
      else
        say (fd, "250 2.0.0 Ok\r\n");
    }
  close (fd);
  return NULL;
}

static void
recorder_start (Recorder *r)
{
  r->listen_fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  g_assert_cmpint (r->listen_fd, >=, 0);
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
  g_assert_cmpint (bind (r->listen_fd, (struct sockaddr *)&a, sizeof a), ==, 0);
  g_assert_cmpint (listen (r->listen_fd, 1), ==, 0);
  socklen_t alen = sizeof a;
  g_assert_cmpint (getsockname (r->listen_fd, (struct sockaddr *)&a, &alen), ==, 0);
  r->port = ntohs (a.sin_port);
  r->data = g_byte_array_new ();
  r->commands = g_ptr_array_new_with_free_func (g_free);
  r->thread = g_thread_new ("recorder", recorder_run, r);
}

/* Waits for the conversation's end (the client's QUIT). */
static void
recorder_join (Recorder *r)
{
  g_thread_join (r->thread);
  r->thread = NULL;
}

static void
recorder_free (Recorder *r)
{
  close (r->listen_fd);
  g_byte_array_unref (r->data);
  g_ptr_array_unref (r->commands);
}

static guint
commands_starting (Recorder *r, const char *prefix)
{
  guint n = 0;
  for (guint i = 0; i < r->commands->len; i++)
    n += g_str_has_prefix (r->commands->pdata[i], prefix);
  return n;
}

/* CRLF lines as they were, a bare LF and a bare CR made CRLF, every "."
 * at a line's start stuffed, and the last line ended before the ".". */
static void
test_wire_octets (void)
{
  Recorder rec = { 0 };
  recorder_start (&rec);
  g_autofree char *url = g_strdup_printf ("smtp://127.0.0.1:%u", rec.port);
  MugaiRelay relay = { .url = url, .helo = "[192.0.2.1]", .timeout = 30 };
  static const char original[] = "From: a@example.jp\r\n"
                                 "X-Mugai-Status: clean\r\n"
                                 "Subject: s\r\n"
                                 "\r\n"
                                 ".first\r\n"
                                 "..second\r\n"
                                 ".\r\n"
                                 "bare lf\n"
                                 ".after bare lf\n"
                                 ".\n"
                                 "bare cr\r"
                                 ".after bare cr\r\n"
                                 "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\r\n"
                                 "no line end";
  static const char wire[] = "X-Mugai-Released: " VALUE "\r\n"
                             "From: a@example.jp\r\n"
                             "Subject: s\r\n"
                             "\r\n"
                             "..first\r\n"
                             "...second\r\n"
                             "..\r\n"
                             "bare lf\r\n"
                             "..after bare lf\r\n"
                             "..\r\n"
                             "bare cr\r\n"
                             "..after bare cr\r\n"
                             "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\r\n"
                             "no line end\r\n";
  g_autoptr (GBytes) in = g_bytes_new_static (original, sizeof original - 1);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) msg = mugai_relay_prepare (in, VALUE, &error);
  g_assert_no_error (error);
  const char *rcpt[] = { "sato@city.example.lg.jp", NULL };
  g_auto (MugaiRelayResult) r = { 0 };
  g_assert_true (mugai_relay_send (&relay, "", rcpt, msg, &r, &error));
  g_assert_cmpint (r.klass, ==, MUGAI_RELAY_SENT);
  g_assert_cmpstr (r.reply, ==, "250 2.0.0 Ok: queued as 4Xyz");
  recorder_join (&rec);
  g_assert_cmpuint (rec.messages, ==, 1);
  g_assert_cmpmem (rec.data->data, rec.data->len, wire, sizeof wire - 1);
  g_assert_cmpuint (commands_starting (&rec, "EHLO [192.0.2.1]"), ==, 1);
  g_assert_cmpuint (commands_starting (&rec, "MAIL FROM:<>"), ==, 1);
  g_assert_cmpuint (commands_starting (&rec, "RCPT TO:<sato@city.example.lg.jp>"), ==, 1);
  recorder_free (&rec);
}

/* Some recipients refused: the message goes once to the others, and each
 * refusal is named with its own reply and class. */
static void
test_wire_partial_refusal (void)
{
  Recorder rec = { 0 };
  recorder_start (&rec);
  g_autofree char *url = g_strdup_printf ("smtp://127.0.0.1:%u", rec.port);
  MugaiRelay relay = { .url = url, .helo = "gw1.city.example.lg.jp", .timeout = 30 };
  g_autoptr (GBytes) msg = g_bytes_new_static ("From: a@example.jp\r\n\r\nb\r\n", 25);
  const char *rcpt[] = { "sato@city.example.lg.jp", "refuse5-gone@city.example.lg.jp",
                         "refuse4-busy@city.example.lg.jp", "kakari@city.example.lg.jp", NULL };
  g_auto (MugaiRelayResult) r = { 0 };
  g_autoptr (GError) error = NULL;
  g_assert_true (mugai_relay_send (&relay, "yamada@example.jp", rcpt, msg, &r, &error));
  g_assert_cmpint (r.klass, ==, MUGAI_RELAY_SENT);
  g_assert_cmpuint (r.code, ==, 250);
  g_assert_cmpstr (r.stage, ==, ".");
  g_assert_cmpuint (r.refused->len, ==, 2);
  MugaiRelayRefusal *gone = r.refused->pdata[0], *busy = r.refused->pdata[1];
  g_assert_cmpstr (gone->recipient, ==, "refuse5-gone@city.example.lg.jp");
  g_assert_cmpuint (gone->code, ==, 550);
  g_assert_cmpstr (gone->reply, ==,
                   "550 5.1.1 <refused>: Recipient address rejected: User unknown");
  g_assert_cmpint (gone->klass, ==, MUGAI_RELAY_PERMANENT);
  g_assert_cmpstr (busy->recipient, ==, "refuse4-busy@city.example.lg.jp");
  g_assert_cmpuint (busy->code, ==, 450);
  g_assert_cmpint (busy->klass, ==, MUGAI_RELAY_TEMPORARY);
  recorder_join (&rec);
  g_assert_cmpuint (rec.messages, ==, 1);
  g_assert_cmpuint (commands_starting (&rec, "RCPT TO:"), ==, 4);
  g_assert_cmpuint (commands_starting (&rec, "DATA"), ==, 1);
  recorder_free (&rec);
}

/* ---- notices ---------------------------------------------------------- */

#define NOTICE_SUBJECT "【承認依頼】見積書.pdf の原本の受け取り申請があります"
#define NOTICE_BODY                                                                                \
  "佐藤 様\n\n受付番号 20261204-abc の原本の受け取りが申請されました。\n承認してください。\n"

static void
test_notice (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) b = mugai_relay_build_notice ("mugai@gw1.city.example.lg.jp",
                                                   "Suzuki <suzuki@city.example.lg.jp>",
                                                   NOTICE_SUBJECT, NOTICE_BODY, &error);
  g_assert_no_error (error);
  gsize len = 0;
  const guint8 *raw = g_bytes_get_data (b, &len);
  /* 7-bit, every line ended by CRLF */
  for (gsize i = 0; i < len; i++)
    {
      g_assert_cmpuint (raw[i], <, 0x80);
      if (raw[i] == '\n')
        g_assert_true (i > 0 && raw[i - 1] == '\r');
    }

  g_autoptr (GMimeStream) stream = g_mime_stream_mem_new_with_buffer ((const char *)raw, len);
  g_autoptr (GMimeParser) parser = g_mime_parser_new_with_stream (stream);
  g_autoptr (GMimeMessage) m = g_mime_parser_construct_message (parser, NULL);
  g_assert_nonnull (m);
  /* the raw field is RFC 2047 encoded-words; mugai's own decoder (the
   * one the sanitizer reads mail with) gives the text back.  GMime
   * 3.2.13's g_mime_message_get_subject() would not: it joins adjacent
   * B words before decoding and stops at the first one's padding
   * (jstedfast/gmime#133), and GMime's own encoder pads them */
  GMimeHeader *subject
      = g_mime_header_list_get_header (g_mime_object_get_header_list (GMIME_OBJECT (m)), "Subject");
  g_assert_nonnull (subject);
  const char *raw_subject = g_mime_header_get_raw_value (subject);
  g_autofree char *stripped = g_strstrip (g_strdup (raw_subject));
  g_assert_true (g_str_has_prefix (stripped, "=?UTF-8?"));
  g_autofree char *decoded = mugai_header_decode (raw_subject, MUGAI_HEADER_TEXT);
  g_assert_cmpstr (decoded, ==, NOTICE_SUBJECT);
  g_assert_nonnull (g_mime_message_get_date (m));
  g_assert_nonnull (g_mime_message_get_message_id (m));
  g_assert_true (g_str_has_suffix (g_mime_message_get_message_id (m), "@gw1.city.example.lg.jp"));
  g_assert_cmpstr (g_mime_object_get_header (GMIME_OBJECT (m), "MIME-Version"), ==, "1.0");
  g_assert_cmpstr (g_mime_object_get_header (GMIME_OBJECT (m), "Auto-Submitted"), ==,
                   "auto-generated");
  g_autofree char *to = internet_address_list_to_string (g_mime_message_get_to (m), NULL, FALSE);
  g_assert_cmpstr (to, ==, "Suzuki <suzuki@city.example.lg.jp>");

  GMimeObject *body = g_mime_message_get_mime_part (m);
  g_assert_true (GMIME_IS_TEXT_PART (body));
  GMimeContentType *ct = g_mime_object_get_content_type (body);
  g_assert_true (g_mime_content_type_is_type (ct, "text", "plain"));
  g_assert_cmpint (g_ascii_strcasecmp (g_mime_content_type_get_parameter (ct, "charset"), "UTF-8"),
                   ==, 0);
  GMimeContentEncoding enc = g_mime_part_get_content_encoding (GMIME_PART (body));
  g_assert_true (enc == GMIME_CONTENT_ENCODING_BASE64
                 || enc == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE);
  g_autofree char *text = testutil_body_text (m);
  g_auto (GStrv) pieces = g_strsplit (text, "\r\n", -1);
  g_autofree char *lf = g_strjoinv ("\n", pieces);
  g_assert_cmpstr (lf, ==, NOTICE_BODY);
}

static void
test_notice_refused (void)
{
  struct
  {
    const char *from, *to, *subject, *body;
  } cases[] = {
    { "mugai@gw1.example.jp", "a@example.jp", "s\r\nBcc: x@example.jp", "b" },
    { "mugai@gw1.example.jp\r\nBcc: x@example.jp", "a@example.jp", "s", "b" },
    { "mugai@gw1.example.jp", "", "s", "b" },
    { "not an address", "a@example.jp", "s", "b" },
    { "a@example.jp, b@example.jp", "a@example.jp", "s", "b" },
    { "mugai@gw1.example.jp", "a@example.jp", "s", "\xff\xfe not UTF-8" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GBytes) b = mugai_relay_build_notice (cases[i].from, cases[i].to, cases[i].subject,
                                                       cases[i].body, &error);
      g_assert_null (b);
      g_assert_error (error, MUGAI_RELAY_ERROR, MUGAI_RELAY_ERROR_INVALID);
    }
}

/* A notice goes out by the same path and arrives whole. */
static void
test_notice_sent (void)
{
  Sink s = { 0 };
  sink_start (&s, NULL);
  g_autofree char *url = NULL;
  MugaiRelay relay = relay_for (&s, &url);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) b
      = mugai_relay_build_notice ("mugai@gw1.city.example.lg.jp", "suzuki@city.example.lg.jp",
                                  NOTICE_SUBJECT, NOTICE_BODY, &error);
  g_assert_no_error (error);
  const char *rcpt[] = { "suzuki@city.example.lg.jp", NULL };
  g_auto (MugaiRelayResult) r = { 0 };
  g_assert_true (mugai_relay_send (&relay, "", rcpt, b, &r, &error));
  g_assert_cmpint (r.klass, ==, MUGAI_RELAY_SENT);
  gsize len = 0;
  g_autofree char *fields = NULL;
  g_autofree char *got = sink_message (&s, &len, &fields);
  g_autoptr (GMimeStream) stream = g_mime_stream_mem_new_with_buffer (got, len);
  g_autoptr (GMimeParser) parser = g_mime_parser_new_with_stream (stream);
  g_autoptr (GMimeMessage) m = g_mime_parser_construct_message (parser, NULL);
  g_assert_nonnull (m);
  g_autofree char *decoded
      = mugai_header_decode (g_mime_header_get_raw_value (g_mime_header_list_get_header (
                                 g_mime_object_get_header_list (GMIME_OBJECT (m)), "Subject")),
                             MUGAI_HEADER_TEXT);
  g_assert_cmpstr (decoded, ==, NOTICE_SUBJECT);
  g_autofree char *text = testutil_body_text (m);
  g_assert_cmpstr (text, ==, NOTICE_BODY);
  sink_stop (&s);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_mime_init ();
  signal (SIGABRT, on_abort);
  signal (SIGSEGV, on_abort);
  TESTUTIL_ADD_CASES ("/relay/prepare", prepare_cases, name, test_prepare_case);
  g_test_add_func ("/relay/prepare/fold", test_prepare_fold);
  TESTUTIL_ADD_CASES ("/relay/prepare/refused", bad_values, name, test_prepare_refused);
  g_test_add_func ("/relay/prepare/refused/long-word", test_prepare_long_word);
  g_test_add_func ("/relay/prepare/huge-header", test_prepare_huge_header);
  g_test_add_func ("/relay/send/delivered", test_send_delivered);
  g_test_add_func ("/relay/send/null-sender-bare-lf", test_send_null_sender_bare_lf);
  TESTUTIL_ADD_CASES ("/relay/send/failure", failures, name, test_send_failure);
  g_test_add_func ("/relay/send/closed-port", test_send_closed_port);
  g_test_add_data_func ("/relay/send/timeout/before-data", GINT_TO_POINTER (FALSE),
                        test_send_timeout);
  g_test_add_data_func ("/relay/send/timeout/after-dot", GINT_TO_POINTER (TRUE), test_send_timeout);
  g_test_add_func ("/relay/send/refused-arguments", test_send_refused_arguments);
  g_test_add_func ("/relay/send/threads", test_send_threads);
  g_test_add_func ("/relay/wire/octets", test_wire_octets);
  g_test_add_func ("/relay/wire/partial-refusal", test_wire_partial_refusal);
  g_test_add_func ("/relay/notice", test_notice);
  g_test_add_func ("/relay/notice/refused", test_notice_refused);
  g_test_add_func ("/relay/notice/sent", test_notice_sent);
  return testfiles_run_tests (&tmp_root);
}
