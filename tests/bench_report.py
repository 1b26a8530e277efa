"""What ``make bench`` measures with, and what it prints: the settings of a run, the goals, the
loads of each page and round, and the report (see tests/bench.py, which runs it)."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any

ROSTERS = (8, 400)
WORKERS = 2  # gunicorn sync workers
THREADS = 2  # load generator threads
CONNECTIONS = 16  # concurrent clients
WARMUP = 2  # seconds of load on each URL before measuring, discarded
ROUNDS = 8  # each URL is measured once a round, in turn, so a noisy spell hits them all alike
DURATION = 2  # seconds per URL and round; a URL's req/s is its median over the rounds
# This machine's speed drifts by a quarter within seconds, so a page is compared with the bare
# view measured around it (at the start of its round and of the next; a last bare measurement
# closes the final round): its share is the median over the rounds of those ratios.
# Share of the bare view's req/s; the unchanged feed's is also held to the one-query floor's.
GOALS = {
    "dashboard": 0.35,
    "api": 0.60,
    "incidents": 0.20,
    "runbook": 0.35,
    "feed 304": 0.80,
}
FLOOR_GAP = 0.15  # the unchanged feed's share may be at most this far below the floor's

BARE, DASHBOARD, API = "/bench/bare", "/", "/api/v1/oncall"
ONE_QUERY_304 = "/bench/one-query-304"  # the floor of any 304 that reads the database
# The floor of a large answer: one query, then as many bytes as a year of the schedule.
ONE_QUERY_BYTES = "/bench/one-query-bytes"
# (page, its label in the report, the status every answer must have)
PAGES = (
    ("dashboard", "dashboard", 200),
    ("api", API, 200),
    ("schedule", "/api/v1/schedule, a year", 200),
    ("incidents", "/incidents/", 200),
    ("runbook", "a runbook", 200),
    ("feed", "feed (a year)", 200),
    ("feed 304", "feed, unchanged", 304),
    ("floor 304", "(one query, 304)", 304),
    ("floor bytes", "(one query, as many bytes)", 200),
)


@dataclass
class Load:
    """One measurement: completed responses per second, and how many were not 200."""

    rate: float
    requests: int
    not_ok: int
    errors: str = ""


@dataclass
class Result:
    """What one roster size gave: loads per page and round, queries, and the freshness check."""

    engineers: int
    loads: dict[str, list[Load]]
    queries: dict[str, dict[str, int]]
    past_shifts: dict[str, str]
    shifts: int
    fresh: tuple[bool, str]
    writes: dict[str, Any]

    def rate(self, page: str) -> float:
        """The page's median req/s over the rounds."""
        return statistics.median(load.rate for load in self.loads[page])

    def shares(self, page: str) -> list[float]:
        """Each round's req/s of the page as a share of the bare view's around it."""
        bare = [load.rate for load in self.loads["bare"]]
        return [
            load.rate / ((before + after) / 2)
            for load, before, after in zip(self.loads[page], bare, bare[1:], strict=False)
        ]

    def share(self, page: str) -> float:
        return statistics.median(self.shares(page))


def report_floor_gap(result: Result, page: str, floor: str, label: str) -> None:
    gaps = [
        bottom - share
        for share, bottom in zip(result.shares(page), result.shares(floor), strict=True)
    ]
    gap = statistics.median(gaps)
    verdict = "met" if gap <= FLOOR_GAP else "NOT met"
    rounds = " ".join(f"{g * 100:.0f}" for g in gaps)
    print(
        f"{result.engineers:>7}  {label} {gap * 100:.1f} points below the floor: {verdict} "
        f"(rounds: {rounds})"
    )


