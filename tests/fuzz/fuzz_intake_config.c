/* fuzz_intake_config.c — libFuzzer target: trivsel-intake's own reading of its configuration
 * (services/intake/settings.c), reached as the daemon reaches it at start: tr_config_load() of
 * intake's variable table, then its check_config(). services/intake/main.c is included here, its
 * main() renamed, for that static table and function; the rest of services/intake is linked.
 *
 * The input is a value (up to its first NUL). It is given to each of
 * TRIVSEL_INTAKE_MUNICIPALITIES, TRIVSEL_INTAKE_TEAM_LEADERS and TRIVSEL_INTAKE_TRIAGE_WARNING
 * in turn, the other variables unset (the key files /dev/null):
 *   - MUNICIPALITIES is accepted exactly when it is empty or kommunekoder of 3 digits separated
 *     by commas (an independent reading); then every one of them is served, as the checks of an
 *     underretning see it (intake_validate_underretning() names no unknown_municipality), and a
 *     kommunekode not in the list is not;
 *   - TEAM_LEADERS is accepted exactly when an independent reading of TEAM=ID:NAME;... accepts
 *     it (each entry up to ";", its parts trimmed of spaces and tabs, the name optional, a last
 *     ";" allowed, no entry, team or id empty), with the same leaders in the same order and "*"
 *     as every other team; intake_settings_leader() gives each team an entry of its own, else a
 *     "*" entry, else none;
 *   - a TRIAGE_WARNING the table takes is refused exactly when it is not less than the 24 hours
 *     it warns about, and is otherwise read as the same milliseconds;
 *   - a refusal is TR_ECONFIG with a message naming the variable, and leaves no leaders;
 *   - check_config() again on the same settings (as it is called on every configuration
 *     loaded) gives the same result, releasing the first (the leak checker sees the rest).
 */
#define main fuzz_intake_main
#include "../../services/intake/main.c"
#undef main

#include "fuzz.h"

#define TARGET "fuzz_intake_config"

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

/* 3 digits, then any number of ",DDD", or nothing at all. */
static bool reference_municipalities(const char *v)
{
    if (!v[0])
        return true;
    for (;;) {
        for (int i = 0; i < 3; i++) {
            if (v[i] < '0' || v[i] > '9')
                return false;
        }
        if (v[3] == '\0')
            return true;
        if (v[3] != ',')
            return false;
        v += 4;
    }
}

typedef struct leader {
    char *team, *id, *name;
} leader_t;

static char *trimmed(const char *s, const char *end)
{
    while (s < end && (*s == ' ' || *s == '\t'))
        s++;
    while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    char *t = fuzz_xmalloc((size_t)(end - s) + 1);
    memcpy(t, s, (size_t)(end - s));
    t[end - s] = '\0';
    return t;
}

static void free_leaders(leader_t *l, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(l[i].team);
        free(l[i].id);
        free(l[i].name);
    }
    free(l);
}

/* TEAM=ID:NAME;...: the leaders into *out (n of them), or -1. */
static int reference_leaders(const char *v, leader_t **out, size_t *n)
{
    leader_t *l = fuzz_xmalloc((strlen(v) + 1) * sizeof *l);
    size_t k = 0;
    const char *p = v;
    while (*p) {
        const char *end = strchr(p, ';');
        if (!end)
            end = p + strlen(p);
        const char *eq = memchr(p, '=', (size_t)(end - p));
        if (!eq) {
            free_leaders(l, k);
            return -1;
        }
        const char *colon = memchr(eq + 1, ':', (size_t)(end - eq - 1));
        l[k].team = trimmed(p, eq);
        l[k].id = trimmed(eq + 1, colon ? colon : end);
        l[k].name = colon ? trimmed(colon + 1, end) : trimmed(end, end);
        k++;
        if (!l[k - 1].team[0] || !l[k - 1].id[0]) {
            free_leaders(l, k);
            return -1;
        }
        if (strcmp(l[k - 1].team, "*") == 0)
            l[k - 1].team[0] = '\0';
        p = *end ? end + 1 : end;
    }
    *out = l;
    *n = k;
    return 0;
}

static bool unknown_municipality(const intake_t *in, const char *code)
{
    Trivsel__Intake__UnderretningReceived u = TRIVSEL__INTAKE__UNDERRETNING_RECEIVED__INIT;
    intake_validate_options_t o = intake_validate_options(in);
    intake_problems_t p = {0};
    bool unknown = false;
    intake_validate_underretning(&u, code, &o, &p, NULL);
    for (size_t i = 0; i < p.n; i++)
        unknown = unknown || strcmp(p.items[i]->code, "unknown_municipality") == 0;
    intake_problems_release(&p);
    return unknown;
}

