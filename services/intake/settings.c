/* settings.c — the intake variables the config table cannot check alone: the list of
 * municipalities served and the team leaders that overdue triages are escalated to. */
#include <stdlib.h>
#include <string.h>

#include "intake.h"

static int check_municipalities(const char *list, tr_error_t *err)
{
    const char *s = list;
    while (*s) {
        size_t n = strcspn(s, ",");
        if (n != 3 || strspn(s, "0123456789") < 3)
            return tr_error_set(err, TR_ECONFIG,
                                "TRIVSEL_INTAKE_MUNICIPALITIES=\"%s\" is not valid: must be "
                                "kommunekoder of 3 digits "
                                "separated by commas, e.g. 630,575",
                                list);
        s += n;
        if (*s == ',' && !*++s)
            return tr_error_set(
                err, TR_ECONFIG,
                "TRIVSEL_INTAKE_MUNICIPALITIES=\"%s\" is not valid: it ends with a comma", list);
    }
    return 0;
}

static char *dup_trimmed(const char *s, size_t n)
{
    while (n && (*s == ' ' || *s == '\t'))
        s++, n--;
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    return strndup(s, n);
}

int intake_settings_load(intake_settings_t *s, const tr_config_t *cfg, tr_error_t *err)
{
    const char *leaders = tr_config_string(cfg, "TRIVSEL_INTAKE_TEAM_LEADERS");
    s->triage_warning_ms = tr_config_duration_ms(cfg, "TRIVSEL_INTAKE_TRIAGE_WARNING");
    s->clock_skew_ms = tr_config_duration_ms(cfg, "TRIVSEL_INTAKE_CLOCK_SKEW");
    s->orientation_hverdage = (int)tr_config_int(cfg, "TRIVSEL_INTAKE_ORIENTATION_HVERDAGE");
    s->municipalities = tr_config_string(cfg, "TRIVSEL_INTAKE_MUNICIPALITIES");
    s->leaders = NULL;
    s->nleaders = 0;
    if (s->triage_warning_ms >= (int64_t)INTAKE_TRIAGE_HOURS * 3600 * 1000)
        return tr_error_set(
            err, TR_ECONFIG,
            "TRIVSEL_INTAKE_TRIAGE_WARNING=\"%s\" is not valid: must be less than the 24 hours it "
            "warns about",
            tr_config_string(cfg, "TRIVSEL_INTAKE_TRIAGE_WARNING"));
    if (check_municipalities(s->municipalities, err) < 0)
        return TR_ECONFIG;
    /* "Team=ID:Name;Team=ID:Name", "*" for every other team. */
    for (const char *p = leaders; *p;) {
        size_t n = strcspn(p, ";");
        const char *eq = memchr(p, '=', n);
        if (n == 0 || !eq) {
            size_t entry = s->nleaders + 1;
            intake_settings_release(s);
            return tr_error_set(err, TR_ECONFIG,
                                "TRIVSEL_INTAKE_TEAM_LEADERS=\"%s\" is not valid: entry %zu is not "
                                "TEAM=ID:NAME, e.g. "
                                "Modtageteamet=ABJ:Anne Bjerg;*=KLM:Karin Lund",
                                leaders, entry);
        }
        const char *id = eq + 1, *end = p + n;
        const char *colon = memchr(id, ':', (size_t)(end - id));
        intake_team_leader_t l = {.team = dup_trimmed(p, (size_t)(eq - p)),
                                  .id = dup_trimmed(id, (size_t)((colon ? colon : end) - id)),
                                  .name = colon ? dup_trimmed(colon + 1, (size_t)(end - colon - 1))
                                                : strdup("")};
        intake_team_leader_t *grown = realloc(s->leaders, (s->nleaders + 1) * sizeof *grown);
        if (!l.team || !l.id || !l.name || !grown || !l.team[0] || !l.id[0]) {
            bool empty = l.team && l.id && (!l.team[0] || !l.id[0]);
            free(l.team);
            free(l.id);
            free(l.name);
            if (grown)
                s->leaders = grown;
            intake_settings_release(s);
            return empty ? tr_error_set(err, TR_ECONFIG,
                                        "TRIVSEL_INTAKE_TEAM_LEADERS=\"%s\" is not valid: an entry "
                                        "has an empty team "
                                        "or leader id",
                                        leaders)
                         : tr_error_set(err, TR_ENOMEM, "out of memory");
        }
        if (strcmp(l.team, "*") == 0)
            l.team[0] = '\0';
        s->leaders = grown;
        s->leaders[s->nleaders++] = l;
        p += n;
        if (*p == ';')
            p++;
    }
    return 0;
}

void intake_settings_release(intake_settings_t *s)
{
    for (size_t i = 0; i < s->nleaders; i++) {
        free(s->leaders[i].team);
        free(s->leaders[i].id);
        free(s->leaders[i].name);
    }
    free(s->leaders);
    s->leaders = NULL;
    s->nleaders = 0;
}

const intake_team_leader_t *intake_settings_leader(const intake_settings_t *s, const char *team)
{
    const intake_team_leader_t *fallback = NULL;
    for (size_t i = 0; i < s->nleaders; i++) {
        if (team && team[0] && strcmp(s->leaders[i].team, team) == 0)
            return &s->leaders[i];
        if (!s->leaders[i].team[0])
            fallback = &s->leaders[i];
    }
    return fallback;
}

intake_validate_options_t intake_validate_options(const intake_t *in)
{
    return (intake_validate_options_t){.now_us = intake_now_us(),
                                       .clock_skew_us = in->settings.clock_skew_ms * 1000,
                                       .municipalities = in->settings.municipalities};
}
