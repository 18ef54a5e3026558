/*
 * test-textpayload.c - unit tests for textpayload.c
 *
 * DESCRIPTION
 *	Payloads are made here by small encoders (uuencode in the "`" and
 *	the old SP style, begin-base64, yEnc, BinHex 4.0 with run-length
 *	coding) from known octets, so the expected offsets, sizes and
 *	SHA-256 values come from the test's own data, never from the code
 *	under test.  Most cases are rows of one table; the rest check one
 *	property each (prose, limits, NULs, size).
 */
#include "textpayload.h"
#include "testutil.h"

#include <string.h>

/* "お世話になっております。表示の件です。" and "以上、よろしくお願いします。"
 * in Shift_JIS: note 0x5c and 0x62 ('b') as trail octets. */
#define SJIS_HELLO                                                                                 \
  "\x82\xa8\x90\xa2\x98\x62\x82\xc9\x82\xc8\x82\xc1\x82\xc4\x82\xa8\x82\xe8\x82\xdc\x82\xb7"       \
  "\x81\x42\x95\x5c\x8e\xa6\x82\xcc\x8c\x8f\x82\xc5\x82\xb7\x81\x42"
#define SJIS_BYE                                                                                   \
  "\x88\xc8\x8f\xe3\x81\x41\x82\xe6\x82\xeb\x82\xb5\x82\xad\x82\xa8\x8a\xe8\x82\xa2\x82\xb5"       \
  "\x82\xdc\x82\xb7\x81\x42"
/* "見積書.xls" in Shift_JIS */
#define SJIS_NAME "\x8c\xa9\x90\xcf\x8f\x91.xls"

#define BINHEX_MARKER "(This file must be converted with BinHex 4.0)"

static const char binhex_alphabet[]
    = "!\"#$%&'()*+,-012345689@ABCDEFGHIJKLMNPQRSTUVXYZ[`abcdefhijklmpqr";

/* Known octets: 131 is odd, so any 256 in a row are all the values. */
static guchar *
make_octets (gsize size)
{
  guchar *p = g_malloc (size + 1);

  for (gsize i = 0; i < size; i++)
    p[i] = (guchar)(i * 131 + 7);
  return p;
}

static char *
sha256_of (const void *p, gsize n)
{
  return g_compute_checksum_for_data (G_CHECKSUM_SHA256, p, n);
}

static GPtrArray *
find (const GString *text, guint max_items, gboolean *over_limit)
{
  GPtrArray *found = mugai_textpayload_find (text->str, text->len, max_items, over_limit);

  g_assert_nonnull (found);
  return found;
}

static MugaiPayload *
nth (GPtrArray *found, guint i)
{
  g_assert_cmpuint (i, <, found->len);
  return g_ptr_array_index (found, i);
}

/* Encoders ---------------------------------------------------------------- */

static char
uu_enc (guint v, gboolean space_style)
{
  return v == 0 && !space_style ? '`' : (char)(v + 0x20);
}

static void
uu_encode (GString *out, const char *name, const guchar *p, gsize n, const char *eol,
           gboolean space_style, gboolean with_end)
{
  g_string_append_printf (out, "begin 644 %s%s", name, eol);
  for (gsize i = 0; i < n; i += 45)
    {
      gsize k = MIN (45, n - i);
      g_autoptr (GString) line = g_string_new (NULL);

      g_string_append_c (line, uu_enc ((guint)k, space_style));
      for (gsize j = 0; j < k; j += 3)
        {
          guint32 v = (guint32)p[i + j] << 16 | (guint32)(j + 1 < k ? p[i + j + 1] : 0) << 8
                      | (j + 2 < k ? p[i + j + 2] : 0);

          for (gint shift = 18; shift >= 0; shift -= 6)
            g_string_append_c (line, uu_enc ((v >> shift) & 63, space_style));
        }
      /* What a transport that strips trailing white space does to it. */
      while (space_style && line->len > 0 && line->str[line->len - 1] == ' ')
        g_string_truncate (line, line->len - 1);
      g_string_append_printf (out, "%s%s", line->str, eol);
    }
  g_string_append_printf (out, "%s%s", space_style ? "" : "`", eol);
  if (with_end)
    g_string_append_printf (out, "end%s", eol);
}

static void
b64_encode (GString *out, const char *name, const guchar *p, gsize n, const char *eol,
            gboolean with_end)
{
  g_autofree char *b64 = g_base64_encode (p, n);
  gsize len = strlen (b64);

  g_string_append_printf (out, "begin-base64 644 %s%s", name, eol);
  for (gsize i = 0; i < len; i += 60)
    {
      g_string_append_len (out, b64 + i, (gssize)MIN (60, len - i));
      g_string_append (out, eol);
    }
  if (with_end)
    g_string_append_printf (out, "====%s", eol);
}

