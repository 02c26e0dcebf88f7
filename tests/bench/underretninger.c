#include "underretninger.h"

#include <stdio.h>
#include <string.h>

#include "calendar.h"

/* A well-mixed 64-bit value from i (splitmix64): each choice below takes its own bits, so the
 * kinds, channels and flags vary independently of one another and of the child. */
static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static const char *const first_names[] = {"Emil", "Freja", "Noah", "Ida", "William", "Alma", "Oscar",
                                          "Clara", "Lucas", "Ella", "Karl", "Agnes", "Malthe", "Sofia"};
static const char *const last_names[] = {"Hansen", "Nielsen", "Jensen", "Pedersen", "Andersen",
                                         "Christensen", "Larsen", "Sørensen", "Rasmussen", "Jørgensen"};
static const char *const concerns[] = {
    "Barnet virker utrygt, har hyppigt fravær og kommer ofte uden madpakke.",
    "Barnet har blå mærker på overarmene og vil ikke fortælle, hvordan det er sket.",
    "Barnet fortæller, at der ofte er råb og skænderier derhjemme om aftenen.",
    "Barnet falder i søvn i timerne og er tit uvasket og i for tyndt tøj.",
    "Den unge har trukket sig fra vennerne og har talt om ikke at ville leve.",
    "Forældrene virker påvirkede ved afhentning i daginstitutionen.",
};
static const struct {
    Trivsel__Intake__SignalCategory category;
    const char *description;
} signal_texts[] = {
    {TRIVSEL__INTAKE__SIGNAL_CATEGORY__SIGNAL_CATEGORY_BEHAVIOURAL, "Hyppigt fravær"},
    {TRIVSEL__INTAKE__SIGNAL_CATEGORY__SIGNAL_CATEGORY_PHYSICAL, "Blå mærker på overarmene"},
    {TRIVSEL__INTAKE__SIGNAL_CATEGORY__SIGNAL_CATEGORY_PSYCHOLOGICAL, "Virker trist og ensom"},
    {TRIVSEL__INTAKE__SIGNAL_CATEGORY__SIGNAL_CATEGORY_GENERAL, "Pludselig ændret adfærd"},
    {TRIVSEL__INTAKE__SIGNAL_CATEGORY__SIGNAL_CATEGORY_PHYSICAL, "Spiser meget lidt"},
};
static const char *const teams[] = {"Modtageteamet", "Modtageteamet", "Modtageteamet", "Børneteamet", "Ungeteamet"};
static const struct {
    const char *organisation, *role;
} employers[] = {
    {"Vejen Skole", "klasselærer"},
    {"Sundhedsplejen", "sundhedsplejerske"},
    {"Børnehuset Mælkebøtten", "pædagog"},
    {"Sydøstjyllands Politi", "politiassistent"},
};

#define N(a) (sizeof(a) / sizeof(a)[0])

