#!/usr/bin/env bash
# `trivselctl demo` (issue 11) against a throwaway system: the broker and the four services as
# real processes, started as `make run` starts them (automatic settlement on, the case system
# "fagsystem"), and the demo's principals' keys in the test's keys folder. The demo must come
# through both stories and exit 0, showing what a user would see: each event, trivsel's answers
# (registration, kvittering, investigation, orientation, decision with its deadlines, the LEON
# refusal naming the cheaper offer, the placed order with its budget, the supplier's documents
# accepted, last month settled with the order in it), the deadlines in Danish time as they start
# and end, and the abuse case's rules. Run again on the same system it reuses its principals,
# plays new children, and shows this month's settlement as the deadline it is (last month is
# settled, and a settled month is never computed again). With trivsel-assessment stopped, it
# exits 1 within its timeout, naming the event that did not come and the step.
. tests/integration/lib.sh
check "migrate" migrate >/dev/null
start_broker
for s in intake assessment ordering docs; do keys_new "$s" --kind service; done
declare -A PID
start_service() {
    start_daemon "$1" TRIVSEL_CLIENT_KEY_FILE="$T/keys/$1.key" TRIVSEL_ORDERING_CASEWORKER_SYSTEMS=fagsystem
    PID[$1]=$LAST_PID
    daemon_port "$1"
    local port=HTTP_PORT_$1
    check "trivsel-$1 becomes ready" wait_ready "${!port:-0}"
}
for s in intake assessment ordering docs; do start_service "$s"; done
check_eq "every daemon works as its own database role, none as a superuser" \
    "$(sql "SELECT string_agg(DISTINCT a.application_name || '=' || a.usename || (CASE WHEN r.rolsuper THEN ' (superuser)' ELSE '' END), ' ')
            FROM pg_stat_activity a JOIN pg_roles r ON r.rolname = a.usename WHERE a.application_name LIKE 'trivsel-%'")" \
    "trivsel-assessment=trivsel_assessment trivsel-broker=trivsel_broker trivsel-docs=trivsel_docs trivsel-intake=trivsel_intake trivsel-ordering=trivsel_ordering"

# demo ARGS...: trivselctl demo as the admin, with the keys in $T/keys; $rc, $out, $err.
demo() {
    env "${ADMIN_ENV[@]}" timeout 300 "$BIN/trivselctl" demo --keys "$T/keys" "$@" >"$T/out" 2>"$T/err"
    rc=$?
    out=$(cat "$T/out")
    err=$(cat "$T/err")
}
# check_re "what" TEXT REGEX...: every extended regular expression matches a line of TEXT.
check_re() {
    local what=$1 text=$2 n
    shift 2
    for n in "$@"; do
        if ! grep -qE -- "$n" <<<"$text"; then
            not_ok "$what" "no line matches: $n"
            return
        fi
    done
    ok "$what"
}

# The months the demo works in, Danish time: last month (the order's first, settled at the end),
# this month and the next; the order's end (6 months) and its first status report's due date.
eval "$(python3 - <<'PY'
import calendar, datetime as dt, zoneinfo
from decimal import Decimal, ROUND_HALF_UP
today = dt.datetime.now(zoneinfo.ZoneInfo("Europe/Copenhagen")).date()
this = today.replace(day=1)
prev = (this - dt.timedelta(days=1)).replace(day=1)
nxt = (this + dt.timedelta(days=32)).replace(day=1)
def add_months(d, n):
    y, m = divmod(d.month - 1 + n, 12)
    return d.replace(year=d.year + y, month=m + 1)
days = calendar.monthrange(prev.year, prev.month)[1]
# 4 hours a week at 695 kr. an hour over the month's days, in øre, rounded half up.
oere = int((Decimal(days) * 240 * 69500 / (7 * 60)).quantize(Decimal(1), ROUND_HALF_UP))
kr = f"{oere // 100:,}".replace(",", ".") + f",{oere % 100:02d} kr."
print(f"PREV={prev:%Y-%m} PREV_FIRST={prev} THIS={this:%Y-%m} THIS_FIRST={this} NEXT_FIRST={nxt}"
      f" END={add_months(prev, 6) - dt.timedelta(days=1)} REPORT_DUE={add_months(prev, 3)}"
      f" REPORT_END={add_months(prev, 3) - dt.timedelta(days=1)} DAYS={days} AMOUNT='{kr}'")
