/* ctl.h — trivselctl's commands. Each takes (argc, argv) with argv[0] the command name and
 * returns the exit status: 0 done, 1 failed, 2 bad usage. */
#ifndef CTL_H
#define CTL_H

#include "config.h"

typedef struct ctl_command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
} ctl_command_t;

int ctl_migrate(int argc, char **argv);
int ctl_keys(int argc, char **argv);
int ctl_audit(int argc, char **argv);
int ctl_intake(int argc, char **argv); /* intake.c: open underretninger and deadlines */
int ctl_publish(int argc, char **argv); /* publish.c, tail.c, status.c: the broker commands */
int ctl_tail(int argc, char **argv);
int ctl_status(int argc, char **argv);

/* The database variables trivselctl reads (URL, user, password file), loaded and validated;
 * prints the error and returns NULL when one is wrong. */
tr_config_t *ctl_database_config(void);

#endif
