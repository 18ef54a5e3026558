/*
 * password.h - account passwords: argon2id hashes (libargon2)
 *
 * DESCRIPTION
 *	Only the hash is ever stored or sent to the storer, in the encoded
 *	form "$argon2id$v=19$m=65536,t=3,p=1$SALT$HASH" (RFC 9106's second
 *	recommended option: 64 MiB, 3 passes, one lane), with 16 random
 *	octets of salt from getrandom(2).  The command hashes what the
 *	administrator types; the portal verifies what staff type.
 *
 * ERRORS
 *	G_IO_ERROR_FAILED with libargon2's words.
 */
#pragma once

#include <glib.h>

/* A password of 8 to 1024 octets of UTF-8; NULL and error otherwise. */
char *mugai_password_hash (const char *password, GError **error);
/* TRUE when password matches the encoded hash (constant time). */
gboolean mugai_password_verify (const char *encoded, const char *password);