static void
yenc_encode (GString *out, const char *name, const guchar *p, gsize n, const char *eol,
             gboolean with_end)
{
  gsize col = 0;

  g_string_append_printf (out, "=ybegin part=1 line=128 size=%" G_GSIZE_FORMAT " name=%s%s", n,
                          name, eol);
  g_string_append_printf (out, "=ypart begin=1 end=%" G_GSIZE_FORMAT "%s", n, eol);
  for (gsize i = 0; i < n; i++)
    {
      guchar o = (guchar)(p[i] + 42);

      /* yEnc 1.3 critical characters: NUL, LF, CR and the escape itself. */
      if (o == 0x00 || o == 0x0a || o == 0x0d || o == '=')
        {
          g_string_append_c (out, '=');
          o = (guchar)(o + 64);
          col++;
        }
      g_string_append_c (out, (char)o);
      if (++col >= 128 || i + 1 == n)
        {
          g_string_append (out, eol);
          col = 0;
        }
    }
  if (with_end)
    g_string_append_printf (out, "=yend size=%" G_GSIZE_FORMAT " part=1%s", n, eol);
}

static void
put_be (GByteArray *a, guint32 v, guint octets)
{
  for (guint i = octets; i-- > 0;)
    {
      guint8 o = (guint8)(v >> (8 * i));

      g_byte_array_append (a, &o, 1);
    }
}

/* BinHex 4.0: header, data fork, (empty) resource fork, run-length coded
 * and written 6 bits to a character.  CRCs are left 0: the scanner does
 * not check them.  *chars receives the characters between the colons
 * without line breaks: what decoded_size and sha256 are about. */
static void
binhex_encode (GString *out, const char *name, const guchar *p, gsize n, const char *eol,
               gboolean with_end, GString *chars)
{
  g_autoptr (GByteArray) raw = g_byte_array_new ();
  g_autoptr (GByteArray) rle = g_byte_array_new ();
  guint32 bits = 0;
  guint nbits = 0;

  put_be (raw, (guint32)strlen (name), 1);
  g_byte_array_append (raw, (const guint8 *)name, (guint)strlen (name));
  put_be (raw, 0, 1);
  g_byte_array_append (raw, (const guint8 *)"TEXTttxt", 8);
  put_be (raw, 0, 2);
  put_be (raw, (guint32)n, 4);
  put_be (raw, 0, 4);
  put_be (raw, 0, 2);
  g_byte_array_append (raw, p, (guint)n);
  put_be (raw, 0, 2);
  put_be (raw, 0, 2);

  for (gsize i = 0; i < raw->len;)
    {
      guint8 o = raw->data[i];
      gsize run = 1;

      while (i + run < raw->len && raw->data[i + run] == o && run < 255)
        run++;
      g_byte_array_append (rle, &o, 1);
      if (o == 0x90)
        put_be (rle, 0, 1);
      if (run >= 3)
        {
          put_be (rle, 0x90, 1);
          put_be (rle, (guint32)run, 1);
          i += run;
        }
      else
        i++;
    }

  for (guint i = 0; i < rle->len; i++)
    {
      bits = (bits << 8 | rle->data[i]) & 0xffff;
      nbits += 8;
      while (nbits >= 6)
        {
          nbits -= 6;
          g_string_append_c (chars, binhex_alphabet[(bits >> nbits) & 63]);
        }
    }
  if (nbits > 0)
    g_string_append_c (chars, binhex_alphabet[(bits << (6 - nbits)) & 63]);

  g_string_append_printf (out, "%s%s", BINHEX_MARKER, eol);
  g_string_append_c (out, ':');
  for (gsize i = 0, width = 63; i < chars->len; i += width, width = 64)
    {
      g_string_append_len (out, chars->str + i, (gssize)MIN (width, chars->len - i));
      if (i + width < chars->len)
        g_string_append (out, eol);
    }
  if (with_end)
    g_string_append_c (out, ':');
  g_string_append (out, eol);
}

/* The table --------------------------------------------------------------- */

typedef enum
{
  ENC_UU,
  ENC_B64,
  ENC_YENC,
  ENC_BINHEX
} Enc;

typedef struct
{
  const char *path;
  Enc enc;
  const char *eol;
  const char *before;
  const char *name; /* as written into the header */
  const char *want_name;
  gsize size;
  gboolean terminated;
  const char *after;
} EncodeCase;

