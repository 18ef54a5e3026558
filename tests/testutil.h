/*
 * testutil.h - what the GLib unit tests of tests/ share
 *
 * DESCRIPTION
 *	TESTUTIL_ADD_CASES()      one test a row of a table of cases, named
 *	                          PREFIX/<the row's FIELD> and given the row
 *	TESTUTIL_HDR              the header fields of a minimal message
 *	testutil_nested_message() a message DEPTH multipart/mixed levels deep
 *	                          around one text/plain part ("deep\n")
 *	testutil_body_text()      the text of a message's text/plain body
 *	                          (its first leaf), decoded
 *	testutil_parts_message()  a multipart/mixed message of N text/plain
 *	                          parts, "part 0\n" to "part N-1\n"
 */
#pragma once

#include <glib.h>
#include <gmime/gmime.h>

static inline void
testutil_add_case (const char *prefix, const char *name, gconstpointer row, GTestDataFunc func)
{
  g_autofree char *path = g_strdup_printf ("%s/%s", prefix, name);
  g_test_add_data_func (path, row, func);
}

#define TESTUTIL_ADD_CASES(prefix, cases, field, func)                                             \
  for (gsize testutil_i_ = 0; testutil_i_ < G_N_ELEMENTS (cases); testutil_i_++)                   \
  testutil_add_case ((prefix), (cases)[testutil_i_].field, &(cases)[testutil_i_], (func))

#define TESTUTIL_HDR                                                                               \
  "From: a@example.jp\nTo: b@example.jp\nSubject: t\nMessage-ID: <t@example.jp>\n"

static inline char *
testutil_nested_message (int depth)
{
  GString *m = g_string_new (TESTUTIL_HDR "MIME-Version: 1.0\n");
  for (int i = 0; i < depth; i++)
    g_string_append_printf (m, "Content-Type: multipart/mixed; boundary=b%d\n\n--b%d\n", i, i);
  g_string_append (m, "Content-Type: text/plain\n\ndeep\n");
  for (int i = depth - 1; i >= 0; i--)
    g_string_append_printf (m, "--b%d--\n", i);
  return g_string_free (m, FALSE);
}

static inline char *
testutil_parts_message (int n)
{
  GString *m = g_string_new (TESTUTIL_HDR "Content-Type: multipart/mixed; boundary=b\n\n");
  for (int i = 0; i < n; i++)
    g_string_append_printf (m, "--b\nContent-Type: text/plain\n\npart %d\n", i);
  g_string_append (m, "--b--\n");
  return g_string_free (m, FALSE);
}

static inline char *
testutil_body_text (GMimeMessage *m)
{
  GMimeObject *body = g_mime_message_get_mime_part (m);
  if (GMIME_IS_MULTIPART (body))
    body = g_mime_multipart_get_part (GMIME_MULTIPART (body), 0);
  g_assert_true (GMIME_IS_TEXT_PART (body));
  return g_mime_text_part_get_text (GMIME_TEXT_PART (body));
}
