/*
 * mugai-limits.h - every quantity a sender controls, bounded, with its default
 *
 * DESCRIPTION
 *	Each limit is mirrored by a key in the [limits] group of mugai.conf
 *	(see mugai.conf(5)).  Reaching a limit is a finding of category
 *	"over-limit": the part past it is removed and named in the notice, or
 *	the whole message is refused.  It is never a silent pass.
 *
 *	GMime's own nesting limit (1024) is not relied upon: mugai walks the
 *	tree itself and stops at MUGAI_LIMIT_DEPTH.
 */
#pragma once

/* Whole message, raw octets.  Postfix's own message_size_limit defaults to
 * 10240000; ours is above it so that Postfix normally decides, while the CLI
 * (which has no Postfix in front) is still bounded.  A message is held in
 * memory once while parsed, so this also bounds a worker's memory. */
#define MUGAI_LIMIT_MESSAGE_SIZE (64u * 1024u * 1024u)

/* MIME nesting: multiparts and attached messages.  Real clients stay below
 * 10 even for long forward chains; deeper trees are a parser attack
 * (CVE-2019-8785 style deep nesting against other milters). */
#define MUGAI_LIMIT_DEPTH 20

/* Number of MIME entities walked in one message, containers included
 * (unused alternatives too).  Bounds the report, the notice and the time
 * spent per message: past it, parts are removed and counted, not listed
 * one by one. */
#define MUGAI_LIMIT_PARTS 500

/* The part limit bounds the walk, but GMime builds the whole tree before
 * the walk begins, at about 3.4 KB per entity: 300,000 empty parts
 * ("--b\n\n", 2.7 MB) took 1.0 GB.  So before GMime sees a message, an
 * upper bound of its entities is counted on the raw octets (delimiter
 * lines of the boundaries it declares, see sanitize.c), and a message
 * whose bound passes this multiple of [limits] parts is refused as
 * over-limit: GMime then never holds more than a few thousand entities
 * (2,000 by default: under 10 MB).  A multiple, not the limit itself,
 * because the bound counts generously (a declared boundary may be unused,
 * the word "message" counts as an attached message) and a message just
 * past the limit is better delivered with its first parts. */
#define MUGAI_LIMIT_PARTS_HARD_FACTOR 4

/* The JSON report of one message, in octets.  Past the part limit a
 * report listed every part (21.5 MB for 60,000 alternatives); every
 * entry is bounded (names by header_length, archive members by
 * archive_entries), but not their product.  The report travels from the
 * worker to the front in one IPC frame (16 MiB) and is stored with the
 * original, so past this size it lists what fits and ends with one
 * summary of what it left out. */
#define MUGAI_LIMIT_REPORT_SIZE (1024u * 1024u)

/* One header field, unfolded, in octets.  RFC 5322 2.1.1 bounds lines at
 * 998 but not fields; sendmail's MaxHeadersLength is 32 KiB for all of
 * them.  A longer field is dropped and reported. */
#define MUGAI_LIMIT_HEADER_LENGTH (16u * 1024u)

/* Number of header fields in one header block.  Past it the message is
 * refused (counted on the raw octets, before GMime parses them): in the
 * milter every field dropped is a delete edit, and Postfix's cleanup
 * applies each one by scanning the headers from the start (quadratic:
 * 100,000 fields gave 99,004 edits).  In an attached message the fields
 * past it are dropped (the output is built by mugai, no edits). */
#define MUGAI_LIMIT_HEADERS 1000

/* Header fields of all the header blocks of a message together (its
 * parts', its attached messages'), as a multiple of [limits] headers,
 * counted on the raw octets too: GMime holds about 600 octets per field
 * (100,000 fields in an attached message: 81 MB for 1.2 MB of mail); past
 * 8,000 fields by default (5 MB) the message is refused.  Real mail: 500
 * parts of ten fields each is already an extreme. */
#define MUGAI_LIMIT_HEADERS_TOTAL_FACTOR 8

/* One decoded leaf part, octets.  A base64 bomb cannot inflate much
 * (4:3), but a quoted-printable or text part is held decoded in memory
 * and converted to UTF-8, which can triple it. */
