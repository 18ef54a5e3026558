/*
 * logline.h - printable text, and the one way to write a log line
 *
 * SYNOPSIS
 *	g_autoptr (GString) line = g_string_new ("worker:");
 *	mugai_log_ids (line, queue_id, message_id);
 *	mugai_log_add (line, "file", filename);
 *	g_warning ("%s", line->str);
 *
 * DESCRIPTION
 *	mugai_text_safe_display() is the readable, harmless form of sender
 *	text for notices and logs: valid UTF-8, control, bidirectional and
 *	zero-width characters written as <U+202E>, cut at a character
 *	boundary after max_chars characters with "…".
 *
 *	mugai_log_escape() is the one escaper of text for a log line: the
 *	safe form above, then '"' and '\' backslashed and every octet
 *	outside printable ASCII written \ooo (g_strescape): the result is
 *	printable ASCII, so no CR, LF or terminal escape from a mail can
 *	start a line of its own or rewrite the screen, and a reader in any
 *	locale sees the same octets.
 *
 *	mugai_text_append_ascii() is its counterpart for SMTP reply text
 *	(RFC 5321 section 4.2.1: the text of a reply is printable ASCII,
 *	and libmilter's smfi_setreply takes nothing else): every octet
 *	outside 0x20..0x7e becomes '?'.  The front's reply and the worker's
 *	reasons (a finding's detail, a signature name) all go through it.
 *
 *	A log line is "who: key=value key=value ...".  mugai_log_add()
 *	appends one pair, the value escaped and put in double quotes when it
 *	is empty or holds a space or '=' (so that a line splits on spaces
 *	into its pairs); mugai_log_ids() appends qid= and msgid= (every line
 *	about a message has both; "-" when not known, NOQUEUE as Postfix
 *	says for a message without a queue id is the caller's to pass).
 *
 * LIMITS
 *	A value is cut at MUGAI_LOG_VALUE_MAX characters before escaping
 *	(an escaped octet takes four), so a line stays short enough for
 *	syslog (RFC 5424 receivers must take 480 octets, rsyslog takes 8 KiB
 *	by default) whatever the mail holds.
 *
 * THREADS
 *	Thread-safe: no state.
 */
#pragma once

#include <glib.h>

/* Characters of one value in a log line (a subject, a file name, an
 * error message), before escaping. */
#define MUGAI_LOG_VALUE_MAX 200

/* Safe, readable form of sender text for notices and logs (owned). */
char *mugai_text_safe_display (const char *utf8, guint max_chars);

/* Text from a mail (or anything else) fit for a log line: printable
 * ASCII, at most max_chars characters of the text (owned; "" for NULL). */
char *mugai_log_escape (const char *text, guint max_chars);

/* Appends the octets of text to out, each outside printable ASCII as
 * '?', while out->len < max_len (a cut, not a character boundary: the
 * result is ASCII whatever it cut). */
void mugai_text_append_ascii (GString *out, const char *text, gsize max_len);

/* Appends " key=value" (no space on an empty line): value escaped, cut at
 * MUGAI_LOG_VALUE_MAX, quoted when empty or holding a space or '='.
 * value NULL: "-". */
void mugai_log_add (GString *line, const char *key, const char *value);

/* The same, the value formatted (printf) first. */
void mugai_log_addf (GString *line, const char *key, const char *format, ...) G_GNUC_PRINTF (3, 4);

/* Appends " qid=QID msgid=<ID>": "-" for either when NULL or empty; the
 * message id is written in angle brackets (without those it arrived
 * with), as Postfix writes message-id=. */
void mugai_log_ids (GString *line, const char *qid, const char *msgid);