static const EncodeCase encode_cases[] = {
  { "uu-lf", ENC_UU, "\n", "Hello,\nthe file:\n", "report.doc", "report.doc", 1000, TRUE,
    "\nRegards\n" },
  { "uu-crlf", ENC_UU, "\r\n", "Hello,\r\nthe file:\r\n", "report.doc", "report.doc", 1000, TRUE,
    "\r\nRegards\r\n" },
  { "uu-name-spaces", ENC_UU, "\n", "", "my report (final) v2.doc  \t", "my report (final) v2.doc",
    100, TRUE, "" },
  { "uu-sjis", ENC_UU, "\r\n", SJIS_HELLO "\r\n\r\n", SJIS_NAME, SJIS_NAME, 5000, TRUE,
    "\r\n" SJIS_BYE "\r\n" },
  { "uu-one-octet", ENC_UU, "\n", "x\n", "a", "a", 1, TRUE, "y\n" },
  { "uu-one-line", ENC_UU, "\n", "", "b", "b", 45, TRUE, "" },
  { "uu-empty-file", ENC_UU, "\n", "", "empty", "empty", 0, TRUE, "" },
  { "uu-missing-end", ENC_UU, "\n", SJIS_HELLO "\n", "x.exe", "x.exe", 500, FALSE,
    "\n" SJIS_BYE "\n" },
  { "b64-lf", ENC_B64, "\n", "see:\n", "data.bin", "data.bin", 1000, TRUE, "bye\n" },
  { "b64-crlf", ENC_B64, "\r\n", "see:\r\n", "data.bin", "data.bin", 1000, TRUE, "bye\r\n" },
  { "b64-pad1", ENC_B64, "\n", "", "p1", "p1", 1, TRUE, "" },
  { "b64-pad2", ENC_B64, "\n", "", "p2", "p2", 2, TRUE, "" },
  { "b64-missing-end", ENC_B64, "\n", "", "m", "m", 300, FALSE, SJIS_BYE "\n" },
  { "yenc-all-octets", ENC_YENC, "\n", "hi\n", "all.bin", "all.bin", 1024, TRUE, "bye\n" },
  { "yenc-crlf", ENC_YENC, "\r\n", SJIS_HELLO "\r\n", SJIS_NAME, SJIS_NAME, 3000, TRUE,
    SJIS_BYE "\r\n" },
  { "yenc-name-spaces", ENC_YENC, "\n", "", "my file.bin ", "my file.bin", 10, TRUE, "" },
  { "yenc-missing-end", ENC_YENC, "\n", "hi\n", "cut.bin", "cut.bin", 700, FALSE, "" },
  { "binhex-lf", ENC_BINHEX, "\n", "Mac file:\n\n", "Bxxxxxxx.sit", "Bxxxxxxx.sit", 500, TRUE,
    "\nbye\n" },
  { "binhex-crlf", ENC_BINHEX, "\r\n", SJIS_HELLO "\r\n", "notes", "notes", 2000, TRUE,
    SJIS_BYE "\r\n" },
  { "binhex-missing-end", ENC_BINHEX, "\n", "", "gone", "gone", 300, FALSE, "" },
};

static void
test_encoded (gconstpointer user_data)
{
  const EncodeCase *c = user_data;
  g_autofree guchar *file = make_octets (c->size);
  g_autoptr (GString) text = g_string_new (c->before);
  g_autoptr (GString) chars = g_string_new (NULL);
  g_autofree char *want_sha = NULL;
  gsize want_size = c->size;
  gsize start = text->len;
  gboolean over = TRUE;

  switch (c->enc)
    {
    case ENC_UU:
      uu_encode (text, c->name, file, c->size, c->eol, FALSE, c->terminated);
      break;
    case ENC_B64:
      b64_encode (text, c->name, file, c->size, c->eol, c->terminated);
      break;
    case ENC_YENC:
      yenc_encode (text, c->name, file, c->size, c->eol, c->terminated);
      break;
    case ENC_BINHEX:
      binhex_encode (text, c->name, file, c->size, c->eol, c->terminated, chars);
      break;
    }
  if (c->enc == ENC_BINHEX)
    {
      want_sha = sha256_of (chars->str, chars->len);
      want_size = chars->len;
    }
  else
    want_sha = sha256_of (file, c->size);

  gsize end = text->len;

  g_string_append (text, c->after);

  g_autoptr (GPtrArray) found = find (text, 64, &over);
  MugaiPayload *p = nth (found, 0);
  MugaiPayloadKind want_kind = c->enc == ENC_YENC     ? MUGAI_PAYLOAD_YENC
                               : c->enc == ENC_BINHEX ? MUGAI_PAYLOAD_BINHEX
                                                      : MUGAI_PAYLOAD_UUENCODE;

  g_assert_false (over);
  g_assert_cmpuint (found->len, ==, 1);
  g_assert_cmpint (p->kind, ==, want_kind);
  g_assert_cmpuint (p->start, ==, start);
  g_assert_cmpuint (p->end, ==, c->terminated ? end : text->len);
  g_assert_cmpstr (p->name, ==, c->want_name);
  g_assert_cmpuint (p->decoded_size, ==, want_size);
  g_assert_cmpstr (p->sha256, ==, want_sha);
  g_assert_cmpint (p->complete, ==, c->terminated);

  /* The same with a NULL over_limit. */
  g_autoptr (GPtrArray) again = find (text, 64, NULL);
  g_assert_cmpuint (again->len, ==, 1);
}

/* Single properties ------------------------------------------------------- */

/* None of these is a payload: the prose must stay.  (A line "begin
 * MODE NAME" always is one: see edge_cases.) */
static const char *const prose_texts[] = {
  "",
  "Hello\n",
  "no newline at the end",
  "\n\n\r\n",
  "We will begin the meeting at 10.\nbegin the meeting\nend\n",
  "begin 644\nM86)C\nend\n",
  "begin 0644\n",
  "begin 644 \n",
  "begin 644\t\r\n",
  "begin 648 x\nM86)C9&5F9VAI:FML;6YO<'%R<W1U=G=X>7IA8F-D969G:&EJ:VQM;F]P<7)S\nend\n",
  "beginning 644 x\nM86)C9&5F9VAI:FML;6YO<'%R<W1U=G=X>7IA8F-D969G:&EJ:VQM;F]P<7)S\nend\n",
  " begin 644 x\nM86)C9&5F9VAI:FML;6YO<'%R<W1U=G=X>7IA8F-D969G:&EJ:VQM;F]P<7)S\nend\n",
  "> begin 644 x\n> M86)C9&5F9VAI:FML;6YO<'%R<W1U=G=X>7IA8F-D969G:&EJ:VQM;F]P<7)S\n> end\n",
  "=ybegin line=128 size=10\nabc\n=yend\n",
  "=ybegin\n=yend\n",
  "=ybeginname=x\n",
  "=yend size=3\n",
  BINHEX_MARKER "\nno block here\n",
  BINHEX_MARKER,
  "(This file must be converted with BinHex 5.0)\n:abc:\n",
};

