/*
 * test-sanitize.c - the core, message in, message and report out
 *
 * Each test feeds a small message to mugai_sanitize() and checks what a
 * reader or an administrator would see: the verdict, the status header,
 * the parts of the output as GMime parses them, the notice, the report.
 */
#include "sanitize.h"

#include <string.h>

#include "config.h"
#include "convert.h"
#include "filetype.h"
#include "mugai-gmime.h"
#include "notice.h"
#include "testutil.h"

static MugaiEngines *engines;

typedef struct
{
  MugaiReport *report;
  char *output; /* NUL-terminated copy, NULL when rejected */
  GMimeMessage *message;
} Result;

static void
result_clear (Result *r)
{
  mugai_report_free (r->report);
  g_free (r->output);
  g_clear_object (&r->message);
}

static MugaiPolicy *
policy_from (const char *conf)
{
  g_autoptr (GError) error = NULL;
  MugaiPolicy *p = mugai_config_steal_policy (
      mugai_config_load_data (conf ? conf : "", conf ? strlen (conf) : 0, "test", &error));
  g_assert_no_error (error);
  /* these tests are about the walk, the text and the notice: documents
   * are removed, not converted (the filters are tested on their own and
   * through the command, tests/run-threats.py) */
  if (!conf || !strstr (conf, "[convert]"))
    {
      p->convert.pdf = MUGAI_PDF_REMOVE;
      p->convert.office = MUGAI_OFFICE_REMOVE;
      p->convert.image = MUGAI_IMAGE_REMOVE;
    }
  return p;
}

static void
run (const char *input, const char *conf, Result *r)
{
  g_autoptr (MugaiPolicy) policy = policy_from (conf);
  g_autoptr (GBytes) in = g_bytes_new (input, strlen (input));
  g_autoptr (GBytes) out = NULL;
  g_autoptr (GError) error = NULL;
  memset (r, 0, sizeof *r);
  g_assert_true (mugai_sanitize (in, policy, engines, NULL, &out, &r->report, &error));
  g_assert_no_error (error);
  if (out)
    {
      gsize len = 0;
      const char *data = g_bytes_get_data (out, &len);
      r->output = g_strndup (data, len);
      g_autoptr (GMimeStream) s = g_mime_stream_mem_new_with_buffer (data, len);
      g_autoptr (GMimeParser) parser = g_mime_parser_new_with_stream (s);
      r->message = g_mime_parser_construct_message (parser, NULL);
      g_assert_nonnull (r->message);
    }
}

static int
count_headers (GMimeMessage *m, const char *name)
{
  GMimeHeaderList *l = g_mime_object_get_header_list (GMIME_OBJECT (m));
  int n = 0;
  for (int i = 0; i < g_mime_header_list_get_count (l); i++)
    if (g_ascii_strcasecmp (g_mime_header_get_name (g_mime_header_list_get_header_at (l, i)), name)
        == 0)
      n++;
  return n;
}

static const MugaiPartReport *
find_part (const MugaiReport *r, const char *path)
{
  for (guint i = 0; i < r->parts->len; i++)
    {
      const MugaiPartReport *p = r->parts->pdata[i];
      if (g_str_equal (p->path, path))
        return p;
    }
  g_error ("no part %s in the report", path);
  return NULL;
}

static gboolean
has_finding (const MugaiReport *r, MugaiFindingCategory c)
{
  for (guint i = 0; i < r->findings->len; i++)
    if (((const MugaiFinding *)r->findings->pdata[i])->category == c)
      return TRUE;
  return FALSE;
}

/* The message refused whole: no output, the deciding finding of the
 * category given (returned, for its detail). */
static const MugaiFinding *
assert_refused (const Result *r, MugaiFindingCategory category)
{
  g_assert_cmpint (r->report->verdict, ==, MUGAI_VERDICT_REJECT);
  g_assert_null (r->output);
  const MugaiFinding *f = mugai_report_reject_finding (r->report);
  g_assert_nonnull (f);
  g_assert_cmpint (f->category, ==, category);
  return f;
}

/* Every leaf of the output is text/plain; lines within 998 octets. */
static void
assert_only_text (const Result *r)
{
  g_assert_nonnull (r->output);
  for (const char *line = r->output; *line;)
    {
      const char *nl = strchr (line, '\n');
      gsize len = nl ? (gsize)(nl - line) : strlen (line);
      g_assert_cmpuint (len, <=, 998);
      line += len + (nl ? 1 : 0);
    }
  GMimePartIter *iter = g_mime_part_iter_new (GMIME_OBJECT (r->message));
  do
    {
      GMimeObject *o = g_mime_part_iter_get_current (iter);
      if (!o || GMIME_IS_MULTIPART (o) || GMIME_IS_MESSAGE_PART (o))
        continue;
      GMimeContentType *ct = g_mime_object_get_content_type (o);
      g_assert_true (g_mime_content_type_is_type (ct, "text", "plain"));
    }
  while (g_mime_part_iter_next (iter));
  g_mime_part_iter_free (iter);
}

#define HDR TESTUTIL_HDR

static void
test_plain_clean (void)
{
  Result r;
  run (HDR "X-Keep: yes\n\nhello\n", NULL, &r);
  g_assert_cmpint (r.report->verdict, ==, MUGAI_VERDICT_CLEAN);
  g_assert_cmpstr (g_mime_object_get_header (GMIME_OBJECT (r.message), "X-Mugai-Status"), ==,
                   "clean");
  g_assert_cmpstr (g_mime_object_get_header (GMIME_OBJECT (r.message), "X-Keep"), ==, "yes");
  g_autofree char *text = testutil_body_text (r.message);
  g_assert_cmpstr (text, ==, "hello\n");
  g_assert_cmpstr (r.report->message_id, ==, "t@example.jp");
  assert_only_text (&r);
  result_clear (&r);
}

static void
test_forged_status (void)
{
  Result r;
  run (HDR "X-Mugai-Status: clean\nX-MUGAI-Verdict: ok\n\nhello\n", NULL, &r);
  g_assert_cmpint (count_headers (r.message, "X-Mugai-Status"), ==, 1);
  g_assert_cmpint (count_headers (r.message, "X-Mugai-Verdict"), ==, 0);
  g_assert_true (has_finding (r.report, MUGAI_FINDING_FORGED_HEADER));
  result_clear (&r);
}

static const char alternative_msg[]
    = HDR "MIME-Version: 1.0\nContent-Type: multipart/alternative; boundary=b\n\n"
          "--b\nContent-Type: text/plain\n\nTEXT VERSION\n"
          "--b\nContent-Type: text/html\n\n<html><head><script>evil()</script></head>"
          "<body><p>HTML VERSION</p><a href=\"https://evil.example/x\">click</a></body></html>\n"
          "--b--\n";

static void
test_alternative_html (void)
{
  Result r;
  run (alternative_msg, NULL, &r);
  g_autofree char *text = testutil_body_text (r.message);
  g_assert_nonnull (strstr (text, "HTML VERSION"));
  g_assert_null (strstr (text, "TEXT VERSION"));
  g_assert_null (strstr (r.output, "evil()"));
  g_assert_nonnull (strstr (text, "evil[.]example"));
  g_assert_null (strstr (text, "https://evil.example"));
  g_assert_cmpint (find_part (r.report, "1")->action, ==, MUGAI_ACTION_UNUSED);
  g_assert_cmpint (find_part (r.report, "2")->action, ==, MUGAI_ACTION_TO_TEXT);
  g_assert_cmpuint (r.report->converted, ==, 1);
  assert_only_text (&r);
  result_clear (&r);
}

