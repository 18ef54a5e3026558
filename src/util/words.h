/*
 * words.h - the one catalogue of mugai's own words, in Japanese and English
 *
 * SYNOPSIS
 *	d = g_strdup_printf (MUGAI_W (ja, "more than %u MIME parts"), n);
 *	g_string_append (out, MUGAI_W (ja, " [password-protected]"));
 *
 *	static const char *const label = MUGAI_W_KEY ("malware detected");
 *	text = mugai_words_get (lang, label);
 *
 * DESCRIPTION
 *	Every text that mugai itself writes for a reader (the notice, a
 *	part's detail in the report and the log, a converter's outcome, a
 *	finding category's label) is written once in English at its call
 *	site, and that English text is the key of its Japanese form here,
 *	as gettext's msgid is.  The notice, the logs, the report and later
 *	the portal then say the same thing in both languages from one
 *	table, and a Japanese notice cannot show an English text that a
 *	caller forgot to translate (tests/test-words.c reads src/ for every
 *	key and checks that the table has it).
 *
 *	The catalogue sits in util, the lowest layer, because its users are
 *	on every level: the converter and the sandbox (convert), the type
 *	labels (detect), the walk and the notice (core), and later the
 *	portal; a table in core could not be reached from convert.
 *
 *	MUGAI_W (ja, english) gives the Japanese text when ja is TRUE, the
 *	English key itself otherwise.  english must be a string literal (the
 *	macro pastes "" on both sides, so anything else does not compile),
 *	which keeps every key findable by the test.  mugai_words_get() is
 *	declared G_GNUC_FORMAT (2) (GCC's format_arg): a printf that takes
 *	its format from it is checked by -Wformat against the English
 *	literal, so the arguments are checked at compile time although the
 *	Japanese format is chosen at run time.  The test then checks that
 *	each Japanese entry has the same conversions as its key: in the same
 *	order, or numbered (%2$s) where Japanese puts the words the other
 *	way round, every argument then numbered.
 *
 *	MUGAI_W_KEY (english) marks a key that a table holds and that is
 *	looked up later with mugai_words_get (finding.c's category labels),
 *	so that the test finds it too.
 *
 *	A key missing from the table gives the key (English), as gettext
 *	does; the test is what keeps that from happening.
 *
 * OWNERSHIP
 *	Every text returned is static.
 *
 * LIMITS
 *	The lookup is a linear scan with strcmp of about 150 entries, made a
 *	few times per part: well under a microsecond each, and no state to
 *	build or guard.  A sorted table or a hash would pay once the
 *	catalogue holds thousands of entries.
 *
 * THREAD SAFETY
 *	The table is constant; everything here is thread-safe.
 */
#pragma once

#include <glib.h>

/* The languages of the notice ([notice] language). */
typedef enum
{
  MUGAI_LANG_JA,
  MUGAI_LANG_EN,
  MUGAI_LANG_N
} MugaiLang;

typedef struct
{
  const char *en; /* the key: the English text, as the call site writes it */
  const char *ja;
} MugaiWordsEntry;

/* The text for english in lang: static, english itself for English or
 * when the table does not have it. */
const char *mugai_words_get (MugaiLang lang, const char *english) G_GNUC_FORMAT (2);

/* The whole table, for tests/test-words.c. */
const MugaiWordsEntry *mugai_words_table (gsize *n_entries);

#define MUGAI_W(ja, english) mugai_words_get ((ja) ? MUGAI_LANG_JA : MUGAI_LANG_EN, "" english "")
#define MUGAI_W_KEY(english) ("" english "")