static void
test_prose (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (prose_texts); i++)
    {
      gboolean over = TRUE;
      g_autoptr (GPtrArray) found
          = mugai_textpayload_find (prose_texts[i], strlen (prose_texts[i]), 64, &over);

      if (found->len != 0)
        g_error ("payload found in prose text %" G_GSIZE_FORMAT ": %s", i, prose_texts[i]);
      g_assert_false (over);
    }
}

/* Small hand-written texts around the edges of each format.  end == 0
 * means the end of the text. */
typedef struct
{
  const char *text;
  gsize start;
  gsize end;
  gboolean complete;
  const char *decoded;
} EdgeCase;

static const EdgeCase edge_cases[] = {
  /* uuencode: no terminator line before "end" is fine */
  { "begin 644 a\n#86)C\nend\n", 0, 0, TRUE, "abc" },
  { "begin 644 a\r\n#86)C\r\n`\r\nend  \r\nafter\r\n", 0, 30, TRUE, "abc" },
  /* blank lines and more zero-length lines may come before "end" */
  { "begin 644 a\n#86)C\n\n \n`\nend\nafter\n", 0, 27, TRUE, "abc" },
  /* data after the zero-length line, or any other line: fail closed */
  { "begin 644 a\n#86)C\n`\n#86)C\nend\nafter\n", 0, 0, FALSE, "abc" },
  { "begin 644 a\n#86)C\nnot data\nend\nafter\n", 0, 0, FALSE, "abc" },
  { "begin 644 a\n#86)C\n", 0, 0, FALSE, "abc" },
  /* "END" is a data line; only "end" ends */
  { "begin 644 a\n#86)C\nEND\n", 0, 0, FALSE, NULL },
  /* "begin MODE NAME" is a payload whatever follows: what some decoder
   * may make of it is not passed through (fail closed) */
  { "begin 644 people came to the meeting\nAND THEN WE WENT HOME\nend\nafter\n", 0, 63, TRUE,
    NULL },
  { "begin 644 people came\nto the meeting\nend\n", 0, 0, FALSE, "" },
  { "begin 644 a\n\nM86)C9&5F9VAI:FML;6YO<'%R<W1U=G=X>7IA8F-D969G:&EJ:VQM;F]P<7)S\nend\n", 0, 0,
    FALSE, "" },
  { "begin 644 a\nHELLO WORLD\nend\n", 0, 0, TRUE, NULL },
  { "begin 644 a\n`\nnot the end\n", 0, 0, FALSE, "" },
  { "begin 644 a\n`", 0, 0, FALSE, "" },
  { "begin 644 x", 0, 0, FALSE, "" },
  { "begin 644 x\n", 0, 0, FALSE, "" },
  { "begin 64 x\n#86)C\nend\n", 0, 0, TRUE, "abc" },
  { "begin 64444 x\n#86)C\nend\n", 0, 0, TRUE, "abc" },
  { "begin\t0755 \t x\n#86)C\nend\n", 0, 0, TRUE, "abc" },
  /* a first data line with characters past its count: GNU uudecode
   * ignores them and writes the file, so it is a payload, and its end
   * line still ends it */
  { "begin 644 invoice.exe\n#86)CXYZ!!\nend\nafter\n", 0, 37, TRUE, "abc" },
  { "begin 644 "
    "invoice.exe\nM86)C9&5F9VAI:FML;6YO<'%R<W1U=G=X>7IA8F-D969G:&EJ:VQM;F]P<7)S86)C\n`\nend\n",
    0, 0, TRUE, "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrs" },
  /* begin-base64 */
  { "begin-base64 644 x\nnot base64!\n====\n", 0, 0, FALSE, "" },
  { "begin-base64 644 x\nabc\n====\n", 0, 0, TRUE, NULL },
  { "begin-base64 644 x", 0, 0, FALSE, "" },
  { "x\nbegin-base64 644 b\nYWJj\n\n====\ny\n", 2, 32, TRUE, "abc" },
  { "begin-base64 644 b\nYWJj\nYW Jj\n====\n", 0, 0, FALSE, "abc" },
  { "begin-base64 644 b\nYWJjZA==\n====\n", 0, 0, TRUE, "abcd" },
  { "begin-base64 644 b\n====\nrest\n", 0, 24, TRUE, "" },
  /* yEnc: "=ypart" only right after the header; an escape at the end of
   * a line is dropped; "=yendless" is data, not the end */
  { "=ybegin name=a\n=ypart begin=1\nKLM\n=yend\n", 0, 0, TRUE, "!\"#" },
  { "=ybegin name=a\nK=\nL\n=yend\n", 0, 0, TRUE, "!\"" },
  { "=ybegin name=a\nK\n=ypart begin=1\n=yend\n", 0, 0, TRUE, NULL },
  { "=ybegin name=a\n=yendless\n=yend size=9\nx\n", 0, 38, TRUE, NULL },
  /* "=}" is an escaped "=" (0x3d), which decodes to 0x13 */
  { "=ybegin name=a\r\n=}J\r\n=yend\r\n", 0, 0, TRUE, "\x13 " },
  /* BinHex: no closing colon */
  { BINHEX_MARKER "\n:!!!!\n", 0, 0, FALSE, "!!!!" },
  { BINHEX_MARKER "\n::trailing\nnext\n", 0, 57, TRUE, "" },
};

