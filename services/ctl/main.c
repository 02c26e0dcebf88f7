/* trivselctl — the command-line client for operators and integrators. main.c dispatches to one
 * file per command group. */
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "version.h"

static const ctl_command_t commands[] = {
    {"migrate", "apply the database migrations (as the database's admin role)", ctl_migrate},
    {"keys", "key pairs and principals: new, generate, disable, enable, list", ctl_keys},
    {"audit", "verify the audit log's hash chain", ctl_audit},
    {"intake", "open underretninger and their deadlines: list [--overdue] [--due-within 6h]", ctl_intake},
    {"case", "a child's case by CPR: underretninger, investigation, scores, decisions, deadlines: show CPR", ctl_case},
    {"catalogue", "offers for trivsel-ordering's catalogue: load FILE", ctl_catalogue},
    {"settle", "a month's settlement of the orders: settle YYYY-MM [--csv DIR]", ctl_settle},
    {"orders", "trivsel-ordering's orders: list [--unaccepted]", ctl_orders},
    {"docs", "a child's trivselslineal scores per area over time: progress CPR [--svg FILE]", ctl_docs},
    {"publish", "publish one event from a JSON file and wait until it is stored", ctl_publish},
    {"tail", "print the events on a subject pattern as JSON lines", ctl_tail},
    {"status", "the broker's log position, subscriptions and clients (operators)", ctl_status},
    {"demo", "two stories played through the running system (after make run), step by step", ctl_demo},
};

static void usage(FILE *out)
{
    fprintf(out, "trivselctl %s — the trivsel command-line client\n\nusage: trivselctl COMMAND [ARGS]\n\n",
            TR_VERSION);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n  --help     this text; COMMAND --help for a command's own\n  --version  the version\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("trivselctl %s\n", TR_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    }
    fprintf(stderr, "trivselctl: unknown command \"%s\": see trivselctl --help\n", argv[1]);
    return 2;
}
