/*
 * audit-verify.h - the `mugai audit` sub-command (audit-verify.c)
 */
#pragma once

/* argv[0] is "audit"; returns the exit status. */
int mugai_cmd_audit (int argc, char **argv);
