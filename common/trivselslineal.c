#include "trivselslineal.h"

#include <stddef.h>

bool tr_trivselslineal_valid(int score)
{
    return score >= TR_TRIVSELSLINEAL_MIN && score <= TR_TRIVSELSLINEAL_MAX;
}

tr_trivsel_level_t tr_trivselslineal_level(int score)
{
    if (!tr_trivselslineal_valid(score))
        return TR_TRIVSEL_INVALID;
    /* Two steps of the scale per level: 1-2, 3-4, 5-6, 7-8, 9-10. */
    return (tr_trivsel_level_t)(TR_TRIVSEL_TRUET + (score - 1) / 2);
}

tr_prevention_level_t tr_trivselslineal_prevention(int score)
{
    if (!tr_trivselslineal_valid(score))
        return TR_PREVENTION_INVALID;
    if (score <= 4)
        return TR_PREVENTION_TERTIAER;
    if (score <= 6)
        return TR_PREVENTION_SEKUNDAER;
    return TR_PREVENTION_PRIMAER;
}

const char *tr_trivselslineal_level_name(int score)
{
    switch (tr_trivselslineal_level(score)) {
    case TR_TRIVSEL_TRUET: return "truet trivsel";
    case TR_TRIVSEL_UDSAT: return "udsat trivsel";
    case TR_TRIVSEL_SAARBAR: return "sårbar trivsel";
    case TR_TRIVSEL_MODERAT: return "moderat trivsel";
    case TR_TRIVSEL_I_TRIVSEL: return "i trivsel";
    case TR_TRIVSEL_INVALID: break;
    }
    return "";
}

const char *tr_trivselslineal_prevention_name(int score)
{
    switch (tr_trivselslineal_prevention(score)) {
    case TR_PREVENTION_TERTIAER: return "tertiær";
    case TR_PREVENTION_SEKUNDAER: return "sekundær";
    case TR_PREVENTION_PRIMAER: return "primær";
    case TR_PREVENTION_INVALID: break;
    }
    return "";
}

const char *tr_trivselslineal_area_name(int life_area)
{
    static const char *const names[] = {
        NULL,
        "udvikling og adfærd",
        "familieforhold",
        "skoleforhold",
        "sundhedsforhold",
        "fritidsforhold og venskaber",
        "andre relevante forhold",
        "samlet vurdering",
    };
    if (life_area < 1 || life_area >= (int)(sizeof names / sizeof names[0]))
        return NULL;
    return names[life_area];
}