static void
test_edges (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (edge_cases); i++)
    {
      const EdgeCase *c = &edge_cases[i];
      gsize len = strlen (c->text);
      g_autoptr (GPtrArray) found = mugai_textpayload_find (c->text, len, 64, NULL);

      g_test_message ("edge case %" G_GSIZE_FORMAT, i);
      g_assert_cmpuint (found->len, ==, 1);

      MugaiPayload *p = nth (found, 0);

      g_assert_cmpuint (p->start, ==, c->start);
      g_assert_cmpuint (p->end, ==, (c->end ? c->end : len));
      g_assert_cmpint (p->complete, ==, c->complete);
      if (c->decoded)
        {
          g_autofree char *sha = sha256_of (c->decoded, strlen (c->decoded));

          g_assert_cmpuint (p->decoded_size, ==, strlen (c->decoded));
          g_assert_cmpstr (p->sha256, ==, sha);
        }
    }
}

static void
test_empty_input (void)
{
  gboolean over = TRUE;
  g_autoptr (GPtrArray) found = mugai_textpayload_find (NULL, 0, 1, &over);

  g_assert_nonnull (found);
  g_assert_cmpuint (found->len, ==, 0);
  g_assert_false (over);
}

/* Header lines "begin 644 ..." followed by lines that are not uuencode:
 * random octets that include one outside 0x20..0x60, or uuencode
 * characters whose count does not match the length character.  The
 * first header is a payload whose block is malformed at once, so it
 * takes the rest of the text with it. */
static void
test_garbage_begin (void)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (1644);
  g_autoptr (GString) text = g_string_new (NULL);

  for (guint i = 0; i < 2000; i++)
    {
      guint n = (guint)g_rand_int_range (rand, 1, 100);

      g_string_append_printf (text, "begin 644 file%u.exe\n", i);
      if (i % 2 == 0)
        {
          guint bad = (guint)g_rand_int_range (rand, 0, (gint32)n);

          for (guint k = 0; k < n; k++)
            {
              guchar o = (guchar)g_rand_int_range (rand, 0x20, 0x61);

              if (k == bad)
                o = (guchar)g_rand_int_range (rand, 0x61, 0x100);
              if (o == '\n' || o == '\r')
                o = 'z';
              g_string_append_c (text, (char)o);
            }
        }
      else
        {
          /* 'M' announces 45 octets (60 characters); give far fewer or more. */
          guint count = n < 50 ? n % 50 : 70 + n;

          g_string_append_c (text, 'M');
          for (guint k = 0; k < count; k++)
            g_string_append_c (text, (char)g_rand_int_range (rand, 0x21, 0x61));
        }
      g_string_append (text, i % 3 ? "\n" : "\r\n");
      if (i % 5 == 0)
        g_string_append (text, "end\n");
    }

  gboolean over = TRUE;
  g_autoptr (GPtrArray) found = find (text, 64, &over);

  g_assert_cmpuint (found->len, ==, 1);
  g_assert_cmpuint (nth (found, 0)->start, ==, 0);
  g_assert_cmpuint (nth (found, 0)->end, ==, text->len);
  g_assert_false (nth (found, 0)->complete);
  g_assert_cmpstr (nth (found, 0)->name, ==, "file0.exe");
  g_assert_false (over);
}

/* uuencode and yEnc in one text, prose between. */
static void
test_two (void)
{
  g_autofree guchar *file = make_octets (777);
  g_autofree char *sha = sha256_of (file, 777);
  g_autofree char *sha_small = sha256_of (file, 77);
  g_autoptr (GString) text = g_string_new ("first:\n");
  gsize s0 = text->len, e0, s1, e1;

  uu_encode (text, "one.bin", file, 777, "\n", FALSE, TRUE);
  e0 = text->len;
  g_string_append (text, "and begin the second:\n");
  s1 = text->len;
  yenc_encode (text, "two.bin", file, 77, "\n", TRUE);
  e1 = text->len;
  g_string_append (text, "end\n");

  gboolean over = TRUE;
  g_autoptr (GPtrArray) found = find (text, 64, &over);

  g_assert_false (over);
  g_assert_cmpuint (found->len, ==, 2);
  g_assert_cmpint (nth (found, 0)->kind, ==, MUGAI_PAYLOAD_UUENCODE);
  g_assert_cmpuint (nth (found, 0)->start, ==, s0);
  g_assert_cmpuint (nth (found, 0)->end, ==, e0);
  g_assert_cmpstr (nth (found, 0)->name, ==, "one.bin");
  g_assert_cmpuint (nth (found, 0)->decoded_size, ==, 777);
  g_assert_cmpstr (nth (found, 0)->sha256, ==, sha);
  g_assert_cmpint (nth (found, 1)->kind, ==, MUGAI_PAYLOAD_YENC);
  g_assert_cmpuint (nth (found, 1)->start, ==, s1);
  g_assert_cmpuint (nth (found, 1)->end, ==, e1);
  g_assert_cmpstr (nth (found, 1)->name, ==, "two.bin");
  g_assert_cmpuint (nth (found, 1)->decoded_size, ==, 77);
  g_assert_cmpstr (nth (found, 1)->sha256, ==, sha_small);
  g_assert_true (nth (found, 0)->complete && nth (found, 1)->complete);
}

