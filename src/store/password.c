/*
 * password.c - argon2id password hashes (password.h)
 */
#include "password.h"

#include <argon2.h>
#include <gio/gio.h>
#include <string.h>
#include <sys/random.h>

#define T_COST 3
#define M_COST (64 * 1024) /* KiB */
#define LANES 1
#define SALT_LEN 16
#define HASH_LEN 32
#define MIN_PASSWORD 8
#define MAX_PASSWORD 1024

char *
mugai_password_hash (const char *password, GError **error)
{
  gsize len = password ? strlen (password) : 0;
  if (len < MIN_PASSWORD || len > MAX_PASSWORD || !g_utf8_validate (password, -1, NULL))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "a password is %d to %d octets of UTF-8 text", MIN_PASSWORD, MAX_PASSWORD);
      return NULL;
    }
  guint8 salt[SALT_LEN];
  if (getrandom (salt, sizeof salt, 0) != (ssize_t)sizeof salt)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "getrandom: no salt");
      return NULL;
    }
  gsize encoded_len = argon2_encodedlen (T_COST, M_COST, LANES, SALT_LEN, HASH_LEN, Argon2_id);
  g_autofree char *encoded = g_malloc0 (encoded_len);
  int rc = argon2id_hash_encoded (T_COST, M_COST, LANES, password, len, salt, sizeof salt, HASH_LEN,
                                  encoded, encoded_len);
  if (rc != ARGON2_OK)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "argon2id: %s", argon2_error_message (rc));
      return NULL;
    }
  return g_steal_pointer (&encoded);
}

gboolean
mugai_password_verify (const char *encoded, const char *password)
{
  if (!encoded || !password || !g_str_has_prefix (encoded, "$argon2id$"))
    return FALSE;
  return argon2id_verify (encoded, password, strlen (password)) == ARGON2_OK;
}
