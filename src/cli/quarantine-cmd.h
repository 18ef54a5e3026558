/*
 * quarantine-cmd.h - the `mugai quarantine` and `mugai admin` sub-commands
 *                    (quarantine-cmd.c)
 */
#pragma once

/* argv[0] is "quarantine" / "admin"; each returns the exit status. */
int mugai_cmd_quarantine (int argc, char **argv);
int mugai_cmd_admin (int argc, char **argv);