typedef struct
{
  guint payloads;  /* in the text */
  guint max_items; /* passed */
  gboolean over;   /* expected */
} LimitCase;

static const LimitCase limit_cases[] = {
  { 3, 2, TRUE },   { 3, 1, TRUE },  { 3, 3, FALSE },
  { 3, 64, FALSE }, { 2, 2, FALSE }, { 0, 1, FALSE },
};

static void
test_max_items (void)
{
  g_autofree guchar *file = make_octets (200);

  for (gsize c = 0; c < G_N_ELEMENTS (limit_cases); c++)
    {
      const LimitCase *lc = &limit_cases[c];
      g_autoptr (GString) text = g_string_new ("intro\n");
      g_autoptr (GArray) ends = g_array_new (FALSE, FALSE, sizeof (gsize));
      g_autoptr (GArray) starts = g_array_new (FALSE, FALSE, sizeof (gsize));

      for (guint i = 0; i < lc->payloads; i++)
        {
          g_autofree char *name = g_strdup_printf ("f%u.bin", i);

          g_array_append_val (starts, text->len);
          uu_encode (text, name, file, 200, "\n", FALSE, TRUE);
          g_array_append_val (ends, text->len);
          /* Prose that looks like a start but is not one. */
          g_string_append (text, "begin 644\nand so on\n");
        }

      gboolean over = !lc->over;
      g_autoptr (GPtrArray) found = find (text, lc->max_items, &over);
      guint want = MIN (lc->payloads, lc->max_items);

      g_assert_cmpint (over, ==, lc->over);
      g_assert_cmpuint (found->len, ==, want);
      for (guint i = 0; i < want; i++)
        {
          MugaiPayload *p = nth (found, i);
          gsize want_end = g_array_index (ends, gsize, i);

          if (lc->over && i + 1 == want)
            want_end = text->len;
          g_assert_cmpuint (p->start, ==, g_array_index (starts, gsize, i));
          g_assert_cmpuint (p->end, ==, want_end);
          g_assert_true (p->complete);
          g_assert_cmpuint (p->decoded_size, ==, 200);
        }
    }
}

/* Old encoders write SP for zero, and transports strip trailing SP: the
 * lost characters are zero bits, the terminating " " line becomes "". */
static void
test_uu_space_style (void)
{
  guchar file[92];
  g_autoptr (GString) text = g_string_new (NULL);

  memset (file, 'A', 45);
  memset (file + 45, 'B', 30);
  memset (file + 75, 0, sizeof file - 75);
  uu_encode (text, "old.txt", file, sizeof file, "\r\n", TRUE, TRUE);
  g_assert_nonnull (strstr (text->str, "\r\n\"\r\n")); /* the 2-octet line lost its spaces */

  g_autofree char *sha = sha256_of (file, sizeof file);
  g_autoptr (GPtrArray) found = find (text, 64, NULL);

  g_assert_cmpuint (found->len, ==, 1);
  g_assert_cmpuint (nth (found, 0)->end, ==, text->len);
  g_assert_cmpuint (nth (found, 0)->decoded_size, ==, sizeof file);
  g_assert_cmpstr (nth (found, 0)->sha256, ==, sha);
  g_assert_true (nth (found, 0)->complete);
}

/* Anything between the marker and the ':' line belongs to the payload. */
static void
test_binhex_text_between (void)
{
  g_autofree guchar *file = make_octets (100);
  g_autoptr (GString) block = g_string_new (NULL);
  g_autoptr (GString) chars = g_string_new (NULL);
  g_autoptr (GString) text = g_string_new ("a\n" BINHEX_MARKER "\nsome words\n\n");

  binhex_encode (block, "x", file, 100, "\n", TRUE, chars);
  g_string_append (text, block->str + strlen (BINHEX_MARKER "\n"));
  g_string_append (text, "after\n");

  g_autofree char *sha = sha256_of (chars->str, chars->len);
  g_autoptr (GPtrArray) found = find (text, 64, NULL);

  g_assert_cmpuint (found->len, ==, 1);
  g_assert_cmpuint (nth (found, 0)->start, ==, 2);
  g_assert_cmpuint (nth (found, 0)->end, ==, text->len - strlen ("after\n"));
  g_assert_cmpstr (nth (found, 0)->name, ==, "x");
  g_assert_cmpstr (nth (found, 0)->sha256, ==, sha);
  g_assert_true (nth (found, 0)->complete);
}

