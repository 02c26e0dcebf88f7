#!/usr/bin/env python3
"""report.py — the end of `make bench` (tests/bench/run.sh): reads the run's figures as JSON on
standard input, adds the targets of issue 9 and whether each was met, writes OUT/results.json
and prints the table.

    tests/bench/report.py OUT < figures.json
"""
import json
import sys


def get(d, *path):
    for p in path:
        if not isinstance(d, dict) or d.get(p) is None:
            return None
        d = d[p]
    return d


def main():
    out = sys.argv[1]
    r = json.load(sys.stdin)
    sat_ack = get(r, "saturation", "acknowledged_per_s")
    sat_reg = get(r, "saturation", "registered_per_s")
    pgb = get(r, "pgbench", "inserts_per_s")
    both = min(sat_ack, sat_reg) if sat_ack is not None and sat_reg is not None else None
    ratio = round(both / pgb, 2) if both is not None and pgb else None
    r["ratio_to_pgbench"] = ratio
    d = r.get("deadlines") or {}
    s = r.get("settlement") or {}
    lat_reg = get(r, "latency", "publish_to_registered_ms") or {}
    lat_ack = get(r, "latency", "publish_to_ack_ms") or {}
    late = get(d, "overdue", "lateness_received_ms") or {}
    rate = get(r, "latency", "rate")
    rate = f"{rate:g}" if rate else None
    settle_s = s["settle_ms"] / 1000 if s.get("settle_ms") is not None else None

    # name, value, unit, target text, met (None: no target), how far off
    rows = []

    def row(name, value, unit, target=None, op=None, limit=None):
        met = None
        off = ""
        if op is not None and value is not None:
            met = value >= limit if op == ">=" else value < limit
            if value is not None and not met:
                off = (f"{value / limit:.0%} of target" if op == ">=" else f"{value / limit:.1f}x the limit")
        rows.append({"measure": name, "value": value, "unit": unit, "target": target, "met": met, "off": off})

    row("acknowledged at saturation", sat_ack, "/s", ">= 5000/s", ">=", 5000)
    row("registered at saturation", sat_reg, "/s", ">= 5000/s", ">=", 5000)
    row(f"pgbench one-row inserts ({get(r, 'pgbench', 'clients')} clients)", pgb, "/s")
    if (r.get("intake_instances") or 1) > 1:
        row("trivsel-intake replicas in the load runs", r["intake_instances"], "")
    row("acknowledged and registered / pgbench", ratio, "x", ">= 1", ">=", 1)
    for p in ("p50", "p99", "p999"):
        row(f"publish -> ack {p} at {rate or '?'}/s", lat_ack.get(p), "ms")
    for p in ("p50", "p99", "p999"):
        if p == "p99":
            row(f"publish -> registered {p} at {rate or '?'}/s", lat_reg.get(p), "ms", "< 20 ms", "<", 20)
        else:
            row(f"publish -> registered {p} at {rate or '?'}/s", lat_reg.get(p), "ms")
    low = get(r, "latency_low", "publish_to_registered_ms") or {}
    low_rate = get(r, "latency_low", "rate")
    low_rate = f"{low_rate:g}" if low_rate else "?"
    row(f"publish -> registered p50 at {low_rate}/s", low.get("p50"), "ms")
    row(f"publish -> registered p99 at {low_rate}/s", low.get("p99"), "ms")
    n = d.get("open_triage")
    row(f"intake RSS, {n:,} open triage deadlines" if n else "intake RSS", d.get("rss_ready_mb"), "MB",
        "< 200 MB", "<", 200)
    row("intake peak RSS after they fired", d.get("rss_peak_mb"), "MB", "< 200 MB", "<", 200)
    row("intake start -> ready", d.get("ready_ms"), "ms", "< 5000 ms", "<", 5000)
    row("intake start -> deadlines read", d.get("deadlines_read_ms"), "ms")
    fired = d.get("lateness_fired_ms") or {}
    logged = get(d, "overdue", "lateness_logged_ms") or {}
    row(f"lateness p99, {d.get('storm') or 0:,} due in one second: fired", fired.get("p99"), "ms",
        "< 100 ms", "<", 100)
    row("lateness p50: fired (intake committed)", fired.get("p50"), "ms")
    row("lateness p99: in the broker's log", logged.get("p99"), "ms")
    row("lateness p99: received by a subscriber", late.get("p99"), "ms")
    row(f"trivselctl settle, {s.get('active_orders') or 0:,} active orders", settle_s, "s", "< 10 s", "<", 10)
    r["table"] = rows

    with open(f"{out}/results.json", "w") as f:
        json.dump(r, f, indent=2, sort_keys=True)
        f.write("\n")

    m = r.get("machine", {})
    print(f"\ntrivsel benchmark, {r.get('date')}: {m.get('cpus')} x {m.get('cpu')}, {m.get('ram_gb')} GB RAM, "
          f"disk {m.get('disk')}, load average {m.get('load_average')}")
    print(f"PostgreSQL {m.get('postgresql')} ({m.get('durability')})\n")
    width = max(len(x["measure"]) for x in rows)
    print(f"{'measure':<{width}}  {'result':>12}  {'target':<11} ")
    for x in rows:
        v = x["value"]
        text = "-" if v is None else (f"{v:,.0f}" if abs(v) >= 100 else f"{v:,.2f}".rstrip("0").rstrip("."))
        verdict = "" if x["met"] is None else ("met" if x["met"] else f"MISSED ({x['off']})")
        if v is None and x["target"]:
            verdict = "not measured"
        print(f"{x['measure']:<{width}}  {text + ' ' + x['unit']:>12}  {x['target'] or '':<11} {verdict}")
    print(f"\nwritten: {out}/results.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
