/* underretninger.h — valid, varied underretninger for the benchmarks (tests/bench/): reporters of
 * every kind, every channel, children with and without a CPR number, signals, scores, the abuse
 * flags, teams. The same index gives the same underretning, so the load generator (what it
 * publishes) and the seeder of open deadlines (what intake would have stored) draw from one
 * source, and a test can check the seeder's rows against the service's own.
 *
 * Children: index i has child i (a CPR number, or for one in ten only a name and birth date),
 * born 2010-2024, so under 18 on any day of receipt up to 2027. With repeats, about one
 * underretning in twenty concerns an earlier child instead, as a child's second underretning
 * does. Child indices below 30,000,000 give distinct CPR numbers.
 */
#ifndef BENCH_UNDERRETNINGER_H
#define BENCH_UNDERRETNINGER_H

#include <stdbool.h>
#include <stdint.h>

#include "trivsel/intake.pb-c.h"

/* One underretning: the message and the storage it points into. */
typedef struct bench_underretning {
    Trivsel__Intake__UnderretningReceived msg;
    Trivsel__Child child;
    Trivsel__Reporter reporter;
    Trivsel__Contact contact;
    Google__Protobuf__Timestamp received_at;
    Trivsel__Intake__Signal signals[3];
    Trivsel__Intake__Signal *signal_ptrs[3];
    char cpr[11], name[64], birth_date[11], reporter_name[64], email[96], source_reference[32];
} bench_underretning_t;

/* Fills *u with underretning number i, received at received_us (UTC microseconds). With
 * repeats, some concern the child of an earlier index (see above). u->msg borrows from u and
 * from static text; it needs no freeing. */
void bench_underretning_make(bench_underretning_t *u, uint64_t i, int64_t received_us, bool repeats);

#endif
