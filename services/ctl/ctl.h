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
int ctl_case(int argc, char **argv);   /* case.c: a child's case by CPR, in Danish time */
int ctl_catalogue(int argc, char **argv); /* catalogue.c: load a catalogue of offers */
int ctl_settle(int argc, char **argv);    /* settle.c: a month's settlement from trivsel-ordering */
int ctl_orders(int argc, char **argv);    /* orders.c: trivsel-ordering's orders */
int ctl_docs(int argc, char **argv);      /* docs.c: a child's trivselslineal progress */
int ctl_publish(int argc, char **argv); /* publish.c, tail.c, status.c: the broker commands */
int ctl_tail(int argc, char **argv);
int ctl_status(int argc, char **argv);

/* database.c: the database variables trivselctl reads (URL, user, password file), loaded and
 * validated; prints the error and returns NULL when one is wrong. */
tr_config_t *ctl_database_config(void);

/* database.c: a blocking connection as those variables say (the admin's), named
 * application_name in pg_stat_activity; prints the problem and returns NULL when it fails.
 * The caller closes it with PQfinish. */
typedef struct pg_conn PGconn;
PGconn *ctl_database_connect(const char *application_name);

#endif
