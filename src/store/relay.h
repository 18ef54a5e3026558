/*
 * relay.h - a released message re-injected toward the LGWAN side by SMTP
 *           (libcurl), and the small notices the release workflow mails
 *
 * DESCRIPTION
 *	mugai_relay_prepare() makes the message to re-inject from a stored
 *	original: every top-level header field whose name starts with
 *	"X-Mugai-" (any case; with its continuation lines) removed, so that
 *	a sender cannot forge mugai's own verdicts, and one field
 *	"X-Mugai-Released: VALUE" added at the top, folded at the value's
 *	spaces when long.  Everything else stays octet for octet: the other
 *	fields, their order, the body and every line end.  The header block
 *	ends at the first empty line; a line ends at LF, at CRLF or at a CR
 *	not followed by LF (core/sanitize.c reads a bare CR as a line end
 *	too, and mugai_relay_send() puts one on the wire as CRLF: a field
 *	hidden behind a bare CR would otherwise come back as a line of its
 *	own at the receiver).  A message with no empty line is all header.
 *
 *	mugai_relay_send() gives a message to the SMTP server of a
 *	MugaiRelay (a Postfix smtpd without milters, like amavisd-new's
 *	re-injection port) through libcurl's SMTP, with the envelope
 *	given, and says in a MugaiRelayResult how the server answered.
 *
 *	mugai_relay_build_notice() makes a text/plain; charset=UTF-8 mail
 *	with GMime (RFC 2047 subject, Date, Message-ID, MIME-Version,
 *	Auto-Submitted: auto-generated), for the approvers of a pending
 *	request and the requester of its outcome.
 *
 * WHAT ARRIVES
 *	A message whose lines all end in CRLF arrives octet for octet (what
 *	SMTP can carry: RFC 5321 4.5.2 dot-stuffing is libcurl's, undone by
 *	the server).  SMTP has no other line end (RFC 5321 2.3.8), so a bare
 *	LF or a bare CR of the original is sent as CRLF: that is the only
 *	change, and it is also what keeps a line "." after a bare LF from
 *	ending the data early at a server that takes LF for a line end
 *	(libcurl 7.88 stuffs a dot only after CRLF; "SMTP smuggling").  A
 *	message that does not end with a line end gets CRLF before the
 *	final "." (libcurl adds it; the server sees the line ended).
 *	libcurl turns a non-ASCII domain of an envelope address into its
 *	A-label (IDN) and sends no BODY=8BITMIME: Postfix takes 8-bit data
 *	without it.
 *
 * RESULT
 *	TRUE means a conversation was attempted; result says how it went:
 *	SENT (the server took the data: 250 after the final "."),
 *	PERMANENT (a 5xx; or an envelope libcurl cannot make a command of,
 *	such as a domain libidn2 refuses: no retry would help) or TEMPORARY
 *	(a 4xx, no connection, a timeout, the connection lost, any other
 *	reply libcurl did not expect).
 *	code and reply are those of the last reply (0 and NULL when there
 *	was none; reply holds the whole reply, its lines joined by "\n",
 *	bytes outside printable ASCII as '?', at most
 *	MUGAI_RELAY_REPLY_MAX octets); stage the command it answered.
 *
 *	Recipients are sent with CURLOPT_MAIL_RCPT_ALLOWFAILS (spelt
 *	ALLLOWFAILS before curl 8.2; Debian 12 has 7.88.1): the message
 *	goes to those the server accepts, and refused lists the others, each
 *	with its own reply and class (4xx TEMPORARY, 5xx PERMANENT).  A SENT
 *	result with refusals is a delivery to the accepted recipients only:
 *	a retry is a new send to the temporarily refused ones alone, never
 *	to all (they would get it twice); a permanently refused recipient is
 *	not retried.  When every recipient is refused, nothing is sent and
 *	the class is TEMPORARY if any refusal was, PERMANENT otherwise.
 *
 *	maybe_delivered is TRUE when the whole message had been handed to
 *	libcurl after the server's 354 and then no reply to the final "."
 *	came (timeout, connection lost): the server may have queued it
 *	(RFC 1047).  The caller records such an attempt as possibly sent
 *	and does not retry it unnoticed.
 *
 * ERRORS
 *	FALSE with MUGAI_RELAY_ERROR when nothing was attempted (result
 *	untouched): an argument refused (INVALID: a Released value with a
 *	CR, an LF, a non-ASCII octet or a field name of its own; an
 *	envelope address with a control character or '<' '>'; no
 *	recipient), a relay setting that cannot be used (SETTING: a URL
 *	that is not smtp:// or smtps:// with a host and nothing after
 *	it, a bad EHLO name), or libcurl or GMime failing (INTERNAL).
 *
 * THREADS
 *	Every function may be called from any number of threads at once:
 *	libcurl's global state is set up once (g_once), each send has an
 *	easy handle of its own, no signal is used (CURLOPT_NOSIGNAL), and
 *	GMime is initialised once by mugai_init().
 */
