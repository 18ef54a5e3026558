/*
 * octets.h - little- and big-endian integers read from a file's octets
 *
 * DESCRIPTION
 *	rd16le(), rd32le() and rd32be() read 2 or 4 octets at p, which the
 *	caller has checked are inside the buffer.  Shared by image.c and
 *	bmp.c (bmp.c must stand alone, without image.c, for its fuzz
 *	target), header-only so that neither links the other.
 */
#pragma once

#include <glib.h>

static inline guint16
rd16le (const guint8 *p)
{
  return (guint16)(p[0] | p[1] << 8);
}

static inline guint32
rd32le (const guint8 *p)
{
  return (guint32)p[0] | (guint32)p[1] << 8 | (guint32)p[2] << 16 | (guint32)p[3] << 24;
}

static inline guint32
rd32be (const guint8 *p)
{
  return (guint32)p[0] << 24 | (guint32)p[1] << 16 | (guint32)p[2] << 8 | (guint32)p[3];
}
