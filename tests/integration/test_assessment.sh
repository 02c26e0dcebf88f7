#!/usr/bin/env bash
# trivsel-assessment against a real broker and PostgreSQL (issue 5, item 7): investigations
# opened from a triage and for every abuse case, due 4 months after awareness (31 October ->
# 28/29 February), due soon / overdue once each; trivselslineal scores and their level names;
# the børnesamtale; the casework phases (refusals with their reasons); decisions with the appeal
# deadline moved off 24 December, barnets plan and the follow-up; deadlines fired exactly once
# across a restart and with two instances; and `trivselctl case show`.
#
# intake is not running: the test publishes intake.underretning.registered as the intake
# principal and intake.triage.completed as the case system, as those would.
. tests/integration/lib.sh
migrate >/dev/null
start_broker
keys_new intake --kind service
keys_new assessment --kind service
keys_new casesys --kind system --publish 'intake.triage.completed' --publish 'assessment.>' --subscribe 'assessment.>'

start_assessment() {
    start_daemon assessment TRIVSEL_CLIENT_KEY_FILE="$T/keys/assessment.key" TRIVSEL_ASSESSMENT_DEADLINE_POLL=2s "$@"
    ASSESSMENT_PID=$LAST_PID
}
start_assessment
daemon_port assessment
check "trivsel-assessment becomes ready" wait_ready "$HTTP_PORT_assessment"