static void
test_alternative_text (void)
{
  Result r;
  run (alternative_msg, "[sanitize]\nalternative = text\n", &r);
  g_autofree char *text = testutil_body_text (r.message);
  g_assert_nonnull (strstr (text, "TEXT VERSION"));
  g_assert_null (strstr (text, "HTML VERSION"));
  g_assert_cmpint (r.report->verdict, ==, MUGAI_VERDICT_CLEAN);
  result_clear (&r);
}

static const char attachment_msg[]
    = HDR "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n"
          "--b\nContent-Type: text/plain; charset=ISO-2022-JP\n\n\x1b$B8+@Q=q\x1b(B\n"
          "--b\nContent-Type: application/pdf\nContent-Disposition: attachment;\n"
          " filename=\"=?ISO-2022-JP?B?GyRCOCtAUT1xGyhC?=.pdf\"\n"
          "Content-Transfer-Encoding: base64\n\nJVBERi0xLjQK\n"
          "--b\nContent-Type: text/plain; name=\"notes.js\"\nContent-Disposition: attachment\n\n"
          "alert(1)\n"
          "--b--\n";

static void
test_attachment_removed (void)
{
  Result r;
  run (attachment_msg, NULL, &r);
  g_assert_cmpint (r.report->verdict, ==, MUGAI_VERDICT_SANITIZED);
  const MugaiPartReport *pdf = find_part (r.report, "2");
  g_assert_cmpstr (pdf->filename, ==, "見積書.pdf");
  g_assert_cmpstr (pdf->declared_type, ==, "application/pdf");
  g_assert_cmpstr (pdf->detected_type, ==, "application/pdf");
  g_assert_cmpuint (pdf->size, ==, 9);
  g_assert_cmpint (pdf->action, ==, MUGAI_ACTION_REMOVE);
  g_assert_cmpint (pdf->reason, ==, MUGAI_FINDING_BANNED_TYPE);
  g_autofree char *sha = g_compute_checksum_for_string (G_CHECKSUM_SHA256, "%PDF-1.4\n", -1);
  g_assert_cmpstr (pdf->sha256, ==, sha);

  g_autofree char *text = testutil_body_text (r.message);
  g_assert_nonnull (strstr (text, "見積書.pdf"));                        /* named in the notice */
  g_assert_nonnull (strstr (text, sha));                                 /* with its hash */
  g_assert_nonnull (strstr (text, "お知らせ"));                          /* Japanese by default */
  g_assert_true (strstr (text, "お知らせ") < strstr (text, "見積書\n")); /* at the top */
  g_assert_cmpstr (find_part (r.report, "1")->charset, ==, "iso-2022-jp");

  /* a script sent as text/plain is removed, not kept as text */
  g_assert_cmpint (find_part (r.report, "3")->action, ==, MUGAI_ACTION_REMOVE);
  g_assert_cmpint (find_part (r.report, "3")->reason, ==, MUGAI_FINDING_BANNED_TYPE);
  g_assert_null (strstr (r.output, "alert(1)"));
  g_assert_cmpstr (g_mime_object_get_header (GMIME_OBJECT (r.message), "X-Mugai-Status"), ==,
                   "sanitized; removed=2; converted=0");
  assert_only_text (&r);
  result_clear (&r);
}

static void
test_text_attachment_renamed (void)
{
  /* a harmless text attachment with another extension is kept as text,
   * under a name that opens as text */
  Result r;
  run (HDR "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nbody\n"
           "--b\nContent-Type: text/plain; name=\"data.csv\"\nContent-Disposition: attachment\n\n"
           "a,b\n--b--\n",
       NULL, &r);
  g_assert_cmpint (find_part (r.report, "2")->action, ==, MUGAI_ACTION_CONVERT);
  g_assert_cmpstr (find_part (r.report, "2")->detail, ==, "data.csv.txt");
  g_assert_nonnull (strstr (r.output, "data.csv.txt"));
  result_clear (&r);
}

static void
test_name_tricks (void)
{
  Result r;
  run (HDR "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nbody\n"
           "--b\nContent-Type: text/plain; name=\"a.pdf.exe\"\n\nx\n"
           "--b\nContent-Type: application/pdf; name*=utf-8''invoice%E2%80%AEfdp.exe\n\nx\n"
           "--b--\n",
       NULL, &r);
  g_assert_cmpint (find_part (r.report, "2")->reason, ==, MUGAI_FINDING_NAME_TRICK);
  g_assert_cmpint (find_part (r.report, "3")->reason, ==, MUGAI_FINDING_NAME_TRICK);
  g_autofree char *text = testutil_body_text (r.message);
  g_assert_nonnull (strstr (text, "invoice<U+202E>fdp.exe")); /* shown safely */
  result_clear (&r);
}

static void
test_notice_english_bottom (void)
{
  Result r;
  run (attachment_msg, "[notice]\nlanguage = en\nposition = bottom\n", &r);
  g_autofree char *text = testutil_body_text (r.message);
  const char *notice = strstr (text, "[Notice]");
  g_assert_nonnull (notice);
  g_assert_true (strstr (text, "見積書\n") < notice);
  g_assert_nonnull (strstr (text, "file type not allowed"));
  result_clear (&r);
}

static void
test_output_iso2022jp (void)
{
  Result r;
  run (HDR "Content-Type: text/plain; charset=utf-8\n\n日本語の本文\n",
       "[sanitize]\ncharset = iso-2022-jp\n", &r);
  g_assert_nonnull (strstr (r.output, "charset=iso-2022-jp"));
  g_assert_nonnull (strstr (r.output, "\x1b$BF|K\\8l"));
  g_assert_cmpstr (r.report->output_charset, ==, "iso-2022-jp");
  result_clear (&r);

  /* a character ISO-2022-JP cannot hold: UTF-8 instead, nothing lost */
  run (HDR "Content-Type: text/plain; charset=utf-8\n\n絵文字😀\n",
       "[sanitize]\ncharset = iso-2022-jp\n", &r);
  g_assert_cmpstr (r.report->output_charset, ==, "utf-8");
  g_autofree char *text = testutil_body_text (r.message);
  g_assert_cmpstr (text, ==, "絵文字😀\n");
  result_clear (&r);
}

static void
test_subject_reencoded (void)
{
  Result r;
  run ("From: \x8e\x52\x93\x63 <yamada@example.jp>\nTo: b@example.jp\n"
       "Subject: =?ISO-2022-JP?B?GyRCLSEbKEI=?= \x8c\x8f\x96\xbc\n\nbody\n",
       NULL, &r);
  g_assert_cmpstr (r.report->subject, ==, "① 件名");
  g_assert_cmpstr (g_mime_message_get_subject (r.message), ==, "① 件名");
  InternetAddressList *from = g_mime_message_get_from (r.message);
  g_assert_cmpint (internet_address_list_length (from), ==, 1);
  g_assert_cmpstr (internet_address_get_name (internet_address_list_get_address (from, 0)), ==,
                   "山田");
  /* no raw 8-bit left in the header block */
  const char *end = strstr (r.output, "\n\n");
  for (const char *p = r.output; p < end; p++)
    g_assert_cmpuint ((guchar)*p, <, 0x80);
  result_clear (&r);
}

static void
test_depth_limit (void)
{
  g_autofree char *m = testutil_nested_message (40);
  Result r;
  run (m, "[limits]\ndepth = 10\n", &r);
  g_assert_true (has_finding (r.report, MUGAI_FINDING_OVER_LIMIT));
  g_autofree char *text = testutil_body_text (r.message);
  g_assert_null (strstr (text, "deep\n"));
  assert_only_text (&r);
  result_clear (&r);
}

