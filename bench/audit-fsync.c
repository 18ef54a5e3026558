/*
 * audit-fsync.c - what flushing every audit record costs
 *
 * SYNOPSIS
 *	ninja -C build audit-fsync
 *	build/audit-fsync [DIR [RECORDS [THREADS...]]]
 *
 * DESCRIPTION
 *	Writes RECORDS audit records (default 2000) into DIR (default ".",
 *	which must be on the disk the log lives on: a tmpfs flushes for
 *	free) from each number of threads given (default 1 4 16), three ways:
 *
 *	    write      one write(2) per line, no flush (mugai before issue 10)
 *	    serial     write(2) + fdatasync(2) per line under one lock: what a
 *	               flush per record costs without sharing
 *	    mugai      mugai_audit_write(): write, then a group-commit flush
 *	               shared by the threads waiting at that moment
 *
 *	and prints records per second.  The threads
 *	stand for SMTP sessions finishing at the same moment.  Not a test:
 *	nothing is asserted; bench/RESULTS.md keeps the figures with the
 *	machine they came from.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "audit.h"

typedef enum
{
  MODE_WRITE,
  MODE_SERIAL,
  MODE_MUGAI
} Mode;

static const char *mode_names[] = { "write", "serial", "mugai" };

typedef struct
{
  Mode mode;
  int fd;
  MugaiAudit *audit;
  GMutex *lock;
  int per_thread;
  gint *flushes;
} Job;

static MugaiStoreEntry *
make_entry (int n)
{
  MugaiStoreEntry *e = mugai_store_entry_new ();
  e->queue_id = g_strdup_printf ("4ZxY%06d", n);
  e->sender = g_strdup ("taro@example.jp");
  g_ptr_array_add (e->recipients, g_strdup ("a@city.lg.jp"));
  e->client_addr = g_strdup ("192.0.2.7");
  e->client_name = g_strdup ("mx.example.jp");
  e->verdict = g_strdup ("sanitized");
  e->status = g_strdup ("sanitized; removed=1; converted=0");
  e->message_id = g_strdup ("m1@example.jp");
  e->subject = g_strdup ("お見積りの件");
  e->size = 12345;
  return e;
}

static gpointer
run (gpointer data)
{
  Job *j = data;
  for (int i = 0; i < j->per_thread; i++)
    {
      g_autoptr (MugaiStoreEntry) e = make_entry (i);
      MugaiAuditRecord rec = { .entry = e, .action = "deliver" };
      if (j->mode == MODE_MUGAI)
        {
          if (!mugai_audit_write (j->audit, &rec, NULL))
            g_error ("audit write failed");
          continue;
        }
      g_autofree char *json = mugai_audit_format_json (&rec, g_get_real_time ());
      g_autofree char *line = g_strconcat (json, "\n", NULL);
      gsize len = strlen (line);
      g_mutex_lock (j->lock);
      if (write (j->fd, line, len) != (ssize_t) len)
        g_error ("write failed");
      if (j->mode == MODE_SERIAL)
        {
          fdatasync (j->fd);
          g_atomic_int_inc (j->flushes);
        }
      g_mutex_unlock (j->lock);
    }
  return NULL;
}

int
main (int argc, char **argv)
{
  const char *dir = argc > 1 ? argv[1] : ".";
  int records = argc > 2 ? atoi (argv[2]) : 2000;
  int default_threads[] = { 1, 4, 16 };
  int nthreads = argc > 3 ? argc - 3 : 3;
  g_autofree char *path = g_build_filename (dir, "bench-audit.jsonl", NULL);
  printf ("%-7s %7s %8s %10s\n", "mode", "threads", "records", "records/s");
  for (int t = 0; t < nthreads; t++)
    {
      int threads = argc > 3 ? atoi (argv[3 + t]) : default_threads[t];
      for (Mode mode = MODE_WRITE; mode <= MODE_MUGAI; mode++)
        {
          g_unlink (path);
          GMutex lock;
          g_mutex_init (&lock);
          gint flushes = 0;
          MugaiAudit *audit = NULL;
          int fd = -1;
          if (mode == MODE_MUGAI)
            audit = mugai_audit_open (path, FALSE, NULL);
          else
            fd = open (path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
          if (!audit && fd < 0)
            g_error ("cannot open %s", path);
          Job job = { mode, fd, audit, &lock, records / threads, &flushes };
          GThread **th = g_new (GThread *, threads);
          gint64 t0 = g_get_monotonic_time ();
          for (int i = 0; i < threads; i++)
            th[i] = g_thread_new ("bench", run, &job);
          for (int i = 0; i < threads; i++)
            g_thread_join (th[i]);
          double s = (double) (g_get_monotonic_time () - t0) / G_USEC_PER_SEC;
          int done = job.per_thread * threads;
          printf ("%-7s %7d %8d %10.0f\n", mode_names[mode], threads, done, done / s);
          g_free (th);
          mugai_audit_free (audit);
          if (fd >= 0)
            close (fd);
          g_mutex_clear (&lock);
        }
    }
  g_unlink (path);
  return 0;
}