# pub NAME SUBJECT EVENT_ID CASE: publishes the JSON on standard input as NAME in kommune 575.
pub() {
    cat >"$T/event.json"
    TRIVSEL_CLIENT_KEY_FILE="$T/keys/$1.key" "$BIN/trivselctl" publish "$2" "$T/event.json" --municipality 575 \
        --event-id "$3" --correlation-id "$4" --timeout 10s >/dev/null || echo "# publish $3 failed"
}
# sql_settled QUERY EXPECTED: polls until the query prints EXPECTED (10 s), then prints what it got.
sql_settled() {
    local got i
    for ((i = 0; i < 100; i++)); do
        got=$(sql "$1")
        [ "$got" == "$2" ] && break
        sleep 0.1
    done
    printf '%s' "$got"
}
# handled EVENT_ID: waits until assessment has handled it; prints "applied" or "refused: CODES".
handled() {
    if [ "$(sql_settled "SELECT count(*) FROM assessment.handled_event WHERE event_id = '$1'" 1)" != 1 ]; then
        echo "not handled"
        return
    fi
    local codes
    codes=$(sql "SELECT string_agg(p->>'code', ',' ORDER BY ord) FROM assessment.refused_event r,
                 jsonb_array_elements(r.problems) WITH ORDINALITY AS x(p, ord) WHERE r.event_id = '$1'")
    if [ -n "$codes" ]; then echo "refused: $codes"; else echo applied; fi
}
# problem EVENT_ID: the first problem's message of a refused event.
problem() { sql "SELECT problems->0->>'problem' FROM assessment.refused_event WHERE event_id = '$1'"; }
# events PATTERN N: the first N events on PATTERN, as JSON lines.
events() {
    TRIVSEL_CLIENT_KEY_FILE="$T/keys/ops.key" "$BIN/trivselctl" tail "$1" --from-start --count "$2" --timeout 10s
}
# field NAME < JSON: the first string value of "NAME".
field() { grep -o "\"$1\":\"[^\"]*\"" | head -n 1 | sed 's/^"[^"]*":"\(.*\)"$/\1/'; }
count_events() { sql "SELECT count(*) FROM broker.event WHERE subject = '$1' AND correlation_id = '$2'"; }

today=$(TZ=Europe/Copenhagen date +%F)
now_utc() { date -u -d "${1:-now}" +%Y-%m-%dT%H:%M:%SZ; }

# --- case A: an underretning received on 31 October 2023, triaged to a børnefaglig undersøgelse
pub intake intake.underretning.registered a-reg case-a <<'J'
{"underretningId": "u-a1", "caseId": "case-a", "newCase": true,
 "child": {"cpr": "0803174127", "name": "Emil Nørgaard Jensen", "birthDate": "2017-03-08"},
 "reporterKind": "REPORTER_KIND_PUBLIC_EMPLOYEE", "receivedAt": "2023-10-31T09:00:00Z",
 "underretningerLast12Months": 1, "team": "Modtageteamet"}
J
check_eq "an underretning registered by intake is taken" "$(handled a-reg)" applied
check_eq "... and opens no investigation by itself (not an abuse case)" \
    "$(sql "SELECT count(*) FROM assessment.investigation WHERE case_id = 'case-a'")" 0
pub casesys intake.triage.completed a-tri case-a <<'J'
{"underretningId": "u-a1", "caseId": "case-a", "childInDanger": false, "acuteMeasuresNeeded": false,
 "outcome": "TRIAGE_OUTCOME_BOERNEFAGLIG_UNDERSOEGELSE", "triagedAt": "2023-10-31T14:00:00Z",
 "triagedBy": {"id": "ABJ", "name": "Anne Bjerg", "team": "Modtageteamet"}}
J
check_eq "the triage's outcome børnefaglig undersøgelse opens an investigation" "$(handled a-tri)" applied
opened_a=$(events assessment.investigation.opened 1)
inv_a=$(field investigationId <<<"$opened_a")
check_eq "assessment.investigation.opened: received 31 October 2023, due on 29 February 2024" \
    "$(field dueDate <<<"$opened_a") $(field awareAt <<<"$opened_a") $(field underretningId <<<"$opened_a")" \
    "2024-02-29 2023-10-31T09:00:00Z u-a1"
check "... with the triaging caseworker and the child" \
    grep -qF '"caseworker":{"id":"ABJ","name":"Anne Bjerg","team":"Modtageteamet"}' <<<"$opened_a"
check_eq "... and the case is in phase 'informed' (sagen oplyses)" \
    "$(sql "SELECT phase FROM assessment.sag WHERE case_id = 'case-a'")" informed
overdue_a=$(sql_settled "SELECT count(*) FROM broker.event WHERE subject = 'assessment.investigation.overdue'
                      AND correlation_id = 'case-a'" 1)
check_eq "4 months passed long ago: assessment.investigation.overdue at once, once" "$overdue_a" 1
ev=$(events assessment.investigation.overdue 1)
check "... requiring a foreløbig vurdering" grep -qF '"foreloebigVurderingRequired":true' <<<"$ev"
check_eq "... for the investigation, due 2024-02-29, occurred at the end of that day (Danish time)" \
    "$(field investigationId <<<"$ev") $(field dueDate <<<"$ev") $(field occurredAt <<<"$ev")" \
    "$inv_a 2024-02-29 2024-02-29T23:00:00Z"
check_eq "... and no due_soon after the fact (closed as superseded)" \
    "$(count_events assessment.investigation.due_soon case-a):$(sql "SELECT closed_reason FROM assessment.deadline
       WHERE investigation_id = '$inv_a' AND kind = 'investigation_due_soon'")" "0:superseded"

# --- case B: an abuse case received on 31 October 2024: opened at registration, due 28 February
pub intake intake.underretning.registered b-reg case-b <<'J'
{"underretningId": "u-b1", "caseId": "case-b", "child": {"cpr": "2104158123", "name": "Sofie Holm", "birthDate": "2015-04-21"},
 "reporterKind": "REPORTER_KIND_PUBLIC_EMPLOYEE", "receivedAt": "2024-10-31T10:00:00Z", "abuseCase": true,
 "parentsSuspected": true, "team": "Børneteamet"}
J
check_eq "an abuse case opens its investigation at registration, before any triage" "$(handled b-reg)" applied
ev=$(events assessment.investigation.opened 2 | sed -n 2p)
inv_b=$(field investigationId <<<"$ev")
check_eq "... received 31 October 2024, due on 28 February 2025" "$(field dueDate <<<"$ev")" 2025-02-28
check "... carrying the abuse flags" grep -qF '"abuseCase":true,"parentsSuspected":true' <<<"$ev"
check_eq "... opened because of the abuse case" \
    "$(sql "SELECT opened_because FROM assessment.investigation WHERE investigation_id = '$inv_b'")" abuse_case
# The abuse case's rules for the triage, as trivsel-intake applies them (Barnets Lov §137, §20):
# a triage that does not confirm the parents were not told, without a plan for the børnesamtale
# and without the mandatory investigation is refused here too, and recorded nowhere.
pub casesys intake.triage.completed b-tri0 case-b <<'J'
{"underretningId": "u-b1", "caseId": "case-b", "childInDanger": true, "acuteMeasuresNeeded": false,
 "outcome": "TRIAGE_OUTCOME_AFDAEKNING", "triagedAt": "2024-10-31T14:00:00Z",
 "triagedBy": {"id": "KLM", "name": "Karin Lund"}}
J
check_eq "an abuse case's triage without the parents kept out, the plan and the investigation is refused" \
    "$(handled b-tri0)" "refused: missing_boernesamtale_plan,parents_not_told_unconfirmed,investigation_required"
check_eq "... naming the parents" "$(sql "SELECT problems->1->>'problem' FROM assessment.refused_event WHERE event_id = 'b-tri0'")" \
    "the parents may be the abusers: the triage must confirm that they were not told (parents_not_told, Barnets Lov §137)"
check_eq "... and is not recorded as the triage" \
    "$(sql "SELECT count(*) FROM assessment.underretning WHERE underretning_id = 'u-b1' AND triage_event_id IS NOT NULL")" 0
pub casesys intake.triage.completed b-tri case-b <<'J'
{"underretningId": "u-b1", "caseId": "case-b", "childInDanger": true, "acuteMeasuresNeeded": false,
 "outcome": "TRIAGE_OUTCOME_BOERNEFAGLIG_UNDERSOEGELSE", "triagedAt": "2024-10-31T15:00:00Z",
 "triagedBy": {"id": "KLM", "name": "Karin Lund"}, "boernesamtalePlan": "Børnehuset", "parentsNotTold": true}
J
check_eq "its triage opens no second investigation" \
    "$(handled b-tri):$(sql "SELECT count(*) FROM assessment.investigation WHERE case_id = 'case-b'")" "applied:1"
check_eq "... and its caseworker becomes the investigation's" \
    "$(sql "SELECT caseworker_id || ' ' || team FROM assessment.investigation WHERE investigation_id = '$inv_b'")" \
    "KLM Børneteamet"

# --- who may say what -------------------------------------------------------------------------
pub fagsystem intake.underretning.registered x-reg case-x <<'J'
{"underretningId": "u-x1", "caseId": "case-x", "receivedAt": "2024-01-01T10:00:00Z", "abuseCase": true}
J
check_eq "intake.underretning.registered from anyone but intake is refused" "$(handled x-reg)" "refused: not_from_intake"
check_eq "... and changes nothing" "$(sql "SELECT count(*) FROM assessment.sag WHERE case_id = 'case-x'")" 0
pub casesys intake.triage.completed x-tri case-x <<'J'
{"underretningId": "u-nowhere", "outcome": "TRIAGE_OUTCOME_BOERNEFAGLIG_UNDERSOEGELSE", "triagedAt": "2024-01-01T10:00:00Z"}
J
check_eq "a triage of an unknown underretning is refused" "$(handled x-tri)" "refused: unknown_underretning"

# --- scores: the trivselslineal per area, every score kept ---------------------------------------
pub casesys assessment.score.recorded a-s1 case-a <<J
{"caseId": "case-a", "investigationId": "$inv_a", "assessedAt": "2023-11-20T09:00:00Z",
 "assessedBy": {"id": "ABJ", "name": "Anne Bjerg"},
 "scores": [
  {"area": "LIFE_AREA_DEVELOPMENT_AND_BEHAVIOUR", "score": 3, "observations": "Trækker sig i frikvartererne",
   "riskFactors": ["Hyppigt fravær", "Søvnbesvær"], "protectiveFactors": ["Tæt ven i klassen"]},
  {"area": "LIFE_AREA_FAMILY", "score": 2},
  {"area": "LIFE_AREA_SCHOOL", "score": 5},
  {"area": "LIFE_AREA_HEALTH", "score": 7},
  {"area": "LIFE_AREA_LEISURE_AND_FRIENDSHIPS", "score": 9},
  {"area": "LIFE_AREA_OTHER", "score": 10}]}
J
check_eq "scores for the six areas are recorded" "$(handled a-s1)" applied
pub casesys assessment.score.recorded a-s2 case-a <<'J'
{"caseId": "case-a", "assessedAt": "2024-02-01T09:00:00Z",
 "scores": [{"area": "LIFE_AREA_DEVELOPMENT_AND_BEHAVIOUR", "score": 6}]}
J
check_eq "a later score of one area is recorded too" "$(handled a-s2)" applied
check_eq "... and the area's series holds both, in time order" \
    "$(sql "SELECT string_agg(score::text, ',' ORDER BY assessed_at) FROM assessment.score
            WHERE case_id = 'case-a' AND area = 'LIFE_AREA_DEVELOPMENT_AND_BEHAVIOUR'")" "3,6"
check_eq "... with observations, risk and protective factors" \
    "$(sql "SELECT observations || '|' || array_to_string(risk_factors, ';') || '|' || array_to_string(protective_factors, ';')
            FROM assessment.score WHERE event_id = 'a-s1' AND area = 'LIFE_AREA_DEVELOPMENT_AND_BEHAVIOUR'")" \
    "Trækker sig i frikvartererne|Hyppigt fravær;Søvnbesvær|Tæt ven i klassen"
pub casesys assessment.score.recorded a-s3 case-a <<'J'
{"caseId": "case-a", "assessedAt": "2024-02-01T09:00:00Z",
 "scores": [{"area": "LIFE_AREA_FAMILY", "score": 11}, {"area": "LIFE_AREA_FAMILY", "score": 4}, {"score": 4}]}
J
check_eq "a score of 11, an area scored twice and a missing area are refused, each named" "$(handled a-s3)" \
    "refused: invalid_score,duplicate_area,invalid_area"
check_eq "... with a message a caseworker can act on" "$(problem a-s3)" "invalid trivselslineal score 11: must be 1-10"
check_eq "... and no score of that event is kept" "$(sql "SELECT count(*) FROM assessment.score WHERE event_id = 'a-s3'")" 0

# --- phases: a decision waits for the conclusion, the conclusion for the child's view -----------
decision() { # ID CASE NOTIFIED_AT [INVESTIGATION]
    cat <<J
{"decisionId": "$1", "caseId": "$2", "investigationId": "${4:-}", "kind": "DECISION_KIND_GRANT",
 "measures": [{"legalBasis": "LEGAL_BASIS_BARNETS_LOV_32_STK_1_NR_5", "description": "Familiebehandling 4 timer om ugen",
               "purpose": "Styrke forældrenes omsorg", "expectedDurationMonths": 6, "startDate": "${5:-2025-12-01}"}],
 "reasons": "Undersøgelsen viser behov for støtte", "decidedAt": "$3", "decidedBy": {"id": "ABJ", "name": "Anne Bjerg"},
 "partshoeringDoneAt": "2025-11-20T09:00:00Z", "notifiedAt": "$3", "klagevejledningGiven": true}
J
}
refused_before=$(sql "SELECT count(*) FROM broker.event WHERE subject = 'assessment.event.refused'")
decision d-a1 case-a 2025-11-26T10:00:00Z "$inv_a" | pub casesys assessment.decision.made a-d0 case-a
check_eq "a decision before the investigation is concluded is refused" "$(handled a-d0)" \
    "refused: investigation_not_concluded"
check_eq "... saying why" "$(problem a-d0)" \
    "the børnefaglig undersøgelse $inv_a is not concluded (phase: sagen oplyses): a decision must wait for its conclusion unless the triage found acute measures needed"
check_eq "... and one assessment.event.refused is published for it" \
    "$(sql_settled "SELECT count(*) FROM broker.event WHERE subject = 'assessment.event.refused'" $((refused_before + 1)))" \
    $((refused_before + 1))
ev=$(events assessment.event.refused $((refused_before + 1)) | grep -F '"refusedEventId":"a-d0"')
check_eq "... exactly one, naming the refused event, its subject, publisher and case" \
    "$(grep -c . <<<"$ev") $(field refusedSubject <<<"$ev") $(field refusedPublisher <<<"$ev") $(field caseId <<<"$ev")" \
    "1 assessment.decision.made casesys case-a"
check_eq "... with the reason" \
    "$(field field <<<"$ev")|$(field code <<<"$ev")|$(field problem <<<"$ev")" \
    "investigation_id|investigation_not_concluded|the børnefaglig undersøgelse $inv_a is not concluded (phase: sagen oplyses): a decision must wait for its conclusion unless the triage found acute measures needed"
check_eq "... in the case's phase" "$(field phase <<<"$ev")" CASE_PHASE_INFORMED
conclusion() { # INVESTIGATION CASE [FORELOEBIG_AT]
    printf '{"investigationId": "%s", "caseId": "%s", "concludedAt": "2024-03-05T13:00:00Z",
             "concludedBy": {"id": "ABJ"}, "outcome": "CONCLUSION_SUPPORT_NEEDED",
             "conclusion": "Barnet har brug for støtte", "siblingsConsidered": true%s}' "$1" "$2" \
        "${3:+, \"foreloebigVurderingAt\": \"$3\"}"
}
conclusion "$inv_a" case-a 2024-02-28T12:00:00Z | pub casesys assessment.investigation.concluded a-c0 case-a
check_eq "no investigation concludes without a børnesamtale or the reason it was not held" "$(handled a-c0)" \
    "refused: child_conversation_missing"
pub casesys assessment.child_conversation.recorded a-cc case-a <<J
{"caseId": "case-a", "investigationId": "$inv_a", "notHeldReason": "Barnet ønskede ikke at tale med os",
 "recordedBy": {"id": "ABJ"}}
J
check_eq "the reason a børnesamtale was not held is recorded" "$(handled a-cc)" applied
conclusion "$inv_a" case-a | pub casesys assessment.investigation.concluded a-c1 case-a
check_eq "concluded after its due date without a foreløbig vurdering: refused" "$(handled a-c1)" \
    "refused: foreloebig_vurdering_missing"
conclusion "$inv_a" case-a 2024-02-28T12:00:00Z | pub casesys assessment.investigation.concluded a-c2 case-a
check_eq "... and with one it concludes" "$(handled a-c2)" applied
check_eq "... the case is in phase 'considered' (sagen overvejes)" \
    "$(sql "SELECT phase FROM assessment.sag WHERE case_id = 'case-a'")" considered
pub casesys assessment.child_conversation.recorded a-cc2 case-a <<J
{"caseId": "case-a", "investigationId": "$inv_a", "notHeldReason": "for sent"}
J
check_eq "a børnesamtale for a concluded investigation does not fit the phase" "$(handled a-cc2)" \
    "refused: investigation_concluded"

# --- the decision: appeal deadline 4 weeks after notification, off 24 December ---------------------
decision d-a1 case-a 2025-11-26T10:00:00Z "$inv_a" | pub casesys assessment.decision.made a-d1 case-a
check_eq "after the conclusion the decision is registered" "$(handled a-d1)" applied
ev=$(events assessment.decision.registered 1)
check_eq "notified Wednesday 26 November 2025: 4 weeks is 24 December, moved past Christmas to Monday 29 December" \
    "$(field appealDeadline <<<"$ev")" 2025-12-29
check_eq "... barnets plan (§32 measure) due 3 months after the decision, first follow-up 3 months after the start" \
    "$(field planDueDate <<<"$ev") $(field firstFollowupDueDate <<<"$ev")" "2026-02-26 2026-03-01"
check "... with the measure, its legal basis and purpose" \
    grep -qF '"legalBasis":"LEGAL_BASIS_BARNETS_LOV_32_STK_1_NR_5","description":"Familiebehandling 4 timer om ugen","purpose":"Styrke forældrenes omsorg","expectedDurationMonths":6,"startDate":"2025-12-01"' <<<"$ev"
check_eq "... the case is in phase 'decided'" "$(sql "SELECT phase FROM assessment.sag WHERE case_id = 'case-a'")" decided
check_eq "the plan and the first follow-up passed long ago: plan.overdue and followup.overdue, once each" \
    "$(sql_settled "SELECT count(*) FROM broker.event WHERE subject IN ('assessment.plan.overdue', 'assessment.followup.overdue')
                  AND correlation_id = 'case-a'" 2)" 2
ev=$(events assessment.followup.overdue 1)
check_eq "... the follow-up is the first, due 2026-03-01" \
    "$(field decisionId <<<"$ev") $(field followupDueDate <<<"$ev") $(grep -o '"firstFollowup":true' <<<"$ev")" \
    'd-a1 2026-03-01 "firstFollowup":true'
check_eq "the appeal deadline passed long ago: assessment.appeal.expired at once, once" \
    "$(sql_settled "SELECT count(*) FROM broker.event WHERE subject = 'assessment.appeal.expired' AND correlation_id = 'case-a'" 1)" 1
ev=$(events assessment.appeal.expired 1)
check_eq "... for decision d-a1, deadline 2025-12-29, occurred at the end of that day (Danish time)" \
    "$(field decisionId <<<"$ev") $(field caseId <<<"$ev") $(field appealDeadline <<<"$ev") $(field occurredAt <<<"$ev")" \
    "d-a1 case-a 2025-12-29 2025-12-29T23:00:00Z"
check_eq "... and no appeal.due or plan.due after the fact (closed as superseded)" \
    "$(count_events assessment.appeal.due case-a):$(count_events assessment.plan.due case-a):$(sql "SELECT string_agg(kind || '=' || closed_reason, ',' ORDER BY kind)
       FROM assessment.deadline WHERE decision_id = 'd-a1' AND kind IN ('appeal_due', 'plan_due')")" \
    "0:0:appeal_due=superseded,plan_due=superseded"
decision d-a1 case-a 2025-11-26T10:00:00Z | pub casesys assessment.decision.made a-d2 case-a
check_eq "the same decision again is refused" "$(handled a-d2)" "refused: decision_exists"
pub casesys assessment.decision.made a-d3 case-a <<'J'
{"decisionId": "d-a3", "caseId": "case-a", "kind": "DECISION_KIND_GRANT",
 "measures": [{"legalBasis": "LEGAL_BASIS_BARNETS_LOV_104_105", "expectedDurationMonths": 3, "startDate": "2025-12-01"}],
 "decidedAt": "2025-11-26T10:00:00Z", "partshoeringDoneAt": "2025-11-27T09:00:00Z", "notifiedAt": "2025-11-26T10:00:00Z"}
J
check_eq "partshøring after the decision, no klagevejledning and no purpose: refused, each named" "$(handled a-d3)" \
    "refused: partshoering_after_decision,klagevejledning_missing,missing_field"

# --- case B: the abuse case's børnesamtale must be held without the parents ---------------------
conversation_b() { # PARENTS_PRESENT
    printf '{"caseId": "case-b", "investigationId": "%s", "held": {"heldAt": "2024-11-05T09:00:00Z",
      "heldBy": [{"id": "KLM", "name": "Karin Lund"}], "parentsPresent": %s, "atBoernehus": true,
      "childView": "Jeg er bange derhjemme"}}' "$inv_b" "$1"
}
conversation_b true | pub casesys assessment.child_conversation.recorded b-cc1 case-b
check_eq "abuse case, parents suspected: a børnesamtale with the parents present is refused" "$(handled b-cc1)" \
    "refused: parents_present_in_abuse_case"