static void
test_parts_limit (void)
{
  g_autofree char *m = testutil_parts_message (30);
  Result r;
  run (m, "[limits]\nparts = 10\n", &r);
  g_autofree char *text = testutil_body_text (r.message);
  g_assert_nonnull (strstr (text, "part 8\n"));
  g_assert_null (strstr (text, "part 9\n")); /* the container is part 1 of 10 */
  g_assert_true (has_finding (r.report, MUGAI_FINDING_OVER_LIMIT));
  result_clear (&r);
}

static void
test_encrypted (void)
{
  const char *msg
      = HDR "Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\";"
            " boundary=b\n\n--b\nContent-Type: application/pgp-encrypted\n\nVersion: 1\n"
            "--b\nContent-Type: application/octet-stream\n\n-----BEGIN PGP MESSAGE-----\n"
            "--b--\n";
  Result r;
  run (msg, NULL, &r);
  g_assert_cmpint (r.report->verdict, ==, MUGAI_VERDICT_SANITIZED);
  g_assert_null (strstr (r.output, "BEGIN PGP"));
  g_assert_true (has_finding (r.report, MUGAI_FINDING_ENCRYPTED));
  result_clear (&r);

  run (msg, "[sanitize]\nencrypted = reject\n", &r);
  assert_refused (&r, MUGAI_FINDING_ENCRYPTED);
  result_clear (&r);
}

static void
test_signed (void)
{
  const char *msg
      = HDR "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\";"
            " micalg=sha-256; boundary=b\n\n--b\nContent-Type: text/plain\n\nsigned text\n"
            "--b\nContent-Type: application/pkcs7-signature; name=smime.p7s\n"
            "Content-Transfer-Encoding: base64\n\nAAAA\n--b--\n";
  Result r;
  run (msg, NULL, &r);
  g_autofree char *text = testutil_body_text (r.message);
  g_assert_nonnull (strstr (text, "signed text"));
  const MugaiPartReport *sig = find_part (r.report, "2");
  g_assert_cmpint (sig->reason, ==, MUGAI_FINDING_SIGNATURE);
  g_assert_nonnull (strstr (text, "smime.p7s"));
  assert_only_text (&r);
  result_clear (&r);
}

static void
test_oversize_and_empty (void)
{
  Result r;
  g_autoptr (GString) big = g_string_new (HDR "\n");
  while (big->len < 4096)
    g_string_append (big, "0123456789012345678901234567890123456789\n");
  run (big->str, "[limits]\nmessage_size = 2K\n", &r);
  assert_refused (&r, MUGAI_FINDING_OVER_LIMIT);
  result_clear (&r);

  run ("", NULL, &r);
  assert_refused (&r, MUGAI_FINDING_MALFORMED);
  result_clear (&r);
}

static void
test_uuencode_cut (void)
{
  const char *msg = HDR "\nbefore\nbegin 644 evil.exe\n#35J0\n`\nend\nafter\n";
  Result r;
  run (msg, NULL, &r);
  g_autofree char *text = testutil_body_text (r.message);
  g_assert_nonnull (strstr (text, "before\n"));
  g_assert_nonnull (strstr (text, "after\n"));
  g_assert_null (strstr (text, "#35J0"));
  g_assert_nonnull (strstr (text, "evil.exe"));
  const MugaiPartReport *p = find_part (r.report, "1:1");
  g_assert_cmpint (p->reason, ==, MUGAI_FINDING_INLINE_PAYLOAD);
  g_assert_cmpstr (p->filename, ==, "evil.exe");
  result_clear (&r);
}

static const char rfc822_msg[] = HDR
    "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nouter\n"
    "--b\nContent-Type: message/rfc822\n\n"
    "From: c@example.jp\nSubject: =?UTF-8?B?5YaF5YG0?=\n"
    "Content-Type: multipart/mixed; boundary=c\n\n--c\nContent-Type: text/plain\n\ninner text\n"
    "--c\nContent-Type: application/x-msdownload; name=run.exe\n\nMZ\n--c--\n"
    "--b--\n";

static void
test_rfc822_attach (void)
{
  Result r;
  run (rfc822_msg, NULL, &r);
  GMimeMultipart *mixed = GMIME_MULTIPART (g_mime_message_get_mime_part (r.message));
  g_assert_cmpint (g_mime_multipart_get_count (mixed), ==, 2);
  GMimeObject *mp = g_mime_multipart_get_part (mixed, 1);
  g_assert_true (GMIME_IS_MESSAGE_PART (mp));
  GMimeMessage *inner = g_mime_message_part_get_message (GMIME_MESSAGE_PART (mp));
  g_assert_cmpstr (g_mime_message_get_subject (inner), ==, "内側");
  g_autofree char *inner_text = testutil_body_text (inner);
  g_assert_nonnull (strstr (inner_text, "inner text"));
  g_assert_nonnull (strstr (inner_text, "run.exe")); /* its own notice */
  g_autofree char *outer_text = testutil_body_text (r.message);
  g_assert_nonnull (strstr (outer_text, "run.exe")); /* and the outer one */
  g_assert_cmpint (find_part (r.report, "2.2")->action, ==, MUGAI_ACTION_REMOVE);
  g_assert_null (strstr (r.output, "\nMZ\n"));
  assert_only_text (&r);
  result_clear (&r);
}

static void
test_rfc822_inline (void)
{
  Result r;
  run (rfc822_msg, "[sanitize]\nrfc822 = inline\n", &r);
  g_assert_false (GMIME_IS_MULTIPART (g_mime_message_get_mime_part (r.message)));
  g_autofree char *text = testutil_body_text (r.message);
  g_assert_nonnull (strstr (text, "outer\n"));
  g_assert_nonnull (strstr (text, "Subject: 内側\n"));
  g_assert_nonnull (strstr (text, "inner text"));
  result_clear (&r);
}

static void
test_tnef_and_pkcs7 (void)
{
  const char *msg = HDR
      "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nx\n"
      "--b\nContent-Type: application/ms-tnef; name=winmail.dat\n\nxx\n"
      "--b\nContent-Type: application/pkcs7-mime; smime-type=enveloped-data; name=smime.p7m\n\nxx\n"
      "--b--\n";
  Result r;
  run (msg, NULL, &r);
  g_assert_cmpint (find_part (r.report, "2")->reason, ==, MUGAI_FINDING_NOT_INSPECTABLE);
  g_assert_cmpint (find_part (r.report, "3")->reason, ==, MUGAI_FINDING_ENCRYPTED);
  g_autofree char *text = testutil_body_text (r.message);
  g_assert_nonnull (strstr (text, "winmail.dat"));
  g_assert_nonnull (strstr (text, "smime.p7m"));
  result_clear (&r);
}

static void
test_binary_as_text (void)
{
  Result r;
  run (HDR "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nok\n"
           "--b\nContent-Type: text/plain; name=a.txt\nContent-Transfer-Encoding: base64\n\n"
           "TVqQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAFB"
           "FAAA=\n--b--\n",
       NULL, &r);
  g_assert_cmpint (find_part (r.report, "2")->action, ==, MUGAI_ACTION_REMOVE);
  g_assert_cmpint (find_part (r.report, "2")->reason, ==, MUGAI_FINDING_BANNED_TYPE);
  result_clear (&r);
}

static void
test_utf16_text (void)
{
  /* "日本 ok\n" in UTF-16 with a byte order mark: NULs by nature, still text */
  Result r;
  run (HDR "Content-Type: text/plain; charset=utf-16\nContent-Transfer-Encoding: base64\n\n"
           "//7lZSxnIABvAGsACgA=\n",
       NULL, &r);
  g_autofree char *text = testutil_body_text (r.message);
  g_assert_cmpstr (text, ==, "日本 ok\n");
  g_assert_cmpstr (find_part (r.report, "1")->charset, ==, "utf-16");
  result_clear (&r);
}

