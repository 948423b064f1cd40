#!/usr/bin/env python3
"""Client side of the load, soak and fault scripts (Python standard library only).

  seed     sign users up and post their history of check-ins through the API
  post     post check-ins: N as fast as T threads go, or at a steady rate
  wait     wait until the analyses of acknowledged check-ins are finished
  latency  check-in -> insight latency of acknowledged check-ins, from the
           timestamps the system records (created_at, started_at, completed_at)
  verify   the database invariants after a fault: every acknowledged check-in
           stored, its analysis completed, exactly one analysis per check-in,
           one set of alerts
  window   what clients saw in a time window (e.g. during an outage)

The database is read with psql; the acknowledged check-ins are kept in CSV
files of "checkin_id,analysis_id".
"""

import argparse
import http.client
import json
import random
import subprocess
import sys
import threading
import time
import urllib.parse
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

NOTES = [
    "Slept well and had a productive, happy day.",
    "Feeling anxious about the deadline, hard to focus.",
    "Quiet evening, read a book, nothing special.",
    "Argued with my partner and I feel awful and tired.",
    "Went for a long run in the park, feeling great.",
    "Work was stressful but dinner with friends helped.",
    "",
    "Could not sleep, kept worrying about money.",
    "Lovely walk by the sea with the dog this morning.",
    "Tired. Too many meetings. Headache all afternoon.",
]


class Client:
    """One keep-alive HTTP connection, reopened after any error."""

    def __init__(self, base, timeout):
        u = urllib.parse.urlsplit(base)
        self.host, self.port, self.timeout = u.hostname, u.port or 80, timeout
        self.conn = None

    def call(self, method, path, body=None, token=None):
        """Returns (status, parsed body or None, error class name or None)."""
        headers = {"content-type": "application/json"}
        if token:
            headers["authorization"] = "Bearer " + token
        data = json.dumps(body).encode() if body is not None else None
        try:
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            self.conn.request(method, path, body=data, headers=headers)
            resp = self.conn.getresponse()
            raw = resp.read()
            if resp.getheader("connection", "").lower() == "close":
                self.close()
            try:
                parsed = json.loads(raw) if raw else None
            except ValueError:
                parsed = None
            return resp.status, parsed, None
        except Exception as e:  # noqa: BLE001 - every client-side failure is a result
            self.close()
            return None, None, type(e).__name__

    def close(self):
        if self.conn is not None:
            try:
                self.conn.close()
            except Exception:  # noqa: BLE001
                pass
            self.conn = None


def checkin_body(rng, when=None):
    body = {
        "mood": rng.randint(1, 10),
        "sleep_hours": round(rng.uniform(2.0, 10.0), 1),
        "notes": rng.choice(NOTES),
        "meta": {"source": "mwload", "n": rng.randint(1, 10**6)},
    }
    if when is not None:
        body["timestamp"] = when.isoformat().replace("+00:00", "Z")
    return body


def pct(sorted_values, p):
    if not sorted_values:
        return float("nan")
    i = round((len(sorted_values) - 1) * p)
    return sorted_values[i]


# --- seed ---------------------------------------------------------------------


def cmd_seed(a):
    prefix = a.prefix or f"load{int(time.time())}"
    local = threading.local()

    def client():
        if not hasattr(local, "c"):
            local.c = Client(a.base, 30)
        return local.c

    def signup(i):
        body = {"email": f"{prefix}-{i}@load.example.com", "password": "load password 123", "full_name": f"Load {i}"}
        for _ in range(5):
            status, resp, err = client().call("POST", "/api/v1/auth/signup", body)
            if status == 201:
                return resp["data"]["user"]["id"], resp["data"]["tokens"]["access_token"]
            time.sleep(0.5)
        raise SystemExit(f"signup {i} failed: {status} {err} {resp}")

    started = time.time()
    with ThreadPoolExecutor(a.threads) as pool:
        users = list(pool.map(signup, range(a.users)))
    with open(a.out, "w") as f:
        for _, token in users:
            f.write(token + "\n")
    signed = time.time() - started

    now = datetime.now(timezone.utc)

    def history(args):
        i, (_, token) = args
        rng = random.Random(i)
        acks = []
        for d in range(a.checkins):
            when = now - timedelta(days=d, hours=rng.uniform(0.5, 10))
            status, resp, err = client().call("POST", "/api/v1/checkins", checkin_body(rng, when), token)
            if status != 202:
                raise SystemExit(f"seed check-in failed: {status} {err} {resp}")
            acks.append((resp["data"]["checkin"]["id"], resp["data"]["analysis_id"]))
        return acks

    with ThreadPoolExecutor(a.threads) as pool:
        all_acks = [x for acks in pool.map(history, enumerate(users)) for x in acks]
    if a.acks:
        write_acks(a.acks, all_acks)
    print(
        f"seeded {len(users)} users in {signed:.1f} s and {len(all_acks)} check-ins in "
        f"{time.time() - started - signed:.1f} s; tokens in {a.out}"
    )


