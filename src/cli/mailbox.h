/*
 * mailbox.h - read and write mbox files and Maildir folders
 *
 * DESCRIPTION
 *	mbox is read as mboxrd (a line "From " after a blank line or at the
 *	start of the file begins a message; ">From ", ">>From "... lose one
 *	">"), which also reads mboxo files correctly except for body lines
 *	that began with ">From " in the original.  Written mboxes are
 *	mboxrd.  Reading is streaming with a bounded line buffer: a message
 *	larger than the limit is counted but not kept in memory, and a
 *	very long line does not grow the buffer.
 *
 *	Maildir delivery follows the Maildir specification: write in tmp/,
 *	fsync, rename into new/.
 *
 * ERRORS
 *	G_IO_ERROR / G_FILE_ERROR from the system calls, with the path.
 */
#pragma once

#include <stdio.h>
#include <glib.h>

typedef struct _MugaiMboxReader MugaiMboxReader;

MugaiMboxReader *mugai_mbox_reader_open (const char *path, GError **error);
void mugai_mbox_reader_free (MugaiMboxReader *reader);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MugaiMboxReader, mugai_mbox_reader_free)

/* Reads the next message.  Returns FALSE at the end (error unset) or on a
 * read error (error set).  *message holds at most limit octets; when the
 * message is larger, *message is NULL and *size tells its size. */
gboolean mugai_mbox_reader_next (MugaiMboxReader *reader, gsize limit, GBytes **message,
                                 gsize *size, char **from_line, GError **error);

/* Appends one message to an mbox stream, escaping it as mboxrd. */
gboolean mugai_mbox_write (FILE *out, const char *from_line, GBytes *message, GError **error);

/* Paths of the messages of a Maildir (cur/ and new/), sorted by name. */
GPtrArray *mugai_maildir_list (const char *dir, GError **error);

/* Delivers into dir/new/ under basename (info suffix ":2,..." removed). */
gboolean mugai_maildir_deliver (const char *dir, const char *basename, GBytes *message,
                                GError **error);