#define MUGAI_LIMIT_PART_SIZE (32u * 1024u * 1024u)

/* HTML, before libxml2 sees it.  libxml2 2.9.14's start-tag parser
 * checks each attribute against all earlier ones of the element:
 * quadratic, one tag with 80,000 attributes (700 KB) cost 13.6 s of CPU.
 * Size: octets of one HTML part rendered (its tree costs several times
 * that in memory); a larger one is removed.  Attributes: the most on one
 * element, counted by a pre-scan of the octets; real mail has tens.
 * Time: milliseconds one part's parse may take (checked as libxml2 reads
 * its input, every 4 KB), and never past the message's own deadline; a
 * part past it is removed as over-limit and the message goes on. */
#define MUGAI_LIMIT_HTML_SIZE (4u * 1024u * 1024u)
#define MUGAI_LIMIT_HTML_ATTRIBUTES 1000
#define MUGAI_LIMIT_HTML_TIME 10000

/* Inline payloads (uuencode, yEnc, BinHex) cut out of one text part. */
#define MUGAI_LIMIT_INLINE_PAYLOADS 64

/* Archives (archive.c).  Depth: an archive in an archive in an archive
 * is already a deliberate hiding place; deeper ones are not opened and
 * the attachment is treated as one that cannot be seen through.
 * Members: a real archive sent by mail has tens of files; thousands is a
 * bomb.  Expansion: octets decompressed to list one attachment (zip
 * bombs: 42.zip expands to 4.5 PB; this stops it at 100 MiB). */
#define MUGAI_LIMIT_ARCHIVE_DEPTH 3
#define MUGAI_LIMIT_ARCHIVE_ENTRIES 1000
#define MUGAI_LIMIT_ARCHIVE_EXPAND (100u * 1024 * 1024)

/* The milter.  Postfix's milter_content_timeout defaults to 300 s; a
 * worker must give up well before Postfix does, so that the sender gets
 * our 4xx with a reason rather than Postfix's default action. */
#define MUGAI_LIMIT_MESSAGE_TIMEOUT 120

/* Seconds a message may wait for a free worker before it is deferred. */
#define MUGAI_LIMIT_QUEUE_TIMEOUT 60

/* Address space of one worker: GMime holds a message (at most
 * MUGAI_LIMIT_MESSAGE_SIZE) and its decoded parts; ClamAV's engine adds
 * about 1 GiB once signatures are loaded. */
#define MUGAI_LIMIT_WORKER_MEMORY (2048u * 1024u * 1024u)

/* Octets of one message the front keeps in memory before it spills the
 * message to a spool file: memory per SMTP session stays bounded. */
#define MUGAI_LIMIT_SPOOL_THRESHOLD (1024u * 1024u)

#define MUGAI_DEFAULT_WORKERS 4

/* Messages one worker handles before the pool replaces it: whatever a
 * parser may have left in a worker's memory (a leak, or worse, a bug
 * some message exploited) lasts at most this many messages.  A fork
 * from the pool costs a millisecond or two. */
#define MUGAI_DEFAULT_WORKER_MESSAGES 500

/* Days an original is kept before the storer purges it: a year and a
 * day, the retention municipal records are commonly held to. */
#define MUGAI_DEFAULT_KEEP_DAYS 366

/* ClamAV engine limits ([clamav] group).  libclamav's defaults (400 MB
 * scan size, 100 MB files) suit a file server, not a mail gateway whose
 * messages are at most MUGAI_LIMIT_MESSAGE_SIZE; past a limit ClamAV
 * reports Heuristics.Limits.Exceeded, which mugai treats as "not fully
 * scanned": removed, never passed. */
#define MUGAI_LIMIT_SCAN_SIZE (100u * 1024u * 1024u)
#define MUGAI_LIMIT_SCAN_FILE (64u * 1024u * 1024u)
#define MUGAI_LIMIT_SCAN_RECURSION 16
#define MUGAI_LIMIT_SCAN_FILES 10000
#define MUGAI_LIMIT_SCAN_TIME 60000 /* milliseconds per buffer */
