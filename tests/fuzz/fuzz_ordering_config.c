/* fuzz_ordering_config.c — libFuzzer target: trivsel-ordering's own reading of its
 * configuration, reached as the daemon reaches it at start: tr_config_load() of ordering's
 * variable table, then its check_config() with check_list() on the principal lists.
 * services/ordering/main.c is included here, its main() renamed, for those static functions and
 * the table; the rest of services/ordering is linked.
 *
 * The input is a value (up to its first NUL). It is given to each of
 * TRIVSEL_ORDERING_CASEWORKER_SYSTEMS, TRIVSEL_ORDERING_DECISION_PUBLISHERS and
 * TRIVSEL_ORDERING_DEADLINE_POLL in turn, the other variables unset (the key files /dev/null):
 *   - a list is accepted exactly when it holds nothing but letters, digits, '_', '-', '.', and
 *     commas and spaces between the names; then the settings hold it, and ordering_listed(),
 *     which decides who may order and whose decisions count, agrees with a second matcher (a
 *     principal is listed exactly when it is one of the names between commas and spaces) for
 *     every name of the list, for near misses of them and for names that are not in it;
 *   - a DEADLINE_POLL the table takes is refused exactly when it is under 100 ms;
 *   - a refusal is TR_ECONFIG with a message naming the variable;
 *   - check_config() again on the same settings (as it is called on every configuration
 *     loaded) gives the same result, releasing the first (the leak checker sees the rest).
 */
#define main fuzz_ordering_main
#include "../../services/ordering/main.c"
#undef main

#include "fuzz.h"

#define TARGET "fuzz_ordering_config"

typedef struct setting {
    const char *name, *value;
} setting_t;

static const char *lookup(const char *name, void *arg)
{
    const setting_t *set = arg;
    if (strcmp(name, set->name) == 0)
        return set->value;
    if (strcmp(name, "TRIVSEL_BROKER_PUBLIC_KEY_FILE") == 0 ||
        strcmp(name, "TRIVSEL_CLIENT_KEY_FILE") == 0)
        return "/dev/null";
    return NULL;
}

static bool reference_list(const char *v)
{
    for (; *v; v++) {
        unsigned char c = (unsigned char)*v;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.' || c == ',' || c == ' '))
            return false;
    }
    return true;
}

/* Whether principal is one of the names of list, split at commas and spaces. */
static bool reference_listed(const char *list, const char *principal)
{
    size_t n = strlen(principal);
    const char *p = list;
    while (n > 0 && *p) {
        size_t len = 0;
        while (p[len] && p[len] != ',' && p[len] != ' ')
            len++;
        if (len == n && memcmp(p, principal, n) == 0)
            return true;
        p += len;
        if (*p)
            p++;
    }
    return false;
}

static void check_matcher(const char *list)
{
    static const char *const others[] = {"",           " ",        ",",        "fagsystem",
                                         "assessment", "ordering", "supplier1"};
    char name[600];
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
        if (ordering_listed(list, others[i]) != reference_listed(list, others[i]))
            fuzz_broken(TARGET, "\"%s\": ordering_listed(\"%s\") is %d", list, others[i],
                        ordering_listed(list, others[i]));
    }
    /* Every name of the list, and each with a letter more or less. */
    for (const char *p = list; *p;) {
        size_t len = strcspn(p, ", ");
        if (len > 0 && len < sizeof name - 2) {
            for (int variant = 0; variant < 4; variant++) {
                memcpy(name, p, len);
                size_t n = len;
                if (variant == 1)
                    n--; /* a prefix */
                if (variant == 2)
                    name[n++] = 'x'; /* longer */
                name[n] = '\0';
                const char *candidate = variant == 3 ? name + 1 : name; /* a suffix */
                bool want = reference_listed(list, candidate);
                if (variant == 0 && !want)
                    fuzz_broken(TARGET, "\"%s\": the second matcher misses \"%s\"", list, name);
                if (ordering_listed(list, candidate) != want)
                    fuzz_broken(TARGET, "\"%s\": ordering_listed(\"%s\") is %d", list, candidate,
                                !want);
            }
        }
        p += len;
        if (*p)
            p++;
    }
}

/* Loads ordering's table with name set to value, then check_config() twice. */
static void check_setting(const char *name, const char *value)
{
    setting_t set = {name, value};
    tr_config_t *cfg = NULL;
    tr_error_t err = {0};
    if (tr_config_load(vars, sizeof vars / sizeof vars[0], lookup, &set, &cfg, &err) != 0)
        return; /* the table's own rule: fuzz_config */
    service_t svc = {0};
    int rc = check_config(cfg, &svc, &err);
    tr_error_t err_again = {0};
    int rc_again = check_config(cfg, &svc, &err_again);
    if (rc != rc_again || strcmp(err.message, err_again.message) != 0)
        fuzz_broken(TARGET, "%s=\"%s\": check_config gave %d, then %d", name, value, rc, rc_again);
    const char *caseworkers = tr_config_string(cfg, "TRIVSEL_ORDERING_CASEWORKER_SYSTEMS");
    const char *publishers = tr_config_string(cfg, "TRIVSEL_ORDERING_DECISION_PUBLISHERS");
    int64_t poll_ms = tr_config_duration_ms(cfg, "TRIVSEL_ORDERING_DEADLINE_POLL");
    bool ok = reference_list(caseworkers) && reference_list(publishers) && poll_ms >= 100;

    if (rc != (ok ? 0 : TR_ECONFIG))
        fuzz_broken(TARGET, "%s=\"%s\": check_config gave %d (%s), expected %s", name, value, rc,
                    err.message, ok ? "acceptance" : "TR_ECONFIG");
    const ordering_settings_t *st = &svc.o.settings;
    if (rc != 0 && !strstr(err.message, name))
        fuzz_broken(TARGET, "%s=\"%s\": a refusal without the name: %s", name, value, err.message);
    if (rc == 0) {
        if (strcmp(st->caseworker_systems, caseworkers) ||
            strcmp(st->decision_publishers, publishers) || st->poll_ms != poll_ms)
            fuzz_broken(TARGET, "%s=\"%s\": the settings hold other values", name, value);
        check_matcher(st->caseworker_systems);
        check_matcher(st->decision_publishers);
    }
    settings_release(&svc.o.settings);
    tr_config_destroy(&cfg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *value = fuzz_cstring(data, size);
    check_setting("TRIVSEL_ORDERING_CASEWORKER_SYSTEMS", value);
    check_setting("TRIVSEL_ORDERING_DECISION_PUBLISHERS", value);
    check_setting("TRIVSEL_ORDERING_DEADLINE_POLL", value);
    free(value);
    return 0;
}