/* An octet outside the alphabet before the closing ':' fails closed. */
static void
test_binhex_bad_char (void)
{
  static const char text[] = "hi\n" BINHEX_MARKER "\r\n:!!!!\r\n!!\x82\xa8!!:\r\nbye\r\n";
  g_autoptr (GPtrArray) found = mugai_textpayload_find (text, sizeof text - 1, 64, NULL);
  g_autofree char *sha = sha256_of ("!!!!!!", 6);

  g_assert_cmpuint (found->len, ==, 1);
  g_assert_cmpint (nth (found, 0)->kind, ==, MUGAI_PAYLOAD_BINHEX);
  g_assert_cmpuint (nth (found, 0)->start, ==, 3);
  g_assert_cmpuint (nth (found, 0)->end, ==, sizeof text - 1);
  g_assert_false (nth (found, 0)->complete);
  g_assert_cmpuint (nth (found, 0)->decoded_size, ==, 6);
  g_assert_cmpstr (nth (found, 0)->sha256, ==, sha);
  g_assert_cmpstr (nth (found, 0)->name, ==, ""); /* too short for a header */
}

/* Many marker lines and no block: linear, and nothing found. */
static void
test_binhex_many_markers (void)
{
  g_autoptr (GString) text = g_string_new (NULL);

  for (guint i = 0; i < 200000; i++)
    g_string_append (text, BINHEX_MARKER "\n");

  g_autoptr (GPtrArray) found = find (text, 64, NULL);

  g_assert_cmpuint (found->len, ==, 0);

  /* and a block at the very end takes all of them in */
  g_string_append (text, ":!!:\n");
  g_autoptr (GPtrArray) found2 = find (text, 64, NULL);

  g_assert_cmpuint (found2->len, ==, 1);
  g_assert_cmpuint (nth (found2, 0)->start, ==, 0);
  g_assert_cmpuint (nth (found2, 0)->end, ==, text->len);
  g_assert_cmpuint (nth (found2, 0)->decoded_size, ==, 2);
}

/* NULs are octets like any other; a name stops at the first one. */
static void
test_nul (void)
{
  static const char data[] = "a\0b\n"
                             "begin 644 ab\0cd\n"
                             "#86)C\n"
                             "`\n"
                             "end\n"
                             "\0\0\n";
  gsize payload_start = 4, payload_end = sizeof data - 1 - 3;
  g_autoptr (GPtrArray) found = mugai_textpayload_find (data, sizeof data - 1, 64, NULL);
  g_autofree char *sha = sha256_of ("abc", 3);

  g_assert_cmpuint (found->len, ==, 1);
  g_assert_cmpuint (nth (found, 0)->start, ==, payload_start);
  g_assert_cmpuint (nth (found, 0)->end, ==, payload_end);
  g_assert_cmpstr (nth (found, 0)->name, ==, "ab");
  g_assert_cmpuint (nth (found, 0)->decoded_size, ==, 3);
  g_assert_cmpstr (nth (found, 0)->sha256, ==, sha);
}

static void
test_name_long (void)
{
  g_autofree char *name = g_strnfill (5000, 'n');
  g_autofree char *want = g_strnfill (1024, 'n');
  g_autoptr (GString) text = g_string_new (NULL);
  guchar octet = 1;

  yenc_encode (text, name, &octet, 1, "\n", TRUE);

  g_autoptr (GPtrArray) found = find (text, 64, NULL);

  g_assert_cmpuint (found->len, ==, 1);
  g_assert_cmpstr (nth (found, 0)->name, ==, want);
  g_assert_cmpuint (nth (found, 0)->decoded_size, ==, 1);
}

/* A header as the last line: yEnc has no gate, so it is an (empty,
 * incomplete) payload; uuencode needs a data line, so it is prose. */
static void
test_header_at_eof (void)
{
  static const char yenc[] = "text\n=ybegin size=5 name=x.bin\r\n";
  g_autoptr (GPtrArray) found = mugai_textpayload_find (yenc, sizeof yenc - 1, 64, NULL);
  g_autofree char *sha = sha256_of ("", 0);

  g_assert_cmpuint (found->len, ==, 1);
  g_assert_cmpuint (nth (found, 0)->start, ==, 5);
  g_assert_cmpuint (nth (found, 0)->end, ==, sizeof yenc - 1);
  g_assert_false (nth (found, 0)->complete);
  g_assert_cmpstr (nth (found, 0)->name, ==, "x.bin");
  g_assert_cmpuint (nth (found, 0)->decoded_size, ==, 0);
  g_assert_cmpstr (nth (found, 0)->sha256, ==, sha);
}

/* 10 MB of Japanese and English prose with near misses: all of it is
 * prose, and the scan reaches its end (a payload written after it is
 * found at its exact place).  How long it takes is measured in bench/
 * (bench/refusals.py), not asserted here. */
