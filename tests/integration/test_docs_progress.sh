#!/usr/bin/env bash
# `trivselctl docs progress CPR [--svg FILE]` (issue 7, item 5) against the real broker,
# trivsel-assessment, trivsel-docs and PostgreSQL: the trivselslineal series per area from the
# assessments and the suppliers' measurements together, as a text table in Danish time and as
# an SVG chart for a report (well-formed, one line per area, no CPR and no name in it), with
# the read audited. intake and ordering are not run: the test publishes their events as their
# principals would.
. tests/integration/lib.sh
M=575
CHILD=0803174127
C1=45424421
check "migrate" migrate >/dev/null
start_broker
keys_new intake --kind service
keys_new assessment --kind service
keys_new docs --kind service
keys_new ordering --kind service
keys_new casesys --kind system --publish 'intake.triage.completed' --publish 'assessment.>' --subscribe 'assessment.>'

start_daemon assessment TRIVSEL_CLIENT_KEY_FILE="$T/keys/assessment.key"
daemon_port assessment
start_daemon docs TRIVSEL_CLIENT_KEY_FILE="$T/keys/docs.key"
daemon_port docs
check "trivsel-assessment and trivsel-docs become ready" \
    wait_ready "$HTTP_PORT_assessment" && wait_ready "$HTTP_PORT_docs"

# pub NAME SUBJECT EVENT_ID SERVICE: publishes the JSON on standard input as NAME in kommune 575
# and waits until SERVICE (assessment or docs) has handled it.
pub() {
    cat >"$T/event.json"
    TRIVSEL_CLIENT_KEY_FILE="$T/keys/$1.key" "$BIN/trivselctl" publish "$2" "$T/event.json" --municipality $M \
        --event-id "$3" --timeout 10s >/dev/null || echo "# publish $3 failed"
    wait_sql "SELECT count(*) FROM $4.handled_event WHERE event_id = '$3'" 1 || echo "# $3 was not handled"
}

TODAY=$(TZ=Europe/Copenhagen date +%F)
START=$(TZ=Europe/Copenhagen date -d "$TODAY -30 days" +%F)
END=$(TZ=Europe/Copenhagen date -d "$TODAY +300 days" +%F)
MEASURED=$(TZ=Europe/Copenhagen date -d "$TODAY -2 days" +%F)

# --- the assessment side: an underretning, its triage, two rounds of scores ---------------------
pub intake intake.underretning.registered p-reg assessment <<'J'
{"underretningId": "u-p1", "caseId": "case-p", "newCase": true,
 "child": {"cpr": "0803174127", "name": "Emil Nørgaard Jensen", "birthDate": "2017-03-08"},
 "reporterKind": "REPORTER_KIND_PUBLIC_EMPLOYEE", "receivedAt": "2023-10-31T09:00:00Z", "team": "Modtageteamet"}
J
pub casesys intake.triage.completed p-tri assessment <<'J'
{"underretningId": "u-p1", "caseId": "case-p", "childInDanger": false, "acuteMeasuresNeeded": false,
 "outcome": "TRIAGE_OUTCOME_BOERNEFAGLIG_UNDERSOEGELSE", "triagedAt": "2023-10-31T14:00:00Z",
 "triagedBy": {"id": "ABJ", "name": "Anne Bjerg", "team": "Modtageteamet"}}
J
pub casesys assessment.score.recorded p-s1 assessment <<'J'
{"caseId": "case-p", "assessedAt": "2023-11-20T09:00:00Z", "assessedBy": {"id": "ABJ", "name": "Anne Bjerg"},
 "scores": [{"area": "LIFE_AREA_FAMILY", "score": 2}, {"area": "LIFE_AREA_SCHOOL", "score": 5}]}
J
pub casesys assessment.score.recorded p-s2 assessment <<'J'
{"caseId": "case-p", "assessedAt": "2024-06-03T12:30:00Z",
 "scores": [{"area": "LIFE_AREA_SCHOOL", "score": 7}]}
J
check_eq "the assessments' scores are recorded" \
    "$(sql "SELECT string_agg(area || '=' || score, ' ' ORDER BY assessed_at, area) FROM assessment.score WHERE case_id = 'case-p'")" \
    "LIFE_AREA_FAMILY=2 LIFE_AREA_SCHOOL=5 LIFE_AREA_SCHOOL=7"

# --- the docs side: an accepted order, a supplier's measurement ---------------------------------
pub ordering ordering.order.placed.$C1 placed-p docs <<J
{"orderId": "ord-p", "caseId": "case-p", "child": {"cpr": "$CHILD", "name": "Emil"}, "supplierCvr": "$C1",
 "scope": {"minutesPerWeek": 240}, "period": {"startDate": "$START", "endDate": "$END"},
 "documentation": {"statusReportIntervalMonths": 0, "diaryNotesRequired": true},
 "caseworker": {"id": "ABJ", "name": "Anne Bjerg", "team": "Børneteamet"}, "team": "Børneteamet"}