PY
)"
echo "# last month $PREV ($DAYS days: $AMOUNT), this month $THIS"
# danish SQL_TIMESTAMP: as the demo prints an instant, "2026-11-24 17:34 (CET)".
# re TEXT: TEXT as an extended regular expression that matches it literally.
re() { sed 's/[][().*^$|+?{}\\]/\\&/g' <<<"$1"; }
danish() { TZ=Europe/Copenhagen date -d "$(sql "SELECT to_char($1 AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || ' UTC'")" '+%Y-%m-%d %H:%M (%Z)'; }

# --- the first run: both stories, last month settled ------------------------------------------
demo --timeout 20s
first=$out
check_eq "trivselctl demo comes through both stories: exit 0, nothing on stderr" "$rc:$err" "0:"
check_eq "... and says so last" "$(tail -n 1 <<<"$out")" \
    "Both stories came through: 17 steps, every answer of trivsel as expected."
check_re "it registers its principals, and gives the case system fagsystem the permissions it lacks" "$out" \
    "^  principal demo-underretning +system +the digital underretning form +registered, key $T/keys/demo-underretning.key$" \
    "^  principal fagsystem +system +the caseworkers' case system +key $T/keys/fagsystem.key, 6 permissions added$" \
    "^  principal demo-vejledernet +supplier +Vejledernet ApS, the supplier of seed 000 +registered" \
    "^  principal demo-observer +operator"
check_eq "... the supplier with the CVR of seed 000's Vejledernet ApS, bound to it" \
    "$(sql "SELECT p.kind || ' ' || p.cvr || ' ' || string_agg(m.action || ':' || m.pattern, ' ' ORDER BY m.action, m.pattern) FROM broker.principal p JOIN broker.permission m ON m.principal = p.name WHERE p.name = 'demo-vejledernet' GROUP BY p.kind, p.cvr")" \
    "supplier 45424421 publish:docs.*.submitted.45424421 publish:ordering.order.accepted.45424421 publish:ordering.order.declined.45424421 subscribe:docs.*.*.45424421 subscribe:ordering.order.*.45424421"
check_has "... and loads the sample catalogue, which trivsel-ordering then holds" "$out" \
    "  catalogue deploy/catalogue.json: 15 offers, 15 new, 0 in the log already; trivsel-ordering has them"

# Story 1, as intake, assessment, ordering and docs stored it: the times the demo must show.
U=intake.underretning
emil_triage_due=$(re "$(danish "(SELECT triage_due_at FROM $U ORDER BY received_at LIMIT 1)")")
emil_receipt=$(sql "SELECT receipt_due_date FROM $U ORDER BY received_at LIMIT 1")
emil_due=$(sql "SELECT due_date FROM assessment.investigation ORDER BY opened_at LIMIT 1")
order=$(sql "SELECT order_id FROM ordering.orders")
budget=$(sql "SELECT budget_oere FROM ordering.orders" | python3 -c 'import sys; o = int(sys.stdin.read()); print(f"{o // 100:,}".replace(",", ".") + f",{o % 100:02d} kr.")')
check_re "1. the school's underretning is registered on a new case, and the kvittering is requested" "$out" \
    "^ 1\. Vejen Skole reports Emil: often absent, withdraws from the others \(trivselslineal 4\)$" \
    "^    → intake\.underretning\.received \(demo-underretning\): the klasselærer's underretning" \
    "^    ← intake\.underretning\.registered: underretning [0-9a-f]{8}… on a new case [0-9a-f]{8}… \(1 underretning on Emil Kjær Madsen in 12 months\)$" \
    "^      the triage by $emil_triage_due, 24 hours after receipt \(Barnets Lov §136\); the kvittering by $emil_receipt \(6 hverdage\)$" \
    "^    ← intake\.receipt\.requested: a kvittering to Mette Skov \(Vejen Skole\) by $emil_receipt, for the letter system$"
check_re "... and the triage's and the kvittering's deadlines start running, in Danish time" "$out" \
    "^      now running  $emil_triage_due  triage \(24 hours\), underretning [0-9a-f]{8}… — due in 21 h [0-9]+ m$" \
    "^      now running  $emil_receipt 23:59 \(CES?T\)  kvittering \(6 hverdage\), underretning [0-9a-f]{8}… — due in [0-9]+ d [0-9]+ h$"
check_re "2. the triage opens the børnefaglig undersøgelse, due in 4 months, and the school is to be told" "$out" \
    "^    → intake\.triage\.completed \(fagsystem\): Anne Bjerg Jensen \(Modtageteamet\): not in danger, no acute measures$" \
    "^    ← assessment\.investigation\.opened: børnefaglig undersøgelse [0-9a-f]{8}…; aware .*, due $emil_due \(Barnets Lov §20 stk\. 3: 4 months\)$" \
    "^    ← intake\.orientation\.due: Mette Skov must be told that an investigation was opened, by [0-9-]{10}$" \
    "^    ✓ trivsel-intake recorded the triage, in time$" \
    "^      now running  $emil_due 23:59 \(CES?T\)  børnefaglig undersøgelse [0-9a-f]{8}… — due in 1[0-9][0-9] d [0-9]+ h$" \
    "^      done         triage \(24 hours\), underretning [0-9a-f]{8}…$"
check_has "3.-5. scores in the six areas with their levels, the børnesamtale, the conclusion" "$out" \
    "    ✓ udvikling og adfærd            4  udsat trivsel, tertiær prevention" \
    "    ✓ skoleforhold                    3  udsat trivsel, tertiær prevention" \
    "    ✓ andre relevante forhold         7  moderat trivsel, primær prevention" \
    "    ✓ trivsel-assessment recorded the børnesamtale with Emil's words" \
    '    ✓ trivsel-assessment: concluded, the case is in phase "sagen overvejes"'
check_re "6. the decision for family treatment (§32 stk. 1 nr. 5) is registered with its deadlines" "$out" \
    "^    \(from $PREV_FIRST, dated back to the first day of last month so that a whole month can be settled at the end\)$" \
    "^    ← assessment\.decision\.registered: decision afg-[0-9a-f]{8}; appeal deadline [0-9-]{10} \(4 weeks\), barnets plan due [0-9-]{10} \(3 months\), first follow-up $REPORT_DUE \(§95\)$" \
    "^    ← intake\.orientation\.due: Mette Skov must be told that a measure was decided" \
    "^      now running  [0-9-]{10} 23:59 \(CES?T\)  appeal deadline \(klagefrist\), decision afg-[0-9a-f]{8} — due in 2[0-9] d"
check_has "7. the order without a LEON reason is refused, naming the cheaper offer" "$out" \
    "    ← ordering.order.refused: LEON: a cheaper offer covers the same need" \
    '      - LEON: 1 cheaper offer covers Barnets Lov §32 stk. 1 nr. 5 and the target group for this period: "Familiehuset: familiebehandling" (Eksempel Kommune, Familie & Forebyggelse,' \
    "give the reason for this offer in leon_reason (leon_reason_missing)"
check_has "8. with the reason it is placed with Vejledernet ApS, for 6 months from the 1st of last month" "$out" \
    "    ← ordering.order.placed.45424421: order $order to Vejledernet ApS: $PREV_FIRST to $END at 695,00 kr. an hour, budget $budget (\"pengene følger barnet\")"
check_re "... and the supplier's answer is due" "$out" \
    "^      now running  [0-9-]{10} 00:00 \(CES?T\)  supplier's answer, order $order \(CVR 45424421\) — due in [0-9]+ d"
check_re "9.-11. the supplier accepts, two diary notes and the status report are accepted" "$out" \
    "^    ✓ trivsel-ordering: accepted by demo-vejledernet$" \
    "^      done         supplier's answer, order $order \(CVR 45424421\)$" \
    "^      now running  $REPORT_DUE 23:59 \(CES?T\)  status report 1 \($PREV_FIRST\.\.$REPORT_END\), order $order — due in" \
    "^    ← docs\.submission\.accepted\.45424421: note $order-dagbog-1 stored on order $order$" \
    "^    ← docs\.submission\.accepted\.45424421: note $order-dagbog-2 stored on order $order$" \
    "^    ← docs\.submission\.accepted\.45424421: status report stored, due $REPORT_DUE: in time$" \
    "^      done         status report 1 \($PREV_FIRST\.\.$REPORT_END\), order $order$"
check_re "12. last month is settled with the order: $DAYS days, $AMOUNT" "$out" \
    "^12\. The month is settled: $PREV$" \
    "^    ← ordering\.settlement\.calculated: $PREV, settled " \
    "^      order $order: $DAYS days at 240 minutes a week, 695,00 kr\. an hour: $AMOUNT$" \
    "^      Vejledernet ApS \(CVR 45424421\) in all: $AMOUNT$"
check_eq "... as trivsel-ordering stored it, once" \
    "$(sql "SELECT count(*) || ' ' || min(total_oere) FROM ordering.settlement WHERE municipality = '575' AND month = '$PREV'") $(sql "SELECT count(*) FROM broker.event WHERE event_id = 'settlement-575-$PREV'")" \
    "1 $(tr -d '.,kr ' <<<"$AMOUNT" | sed 's/^0*//') 1"

sofie_due=$(sql "SELECT due_date FROM assessment.investigation ORDER BY opened_at OFFSET 1 LIMIT 1")
check_re "13. the doctor's underretning is an abuse case: nothing to the parents, the investigation opens at once" "$out" \
    "^    ← intake\.underretning\.registered: underretning [0-9a-f]{8}… on a new case [0-9a-f]{8}… \(1 underretning on Sofie Lund Holm in 12 months\); an abuse case, the parents suspected: nothing goes to them$" \
    "^    ← intake\.receipt\.requested: a kvittering to Lars Bech \(Lægehuset i Vejen\) by " \
    "^    ← assessment\.investigation\.opened: børnefaglig undersøgelse [0-9a-f]{8}…, mandatory in an abuse case \(§20 stk\. 1\); aware .*, due $sofie_due "
check_eq "... before any triage: opened because of the abuse case" \
    "$(sql "SELECT opened_because FROM assessment.investigation ORDER BY opened_at OFFSET 1 LIMIT 1")" abuse_case
check_has "14.-17. the parents are not told, the børnesamtale is mandatory and held without them" "$out" \
    "    → intake.triage.completed (fagsystem): Karin Lund (Børneteamet): in danger; parents_not_told confirmed, as §137 requires" \
    "    ✓ trivsel-assessment: still one undersøgelse, now Karin Lund's" \
    "(boernesamtale_without_parents_missing)" "(parents_present_in_abuse_case)" \
    "    ✓ trivsel-assessment recorded it: held at the Børnehus, without the parents;"
check_eq "... as assessment stored it: one børnesamtale, at the Børnehus, without the parents" \
    "$(sql "SELECT string_agg(held || ' ' || parents_present || ' ' || at_boernehus, ',') FROM assessment.child_conversation c JOIN assessment.investigation i USING (investigation_id) WHERE i.opened_because = 'abuse_case'")" \
    "true false true"
check_eq "the demo leaves no subscription behind" \
    "$(sql "SELECT count(*) FROM broker.subscription WHERE principal = 'demo-observer'")" 0

# --- again, on the same system ------------------------------------------------------------------
demo --timeout 20s
check_eq "run again, it comes through again: exit 0" "$rc:$err:$(tail -n 1 <<<"$out")" \
    "0::Both stories came through: 17 steps, every answer of trivsel as expected."
check_re "... reusing its principals and keys, and the catalogue in the log" "$out" \
    "^  principal demo-underretning +system +the digital underretning form +key $T/keys/demo-underretning.key$" \
    "^  principal fagsystem +system +the caseworkers' case system +key $T/keys/fagsystem.key$" \
    "^  catalogue deploy/catalogue.json: 15 offers, 0 new, 15 in the log already; trivsel-ordering has them$"
check_eq "... with two new children on new cases" \
    "$(sql "SELECT count(*) || ' ' || count(DISTINCT cpr) FROM intake.sag")" "4 4"
check_re "... and, $PREV being settled, this run's order starts on the 1st of this month" "$out" \
    "^    \(from $THIS_FIRST: $PREV is settled already, and a settled month is never computed again\)$" \
    "^    ← ordering\.order\.placed\.45424421: order bestilling-[0-9a-f]{8} to Vejledernet ApS: $THIS_FIRST to "
check_re "... and its month is shown as the settlement deadline it is" "$out" \
    "^12\. The month: $THIS has not ended$" \
    "^    ✓ trivsel-ordering settles $THIS from $NEXT_FIRST 00:00 \(CES?T\), automatically or with \`trivselctl settle $THIS\`; a month is settled once, when it has ended$"
check_eq "... and $PREV still has its one settlement" \
    "$(sql "SELECT count(*) FROM broker.event WHERE subject = 'ordering.settlement.calculated'")" 1

# --- a service that does not answer -------------------------------------------------------------
kill -TERM "${PID[assessment]}"
wait_exit "${PID[assessment]}" 10
demo --timeout 3s
check_eq "with trivsel-assessment stopped, the demo fails: exit 1" "$rc" 1
check_re "... naming the step and the event that did not come within its timeout" "$err" \
    "^trivselctl demo: step 2 \(The triage, 2 h 15 m after receipt: a børnefaglig undersøgelse\) failed: no assessment\.investigation\.opened with underretningId [0-9a-f]{8}… came within 3s: is trivsel-assessment running\?$"
check "... after showing what did come" has "$out" "    ← intake.receipt.requested: a kvittering to Mette Skov (Vejen Skole)"
check_eq "... and without claiming success" "$(grep -c "Both stories came through" <<<"$out")" 0
check_eq "... nor leaving its subscription behind" \
    "$(sql "SELECT count(*) FROM broker.subscription WHERE principal = 'demo-observer'")" 0

# --- usage ----------------------------------------------------------------------------------------
demo --timeout soon
check_eq "a timeout that is not a duration is bad usage" "$rc:$err" \
    '2:trivselctl demo: invalid --timeout "soon": must be a positive duration, e.g. 30s, 2m, 500ms'
mkdir -p "$T/elsewhere"
(cd "$T/elsewhere" && env -u TRIVSEL_DATABASE_URL "$BIN/trivselctl" demo >"$T/out" 2>"$T/err")
check_eq "away from make run's var/ folder it says what it needs" "$?:$(cat "$T/err")" \
    '1:trivselctl demo: the keys folder "var/keys" cannot be written (No such file or directory): start the system with `make run` and run the demo from the repository'"'"'s folder, or give --keys DIR or TRIVSEL_VAR'