/* ClamAV, with the test signature set (skipped without one) */
static gboolean
have_scanner (void)
{
  if (mugai_engines_can_scan (engines))
    return TRUE;
  g_test_skip ("no ClamAV test signature set (MUGAI_TEST_CLAMAV_DB)");
  return FALSE;
}

#define EICAR "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"

static void
test_virus_rejects (void)
{
  if (!have_scanner ())
    return;
  const char *msg
      = HDR "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nhi\n"
            "--b\nContent-Type: application/octet-stream; name=\"eicar.com\"\n\n" EICAR "\n"
            "--b--\n";
  Result r;
  run (msg, NULL, &r);
  assert_refused (&r, MUGAI_FINDING_VIRUS);
  g_assert_true (g_str_has_prefix (r.report->virus, "Mugai.Test.EICAR"));
  result_clear (&r);

  /* on_virus = hold: accepted, nothing delivered */
  run (msg, "[sanitize]\non_virus = hold\n", &r);
  g_assert_cmpint (r.report->verdict, ==, MUGAI_VERDICT_HOLD);
  g_assert_null (r.output);
  result_clear (&r);

  /* in the body text itself, and base64-encoded: the decoded part is scanned */
  g_autofree char *b64 = g_base64_encode ((const guchar *)EICAR, strlen (EICAR));
  g_autofree char *m2 = g_strdup_printf (
      HDR "Content-Type: text/plain\nContent-Transfer-Encoding: base64\n\n%s\n", b64);
  run (m2, NULL, &r);
  g_assert_cmpint (r.report->verdict, ==, MUGAI_VERDICT_REJECT);
  result_clear (&r);
}

static void
test_hash_signature (void)
{
  if (!have_scanner ())
    return;
  g_autofree char *path = g_build_filename (g_getenv ("MUGAI_SRCDIR"), "testdata", "clamav",
                                            "mugai-test-hashed.txt", NULL);
  g_autofree char *content = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (path, &content, &len, NULL));
  g_autofree char *b64 = g_base64_encode ((const guchar *)content, len);
  g_autofree char *msg = g_strdup_printf (
      HDR "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nhi\n"
          "--b\nContent-Type: application/octet-stream; name=x.bin\nContent-Transfer-Encoding: "
          "base64\n\n%s\n--b--\n",
      b64);
  Result r;
  run (msg, NULL, &r);
  g_assert_cmpint (r.report->verdict, ==, MUGAI_VERDICT_REJECT);
  g_assert_true (g_str_has_prefix (r.report->virus, "Mugai.Test.Hash"));
  result_clear (&r);
}

static void
test_encrypted_zip (void)
{
  if (!have_scanner ())
    return;
  /* zip -P password enc.zip secret.txt */
  const char *msg = HDR
      "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nhi\n"
      "--b\nContent-Type: application/zip; name=enc.zip\nContent-Transfer-Encoding: base64\n\n"
      "UEsDBAoACQAAAMsOdl0wYRUXGwAAAA8AAAAKABwAc2VjcmV0LnR4dFVUCQADTksCa05LAmt1eAsAAQQAAAAABAAAAABm"
      "IR+2z+iK3XlLdBi2amoLXzxO+vYhicaDQlJQSwcIMGEVFxsAAAAPAAAAUEsBAh4DCgAJAAAAyw52XTBhFRcbAAAADwAA"
      "AAoAGAAAAAAAAQAAAKSBAAAAAHNlY3JldC50eHRVVAUAA05LAmt1eAsAAQQAAAAABAAAAABQSwUGAAAAAAEAAQBQAAAA"
      "bwAAAAAA\n"
      "--b--\n";
  Result r;
  run (msg, NULL, &r);
  g_assert_cmpint (r.report->verdict, ==, MUGAI_VERDICT_SANITIZED);
  g_assert_cmpint (find_part (r.report, "2")->reason, ==, MUGAI_FINDING_ENCRYPTED);
  g_autofree char *text = testutil_body_text (r.message);
  g_assert_nonnull (strstr (text, "パスワード付きファイルのため検査できません"));
  result_clear (&r);

  run (msg, "[sanitize]\nencrypted = reject\n", &r);
  g_assert_cmpint (r.report->verdict, ==, MUGAI_VERDICT_REJECT);
  result_clear (&r);
}

static void
test_fuzz_regressions (void)
{
  /* found by fuzz/ (see fuzz/crashes/README.md) */
  Result r;
  /* blanks only, not NUL-terminated: refused, no over-read (ASan) */
  g_autoptr (MugaiPolicy) policy = policy_from (NULL);
  g_autoptr (GBytes) blanks = g_bytes_new_take (g_memdup2 ("\n\n \t\r\n", 6), 6);
  g_autoptr (GBytes) out = NULL;
  MugaiReport *report = NULL;
  g_assert_true (mugai_sanitize (blanks, policy, engines, NULL, &out, &report, NULL));
  g_assert_cmpint (report->verdict, ==, MUGAI_VERDICT_REJECT);
  mugai_report_free (report);

  /* escape sequences and other controls never reach the reader */
  run (HDR "Content-Type: text/plain; charset=utf-8\n\nA \x1b$B$3$s\x1b(B B \x1b[31mRED\x1b[0m\n",
       "[sanitize]\ncharset = iso-2022-jp\n", &r);
  g_autofree char *text = testutil_body_text (r.message);
  g_assert_null (strchr (text, 0x1b));
  g_assert_nonnull (strstr (text, "RED"));
  result_clear (&r);

  /* an encoded-word with an impossible charset in an address field */
  run ("From: a@example.jp\nTo: =?x y?q?=01?= <b@example.jp>\nSubject: t\n\nbody\n", NULL, &r);
  g_assert_nonnull (r.output);
  result_clear (&r);

  /* an address field that is no address list and not ASCII: removed */
  run ("From: a@example.jp\nReply-To: \"KLAUS- H\xc4NSCHEL\" <>\nSubject: t\n\nbody\n", NULL, &r);
  g_assert_cmpint (count_headers (r.message, "Reply-To"), ==, 0);
  g_assert_true (has_finding (r.report, MUGAI_FINDING_MALFORMED));
  g_assert_nonnull (strstr (r.output, "\nSubject: t\n"));
  result_clear (&r);
}

static void
test_long_lines (void)
{
  g_autoptr (GString) m = g_string_new (HDR "X-Long: ");
  for (int i = 0; i < 3000; i++)
    g_string_append_c (m, 'x');
  g_string_append (m, "\n\n");
  for (int i = 0; i < 5000; i++)
    g_string_append (m, "日");
  g_string_append_c (m, '\n');
  Result r;
  run (m->str, NULL, &r);
  assert_only_text (&r);
  g_autofree char *text = testutil_body_text (r.message);
  g_assert_cmpuint (strlen (text), ==, 5000 * 3 + 1);
  result_clear (&r);
}

static void
test_builtin_templates_installed (void)
{
  /* data/notice.*.txt are what administrators copy and edit: they must be
   * the built-in templates exactly */
  static const struct
  {
    const char *file;
    MugaiLang lang;
  } t[] = { { "data/notice.ja.txt", MUGAI_LANG_JA }, { "data/notice.en.txt", MUGAI_LANG_EN } };
  for (gsize i = 0; i < G_N_ELEMENTS (t); i++)
    {
      g_autofree char *path = g_build_filename (g_getenv ("MUGAI_SRCDIR"), t[i].file, NULL);
      g_autofree char *text = NULL;
      g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
      g_assert_cmpstr (text, ==, mugai_notice_builtin_template (t[i].lang));
    }
}