void bench_underretning_make(bench_underretning_t *u, uint64_t i, int64_t received_us, bool repeats)
{
    uint64_t h = mix(i);
    memset(u, 0, sizeof *u);
    trivsel__intake__underretning_received__init(&u->msg);
    trivsel__child__init(&u->child);
    trivsel__reporter__init(&u->reporter);
    trivsel__contact__init(&u->contact);
    google__protobuf__timestamp__init(&u->received_at);

    /* The child: one in ten without a CPR number, found by name and birth date. Those get two
     * first names, and a name and birth date of their own, so no child without the number is
     * taken for another child (with or without it): the name and date are a function of the
     * child's index that repeats only after 9.9 million. The others get the CPR number
     * DDMMYY-SSSS of their index, with a serial of 4000-9999 (7th digit 4-9: born in the 2000s
     * for these years). */
    uint64_t c = i;
    if (repeats && i > 50 && (h & 0xff) < 13)
        c = i - 1 - (h >> 8) % 50;
    uint64_t hc = mix(c ^ 0x5eed);
    if ((hc >> 20) % 10 == 0) {
        uint64_t n = c / 5475;
        tr_date_t born = tr_calendar_add_days((tr_date_t){2010, 1, 1}, (int64_t)(c % 5475));
        size_t first = n % N(first_names), q = n / N(first_names);
        snprintf(u->name, sizeof u->name, "%s %s %s", first_names[first],
                 first_names[(first + 1 + q % (N(first_names) - 1)) % N(first_names)],
                 last_names[q / (N(first_names) - 1) % N(last_names)]);
        tr_calendar_format_date(born, u->birth_date);
        u->child.birth_date = u->birth_date;
    } else {
        int year = 2010 + (int)(c % 15), month = 1 + (int)(c / 15 % 12), day = 1 + (int)(c / 180 % 28);
        int serial = 4000 + (int)(c / 5040 % 6000);
        snprintf(u->name, sizeof u->name, "%s %s", first_names[hc % N(first_names)],
                 last_names[hc / 16 % N(last_names)]);
        snprintf(u->cpr, sizeof u->cpr, "%02d%02d%02d%04d", day, month, year % 100, serial);
        u->child.cpr = u->cpr;
    }
    u->child.name = u->name;
    u->msg.child = &u->child;

    /* The reporter: a public employee, another professional, a citizen or anonymous. */
    unsigned kind = (unsigned)(h >> 12) % 20;
    u->reporter.kind = kind < 9    ? TRIVSEL__REPORTER_KIND__REPORTER_KIND_PUBLIC_EMPLOYEE
                       : kind < 11 ? TRIVSEL__REPORTER_KIND__REPORTER_KIND_OTHER_PROFESSIONAL
                       : kind < 16 ? TRIVSEL__REPORTER_KIND__REPORTER_KIND_PRIVATE_CITIZEN
                                   : TRIVSEL__REPORTER_KIND__REPORTER_KIND_ANONYMOUS;
    if (u->reporter.kind != TRIVSEL__REPORTER_KIND__REPORTER_KIND_ANONYMOUS) {
        snprintf(u->reporter_name, sizeof u->reporter_name, "%s %s", first_names[(h >> 17) % N(first_names)],
                 last_names[(h >> 21) % N(last_names)]);
        u->reporter.name = u->reporter_name;
        if (u->reporter.kind == TRIVSEL__REPORTER_KIND__REPORTER_KIND_PUBLIC_EMPLOYEE) {
            u->reporter.organisation = (char *)employers[(h >> 25) % N(employers)].organisation;
            u->reporter.role = (char *)employers[(h >> 25) % N(employers)].role;
        }
        if ((h >> 27) & 1) {
            snprintf(u->email, sizeof u->email, "reporter-%llu@example.dk", (unsigned long long)i);
            u->contact.email = u->email;
        } else {
            u->contact.phone = "+45 20 30 40 50";
        }
        u->reporter.contact = &u->contact;
    }
    u->msg.reporter = &u->reporter;

    u->received_at.seconds = received_us / 1000000;
    u->received_at.nanos = (int32_t)(received_us % 1000000) * 1000;
    u->msg.received_at = &u->received_at;
    static const Trivsel__Intake__Channel channels[] = {
        TRIVSEL__INTAKE__CHANNEL__CHANNEL_DIGITAL_FORM, TRIVSEL__INTAKE__CHANNEL__CHANNEL_DIGITAL_FORM,
        TRIVSEL__INTAKE__CHANNEL__CHANNEL_DIGITAL_FORM, TRIVSEL__INTAKE__CHANNEL__CHANNEL_EMAIL,
        TRIVSEL__INTAKE__CHANNEL__CHANNEL_PHONE,        TRIVSEL__INTAKE__CHANNEL__CHANNEL_LETTER,
        TRIVSEL__INTAKE__CHANNEL__CHANNEL_IN_PERSON,
    };
    u->msg.channel = channels[(h >> 28) % N(channels)];
    u->msg.concern = (char *)concerns[(h >> 31) % N(concerns)];
    size_t nsignals = (h >> 34) % 4;
    for (size_t k = 0; k < nsignals; k++) {
        trivsel__intake__signal__init(&u->signals[k]);
        size_t t = (size_t)((h >> 36) + k) % N(signal_texts);
        u->signals[k].category = signal_texts[t].category;
        u->signals[k].description = (char *)signal_texts[t].description;
        u->signal_ptrs[k] = &u->signals[k];
    }
    u->msg.signals = u->signal_ptrs;
    u->msg.n_signals = nsignals;
    if ((h >> 39) % 10 < 7) {
        u->msg.reporter_score_present_case =
            TRIVSEL__INTAKE__UNDERRETNING_RECEIVED__REPORTER_SCORE_PRESENT_REPORTER_SCORE;
        u->msg.reporter_score = 1 + (uint32_t)((h >> 43) % 10);
    }
    if ((h >> 47) & 1) {
        u->msg.parents_informed_present_case =
            TRIVSEL__INTAKE__UNDERRETNING_RECEIVED__PARENTS_INFORMED_PRESENT_PARENTS_INFORMED;
        u->msg.parents_informed = (h >> 48) & 1;
    }
    /* Violence or sexual abuse suspected in about one in fifteen; the parents in half of those. */
    unsigned abuse = (unsigned)(h >> 49) % 30;
    u->msg.violence_suspected = abuse < 2;
    u->msg.sexual_abuse_suspected = abuse == 1;
    u->msg.parents_suspected = abuse < 2 && ((h >> 55) & 1);
    snprintf(u->source_reference, sizeof u->source_reference, "BENCH-%llu", (unsigned long long)i);
    u->msg.source_reference = u->source_reference;
    u->msg.team = (char *)teams[(h >> 57) % N(teams)];
}