static void
test_large_text (void)
{
  static const char *const lines[] = {
    SJIS_HELLO "\r\n", "begin the meeting\r\n", "begin 644\r\n", "=y\r\n", "(This file\r\n", "\r\n",
    SJIS_BYE "\r\n",
  };
  g_autoptr (GString) text = g_string_sized_new (10 * 1024 * 1024 + 100);

  for (guint i = 0; text->len < 10 * 1024 * 1024; i++)
    g_string_append (text, lines[i % G_N_ELEMENTS (lines)]);

  gboolean over = TRUE;
  g_autoptr (GPtrArray) found = find (text, 64, &over);

  g_assert_cmpuint (found->len, ==, 0);
  g_assert_false (over);

  /* the same prose, then one file: only the file is found, where it is */
  gsize start = text->len;
  static const guchar tail[] = "after 10 MB";
  uu_encode (text, "tail.bin", tail, sizeof tail - 1, "\r\n", FALSE, TRUE);
  gsize end = text->len;
  g_autofree char *sha = sha256_of (tail, sizeof tail - 1);
  g_autoptr (GPtrArray) found2 = find (text, 64, NULL);

  g_assert_cmpuint (found2->len, ==, 1);
  g_assert_cmpuint (nth (found2, 0)->start, ==, start);
  g_assert_cmpuint (nth (found2, 0)->end, ==, end);
  g_assert_cmpstr (nth (found2, 0)->name, ==, "tail.bin");
  g_assert_cmpstr (nth (found2, 0)->sha256, ==, sha);
}

/* A 4 MB file in the middle of text: streaming decode, exact hash. */
static void
test_large_payload (void)
{
  const gsize size = 4 * 1024 * 1024 + 17;
  g_autofree guchar *file = make_octets (size);
  g_autofree char *sha = sha256_of (file, size);
  g_autoptr (GString) text = g_string_new (SJIS_HELLO "\n");
  gsize start = text->len;

  uu_encode (text, "big.bin", file, size, "\n", FALSE, TRUE);

  gsize end = text->len;

  g_string_append (text, SJIS_BYE "\n");

  g_autoptr (GPtrArray) found = find (text, 64, NULL);

  g_assert_cmpuint (found->len, ==, 1);
  g_assert_cmpuint (nth (found, 0)->start, ==, start);
  g_assert_cmpuint (nth (found, 0)->end, ==, end);
  g_assert_cmpuint (nth (found, 0)->decoded_size, ==, size);
  g_assert_cmpstr (nth (found, 0)->sha256, ==, sha);
}

static void
test_kind_name (void)
{
  g_assert_cmpstr (mugai_payload_kind_name (MUGAI_PAYLOAD_UUENCODE), ==, "uuencode");
  g_assert_cmpstr (mugai_payload_kind_name (MUGAI_PAYLOAD_YENC), ==, "yenc");
  g_assert_cmpstr (mugai_payload_kind_name (MUGAI_PAYLOAD_BINHEX), ==, "binhex");
}

/* The destructor accepts NULL (as every destructor here does) and frees
 * what a payload owns.  Run in a child: it must end normally, with no
 * critical (G_DEBUG=fatal-criticals turns one into an abort) and, under
 * AddressSanitizer (tools/build.sh asan), no leak (LeakSanitizer fails
 * the child at its exit). */
static void
test_free_null (void)
{
  if (g_test_subprocess ())
    {
      g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
      mugai_payload_free (NULL);
      {
        g_autoptr (MugaiPayload) p = g_new0 (MugaiPayload, 1);
        p->name = g_strdup ("x");
        p->sha256 = g_strdup ("y");
      }
      /* the payloads mugai_textpayload_find() returns go with their array */
      static const char text[] = "begin 644 a\n#86)C\n`\nend\n";
      GPtrArray *found = mugai_textpayload_find (text, sizeof text - 1, 64, NULL);
      g_assert_cmpuint (found->len, ==, 1);
      g_ptr_array_unref (found);
      g_print ("freed\n");
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  g_test_trap_assert_stdout ("freed\n");
  g_test_trap_assert_stderr ("");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  TESTUTIL_ADD_CASES ("/textpayload/encoded", encode_cases, path, test_encoded);
  g_test_add_func ("/textpayload/prose", test_prose);
  g_test_add_func ("/textpayload/edges", test_edges);
  g_test_add_func ("/textpayload/empty-input", test_empty_input);
  g_test_add_func ("/textpayload/garbage-begin", test_garbage_begin);
  g_test_add_func ("/textpayload/two", test_two);
  g_test_add_func ("/textpayload/max-items", test_max_items);
  g_test_add_func ("/textpayload/uu-space-style", test_uu_space_style);
  g_test_add_func ("/textpayload/binhex-text-between", test_binhex_text_between);
  g_test_add_func ("/textpayload/binhex-bad-char", test_binhex_bad_char);
  g_test_add_func ("/textpayload/binhex-many-markers", test_binhex_many_markers);
  g_test_add_func ("/textpayload/nul", test_nul);
  g_test_add_func ("/textpayload/name-long", test_name_long);
  g_test_add_func ("/textpayload/header-at-eof", test_header_at_eof);
  g_test_add_func ("/textpayload/large-text", test_large_text);
  g_test_add_func ("/textpayload/large-payload", test_large_payload);
  g_test_add_func ("/textpayload/kind-name", test_kind_name);
  g_test_add_func ("/textpayload/free-null", test_free_null);

  return g_test_run ();
}
