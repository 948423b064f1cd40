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

The database is read with psql (dbcheck.py); the acknowledged check-ins are kept
in CSV files of "checkin_id,analysis_id" (common.py). Just over 300 lines: the
HTTP client and the seed, post and window commands share the client's timing.
"""

import argparse
import http.client
import json
import random
import sys
import threading
import time
import urllib.parse
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

from common import pct, write_acks
from dbcheck import cmd_latency, cmd_verify, cmd_wait

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