static void check_municipalities(const intake_t *in, const char *list)
{
    char absent[4] = "";
    for (int c = 0; c < 1000 && !absent[0]; c++) {
        char code[4];
        snprintf(code, sizeof code, "%03d", c);
        bool listed = false;
        for (const char *p = list; *p && !listed; p += p[3] ? 4 : 3)
            listed = strncmp(p, code, 3) == 0;
        if (!listed)
            memcpy(absent, code, sizeof absent);
    }
    for (const char *p = list; *p; p += p[3] ? 4 : 3) {
        char code[4] = {p[0], p[1], p[2], '\0'};
        if (unknown_municipality(in, code))
            fuzz_broken(TARGET, "municipality %s of \"%s\" is not served", code, list);
    }
    if (absent[0] && unknown_municipality(in, absent) != (list[0] != '\0'))
        fuzz_broken(TARGET, "municipality %s is %s by \"%s\"", absent,
                    list[0] ? "served" : "not served", list);
}

static void check_leaders(const intake_settings_t *st, const char *value)
{
    leader_t *want = NULL;
    size_t n = 0;
    if (reference_leaders(value, &want, &n) != 0)
        fuzz_broken(TARGET, "TRIVSEL_INTAKE_TEAM_LEADERS=\"%s\" accepted", value);
    if (st->nleaders != n)
        fuzz_broken(TARGET, "\"%s\": %zu leaders, not %zu", value, st->nleaders, n);
    const intake_team_leader_t *fallback = NULL;
    for (size_t i = 0; i < n; i++) {
        const intake_team_leader_t *l = &st->leaders[i];
        if (strcmp(l->team, want[i].team) || strcmp(l->id, want[i].id) ||
            strcmp(l->name, want[i].name))
            fuzz_broken(TARGET,
                        "\"%s\": leader %zu is \"%s\" \"%s\" \"%s\", not \"%s\" \"%s\" "
                        "\"%s\"",
                        value, i, l->team, l->id, l->name, want[i].team, want[i].id, want[i].name);
        if (!l->team[0])
            fallback = l;
    }
    const char *teams[] = {"", "Modtageteamet", NULL};
    for (size_t i = 0; i <= n + 2; i++) {
        const char *team = i < n ? st->leaders[i].team : teams[i - n];
        const intake_team_leader_t *got = intake_settings_leader(st, team);
        bool own = false;
        for (size_t k = 0; k < n && team && team[0]; k++)
            own = own || strcmp(st->leaders[k].team, team) == 0;
        if (own ? !got || strcmp(got->team, team) != 0
                : (fallback ? !got || got->team[0] : got != NULL))
            fuzz_broken(TARGET, "\"%s\": team \"%s\" is escalated to %s", value,
                        team ? team : "(none)", got ? got->id : "nobody");
    }
    free_leaders(want, n);
}

/* Loads intake's table with name set to value, then check_config() twice. */
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
    const intake_settings_t *st = &svc.in.settings;
    bool ok = true;
    if (strcmp(name, "TRIVSEL_INTAKE_MUNICIPALITIES") == 0)
        ok = reference_municipalities(value);
    if (strcmp(name, "TRIVSEL_INTAKE_TEAM_LEADERS") == 0) {
        leader_t *l = NULL;
        size_t n = 0;
        ok = reference_leaders(value, &l, &n) == 0;
        if (ok)
            free_leaders(l, n);
    }
    int64_t warning_ms = tr_config_duration_ms(cfg, "TRIVSEL_INTAKE_TRIAGE_WARNING");
    if (strcmp(name, "TRIVSEL_INTAKE_TRIAGE_WARNING") == 0)
        ok = warning_ms < INT64_C(24) * 3600 * 1000;

    if (rc != (ok ? 0 : TR_ECONFIG))
        fuzz_broken(TARGET, "%s=\"%s\": check_config gave %d (%s), expected %s", name, value, rc,
                    err.message, ok ? "acceptance" : "TR_ECONFIG");
    if (rc != 0) {
        if (!strstr(err.message, name) || st->leaders || st->nleaders || svc.settings_loaded)
            fuzz_broken(TARGET, "%s=\"%s\": a refusal without the name, or with leaders: %s", name,
                        value, err.message);
    } else {
        if (st->triage_warning_ms != warning_ms)
            fuzz_broken(TARGET, "%s=\"%s\": a warning of %lld ms for %lld", name, value,
                        (long long)st->triage_warning_ms, (long long)warning_ms);
        if (strcmp(st->municipalities, tr_config_string(cfg, "TRIVSEL_INTAKE_MUNICIPALITIES")) != 0)
            fuzz_broken(TARGET, "%s=\"%s\": municipalities \"%s\"", name, value,
                        st->municipalities);
        check_municipalities(&svc.in, st->municipalities);
        check_leaders(st, tr_config_string(cfg, "TRIVSEL_INTAKE_TEAM_LEADERS"));
        intake_settings_release(&svc.in.settings);
    }
    tr_config_destroy(&cfg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *value = fuzz_cstring(data, size);
    check_setting("TRIVSEL_INTAKE_MUNICIPALITIES", value);
    check_setting("TRIVSEL_INTAKE_TEAM_LEADERS", value);
    check_setting("TRIVSEL_INTAKE_TRIAGE_WARNING", value);
    free(value);
    return 0;
}
