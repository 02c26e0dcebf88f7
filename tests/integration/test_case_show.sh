#!/usr/bin/env bash
# `trivselctl case show CPR` over intake's tables: the broker, trivsel-intake and
# trivsel-assessment run as real processes; an underretning received on Monday 3 November 2025
# 08:15 UTC is registered by intake and triaged to a børnefaglig undersøgelse, which assessment
# opens. case show then prints, in Danish time: the underretning (received 09:15 CET), the
# triage, the investigation due 2026-03-03 (4 months), and the open deadlines — the kvittering
# due 6 hverdage later (2025-11-11), overdue until intake.receipt.sent comes, and no triage
# deadline once triaged. The received time is fixed in the past so every printed time is exact.
. tests/integration/lib.sh
migrate >/dev/null
start_broker
keys_new intake --kind service
keys_new assessment --kind service
TOOL=$TRIVSEL_REPO/$BUILD/tests/tools/intake_client

env TRIVSEL_DATABASE_PASSWORD_FILE="$T/secrets/trivsel_intake.password" TRIVSEL_HTTP_ADDRESS=127.0.0.1:0 \
    TRIVSEL_CLIENT_KEY_FILE="$T/keys/intake.key" TRIVSEL_LOG_LEVEL=debug \
    TRIVSEL_INTAKE_TEAM_LEADERS='*=KLM:Karin Lund' TRIVSEL_INTAKE_MUNICIPALITIES=575 \
    "$BIN/trivsel-intake" >>"$T/intake.log" 2>&1 &
DAEMON_PIDS+=("$!")
start_daemon assessment TRIVSEL_CLIENT_KEY_FILE="$T/keys/assessment.key"
daemon_port intake
daemon_port assessment
check "trivsel-intake becomes ready" wait_ready "${HTTP_PORT_intake:-0}"
check "trivsel-assessment becomes ready" wait_ready "${HTTP_PORT_assessment:-0}"

pub() { TRIVSEL_CLIENT_KEY_FILE="$T/keys/$1.key" "$TOOL" publish "${@:2}" >/dev/null; }

pub fagsystem intake.underretning.received cs-u1 '{
  "child": {"cpr": "0803174127", "name": "Emil Nørgaard Jensen", "birthDate": "2017-03-08"},
  "reporter": {"kind": "REPORTER_KIND_PUBLIC_EMPLOYEE", "name": "Mette Lund", "organisation": "Eksempelskolen, Vejen",
               "contact": {"email": "mette.lund@eksempelskolen.example"}},
  "receivedAt": "2025-11-03T08:15:00Z", "channel": "CHANNEL_DIGITAL_FORM",
  "concern": "Emil er ofte fraværende og virker træt og sulten om morgenen.", "team": "Modtageteamet"}' \
    --occurred 2025-11-03T08:15:00Z --municipality 575
check "intake registers the underretning" \
    wait_sql "SELECT count(*) FROM broker.event WHERE subject = 'intake.underretning.registered'" 1