J
pub supplier1 ordering.order.accepted.$C1 accepted-p docs <<'J'
{"orderId": "ord-p", "contactName": "Mette"}
J
pub supplier1 docs.measurement.submitted.$C1 m-p docs <<J
{"submissionId": "m-p", "orderId": "ord-p", "childCpr": "$CHILD", "measuredOn": "$MEASURED", "measuredBy": "Mette Holm",
 "scores": [{"area": "LIFE_AREA_SCHOOL", "score": 8}, {"area": "LIFE_AREA_HEALTH", "score": 9}]}
J
check_eq "the supplier's measurement is kept for the series" \
    "$(sql "SELECT string_agg(area || '=' || score, ' ' ORDER BY area) FROM docs.measurement_score WHERE child_cpr = '$CHILD'")" \
    "LIFE_AREA_HEALTH=9 LIFE_AREA_SCHOOL=8"
# The supplier's name as ordering learns it from its offers (ordering itself is not run).
sql "INSERT INTO ordering.supplier (municipality, cvr, name, kind, updated_event_id)
     VALUES ('$M', '$C1', 'Familiebehandling Syd', 1, 'offer-1')" >/dev/null

# --- the command ---------------------------------------------------------------------------------
ctl() { env "${ADMIN_ENV[@]}" USER=sagsbeh "$BIN/trivselctl" docs progress "$@"; }
SVG=$T/progress.svg
out=$(ctl 080317-4127 --svg "$SVG" 2>"$T/err")
check_eq "docs progress exits 0" "$?" 0
expected="Trivselslinealen (1-10) over time — child 080317-4127 — case case-p

familieforhold
  DATE (DANISH TIME)       SCORE  LEVEL             SOURCE
  2023-11-20 10:00 (CET)       2  truet trivsel     assessment

skoleforhold
  DATE (DANISH TIME)       SCORE  LEVEL             SOURCE
  2023-11-20 10:00 (CET)       5  sårbar trivsel    assessment
  2024-06-03 14:30 (CEST)      7  moderat trivsel   assessment
  $MEASURED                   8  moderat trivsel   Familiebehandling Syd (CVR $C1)

sundhedsforhold
  DATE (DANISH TIME)       SCORE  LEVEL             SOURCE
  $MEASURED                   9  i trivsel         Familiebehandling Syd (CVR $C1)

chart written to $SVG"
check_eq "the table per area: Danish time, score, level, source, in time order" "$out" "$expected"
[ "$out" == "$expected" ] || diff <(echo "$expected") <(echo "$out") | sed 's/^/# /'

check "the SVG is well-formed XML" python3 -c 'import xml.dom.minidom,sys; xml.dom.minidom.parse(sys.argv[1])' "$SVG"
check_eq "... with one line per area" \
    "$(python3 -c 'import xml.dom.minidom,sys; d=xml.dom.minidom.parse(sys.argv[1]); print(len(d.getElementsByTagName("polyline")))' "$SVG")" 3
cat >"$T/points.py" <<'PY'
import sys, xml.dom.minidom
d = xml.dom.minidom.parse(sys.argv[1])
areas = [g for g in d.getElementsByTagName("g") if g.getAttribute("class") == "area"]
print(" ".join("%s:%d" % (g.getAttribute("id"), len(g.getElementsByTagName("polyline")[0].getAttribute("points").split()))
               for g in areas))
PY
check_eq "... each area's line holding its points" "$(python3 "$T/points.py" "$SVG")" "area-2:1 area-3:3 area-4:1"
check "... no external resources" test "$(grep -cE 'href|<image|url\(' "$SVG")" == 0
check "... neither the CPR nor the name in it" test "$(grep -cE '0803174127|080317-4127|Emil|Nørgaard|Jensen' "$SVG")" == 0
check "... the title names the child by initials and case" grep -qF 'barn E.N.J. (sag case-p)' "$SVG"
check "... the bands are named by level" \
    bash -c "grep -qF 'truet trivsel (1-2)' '$SVG' && grep -qF 'i trivsel (9-10)' '$SVG' && grep -qF 'sårbar trivsel (5-6)' '$SVG'"
check "... and the legend names the areas" \
    bash -c "grep -qF '>familieforhold</text>' '$SVG' && grep -qF '>sundhedsforhold</text>' '$SVG'"

check_eq "the read is audited" \
    "$(sql "SELECT principal || '|' || action || '|' || correlation_id || '|' || detail FROM broker.audit WHERE action = 'progress_shown'")" \
    "trivselctl:sagsbeh|progress_shown|case-p|trivselctl docs progress --svg"
audit_verify() { env "${ADMIN_ENV[@]}" "$BIN/trivselctl" audit verify >/dev/null; }
check "... and the audit log's chain still verifies" audit_verify

ctl 0101011234 >"$T/out" 2>"$T/err"
check_eq "an unknown child: exit 1" "$?" 1
check_eq "... with a clear message" "$(cat "$T/err")" "trivselctl: no child with CPR 010101-1234 is known to assessment or docs"
ctl 12345 >"$T/out" 2>"$T/err"
check_eq "an invalid CPR: exit 2" "$?" 2
check "... with tr_cpr_parse's message" grep -qF 'invalid CPR number "12345"' "$T/err"