# --- post ---------------------------------------------------------------------


def write_acks(path, acks, mode="w"):
    with open(path, mode) as f:
        for c, an in acks:
            f.write(f"{c},{an}\n")


def read_acks(path):
    out = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                c, an = line.split(",")[:2]
                out.append((c, an))
    return out


def cmd_post(a):
    tokens = [t.strip() for t in open(a.tokens) if t.strip()]
    results = []
    lock = threading.Lock()
    log = open(a.log, "w") if a.log else None

    def one(client, rng, i):
        token = tokens[i % len(tokens)] if a.round_robin else rng.choice(tokens)
        t0 = time.time()
        status, resp, err = client.call("POST", "/api/v1/checkins", checkin_body(rng), token)
        t1 = time.time()
        rec = {"i": i, "t0": t0, "t1": t1, "ms": round((t1 - t0) * 1000, 2), "status": status, "err": err}
        if status == 202 and resp:
            rec["checkin_id"] = resp["data"]["checkin"]["id"]
            rec["analysis_id"] = resp["data"]["analysis_id"]
        elif resp and isinstance(resp, dict) and resp.get("error"):
            rec["code"] = resp["error"].get("code")
        with lock:
            results.append(rec)
            if log:
                log.write(json.dumps(rec) + "\n")

    started = time.time()
    if a.rate:
        # Open loop: one request every 1/rate s, each on its own thread and
        # connection, so a slow answer does not hold the next one back.
        total = int(a.rate * a.seconds)
        sem = threading.Semaphore(a.max_inflight)
        threads = []

        def fire(i):
            try:
                c = Client(a.base, a.timeout)
                one(c, random.Random(i * 7919 + int(started)), i)
                c.close()
            finally:
                sem.release()

        for i in range(total):
            due = started + i / a.rate
            delay = due - time.time()
            if delay > 0:
                time.sleep(delay)
            sem.acquire()
            th = threading.Thread(target=fire, args=(i,), daemon=True)
            th.start()
            threads.append(th)
        for th in threads:
            th.join()
    else:
        # --count N: N requests; --count 0: as many as fit in --seconds.
        counter = iter(range(a.count)) if a.count > 0 else iter(range(10**12))
        counter_lock = threading.Lock()
        until = started + a.seconds if a.count <= 0 else float("inf")

        def loop(k):
            c = Client(a.base, a.timeout)
            rng = random.Random(k * 104729 + int(started))
            while time.time() < until:
                with counter_lock:
                    i = next(counter, None)
                if i is None:
                    break
                one(c, rng, i)
                if a.pause:
                    time.sleep(a.pause)
            c.close()

        ths = [threading.Thread(target=loop, args=(k,)) for k in range(a.threads)]
        for th in ths:
            th.start()
        for th in ths:
            th.join()
    elapsed = time.time() - started
    if log:
        log.close()
    acks = [(r["checkin_id"], r["analysis_id"]) for r in results if "checkin_id" in r]
    if a.acks:
        write_acks(a.acks, acks, "a" if a.append else "w")
    summarize(results, elapsed, "posted")


def outcome(r):
    if r["status"] is None:
        return f"client error {r['err']}"
    return f"{r['status']}" + (f" {r['code']}" if r.get("code") else "")