/* A reload's engines take the running filter slots, so that old and new
 * workers share one cap; a changed max_running makes a new set. */
static void
test_engines_share_slots (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MugaiPolicy) p = mugai_policy_new_default ();
  p->clamav_required = FALSE;
  g_free (p->clamav.database);
  p->clamav.database = g_strdup ("/nonexistent");
  p->convert.max_running = 3;
  g_autoptr (MugaiEngines) running = mugai_engines_new (p, &error);
  g_assert_no_error (error);
  g_autoptr (MugaiEngines) reloaded = mugai_engines_new (p, &error);
  g_assert_no_error (error);
  g_assert_false (mugai_engines_same_slots (running, reloaded));
  mugai_engines_share_slots (reloaded, running);
  g_assert_true (mugai_engines_same_slots (running, reloaded));
  p->convert.max_running = 5;
  g_autoptr (MugaiEngines) resized = mugai_engines_new (p, &error);
  g_assert_no_error (error);
  mugai_engines_share_slots (resized, reloaded);
  g_assert_false (mugai_engines_same_slots (resized, reloaded));
  /* the running generation goes first; the set lives on in the new one
   * (freed once, with the last holder: ASan would see a double close) */
  g_clear_pointer (&running, mugai_engines_free);
  g_assert_cmpuint (mugai_engines_slot_count (reloaded), ==, 3);
}

/* Finding 4 of issue 10: uuencode in a UTF-16LE text part (the search
 * ran on the raw octets, where every other octet is a NUL), and a block
 * whose first data line has characters past its count (GNU uudecode
 * ignores them and writes the program). */
static void
test_uuencode_decoded_text (void)
{
  const char *utf8 = "請求書です\nbegin 644 invoice.exe\n#35J0\n`\nend\nよろしく\n";
  gsize n = 0;
  g_autofree char *wide = g_convert (utf8, -1, "UTF-16LE", "UTF-8", NULL, &n, NULL);
  g_assert_nonnull (wide);
  g_autofree char *b64 = g_base64_encode ((const guchar *)wide, n);
  g_autofree char *msg = g_strconcat (HDR "MIME-Version: 1.0\n"
                                          "Content-Type: text/plain; charset=utf-16le\n"
                                          "Content-Transfer-Encoding: base64\n\n",
                                      b64, "\n", NULL);
  Result r;
  run (msg, NULL, &r);
  g_autofree char *text = testutil_body_text (r.message);
  g_assert_nonnull (strstr (text, "請求書です\n"));
  g_assert_nonnull (strstr (text, "よろしく\n"));
  g_assert_null (strstr (text, "#35J0"));
  g_assert_null (strstr (text, "begin 644"));
  g_assert_nonnull (strstr (text, "invoice.exe"));
  const MugaiPartReport *p = find_part (r.report, "1:1");
  g_assert_cmpint (p->reason, ==, MUGAI_FINDING_INLINE_PAYLOAD);
  g_assert_cmpstr (p->filename, ==, "invoice.exe");
  g_assert_cmpstr (g_mime_object_get_header (GMIME_OBJECT (r.message), "X-Mugai-Status"), !=,
                   "clean");
  result_clear (&r);

  run (HDR "\nbefore\nbegin 644 invoice.exe\n#35J0XYZ!!\n`\nend\nafter\n", NULL, &r);
  g_autofree char *text2 = testutil_body_text (r.message);
  g_assert_null (strstr (text2, "#35J0"));
  g_assert_nonnull (strstr (text2, "before\n"));
  g_assert_nonnull (strstr (text2, "after\n"));
  p = find_part (r.report, "1:1");
  g_assert_cmpint (p->reason, ==, MUGAI_FINDING_INLINE_PAYLOAD);
  g_assert_cmpstr (p->filename, ==, "invoice.exe");
  g_assert_true (p->size == 3);
  result_clear (&r);
}

/* uuencode shown by an HTML body (a <pre>, or lines broken by <br>) is
 * cut from the rendered text as it is from text/plain. */
static void
test_uuencode_in_html (void)
{
  const char *bodies[] = {
    "<html><body><p>請求書です</p><pre>begin 644 invoice.exe\n#35J0\n`\nend\n</pre>"
    "<p>よろしく</p></body></html>\n",
    "<div>請求書です<br>begin 644 invoice.exe<br>#35J0<br>`<br>end<br>よろしく</div>\n",
  };
  for (gsize i = 0; i < G_N_ELEMENTS (bodies); i++)
    {
      g_autofree char *msg = g_strconcat (HDR "MIME-Version: 1.0\n"
                                              "Content-Type: text/html; charset=utf-8\n\n",
                                          bodies[i], NULL);
      Result r;
      run (msg, NULL, &r);
      g_autofree char *text = testutil_body_text (r.message);
      g_assert_nonnull (strstr (text, "請求書です"));
      g_assert_nonnull (strstr (text, "よろしく"));
      g_assert_null (strstr (text, "#35J0"));
      g_assert_null (strstr (text, "begin 644"));
      const MugaiPartReport *p = find_part (r.report, "1:1");
      g_assert_nonnull (p);
      g_assert_cmpint (p->reason, ==, MUGAI_FINDING_INLINE_PAYLOAD);
      g_assert_cmpstr (p->filename, ==, "invoice.exe");
      result_clear (&r);
    }
}

/* Issue 10, finding 11: URLs written as text are defanged by the same
 * code as link targets (text_links = keep leaves them), in text/plain
 * and in HTML outside links; a script link says it was removed, in the
 * notice's language. */
static void
test_text_links (void)
{
  const char *plain = HDR "\nLog in at https://evil.example/login or www.evil.example now.\n";
  Result r;
  run (plain, NULL, &r);
  g_autofree char *t1 = testutil_body_text (r.message);
  g_assert_nonnull (
      strstr (t1, "Log in at hxxps://evil[.]example/login or www[.]evil[.]example now.\n"));
  g_assert_null (strstr (r.output, "https://evil"));
  result_clear (&r);

  run (plain, "[sanitize]\ntext_links = keep\n", &r);
  g_autofree char *t2 = testutil_body_text (r.message);
  g_assert_nonnull (strstr (t2, "Log in at https://evil.example/login or www.evil.example now.\n"));
  result_clear (&r);

  const char *html = HDR "MIME-Version: 1.0\nContent-Type: text/html; charset=utf-8\n\n"
                         "<p>Visit https://evil.example/x today</p>"
                         "<p><a href=\"javascript:alert(1)\">click</a></p>\n";
  run (html, NULL, &r);
  g_autofree char *t3 = testutil_body_text (r.message);
  g_assert_nonnull (strstr (t3, "Visit hxxps://evil[.]example/x today"));
  g_assert_nonnull (strstr (t3, "click [リンク（スクリプト）を削除しました]"));
  g_assert_null (strstr (t3, "javascript"));
  result_clear (&r);

  run (html, "[notice]\nlanguage = en\n[sanitize]\ntext_links = keep\n", &r);
  g_autofree char *t4 = testutil_body_text (r.message);
  g_assert_nonnull (strstr (t4, "Visit https://evil.example/x today"));
  g_assert_nonnull (strstr (t4, "click [script link removed]"));
  result_clear (&r);
}

/* Issue 10, finding 11: a From whose display name is one encoded-word
 * goes out as RFC 2047, never as raw 8-bit text. */