U=$(sql "SELECT id FROM intake.underretning WHERE received_event_id = 'cs-u1'")
C=$(sql "SELECT case_id FROM intake.underretning WHERE received_event_id = 'cs-u1'")
check_eq "... with its kvittering due 6 hverdage later and its triage 24 hours later" \
    "$(sql "SELECT receipt_due_date || ' ' || to_char(triage_due_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI') FROM intake.underretning WHERE id = '$U'")" \
    "2025-11-11 2025-11-04T08:15"
check "assessment learns of it" wait_sql "SELECT count(*) FROM assessment.underretning WHERE underretning_id = '$U'" 1
show() { env "${ADMIN_ENV[@]}" "$BIN/trivselctl" case show "$@"; }
# Before the triage: its 24-hour deadline (an instant: 2025-11-04 09:15 CET) is open and overdue.
show 0803174127 >"$T/show0" 2>&1
check_eq "before the triage, case show lists the underretning as not yet triaged" \
    "$(grep -c "^  2025-11-03 09:15 (CET)  $U  .*  not yet triaged$" "$T/show0")" 1
check_eq "... and the triage deadline (24 hours, 09:15 CET the next day) and the kvittering as overdue" \
    "$(sed -n '/^Open deadlines$/,$p' "$T/show0" | sed -n '3,$p' | sed -E 's/ +/ /g; s/overdue by [0-9]+ d [0-9]+ h/overdue by N/')" \
    " 2025-11-04 09:15 (CET) triage (24 hours), underretning $U overdue by N
 2025-11-11 23:59 (CET) kvittering (6 hverdage), underretning $U overdue by N"

pub fagsystem intake.triage.completed cs-t1 "{\"underretningId\":\"$U\",\"caseId\":\"$C\",\"childInDanger\":false,
  \"acuteMeasuresNeeded\":false,\"outcome\":\"TRIAGE_OUTCOME_BOERNEFAGLIG_UNDERSOEGELSE\",
  \"triagedBy\":{\"id\":\"ABJ\",\"name\":\"Anne Bjerg\",\"team\":\"Modtageteamet\"},\"triagedAt\":\"2025-11-03T13:00:00Z\"}" \
    --occurred 2025-11-03T13:00:00Z --municipality 575
check "intake records the triage" wait_sql "SELECT count(*) FROM intake.underretning WHERE id = '$U' AND triaged_at IS NOT NULL" 1
check "assessment opens the investigation (assessment.investigation.opened)" \
    wait_sql "SELECT count(*) FROM broker.event WHERE subject = 'assessment.investigation.opened' AND correlation_id = '$C'" 1
INV=$(sql "SELECT investigation_id FROM assessment.investigation WHERE case_id = '$C'")

show 0803174127 >"$T/show" 2>"$T/show.err"
check_eq "trivselctl case show CPR exits 0 with nothing on standard error" "$?:$(cat "$T/show.err")" "0:"
line() { grep -cxF "$1" "$T/show"; }
check_eq "the head: case, kommune, child" \
    "$(line "Case $C — kommune 575 — child 080317-4127 Emil Nørgaard Jensen (born 2017-03-08)")" 1
check_eq "... and the phase (sagen oplyses)" "$(line "Phase: sagen oplyses")" 1
check_eq "the underretninger come from intake's tables (no 'as assessment knows them')" "$(line "Underretninger (1)")" 1
check_eq "... the underretning received 2025-11-03 08:15 UTC shown as 09:15 (CET), triaged 14:00 (CET)" \
    "$(line "$(printf '  %-22s  %-36s  %-20s  %-12s  %-5s  %-4s  %s' "2025-11-03 09:15 (CET)" "$U" "public employee" \
        "digital form" no 1 "børnefaglig undersøgelse, 2025-11-03 14:00 (CET) by ABJ Anne Bjerg")")" 1
check_eq "the triage" "$(line "  $U: børnefaglig undersøgelse, 2025-11-03 14:00 (CET) by ABJ Anne Bjerg")" 1
check_eq "... with its assessment" "$(line "    child in danger: no; acute measures needed: no")" 1
check_eq "the investigation, opened from the triage" "$(line "  $INV  opened from the triage of underretning $U")" 1
check_eq "... aware when the underretning was received" "$(line "    aware       2025-11-03 09:15 (CET)")" 1
check_eq "... due at the end of 2026-03-03 (4 months), overdue now" \
    "$(grep -cxE "    due         2026-03-03 23:59 \(CET\) \(4 months\) — overdue by [0-9]+ d [0-9]+ h: a foreløbig vurdering is required" "$T/show")" 1
check_eq "... with the triaging caseworker" "$(line "    caseworker  ABJ Anne Bjerg, Modtageteamet")" 1
deadlines=$(sed -n '/^Open deadlines$/,$p' "$T/show")
check_eq "open deadlines: the kvittering (2025-11-11) first, then the investigation (2026-03-03)" \
    "$(sed -n '3,$p' <<<"$deadlines" | sed -E 's/ +/ /g; s/overdue by [0-9]+ d [0-9]+ h/overdue by N/')" \
    " 2025-11-11 23:59 (CET) kvittering (6 hverdage), underretning $U overdue by N
 2026-03-03 23:59 (CET) børnefaglig undersøgelse $INV overdue by N: a foreløbig vurdering is required"
check_eq "... under their header" "$(sed -n 2p <<<"$deadlines" | sed -E 's/ +/ /g')" " DUE (DANISH TIME) WHAT STATE"
check_eq "... and no triage deadline: it was triaged" "$(grep -c "triage (24 hours)" "$T/show")" 0

# The kvittering sent: its deadline is no longer open.
pub fagsystem intake.receipt.sent cs-r1 "{\"underretningId\":\"$U\",\"sentAt\":\"2025-11-05T10:00:00Z\",\"channel\":\"LETTER_CHANNEL_DIGITAL_POST\"}" \
    --occurred 2025-11-05T10:00:00Z --municipality 575
check "intake records the kvittering sent" \
    wait_sql "SELECT count(*) FROM intake.underretning WHERE id = '$U' AND receipt_sent_at IS NOT NULL" 1
show 080317-4127 >"$T/show2" 2>&1
check_eq "case show again exits 0" "$?" 0
check_eq "... and the only open deadline is the investigation's" \
    "$(sed -n '/^Open deadlines$/,$p' "$T/show2" | sed -n '3,$p' | sed -E 's/ +/ /g; s/overdue by [0-9]+ d [0-9]+ h/overdue by N/')" \
    " 2026-03-03 23:59 (CET) børnefaglig undersøgelse $INV overdue by N: a foreløbig vurdering is required"
check_eq "each reading is in the audit log" \
    "$(sql "SELECT count(*) FROM broker.audit WHERE action = 'case_shown' AND correlation_id = '$C'")" 3
show 0803174127 --municipality 630 >"$T/show3" 2>&1
check_eq "another kommune has no case for the child" "$?:$(cat "$T/show3")" \
    "1:trivselctl: no case for CPR 080317-4127 in kommune 630"
