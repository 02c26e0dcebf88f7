/* trivsel-broker — wiring only: configuration, the loop, shutdown. The broker's parts live in
 * the files beside this one. */
#include "daemon.h"

int main(int argc, char **argv)
{
    tr_daemon_spec_t spec = {
        .name = "broker",
        .program = "trivsel-broker",
        .summary = "the durable event log, subscriptions, identities and permissions",
        .default_http = "0.0.0.0:9100",
    };
    return tr_daemon_main(&spec, argc, argv);
}