def report(results: list[Result], generator: str) -> None:
    print()
    print(f"Throughput: gunicorn with {WORKERS} sync workers; {generator}, {CONNECTIONS} clients;")
    print(
        f"{ROUNDS} rounds of {DURATION} s per URL in turn after {WARMUP} s of warm-up; req/s is "
        "the median over the rounds;\nshare of bare: the median over the rounds of the page's "
        "req/s over the mean of the bare view's\nmeasured before and after it. "
        "10 years of shifts, 10,000 incidents and 5,000 runbooks stored.\nWhile measuring, "
        "a background writer records a PagerDuty sync run, logs a user in and adds an\n"
        "incident timeline note every two seconds (no schedule writes)."
    )
    print()
    print(
        f"{'roster':>7}  {'page':<16}{'req/s':>9}  {'of bare':>8}  {'goal':>7}  result  "
        "rounds (req/s; share of the bare view around it)"
    )
    for result in results:
        for page, label, _ in (("bare", "bare view", 200), *PAGES):
            rate = result.rate(page)
            if page == "bare":
                rounds = " ".join(f"{load.rate:.0f}" for load in result.loads[page])
                print(
                    f"{result.engineers:>7}  {label:<16}{rate:>9.1f}  {'100%':>8}  {'':>15}  {rounds}"
                )
                continue
            rounds = " ".join(f"{share:.0%}" for share in result.shares(page))
            share, goal = result.share(page), GOALS.get(page)
            target = "" if goal is None else ">= " + format(goal, ".0%")
            verdict = "" if goal is None else "met" if share >= goal else "NOT met"
            print(
                f"{result.engineers:>7}  {label:<16}{rate:>9.1f}  {share:>8.1%}  "
                f"{target:>7}  {verdict:<7} {rounds}"
            )
    print()
    print(
        f"A year of /api/v1/schedule against one query and as many bytes (goal: at most "
        f"{FLOOR_GAP * 100:.0f} points below it: what is left is moving the answer, not making it)"
    )
    for result in results:
        report_floor_gap(result, "schedule", "floor bytes", "schedule (a year)")
    print()
    print(
        f"Unchanged feed against the one-query 304 floor (goal: at most {FLOOR_GAP * 100:.0f} "
        "points below it),\nand calendar publications while measuring (goal: 0, no schedule "
        "write happened)"
    )
    for result in results:
        gaps = [
            floor - feed
            for feed, floor in zip(
                result.shares("feed 304"), result.shares("floor 304"), strict=True
            )
        ]
        gap = statistics.median(gaps)
        verdict = "met" if gap <= FLOOR_GAP else "NOT met"
        rounds = " ".join(f"{g * 100:.0f}" for g in gaps)
        writes = result.writes
        published = writes["publications"]
        print(
            f"{result.engineers:>7}  feed 304 {gap * 100:.1f} points below the floor: {verdict} "
            f"(rounds: {rounds}); {writes['rounds']} rounds of background writes; "
            f"{published} publications: {'met' if published == 0 else 'NOT met'}"
        )
    print()
    print("Queries per page, with 1 and with 10 years of past shifts stored (goal: flat);")
    print("cold: the first request after any write (the feed publishes again first);")
    print("warm: while nothing has changed")
    print(f"{'roster':>7}  {'page':<27}{'1 year':>8}  {'10 years':>9}  flat")
    for result in results:
        for page, label, _ in PAGES:
            if page.startswith("floor"):  # the benchmark's own views, not the portal's
                continue
            for state in ("cold", "warm"):
                key = f"{page} {state}"
                one, ten = result.queries["1 year"][key], result.queries["10 years"][key]
                flat = "yes" if one == ten else "NO"
                name = f"{label} {state}"
                print(f"{result.engineers:>7}  {name:<27}{one:>8}  {ten:>9}  {flat}")
    for result in results:
        past = result.past_shifts
        print(
            f"  ({result.engineers} engineers: {past['1 year']}, then {past['10 years']}; "
            f"{result.shifts} shift rows in all; {past['changes']} stored)"
        )
    print()
    print("Never a stale answer (roster reversed under the running server, then asked at once)")
    for result in results:
        fresh, detail = result.fresh
        answer = "yes" if fresh else "NO"
        print(f"{result.engineers:>7}  fresh after roster edit: {answer} ({detail})")
    socket_errors = {
        f"{result.engineers} {page}": load.errors
        for result in results
        for page, loads in result.loads.items()
        for load in loads
        if load.errors
    }
    if socket_errors:
        print(f"\nwrk socket errors: {socket_errors}")
    if not generator.startswith("wrk"):
        print("\nNo wrk: the Python clients saturate before the bare view does; ratios read high.")