pub casesys assessment.child_conversation.recorded b-cc2 case-b <<J
{"caseId": "case-b", "investigationId": "$inv_b", "notHeldReason": "Barnet var syg"}
J
check_eq "... a reason it was not held is recorded" "$(handled b-cc2)" applied
conclusion "$inv_b" case-b 2025-02-20T12:00:00Z | sed 's/2024-03-05T13/2025-03-05T13/' |
    pub casesys assessment.investigation.concluded b-c1 case-b
check_eq "... but does not let the abuse case's investigation conclude" "$(handled b-c1)" \
    "refused: boernesamtale_without_parents_missing"
conversation_b false | pub casesys assessment.child_conversation.recorded b-cc3 case-b
check_eq "... held without the parents it is recorded" "$(handled b-cc3)" applied
conclusion "$inv_b" case-b 2025-02-20T12:00:00Z | sed 's/2024-03-05T13/2025-03-05T13/' |
    pub casesys assessment.investigation.concluded b-c2 case-b
check_eq "... and the investigation concludes" "$(handled b-c2)" applied
decision d-b1 case-b 2025-11-26T10:00:00Z "$inv_b" | pub casesys assessment.decision.made b-d1 case-b
handled b-d1 >/dev/null
pub casesys assessment.plan.recorded b-p1 case-b <<'J'
{"planId": "p-b1", "caseId": "case-b", "decisionId": "d-b1", "recordedAt": "2025-12-10T09:00:00Z",
 "goals": [{"goal": "Trygge rammer", "subGoals": ["Fast voksen"], "area": "LIFE_AREA_FAMILY"}],
 "childInvolved": true, "parentsInvolved": true}