static void
test_from_encoded_word (void)
{
  static const char *const froms[] = {
    "=?UTF-8?B?5bGx55Sw?= <a@example.jp>",
    "=?UTF-8?B?5bGx55Sw?=<a@example.jp>",
    "=?utf-8?q?=E5=B1=B1=E7=94=B0?= <a@example.jp>",
    "\"=?UTF-8?B?5bGx55Sw?=\" <a@example.jp>",
    "=?ISO-2022-JP?B?GyRCOzNFRBsoQg==?= <a@example.jp>",
  };
  for (gsize i = 0; i < G_N_ELEMENTS (froms); i++)
    {
      g_autofree char *msg
          = g_strdup_printf ("From: %s\nTo: b@example.jp\nSubject: t\n\nhello\n", froms[i]);
      Result r;
      run (msg, NULL, &r);
      const char *from = strstr (r.output, "From:");
      g_assert_nonnull (from);
      const char *end = strstr (from, "\nTo:");
      g_assert_nonnull (end);
      for (const char *p = from; p < end; p++)
        g_assert_cmpuint ((guchar)*p, <, 0x80);
      InternetAddressList *l = g_mime_message_get_from (r.message);
      g_assert_cmpint (internet_address_list_length (l), ==, 1);
      g_assert_cmpstr (internet_address_get_name (internet_address_list_get_address (l, 0)), ==,
                       "山田");
      result_clear (&r);
    }
}

/* Issue 10, finding 1: what a converted file is named, and the markup
 * no converter output may hold. */