#pragma once

#include <glib.h>

#define MUGAI_RELAY_ERROR (mugai_relay_error_quark ())
GQuark mugai_relay_error_quark (void);

typedef enum
{
  MUGAI_RELAY_ERROR_INVALID,  /* an argument refused */
  MUGAI_RELAY_ERROR_SETTING,  /* the relay's url, EHLO name or timeout */
  MUGAI_RELAY_ERROR_INTERNAL, /* libcurl or GMime failed */
} MugaiRelayError;

/* The value of X-Mugai-Released, at most this long (it names an id, two
 * accounts, a mode and an attempt: a few hundred octets at most). */
#define MUGAI_RELAY_RELEASED_MAX 2048
/* What is kept of the last reply: RFC 5321 4.5.3.1.5 allows 512 octets a
 * line, and a reply of several lines says no more than this. */
#define MUGAI_RELAY_REPLY_MAX 4096
/* Recipients in one send: Postfix's smtpd_recipient_limit default. */
#define MUGAI_RELAY_RECIPIENTS_MAX 1000
/* An envelope address: RFC 5321 4.5.3.1.3, a path of 256 octets. */
#define MUGAI_RELAY_ADDRESS_MAX 256
/* The body of a notice (a template filled in): far below this. */
#define MUGAI_RELAY_NOTICE_MAX (1024 * 1024)

/* Where released mail goes: [release] relay.  Borrowed strings. */
typedef struct
{
  const char *url;  /* "smtp://127.0.0.1:10026" (or smtps://): no path */
  const char *helo; /* the EHLO name: a domain or an address literal */
  guint timeout;    /* seconds for the whole conversation, connect to the
                     * reply after "."; 0 is refused */
} MugaiRelay;

typedef enum
{
  MUGAI_RELAY_SENT,
  MUGAI_RELAY_TEMPORARY,
  MUGAI_RELAY_PERMANENT,
} MugaiRelayClass;

/* "sent", "temporary", "permanent" */
const char *mugai_relay_class_name (MugaiRelayClass klass);

/* One recipient the server refused at RCPT TO. */
typedef struct
{
  char *recipient;       /* as given to mugai_relay_send() */
  guint code;            /* 450, 550... */
  char *reply;           /* the whole reply, as MugaiRelayResult's */
  MugaiRelayClass klass; /* TEMPORARY (4xx) or PERMANENT (5xx) */
} MugaiRelayRefusal;

typedef struct
{
  MugaiRelayClass klass;
  guint code;               /* of the last reply; 0: none (no connection, timeout) */
  char *reply;              /* the last reply ("250 2.0.0 Ok: queued as 4Xyz"), or NULL */
  char *stage;              /* what the last reply answered: "greeting", "EHLO",
                             * "HELO", "MAIL", "RCPT", "DATA", "." (the end of the
                             * data); "connect" when no reply came at all */
  char *detail;             /* libcurl's words when the conversation failed
                             * ("Failed to connect to ... Connection refused"),
                             * else NULL */
  gboolean maybe_delivered; /* see RESULT */
  GPtrArray *refused;       /* MugaiRelayRefusal *, in the order given;
                             * never NULL after a send */
} MugaiRelayResult;

/* Frees what result holds (not result itself); result may be all zero. */
void mugai_relay_result_clear (MugaiRelayResult *result);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (MugaiRelayResult, mugai_relay_result_clear)

/* The message to re-inject (see DESCRIPTION); released_value is the
 * field's value alone, printable ASCII, built by the caller ("id=...;
 * by=...; approved-by=...; mode=...; attempt=N").  NULL on error
 * (INVALID). */
GBytes *mugai_relay_prepare (GBytes *original, const char *released_value, GError **error);

/* Sends message (as mugai_relay_prepare() made it) to the relay, from
 * sender ("" is the null sender <>) to recipients (NULL-terminated, at
 * least one).  TRUE: *result filled, whatever the server said; FALSE:
 * nothing was attempted (error set, *result untouched). */
gboolean mugai_relay_send (const MugaiRelay *relay, const char *sender,
                           const char *const *recipients, GBytes *message, MugaiRelayResult *result,
                           GError **error);

/* A notice from from (one address) to to (one or more, comma-separated
 * as in a To field) with subject and body_utf8 (UTF-8, LF or CRLF line
 * ends), lines ended by CRLF, ready for mugai_relay_send().  NULL on
 * error (INVALID: not UTF-8, CR or LF in from, to or subject, an address
 * that does not parse, a body over MUGAI_RELAY_NOTICE_MAX). */
GBytes *mugai_relay_build_notice (const char *from, const char *to, const char *subject,
                                  const char *body_utf8, GError **error);