def summarize(results, elapsed, what):
    ms = sorted(r["ms"] for r in results)
    counts = Counter(outcome(r) for r in results)
    print(
        f"{what} {len(results)} in {elapsed:.1f} s ({len(results) / max(elapsed, 1e-9):.1f}/s); "
        f"client latency ms p50 {pct(ms, 0.5):.1f} p99 {pct(ms, 0.99):.1f} max {ms[-1] if ms else float('nan'):.1f}"
    )
    print("  outcomes: " + ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())))


def cmd_window(a):
    """Buckets requests by when they started: before the outage, during it,
    in the SETTLE seconds after it (recovering), and after that."""
    results = [json.loads(line) for line in open(a.log) if line.strip()]
    parts = {
        "before": [r for r in results if r["t1"] <= a.start],
        "during": [r for r in results if r["t0"] < a.end and r["t1"] > a.start],
        "recovering": [r for r in results if a.end <= r["t0"] < a.end + a.settle],
        "after": [r for r in results if r["t0"] >= a.end + a.settle],
    }
    for name, rs in parts.items():
        c = Counter(outcome(r) for r in rs)
        ms = sorted(r["ms"] for r in rs)
        print(
            f"  {name:<10} {len(rs):>5} requests; max {ms[-1] if ms else 0:.0f} ms; "
            + ", ".join(f"{k}: {v}" for k, v in sorted(c.items()))
        )
    if a.json:
        summary = {name: dict(Counter(outcome(r) for r in rs)) for name, rs in parts.items()}
        summary["max_ms"] = max((r["ms"] for r in results), default=0)
        ok_after = [r["t0"] - a.end for r in results if r["t0"] >= a.end and r["status"] == 202]
        summary["first_202_after_s"] = min(ok_after, default=None)
        json.dump(summary, open(a.json, "w"))


# --- database -----------------------------------------------------------------


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


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)

    s = sub.add_parser("seed")
    s.add_argument("--base", required=True)
    s.add_argument("--users", type=int, default=200)
    s.add_argument("--checkins", type=int, default=10, help="per user, one a day going back")
    s.add_argument("--prefix")
    s.add_argument("--threads", type=int, default=8)
    s.add_argument("--out", required=True, help="file for the access tokens")
    s.add_argument("--acks")
    s.set_defaults(fn=cmd_seed)

    s = sub.add_parser("post")
    s.add_argument("--base", required=True)
    s.add_argument("--tokens", required=True)
    s.add_argument("--count", type=int, default=1000, help="0: for --seconds")
    s.add_argument("--threads", type=int, default=8)
    s.add_argument("--rate", type=float, help="requests per second (open loop) instead of --count")
    s.add_argument("--seconds", type=float, default=15)
    s.add_argument("--max-inflight", type=int, default=512)
    s.add_argument("--pause", type=float, default=0, help="seconds each thread waits between requests")
    s.add_argument("--timeout", type=float, default=10)
    s.add_argument("--round-robin", action="store_true")
    s.add_argument("--acks")
    s.add_argument("--append", action="store_true")
    s.add_argument("--log", help="JSON lines, one per request")
    s.set_defaults(fn=cmd_post)

    s = sub.add_parser("window")
    s.add_argument("--log", required=True)
    s.add_argument("--start", type=float, required=True)
    s.add_argument("--end", type=float, required=True)
    s.add_argument("--settle", type=float, default=0, help="seconds after --end counted as recovering")
    s.add_argument("--json")
    s.set_defaults(fn=cmd_window)

    for name, fn in (("wait", cmd_wait), ("latency", cmd_latency)):
        s = sub.add_parser(name)
        s.add_argument("--db", required=True)
        s.add_argument("--acks", required=True)
        s.add_argument("--timeout", type=float, default=600)
        s.set_defaults(fn=fn)

    s = sub.add_parser("verify")
    s.add_argument("--db", required=True)
    s.add_argument("--acks", required=True, nargs="+")
    s.add_argument("--wait", type=float, default=300)
    s.set_defaults(fn=cmd_verify)

    a = p.parse_args()
    a.fn(a)


if __name__ == "__main__":
    main()