static void
test_converted_names (void)
{
  static const struct
  {
    const char *in, *type, *out;
  } cases[] = {
    { "report.shtml", "application/pdf", "report.shtml.pdf" },
    { "見積書.pdf", "application/pdf", "見積書.pdf" },
    { "REPORT.PDF", "application/pdf", "REPORT.PDF" },
    { "a.mht", "application/pdf", "a.mht.pdf" },
    { "a．ｐｄｆ", "application/pdf", "a．ｐｄｆ.pdf" },
    { NULL, "application/pdf", "document.pdf" },
    { "x.svg", "image/png", "x.svg.png" },
    { "x.PNG", "image/png", "x.PNG" },
    { "x.jpg", "image/png", "x.jpg.png" },
    { "photo.JPG", "image/jpeg", "photo.JPG" },
    { "photo.jpeg", "image/jpeg", "photo.jpeg" },
    { "photo.gif", "image/jpeg", "photo.gif.jpg" },
    { "", "image/png", "image.png" },
    { "a.xml", "text/plain", "a.xml.txt" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *n = mugai_convert_output_name (cases[i].in, cases[i].type);
      g_assert_cmpstr (n, ==, cases[i].out);
    }

  static const struct
  {
    const char *data, *found;
  } markup[] = {
    { "%PDF-1.4 plain", NULL },
    { "x<ScRiPt>", "<script" },
    { "\x89PNG..<svg onload", "<svg" },
    { "<svg/onload=x>", "<svg" },
    { "..<?xml version", "<?xml" },
    { "<!DOCTYPE html>", "<!doctype" },
    { "a<IFRAME\tsrc", "<iframe" },
    { "<HTML>", "<html" },
    { "<svgx <htmlfoo <scriptx <svg", NULL },
    { "java\tscript:alert(1)", "javascript:" },
    { "VBScript:x", "vbscript:" },
    { "<scrip t> <b>bold</b> << /Type /Page >>", NULL },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (markup); i++)
    g_assert_cmpstr (
        mugai_filetype_markup ((const guint8 *)markup[i].data, strlen (markup[i].data)), ==,
        markup[i].found);
  g_assert_null (mugai_filetype_markup (NULL, 0));
}

/* ---- limits that bound the work (issue 10, findings 2, 3 and 7) ---------- */

/* The compact JSON report: at most MUGAI_LIMIT_REPORT_SIZE octets (pretty
 * too), and when something was left out, its last member is "summary"
 * (after the parts array).  Returns the compact JSON. */
static char *
report_checked (const MugaiReport *report, gboolean expect_summary)
{
  g_autofree char *pretty = mugai_report_to_json (report, TRUE);
  g_assert_cmpuint (strlen (pretty), <=, 1024 * 1024);
  char *json = mugai_report_to_json (report, FALSE);
  g_assert_cmpuint (strlen (json), <=, 1024 * 1024);
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  g_assert_true (json_parser_load_from_data (parser, json, -1, &error));
  g_assert_no_error (error);
  const char *summary = strstr (json, "\"summary\":");
  if (!expect_summary)
    {
      g_assert_null (summary);
      return json;
    }
  g_assert_nonnull (summary);
  g_assert_true (summary > strrchr (json, ']'));
  g_assert_true (g_str_has_suffix (json, "\"}"));
  return json;
}

static void
test_alternatives_past_limit (void)
{
  /* under the hard bound (4 x 500 delimiter lines), over the limit */
  g_autoptr (GString) m = g_string_new (HDR "MIME-Version: 1.0\n"
                                            "Content-Type: multipart/alternative; boundary=b\n\n");
  for (int i = 0; i < 1500; i++)
    g_string_append_printf (m, "--b\nContent-Type: text/plain\n\nalt %d\n", i);
  g_string_append (m, "--b\nContent-Type: text/html\n\n<p>THE HTML</p>\n--b--\n");
  Result r;
  run (m->str, NULL, &r);
  g_assert_cmpint (r.report->verdict, ==, MUGAI_VERDICT_SANITIZED);
  g_autofree char *text = testutil_body_text (r.message);
  g_assert_nonnull (strstr (text, "THE HTML")); /* the shown one is still rendered */
  g_assert_cmpuint (r.report->parts->len, <=, 502);
  g_assert_cmpuint (r.report->parts_omitted, ==, 1000);
  g_autofree char *json = report_checked (r.report, TRUE);
  g_assert_nonnull (strstr (json, "\"omitted_parts\":1000"));
  g_assert_nonnull (strstr (
      json,
      "past the limit of 500 MIME parts, 1000 alternatives not shown, not listed one by one"));
  assert_only_text (&r);
  result_clear (&r);
}

static void
test_parts_past_limit_summary (void)
{
  g_autofree char *m = testutil_parts_message (35);
  Result r;
  run (m, "[limits]\nparts = 10\n", &r);
  /* 1 container, 9 parts walked, the 10th recorded with the finding, 25 counted */
  g_assert_cmpuint (r.report->parts->len, ==, 11);
  g_assert_cmpuint (r.report->parts_omitted, ==, 25);
  g_assert_cmpuint (r.report->removed, ==, 26);
  g_assert_cmpstr (g_mime_object_get_header (GMIME_OBJECT (r.message), "X-Mugai-Status"), ==,
                   "sanitized; removed=26; converted=0");
  g_autofree char *text = testutil_body_text (r.message);
  g_assert_nonnull (
      strstr (text, "・ほか 25 個のパートを削除しました（パートの数が上限 10 を超えたため"));
  g_autofree char *json = report_checked (r.report, TRUE);
  result_clear (&r);
}

/* 3,000 empty parts: refused before GMime builds them. */
static void
test_part_bomb_refused (void)
{
  g_autoptr (GString) m = g_string_new (HDR "Content-Type: multipart/mixed; boundary=b\n\n");
  for (int i = 0; i < 3000; i++)
    g_string_append (m, "--b\n\n");
  g_string_append (m, "--b--\n");
  Result r;
  run (m->str, NULL, &r);
  g_assert_cmpstr (assert_refused (&r, MUGAI_FINDING_OVER_LIMIT)->detail, ==,
                   "more than 2000 MIME parts (up to 3001 counted before parsing)");
  g_assert_cmpuint (r.report->parts->len, ==, 0);
  /* named for the log, the audit and the store, from its header alone */
  g_assert_cmpstr (r.report->message_id, ==, "t@example.jp");
  g_assert_cmpstr (r.report->subject, ==, "t");
  g_autofree char *json = report_checked (r.report, TRUE);
  g_assert_nonnull (strstr (json, "refused before parsing: up to 3001 MIME parts counted"));
  result_clear (&r);

  /* the same with the boundary written the RFC 2231 way (GMime decodes
   * it): every "--" line counts */
  g_autoptr (GString) m2 = g_string_new (HDR "Content-Type: multipart/mixed; boundary*0=b\n\n");
  for (int i = 0; i < 3000; i++)
    g_string_append (m2, "--b\n\n");
  run (m2->str, NULL, &r);
  g_assert_cmpint (r.report->verdict, ==, MUGAI_VERDICT_REJECT);
  g_assert_nonnull (strstr (mugai_report_reject_finding (r.report)->detail, "MIME parts"));
  result_clear (&r);

  /* an encoded-word as the boundary (GMime decodes those too in loose mode) */
  g_autoptr (GString) m3
      = g_string_new (HDR "Content-Type: multipart/mixed; boundary=\"=?us-ascii?q?b?=\"\n\n");
  for (int i = 0; i < 3000; i++)
    g_string_append (m3, "--b\n\n");
  run (m3->str, NULL, &r);
  g_assert_cmpint (r.report->verdict, ==, MUGAI_VERDICT_REJECT);
  result_clear (&r);
}

/* Lines of dashes that are no declared boundary do not count: a long
 * text with 3,000 separator lines is delivered. */
static void
test_dash_lines_are_not_parts (void)
{
  g_autoptr (GString) m
      = g_string_new (HDR "Content-Type: multipart/mixed; boundary=\"----=_Part_1\"\n\n"
                          "------=_Part_1\nContent-Type: text/plain\n\n");
  for (int i = 0; i < 3000; i++)
    g_string_append_printf (m, "--------------------\nline %d\n-- \n", i);
  g_string_append (m, "------=_Part_1--\n");
  Result r;
  run (m->str, NULL, &r);
  g_assert_cmpint (r.report->verdict, ==, MUGAI_VERDICT_CLEAN);
  g_autofree char *text = testutil_body_text (r.message);
  g_assert_nonnull (strstr (text, "line 2999\n"));
  result_clear (&r);
}

static void
test_header_count_refused (void)
{
  g_autoptr (GString) m = g_string_new (HDR);
  for (int i = 0; i < 1100; i++)
    g_string_append_printf (m, "X-Field-%d: value\n", i);
  g_string_append (m, "\nhello\n");
  Result r;
  run (m->str, NULL, &r);
  g_assert_cmpstr (assert_refused (&r, MUGAI_FINDING_OVER_LIMIT)->detail, ==,
                   "more than 1000 header fields (1104)");
  result_clear (&r);

  /* at the limit, delivered with every field */
  g_autoptr (GString) ok = g_string_new (HDR);
  for (int i = 0; i < 996; i++)
    g_string_append_printf (ok, "X-Field-%d: value\n", i);
  g_string_append (ok, "\nhello\n");
  run (ok->str, NULL, &r);
  g_assert_cmpint (r.report->verdict, ==, MUGAI_VERDICT_CLEAN);
  g_assert_cmpstr (g_mime_object_get_header (GMIME_OBJECT (r.message), "X-Field-995"), ==, "value");
  result_clear (&r);
}

/* The header blocks of parts and attached messages count too (GMime
 * holds each field): 9,000 fields in an attached message's header, past
 * 8 x 1000 for all blocks together, refuse the message. */
static void
test_nested_header_count_refused (void)
{
  g_autoptr (GString) m = g_string_new (HDR "Content-Type: multipart/mixed; boundary=b\n\n"
                                            "--b\nContent-Type: text/plain\n\nhi\n"
                                            "--b\nContent-Type: message/rfc822\n\n"
                                            "not a field first\n");
  for (int i = 0; i < 9000; i++)
    g_string_append_printf (m, "X-Field-%d: value\n", i);
  g_string_append (m, "Subject: inner\n\ninner body\n--b--\n");
  Result r;
  run (m->str, NULL, &r);
  g_assert_cmpint (r.report->verdict, ==, MUGAI_VERDICT_REJECT);
  g_assert_cmpstr (
      mugai_report_reject_finding (r.report)->detail, ==,
      "more than 8000 header fields in all its parts (up to 9009 counted before parsing)");
  result_clear (&r);

  /* in a part's own header block */
  g_autoptr (GString) p = g_string_new (HDR "Content-Type: multipart/mixed; boundary=b\n\n"
                                            "--b\nContent-Type: text/plain\n");
  for (int i = 0; i < 9000; i++)
    g_string_append_printf (p, "X-Field-%d: value\n", i);
  g_string_append (p, "\npart body\n--b--\n");
  run (p->str, NULL, &r);
  g_assert_cmpint (r.report->verdict, ==, MUGAI_VERDICT_REJECT);
  result_clear (&r);

  /* body lines that look like fields are not fields */
  g_autoptr (GString) b = g_string_new (HDR "\n");
  for (int i = 0; i < 9000; i++)
    g_string_append_printf (b, "TEL: 03-0000-%04d\n", i);
  run (b->str, NULL, &r);
  g_assert_cmpint (r.report->verdict, ==, MUGAI_VERDICT_CLEAN);
  result_clear (&r);
}

/* Every entry bounded, but not their product: 100 parts with names of
 * 15,000 characters made a 1.5 MB report. */
static void
test_report_capped (void)
{
  g_autoptr (GString) m = g_string_new (HDR "Content-Type: multipart/mixed; boundary=b\n\n"
                                            "--b\nContent-Type: text/plain\n\nbody\n");
  g_autofree char *name = g_strnfill (15000, 'n');
  for (int i = 0; i < 100; i++)
    g_string_append_printf (m,
                            "--b\nContent-Type: application/octet-stream\n"
                            "Content-Disposition: attachment; filename=\"%03d%s\"\n\nx\n",
                            i, name);
  g_string_append (m, "--b--\n");
  Result r;
  run (m->str, NULL, &r);
  g_assert_cmpint (r.report->verdict, ==, MUGAI_VERDICT_SANITIZED);
  g_assert_cmpuint (r.report->parts->len, ==, 102);
  g_autofree char *json = report_checked (r.report, TRUE);
  g_assert_nonnull (strstr (json, "the report is limited to 1048576 octets: "));
  g_assert_nonnull (strstr (json, " more parts not listed\"}"));
  g_assert_nonnull (strstr (json, "\"path\":\"1\""));   /* the first ones are kept */
  g_assert_null (strstr (json, "\"filename\":\"099n")); /* the last ones are not */
  result_clear (&r);
}

/* One element with 5,000 attributes: the HTML part is removed as over a
 * limit before libxml2 sees it; the rest of the message goes on. */
static void
test_html_attribute_bomb (void)
{
  g_autoptr (GString) m
      = g_string_new (HDR "Content-Type: multipart/mixed; boundary=b\n\n"
                          "--b\nContent-Type: text/plain\n\nthe text body\n"
                          "--b\nContent-Type: text/html\n"
                          "Content-Disposition: attachment; filename=page.html\n\n<p");
  for (int i = 0; i < 5000; i++)
    g_string_append_printf (m, " a%d=x", i);
  g_string_append (m, ">bomb text</p>\n--b--\n");
  Result r;
  run (m->str, NULL, &r);
  g_assert_cmpint (r.report->verdict, ==, MUGAI_VERDICT_SANITIZED);
  const MugaiPartReport *p = find_part (r.report, "2");
  g_assert_cmpint (p->action, ==, MUGAI_ACTION_REMOVE);
  g_assert_cmpint (p->reason, ==, MUGAI_FINDING_OVER_LIMIT);
  g_assert_cmpstr (p->detail, ==,
                   "HTML の一つの要素に属性が多すぎるため表示できません（上限 1000）");
  g_autofree char *text = testutil_body_text (r.message);
  g_assert_nonnull (strstr (text, "the text body"));
  g_assert_nonnull (strstr (text, "page.html"));
  g_assert_nonnull (strstr (text, "属性が多すぎるため"));
  g_assert_null (strstr (r.output, "bomb text"));
  assert_only_text (&r);
  result_clear (&r);

  /* html_size: a larger HTML part is removed the same way */
  g_autoptr (GString) big = g_string_new (HDR "Content-Type: text/html\n\n");
  while (big->len < 100 * 1024)
    g_string_append (big, "<p>0123456789012345678901234567890123456789</p>\n");
  run (big->str, "[limits]\nhtml_size = 64K\n[notice]\nlanguage = en\n", &r);
  p = find_part (r.report, "1");
  g_assert_cmpint (p->reason, ==, MUGAI_FINDING_OVER_LIMIT);
  g_assert_nonnull (strstr (p->detail, "is larger than 65536"));
  result_clear (&r);
}

/* Lines ended both ways: a base64 part written with LF inside a CRLF
 * message keeps every octet (GMime alone drops the last one of the line
 * before a boundary, taking it for the CR it expects). */
static void
test_mixed_line_endings (void)
{
  const char *input = "From: a@example.jp\r\nTo: b@example.jp\r\nSubject: mixed\r\n"
                      "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=bb\r\n\r\n"
                      "--bb\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nhi\r\n"
                      "--bb\r\nContent-Type: text/plain; charset=utf-8\r\n"
                      "Content-Disposition: attachment; filename=\"a.txt\"\r\n"
                      "Content-Transfer-Encoding: base64\r\n\r\n"
                      "5Lit6Lqr\n--bb--\r\n";
  Result r;
  run (input, NULL, &r);
  g_assert_nonnull (r.message);
  g_autoptr (GByteArray) got = NULL;
  GMimePartIter *it = g_mime_part_iter_new ((GMimeObject *)r.message);
  do
    {
      GMimeObject *o = g_mime_part_iter_get_current (it);
      if (GMIME_IS_PART (o) && g_strcmp0 (g_mime_part_get_filename ((GMimePart *)o), "a.txt") == 0)
        {
          g_autoptr (GMimeStream) mem = g_mime_stream_mem_new ();
          g_mime_data_wrapper_write_to_stream (g_mime_part_get_content ((GMimePart *)o), mem);
          GByteArray *a = g_mime_stream_mem_get_byte_array ((GMimeStreamMem *)mem);
          got = g_byte_array_new ();
          g_byte_array_append (got, a->data, a->len);
        }
    }
  while (g_mime_part_iter_next (it));
  g_mime_part_iter_free (it);
  g_assert_nonnull (got);
  g_assert_cmpmem (got->data, got->len, "中身", strlen ("中身"));
  result_clear (&r);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  mugai_init ();
  g_autoptr (GError) error = NULL;
  /* the test signature set (tests/meson.build) when there is one */
  g_autoptr (MugaiPolicy) engine_policy = mugai_policy_new_default ();
  const char *db = g_getenv ("MUGAI_TEST_CLAMAV_DB");
  if (db)
    {
      g_free (engine_policy->clamav.database);
      engine_policy->clamav.database = g_strdup (db);
    }
  else
    engine_policy->clamav_required = FALSE;
  engines = mugai_engines_new (engine_policy, &error);
  g_assert_no_error (error);

  g_test_add_func ("/sanitize/plain-clean", test_plain_clean);
  g_test_add_func ("/sanitize/mixed-line-endings", test_mixed_line_endings);
  g_test_add_func ("/sanitize/forged-status", test_forged_status);
  g_test_add_func ("/sanitize/alternative-html", test_alternative_html);
  g_test_add_func ("/sanitize/alternative-text", test_alternative_text);
  g_test_add_func ("/sanitize/attachment-removed", test_attachment_removed);
  g_test_add_func ("/sanitize/notice-english-bottom", test_notice_english_bottom);
  g_test_add_func ("/sanitize/text-attachment-renamed", test_text_attachment_renamed);
  g_test_add_func ("/sanitize/name-tricks", test_name_tricks);
  g_test_add_func ("/sanitize/output-iso2022jp", test_output_iso2022jp);
  g_test_add_func ("/sanitize/subject-reencoded", test_subject_reencoded);
  g_test_add_func ("/sanitize/depth-limit", test_depth_limit);
  g_test_add_func ("/sanitize/parts-limit", test_parts_limit);
  g_test_add_func ("/sanitize/encrypted", test_encrypted);
  g_test_add_func ("/sanitize/signed", test_signed);
  g_test_add_func ("/sanitize/oversize-and-empty", test_oversize_and_empty);
  g_test_add_func ("/sanitize/uuencode-cut", test_uuencode_cut);
  g_test_add_func ("/sanitize/uuencode-decoded-text", test_uuencode_decoded_text);
  g_test_add_func ("/sanitize/uuencode-in-html", test_uuencode_in_html);
  g_test_add_func ("/sanitize/text-links", test_text_links);
  g_test_add_func ("/sanitize/from-encoded-word", test_from_encoded_word);
  g_test_add_func ("/sanitize/converted-names", test_converted_names);
  g_test_add_func ("/sanitize/rfc822-attach", test_rfc822_attach);
  g_test_add_func ("/sanitize/rfc822-inline", test_rfc822_inline);
  g_test_add_func ("/sanitize/tnef-and-pkcs7", test_tnef_and_pkcs7);
  g_test_add_func ("/sanitize/binary-as-text", test_binary_as_text);
  g_test_add_func ("/sanitize/long-lines", test_long_lines);
  g_test_add_func ("/sanitize/utf16-text", test_utf16_text);
  g_test_add_func ("/sanitize/fuzz-regressions", test_fuzz_regressions);
  g_test_add_func ("/sanitize/virus-rejects", test_virus_rejects);
  g_test_add_func ("/sanitize/hash-signature", test_hash_signature);
  g_test_add_func ("/sanitize/encrypted-zip", test_encrypted_zip);
  g_test_add_func ("/sanitize/engines-share-slots", test_engines_share_slots);
  g_test_add_func ("/sanitize/alternatives-past-limit", test_alternatives_past_limit);
  g_test_add_func ("/sanitize/parts-past-limit-summary", test_parts_past_limit_summary);
  g_test_add_func ("/sanitize/part-bomb-refused", test_part_bomb_refused);
  g_test_add_func ("/sanitize/dash-lines-are-not-parts", test_dash_lines_are_not_parts);
  g_test_add_func ("/sanitize/header-count-refused", test_header_count_refused);
  g_test_add_func ("/sanitize/nested-header-count-refused", test_nested_header_count_refused);
  g_test_add_func ("/sanitize/report-capped", test_report_capped);
  g_test_add_func ("/sanitize/html-attribute-bomb", test_html_attribute_bomb);
  if (g_getenv ("MUGAI_SRCDIR"))
    g_test_add_func ("/sanitize/builtin-templates-installed", test_builtin_templates_installed);
  int status = g_test_run ();
  mugai_engines_free (engines);
  return status;
}
