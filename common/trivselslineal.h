/* trivselslineal.h — KL's trivselslineal (seed 004): a score 1-10 from red to green, the level
 * of trivsel it names and the level of prevention that follows, and the six areas a børnefaglig
 * undersøgelse looks at (Barnets Lov §20, seed 003). Used by trivsel-assessment when it records
 * scores and by trivselctl when it prints them, so both name a score the same way.
 *
 *   score  level                      prevention
 *   1-2    truet trivsel              tertiær
 *   3-4    udsat trivsel              tertiær
 *   5-6    sårbar trivsel             sekundær
 *   7-8    moderat trivsel            primær
 *   9-10   i trivsel                  primær
 *
 * The level is never sent or stored as the truth: it is derived from the score here, so a score
 * and its name cannot disagree. Strings are static UTF-8: borrowed, never freed. Pure functions,
 * safe from any thread.
 */
#ifndef TR_TRIVSELSLINEAL_H
#define TR_TRIVSELSLINEAL_H

#include <stdbool.h>

#define TR_TRIVSELSLINEAL_MIN 1
#define TR_TRIVSELSLINEAL_MAX 10

typedef enum {
    TR_TRIVSEL_INVALID = 0, /* not a score: outside 1-10 */
    TR_TRIVSEL_TRUET,       /* 1-2 */
    TR_TRIVSEL_UDSAT,       /* 3-4 */
    TR_TRIVSEL_SAARBAR,     /* 5-6 */
    TR_TRIVSEL_MODERAT,     /* 7-8 */
    TR_TRIVSEL_I_TRIVSEL    /* 9-10 */
} tr_trivsel_level_t;

typedef enum {
    TR_PREVENTION_INVALID = 0, /* not a score */
    TR_PREVENTION_TERTIAER,    /* 1-4: all professions, measures under the law */
    TR_PREVENTION_SEKUNDAER,   /* 5-6 */
    TR_PREVENTION_PRIMAER      /* 7-10 */
} tr_prevention_level_t;

/* True for a score on the scale, 1-10. */
bool tr_trivselslineal_valid(int score);

tr_trivsel_level_t tr_trivselslineal_level(int score);
tr_prevention_level_t tr_trivselslineal_prevention(int score);

/* "truet trivsel", "udsat trivsel", "sårbar trivsel", "moderat trivsel", "i trivsel"; "" for a
 * score outside 1-10. */
const char *tr_trivselslineal_level_name(int score);

/* "tertiær", "sekundær", "primær"; "" for a score outside 1-10. */
const char *tr_trivselslineal_prevention_name(int score);

/* The Danish name of a trivsel.LifeArea value (proto/trivsel/common.proto): 1 "udvikling og
 * adfærd", 2 "familieforhold", 3 "skoleforhold", 4 "sundhedsforhold", 5 "fritidsforhold og
 * venskaber", 6 "andre relevante forhold" (the six areas of §20), 7 "samlet vurdering" (the
 * whole child); NULL for any other value. */
const char *tr_trivselslineal_area_name(int life_area);

#endif
