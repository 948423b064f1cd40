"""The database side of mwload.py: wait for, time and verify the analyses of
acknowledged check-ins, reading PostgreSQL with psql."""

import subprocess
import sys
import time

from common import pct, read_acks


def psql(db, sql, stdin=None):
    out = subprocess.run(
        ["psql", db, "-AtqX", "-v", "ON_ERROR_STOP=1", "-F", "|"],
        input=sql if stdin is None else sql + stdin,
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        raise RuntimeError(out.stderr.strip())
    return [line.split("|") for line in out.stdout.strip().splitlines() if line]


def acked_table(acks):
    rows = "".join(f"{c},{an}\n" for c, an in acks)
    return (
        "CREATE TEMP TABLE acked (checkin_id uuid, analysis_id uuid);\n"
        "COPY acked FROM STDIN WITH (FORMAT csv);\n" + rows + "\\.\n"
    )


def pending(db, acks):
    rows = psql(
        db,
        acked_table(acks)
        + "SELECT count(*) FILTER (WHERE r.status IN ('completed','failed')), count(r.id), count(*) FROM acked a "
        "LEFT JOIN ai_analysis_results r ON r.id = a.analysis_id;",
    )
    finished, present, total = map(int, rows[-1])
    return finished, present, total


def wait_done(db, acks, timeout, quiet=False):
    started = time.time()
    last = 0
    while True:
        try:
            finished, _, total = pending(db, acks)
        except RuntimeError as e:  # the database may be restarting
            finished, total = -1, len(acks)
            if not quiet:
                print(f"  (database not answering: {e})")
        if finished == total:
            return True, time.time() - started
        if time.time() - started > timeout:
            return False, time.time() - started
        if not quiet and time.time() - last >= 10:
            print(f"  waiting: {max(finished, 0)}/{total} analyses finished after {time.time() - started:.0f} s")
            last = time.time()
        time.sleep(1)


def cmd_wait(a):
    acks = read_acks(a.acks)
    ok, secs = wait_done(a.db, acks, a.timeout)
    print(f"{'all' if ok else 'NOT all'} {len(acks)} analyses finished after {secs:.1f} s")
    sys.exit(0 if ok else 1)


def cmd_latency(a):
    acks = read_acks(a.acks)
    ok, _ = wait_done(a.db, acks, a.timeout, quiet=True)
    rows = psql(
        a.db,
        acked_table(acks)
        + "SELECT extract(epoch FROM r.started_at - r.created_at) * 1000, "
        "extract(epoch FROM r.completed_at - r.created_at) * 1000, r.status FROM acked a "
        "JOIN ai_analysis_results r ON r.id = a.analysis_id;",
    )
    pick = sorted(float(r[0]) for r in rows if r[0])
    done = sorted(float(r[1]) for r in rows if r[1] and r[2] == "completed")
    print(f"  {'ms':<24} {'n':>5} {'p50':>8} {'p95':>8} {'p99':>8} {'max':>8}")
    for name, v in (("pick-up (queued->run)", pick), ("check-in -> completed", done)):
        print(
            f"  {name:<24} {len(v):>5} {pct(v, .5):>8.1f} {pct(v, .95):>8.1f} {pct(v, .99):>8.1f} "
            f"{(v[-1] if v else float('nan')):>8.1f}"
        )
    print(f"LATENCY n={len(done)} p50_ms={pct(done, .5):.1f} p95_ms={pct(done, .95):.1f} max_ms={(done[-1] if done else 0):.1f} all_done={int(ok)}")


VERIFY_SQL = """
WITH r AS (SELECT r.* FROM ai_analysis_results r JOIN acked a ON a.checkin_id = r.checkin_id)
SELECT 'acknowledged check-ins', count(*) FROM acked
UNION ALL SELECT 'acknowledged check-ins missing from daily_checkins',
  count(*) FROM acked a LEFT JOIN daily_checkins c ON c.id = a.checkin_id WHERE c.id IS NULL
UNION ALL SELECT 'acknowledged analyses missing',
  count(*) FROM acked a LEFT JOIN ai_analysis_results x ON x.id = a.analysis_id WHERE x.id IS NULL
UNION ALL SELECT 'acknowledged analyses not completed',
  count(*) FROM acked a JOIN ai_analysis_results x ON x.id = a.analysis_id WHERE x.status <> 'completed'
UNION ALL SELECT 'check-ins with other than exactly one analysis',
  count(*) FROM (SELECT a.checkin_id FROM acked a LEFT JOIN r ON r.checkin_id = a.checkin_id
                 GROUP BY a.checkin_id HAVING count(r.id) <> 1) x
UNION ALL SELECT 'duplicate alerts (same check-in and rule)',
  count(*) FROM (SELECT al.checkin_id, al.type FROM alerts al JOIN acked a ON a.checkin_id = al.checkin_id
                 GROUP BY 1, 2 HAVING count(*) > 1) x
UNION ALL SELECT 'alerts not tied to the check-in''s analysis',
  count(*) FROM alerts al JOIN acked a ON a.checkin_id = al.checkin_id
  WHERE al.ai_result_id IS DISTINCT FROM a.analysis_id
UNION ALL SELECT 'low_sleep check-ins (sleep < 5 h) without exactly one low_sleep alert',
  count(*) FROM acked a JOIN daily_checkins c ON c.id = a.checkin_id
  WHERE c.sleep_hours < 5
    AND (SELECT count(*) FROM alerts al WHERE al.checkin_id = a.checkin_id AND al.type = 'low_sleep') <> 1
UNION ALL SELECT 'info: analyses run more than once (attempts > 1, written once)',
  count(*) FROM acked a JOIN ai_analysis_results x ON x.id = a.analysis_id WHERE x.attempts > 1
UNION ALL SELECT 'info: highest attempts', coalesce(max(x.attempts), 0)
  FROM acked a JOIN ai_analysis_results x ON x.id = a.analysis_id
UNION ALL SELECT 'info: alerts of acknowledged check-ins', count(*) FROM alerts al JOIN acked a ON a.checkin_id = al.checkin_id
UNION ALL SELECT 'info: all check-ins in the database', count(*) FROM daily_checkins
UNION ALL SELECT 'info: all analyses not completed in the database', count(*) FROM ai_analysis_results WHERE status <> 'completed'
UNION ALL SELECT 'check-ins in the database with other than one analysis',
  count(*) FROM (SELECT c.id FROM daily_checkins c LEFT JOIN ai_analysis_results x ON x.checkin_id = c.id
                 GROUP BY c.id HAVING count(x.id) <> 1) x;
"""


def cmd_verify(a):
    acks = []
    for path in a.acks:
        acks += read_acks(path)
    acks = list(dict.fromkeys(acks))
    if not acks:
        print("  FAIL  no acknowledged check-ins to verify")
        sys.exit(1)
    ok, secs = wait_done(a.db, acks, a.wait)
    print(f"  {'all' if ok else 'NOT all'} acknowledged analyses finished ({secs:.0f} s of waiting)")
    rows = psql(a.db, acked_table(acks) + VERIFY_SQL)
    failed = not ok
    for name, value in rows:
        value = int(value)
        if name.startswith("info:") or name == "acknowledged check-ins":
            print(f"        {name}: {value}")
        else:
            bad = value != 0
            failed |= bad
            print(f"  {'FAIL' if bad else 'PASS'}  {name}: {value}")
    print(f"VERIFY {'FAIL' if failed else 'PASS'} acked={len(acks)}")
    sys.exit(1 if failed else 0)
