/*
 * worker.h - one worker process of the milter's pool
 *
 * DESCRIPTION
 *	mugai_worker_run() serves messages from the front on listen_fd, one
 *	at a time, until SIGUSR1 asks it to leave.  See worker.c.
 */
#pragma once

#include "policy.h"
#include "sanitize.h"

void mugai_worker_run (int listen_fd, const MugaiPolicy *policy, MugaiEngines *engines);