J
check_eq "... and barnets plan may not involve the suspected parents" "$(handled b-p1)" \
    "refused: parents_involved_in_abuse_case"

# --- case C: due soon, then a plan and a follow-up -----------------------------------------------
# The due date 7-10 days ahead (a day of the month up to 28, so every way of adding months agrees).
due_c=$(TZ=Europe/Copenhagen date -d "$today +10 days" +%F)
day=$((10#${due_c:8:2}))
[ "$day" -gt 28 ] && due_c=$(date -d "$due_c -$((day - 28)) days" +%F)
received_c=$(TZ=Europe/Copenhagen date -u -d "TZ=\"Europe/Copenhagen\" $(date -d "$due_c -4 months" +%F) 12:00" +%Y-%m-%dT%H:%M:%SZ)
pub intake intake.underretning.registered c-reg case-c <<J
{"underretningId": "u-c1", "caseId": "case-c", "child": {"cpr": "1512109996"}, "receivedAt": "$received_c", "team": "Ungeteamet"}
J
pub casesys intake.triage.completed c-tri case-c <<J
{"underretningId": "u-c1", "outcome": "TRIAGE_OUTCOME_BOERNEFAGLIG_UNDERSOEGELSE", "triagedAt": "$received_c",
 "childInDanger": false, "acuteMeasuresNeeded": false}
J
handled c-tri >/dev/null
check_eq "within 14 days of the due date: assessment.investigation.due_soon at once" \
    "$(sql_settled "SELECT count(*) FROM broker.event WHERE subject = 'assessment.investigation.due_soon' AND correlation_id = 'case-c'" 1)" 1
ev=$(events assessment.investigation.due_soon 1)
check_eq "... naming the due date" "$(field dueDate <<<"$ev")" "$due_c"
check_eq "... and no overdue yet" "$(count_events assessment.investigation.overdue case-c)" 0
pub intake intake.underretning.registered c-reg2 case-c <<J
{"underretningId": "u-c2", "caseId": "case-c", "receivedAt": "$(now_utc "-1 hour")", "abuseCase": true}
J
handled c-reg2 >/dev/null
ev=$(events assessment.investigation.opened 4 | grep -F '"underretningId":"u-c2"')
check_eq "a second underretning while the investigation runs joins it: same investigation, same due date" \
    "$(field investigationId <<<"$ev") $(field dueDate <<<"$ev") $(grep -o '"joinedRunning":true' <<<"$ev")" \
    "$(sql "SELECT investigation_id FROM assessment.investigation WHERE case_id = 'case-c'") $due_c \"joinedRunning\":true"
check_eq "... no new 4 months: one investigation, two deadlines, now an abuse case" \
    "$(sql "SELECT count(*) FROM assessment.investigation WHERE case_id = 'case-c'") $(sql "SELECT count(*) FROM assessment.deadline WHERE case_id = 'case-c'") $(sql "SELECT abuse_case FROM assessment.investigation WHERE case_id = 'case-c'")" \
    "1 2 t"

# --- case D: acute measures: a decision while the investigation runs; the follow-up comes when it ends
received_d=$(now_utc "-1 day")
pub intake intake.underretning.registered d-reg case-d <<J
{"underretningId": "u-d1", "caseId": "case-d", "child": {"cpr": "0101104002"}, "receivedAt": "$received_d"}
J
pub casesys intake.triage.completed d-tri case-d <<J
{"underretningId": "u-d1", "outcome": "TRIAGE_OUTCOME_BOERNEFAGLIG_UNDERSOEGELSE", "triagedAt": "$received_d",
 "childInDanger": true, "acuteMeasuresNeeded": true, "acuteMeasures": "akut anbringelse, §46 stk. 3"}
J
handled d-tri >/dev/null
inv_d=$(sql "SELECT investigation_id FROM assessment.investigation WHERE case_id = 'case-d'")
due_d=$(sql "SELECT due_date FROM assessment.investigation WHERE case_id = 'case-d'")
start_d=$(date -d "$today +60 days" +%F)
sed "s/\"partshoeringDoneAt\": \"2025-11-20T09:00:00Z\"/\"partshoeringDoneAt\": \"$received_d\"/" \
    <(decision d-d1 case-d "$(now_utc "-1 hour")" "" "$start_d") | pub casesys assessment.decision.made d-d1 case-d
check_eq "the triage found acute measures needed: a decision before the conclusion is registered" "$(handled d-d1)" applied
ev=$(events assessment.decision.registered 3 | grep -F '"decisionId":"d-d1"')
check_eq "... alongside the running investigation, the first follow-up is its due date (earlier than 3 months after the start)" \
    "$(field parallelInvestigationId <<<"$ev") $(field firstFollowupDueDate <<<"$ev")" "$inv_d $due_d"
check_eq "... and the case stays in phase 'informed'" "$(sql "SELECT phase FROM assessment.sag WHERE case_id = 'case-d'")" informed
pub casesys assessment.child_conversation.recorded d-cc case-d <<J
{"caseId": "case-d", "held": {"heldAt": "$(now_utc "-2 hours")", "heldBy": [{"id": "ABJ"}], "parentsPresent": true}}
J
check_eq "a børnesamtale without investigationId belongs to the running investigation" \
    "$(handled d-cc):$(sql "SELECT investigation_id FROM assessment.child_conversation WHERE event_id = 'd-cc'")" "applied:$inv_d"
today=$(TZ=Europe/Copenhagen date +%F)
printf '{"investigationId": "%s", "caseId": "case-d", "concludedAt": "%s", "outcome": "CONCLUSION_SUPPORT_NEEDED",
         "conclusion": "Fortsat støtte"}' "$inv_d" "$(now_utc)" | pub casesys assessment.investigation.concluded d-c1 case-d
check_eq "when the investigation alongside concludes, the first follow-up is due that day" \
    "$(handled d-c1):$(sql "SELECT first_followup_due_date FROM assessment.decision WHERE decision_id = 'd-d1'")" "applied:$today"
check_eq "... assessment.followup.due goes out at once" \
    "$(sql_settled "SELECT count(*) FROM broker.event WHERE subject = 'assessment.followup.due' AND correlation_id = 'case-d'" 1)" 1
ev=$(events assessment.followup.due 1)
check_eq "... for that day, the first follow-up" "$(field followupDueDate <<<"$ev") $(grep -o '"firstFollowup":true' <<<"$ev")" \
    "$today \"firstFollowup\":true"
pub casesys assessment.plan.recorded d-p1 case-d <<J
{"planId": "p-d1", "caseId": "case-d", "decisionId": "d-d1", "recordedAt": "$(now_utc)",
 "goals": [{"goal": "Stabil skolegang", "area": "LIFE_AREA_SCHOOL"}], "childInvolved": true, "parentsInvolved": true,
 "followupHeldAt": "$(now_utc)", "nextFollowupDate": "$(date -d "$today +6 months" +%F)"}
J
check_eq "barnets plan with a follow-up held closes the plan and the follow-up deadlines" "$(handled d-p1)" applied
check_eq "... (closed, not fired)" \
    "$(sql "SELECT string_agg(kind || ':' || coalesce(closed_reason, 'fired'), ',' ORDER BY id) FROM assessment.deadline
            WHERE decision_id = 'd-d1' AND followup_id IN (SELECT id FROM assessment.followup WHERE first_followup)
               OR (decision_id = 'd-d1' AND kind = 'plan_overdue')")" \
    "followup_due:fired,followup_overdue:followup_held,plan_overdue:plan_recorded"
check_eq "... the next follow-up is scheduled, and the case is in phase 'followed_up'" \
    "$(sql "SELECT count(*) FROM assessment.followup WHERE decision_id = 'd-d1' AND NOT first_followup AND held_at IS NULL")
$(sql "SELECT phase FROM assessment.sag WHERE case_id = 'case-d'")" "1
followed_up"

# --- case F: barnets plan due in a few days, the appeal deadline ending within the week ---------
# Decided 3 months before a plan due date 4-5 days ahead (a day of the month up to 28); notified
# 4 weeks before the first weekday after today, so the appeal deadline is that day (or, on a
# holiday, the next hverdag, as assessment.decision.registered says).
plan_f=$(date -d "$today +5 days" +%F)
day=$((10#${plan_f:8:2}))
[ "$day" -gt 28 ] && plan_f=$(date -d "$plan_f -$((day - 28)) days" +%F)
appeal_f=$(date -d "$today +1 day" +%F)
while [ "$(date -d "$appeal_f" +%u)" -gt 5 ]; do appeal_f=$(date -d "$appeal_f +1 day" +%F); done
decided_f="$(date -d "$plan_f -3 months" +%F)T10:00:00Z"
notified_f="$(date -d "$appeal_f -28 days" +%F)T10:00:00Z"
pub intake intake.underretning.registered f-reg case-f <<J
{"underretningId": "u-f1", "caseId": "case-f", "child": {"cpr": "0202104003"}, "receivedAt": "$(date -d "$plan_f -3 months -1 day" +%F)T09:00:00Z"}
J
pub casesys intake.triage.completed f-tri case-f <<J
{"underretningId": "u-f1", "outcome": "TRIAGE_OUTCOME_BOERNEFAGLIG_UNDERSOEGELSE", "triagedAt": "$(date -d "$plan_f -3 months -1 day" +%F)T12:00:00Z",
 "childInDanger": true, "acuteMeasuresNeeded": true, "acuteMeasures": "akut familiebehandling"}
J
handled f-tri >/dev/null
decision d-f1 case-f "$decided_f" "" "$(date -d "$today +30 days" +%F)" |
    sed "s/\"notifiedAt\": \"[^\"]*\"/\"notifiedAt\": \"$notified_f\"/" | pub casesys assessment.decision.made f-d1 case-f
check_eq "a decision made $decided_f, notified $notified_f is registered" "$(handled f-d1)" applied
ev=$(events assessment.decision.registered 4 | grep -F '"decisionId":"d-f1"')
check_eq "... barnets plan due $plan_f" "$(field planDueDate <<<"$ev")" "$plan_f"
appeal_f_reg=$(field appealDeadline <<<"$ev")
check "... the appeal deadline $appeal_f_reg is 4 weeks after notification or the next hverdag after" \
    test "$(date -d "$appeal_f_reg" +%s)" -ge "$(date -d "$appeal_f" +%s)" -a "$(date -d "$appeal_f_reg" +%s)" -le "$(date -d "$appeal_f +6 days" +%s)"
check_eq "within 14 days of the plan's due date: assessment.plan.due at once, once" \
    "$(sql_settled "SELECT count(*) FROM broker.event WHERE subject = 'assessment.plan.due' AND correlation_id = 'case-f'" 1)" 1
ev=$(events assessment.plan.due 1)
check_eq "... for decision d-f1, naming the due date" \
    "$(field decisionId <<<"$ev") $(field caseId <<<"$ev") $(field planDueDate <<<"$ev")" "d-f1 case-f $plan_f"
check_eq "within 7 days of the appeal deadline's end: assessment.appeal.due at once, once" \
    "$(sql_settled "SELECT count(*) FROM broker.event WHERE subject = 'assessment.appeal.due' AND correlation_id = 'case-f'" 1)" 1
ev=$(events assessment.appeal.due 1)
check_eq "... for decision d-f1, naming the deadline" \
    "$(field decisionId <<<"$ev") $(field caseId <<<"$ev") $(field appealDeadline <<<"$ev")" "d-f1 case-f $appeal_f_reg"
check_eq "... and neither plan.overdue nor appeal.expired yet" \
    "$(count_events assessment.plan.overdue case-f):$(count_events assessment.appeal.expired case-f)" "0:0"

# --- refusals are counted -----------------------------------------------------------------------
port=$(grep -o '"msg":"http endpoint listening".*"port":[0-9]*' "$T/assessment.log" | tail -n 1 | grep -o '[0-9]*$')
check "refusals are counted in /metrics" \
    grep -qF 'trivsel_assessment_refused_total{code="investigation_not_concluded",subject="assessment.decision.made"} 1' \
    <<<"$(curl -s "http://127.0.0.1:$port/metrics")"

# --- exactly once: across a restart, and with two instances -----------------------------------
kill -TERM "$ASSESSMENT_PID"
wait_exit "$ASSESSMENT_PID" 10
check_eq "SIGTERM stops trivsel-assessment with exit status 0" "$EXIT_STATUS" 0
cp "$T/assessment.log" "$T/assessment-first.log" # start_daemon starts a new log
for i in 1 2 3 4 5; do
    pub intake intake.underretning.registered e-reg$i case-e$i <<J
{"underretningId": "u-e$i", "caseId": "case-e$i", "receivedAt": "2020-0$i-15T10:00:00Z", "abuseCase": true}
J
done
start_assessment
start_assessment
for ((i = 0; i < 100; i++)); do
    [ "$(sql "SELECT count(*) FROM broker.event WHERE subject = 'assessment.investigation.overdue' AND correlation_id LIKE 'case-e%'")" -ge 5 ] && break
    sleep 0.1
done
sleep 1
check_eq "two instances, started after the deadlines passed: each overdue fires exactly once" \
    "$(sql "SELECT count(*) || ' ' || count(DISTINCT correlation_id) FROM broker.event
            WHERE subject = 'assessment.investigation.overdue' AND correlation_id LIKE 'case-e%'")" "5 5"
check_eq "... each registration handled once between them" \
    "$(sql "SELECT count(*) FROM assessment.investigation WHERE case_id LIKE 'case-e%'")" 5
check_eq "... and nothing fired before fired again after the restart" \
    "$(sql "SELECT count(*) FROM broker.event WHERE subject = 'assessment.investigation.overdue' AND correlation_id = 'case-a'")" 1
check_eq "... nor the appeal and plan events (appeal.expired case-a, plan.due and appeal.due case-f)" \
    "$(count_events assessment.appeal.expired case-a) $(count_events assessment.plan.due case-f) $(count_events assessment.appeal.due case-f)" "1 1 1"

# --- trivselctl case show ----------------------------------------------------------------------
env "${ADMIN_ENV[@]}" "$BIN/trivselctl" case show 080317-4127 >"$T/show" 2>"$T/show.err"
check_eq "trivselctl case show CPR exits 0" "$?:$(cat "$T/show.err")" "0:"
check "... heads the case with the child" grep -qF "Case case-a — kommune 575 — child 080317-4127 Emil Nørgaard Jensen (born 2017-03-08)" "$T/show"
check "... and its phase" grep -qF "Phase: sagen afgøres og meddeles" "$T/show"
check "... lists the underretning received in Danish time" grep -qE "^  2023-10-31 10:00 \(CET\) +u-a1 +public employee" "$T/show"
check "... the triage" grep -qF "u-a1: børnefaglig undersøgelse, 2023-10-31 15:00 (CET) by ABJ Anne Bjerg" "$T/show"
check "... the investigation due at the end of 29 February" grep -qF "due         2024-02-29 23:59 (CET) (4 months)" "$T/show"
check "... concluded late, with the foreløbig vurdering" grep -qF "foreløbig vurdering 2024-02-28 13:00 (CET)" "$T/show"
check "... scores per area with level and prevention names" \
    grep -qE "^    2023-11-20 10:00 \(CET\) +3  udsat trivsel +tertiær +ABJ Anne Bjerg" "$T/show"
check "... the series over time" grep -qE "^    2024-02-01 10:00 \(CET\) +6  sårbar trivsel +sekundær" "$T/show"
for line in "2  truet trivsel     tertiær" "5  sårbar trivsel    sekundær" "7  moderat trivsel   primær" \
    "9  i trivsel         primær" "10  i trivsel         primær"; do
    check "... a score shown as \"$line\"" grep -qF "$line" "$T/show"
done
check "... the decision's appeal deadline" grep -qF "appeal deadline 2025-12-29 (4 weeks, moved to a hverdag)" "$T/show"
check "... its measure" grep -qF "measure: Barnets Lov §32 stk. 1 nr. 5 — Familiebehandling 4 timer om ugen" "$T/show"
check "... and its open deadlines" grep -qE "^  2026-02-26 23:59 \(CET\) +barnets plan, decision d-a1 +overdue by" "$T/show"
check "... the reading is in the audit log" \
    test "$(sql "SELECT count(*) FROM broker.audit WHERE action = 'case_shown' AND correlation_id = 'case-a'")" == 1
env "${ADMIN_ENV[@]}" "$BIN/trivselctl" case show 2104158123 >"$T/show" 2>&1
check "an abuse case says so" grep -qF "abuse case, the parents are suspected: nothing goes to the parents" "$T/show"
check "... and shows the børnesamtale held without the parents" \
    grep -qF "børnesamtale held 2024-11-05 10:00 (CET) by KLM Karin Lund, without the parents, at the Børnehus" "$T/show"
env "${ADMIN_ENV[@]}" "$BIN/trivselctl" case show 0101901234 >"$T/show" 2>&1
check_eq "a CPR number without a case" "$?:$(cat "$T/show")" "1:trivselctl: no case for CPR 010190-1234"
env "${ADMIN_ENV[@]}" "$BIN/trivselctl" case show 0113901234 >"$T/show" 2>&1
check_eq "an invalid CPR number is bad usage" "$?:$(cat "$T/show")" \
    "2:trivselctl: invalid CPR number \"0113901234\": there is no month 13"

