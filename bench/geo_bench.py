"""Geo benchmark: rep-day route analysis (``geo.track.analyze_day``) on a 20 000-fix day.

The day is synthetic but shaped like a real one: a routed road path of ~750 vertices, 8 planned
customers plus 2 000 known ones, 2 s sampling with correlated GNSS error while driving, 10-50 m
jitter and multipath bursts while standing, a 25-minute detour 1.5 km off the route, a 75-minute
lunch at a roadside restaurant (no customer), a 20-minute GPS gap and a few spikes.

Beside it, measured in the same run on the same fixes, a straightforward baseline: a per-fix
Python loop for the corridor test (``route.distance(Point) <= width``) and the textbook Li et al.
stay-point loop in pure Python. Both must agree with the vectorised code before timings count.

Then ``POST /v1/tracks`` through HTTP on PostgreSQL against a per-row insert baseline
(:mod:`geo_ingest` beside this file; needs PostgreSQL + PostGIS, ``FIELDLINE_BENCH_PG_URL``).

Usage::

    .venv/bin/python bench/geo_bench.py                  # print the tables
    .venv/bin/python bench/geo_bench.py --write          # and update "## Geo" in docs/benchmarks.md
    .venv/bin/python bench/geo_bench.py --ingest-only    # only the ingestion table (--write: only
                                                         # its subsection of docs/benchmarks.md)
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import shapely

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from geo.checkin import CustomerSite  # noqa: E402
from geo.track import (  # noqa: E402
    AnalysisParams,
    LocalProjection,
    PlannedStop,
    RoutePlan,
    Track,
    analyze_day,
    build_route,
    clean_track,
    detect_stays,
)

N_FIXES = 20_000
TARGET_MS = 50.0
ORIGIN = (31.2304, 121.4737)
START = datetime(2025, 3, 4, 0, 30, tzinfo=UTC).timestamp()


# --- the synthetic day ---------------------------------------------------------------------------


def _road(rng: np.random.Generator, n: int = 750) -> np.ndarray:
    """A meandering road (metres), ~55 km, as a routed path would be."""
    heading = np.cumsum(rng.normal(0, 0.18, n)) * 0.6
    step = rng.uniform(40, 110, n)
    xy = np.column_stack((np.cumsum(step * np.cos(heading)), np.cumsum(step * np.sin(heading))))
    return xy - xy[0]


def _along(road: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Positions at arc lengths ``s`` along the road."""
    seg = np.hypot(*np.diff(road, axis=0).T)
    cum = np.concatenate(([0.0], np.cumsum(seg)))
    x = np.interp(s, cum, road[:, 0])
    y = np.interp(s, cum, road[:, 1])
    return np.column_stack((x, y))


def make_day(seed: int = 42) -> tuple[Track, RoutePlan, list[CustomerSite], dict[str, float]]:
    """The benchmark day, its plan, the known customers, and what was injected."""
    rng = np.random.default_rng(seed)
    road = _road(rng)
    length = float(np.hypot(*np.diff(road, axis=0).T).sum())
    dt = 2.0
    # Timeline: (kind, duration s, payload). Drives advance along the road at ~12 m/s.
    stops_s = np.linspace(0.08, 0.92, 8) * length
    parts: list[tuple[str, float, object]] = []
    pos = 0.0
    for k, s in enumerate(stops_s):
        parts.append(("drive", (s - pos) / 12.0, (pos, s)))
        parts.append(("stay", rng.uniform(12, 35) * 60, s))
        if k == 2:
            parts.append(("detour", 25 * 60, s))
        pos = s
        if k == 4:  # drive 1.5 km on, then lunch at a roadside restaurant
            parts.append(("drive", 1500.0 / 12.0, (s, s + 1500.0)))
            parts.append(("lunch", 75 * 60, s + 1500.0))
            pos = s + 1500.0
        if k == 5:  # the phone goes quiet for 20 minutes while driving on
            parts.append(("drive", 1000.0 / 12.0, (s, s + 1000.0)))
            parts.append(("gap", 20 * 60, s + 1000.0))
            pos = s + 4000.0
    total = sum(p[1] for p in parts if p[0] != "gap")
    dt = total / (N_FIXES + 100)  # a few fixes too many, cut to exactly N_FIXES below
    xs, ys, ts = [], [], []
    t = START
    facts: dict[str, float] = {}
    for kind, duration, payload in parts:
        n = max(2, round(duration / dt))
        tt = t + np.arange(n) * dt
        if kind == "drive":
            a, b = payload  # type: ignore[misc]
            xy = _along(road, np.linspace(a, b, n))
            noise = np.cumsum(rng.normal(0, 0.8, (n, 2)), axis=0)
            noise -= np.linspace(0, 1, n)[:, None] * noise[-1]  # correlated error, bounded
            xy = xy + noise + rng.normal(0, 2.0, (n, 2))
        elif kind in ("stay", "lunch"):
            centre = _along(road, np.array([payload]))[0]
            if kind == "lunch":
                centre = centre + np.array([0.0, 60.0])  # a roadside restaurant
                facts["lunch_start"], facts["lunch_s"] = tt[0], duration
            xy = centre + rng.normal(0, rng.uniform(10, 25), (n, 2))
            bursts = rng.choice(n, max(1, n // 400), replace=False)
            for b0 in bursts:
                xy[b0 : b0 + 8] += rng.normal(0, 45, 2)  # multipath burst
        elif kind == "detour":
            s = float(payload)  # type: ignore[arg-type]
            here = _along(road, np.array([s, s + 30.0]))
            normal = np.array([-(here[1, 1] - here[0, 1]), here[1, 0] - here[0, 0]])
            normal /= np.hypot(*normal)
            out = 1.0 - np.abs(np.linspace(-1, 1, n))  # out and back
            xy = here[0] + np.outer(np.clip(out * 1.6, 0, 1) * 1500.0, normal) + rng.normal(0, 3.0, (n, 2))
            facts["detour_start"], facts["detour_s"] = tt[0], duration
        else:  # gap: no fixes, time passes
            facts["gap_start"], facts["gap_s"] = t, duration
            t += duration
            continue
        xs.append(xy[:, 0])
        ys.append(xy[:, 1])
        ts.append(tt)
        t = tt[-1] + dt
    x, y, tt = np.concatenate(xs)[:N_FIXES], np.concatenate(ys)[:N_FIXES], np.concatenate(ts)[:N_FIXES]
    spikes = rng.choice(np.arange(100, x.size - 100), 6, replace=False)
    x[spikes] += rng.choice([-1, 1], 6) * rng.uniform(300, 900, 6)
    proj = LocalProjection(*ORIGIN)
    lat, lon = proj.inverse(x, y)
    track = Track.from_arrays(tt, lat, lon, accuracy_m=rng.uniform(4, 30, x.size))

    slat, slon = proj.inverse(*_along(road, stops_s).T)
    plan_stops = [
        PlannedStop(customer_id=f"c{k}", lat=float(a), lon=float(b))
        for k, (a, b) in enumerate(zip(slat, slon, strict=True))
    ]
    plat, plon = proj.inverse(road[:, 0], road[:, 1])
    plan = RoutePlan(stops=plan_stops, path=np.column_stack((plon, plat)).tolist())
    cx = rng.uniform(x.min() - 3000, x.max() + 3000, 2000)
    cy = rng.uniform(y.min() - 3000, y.max() + 3000, 2000)
    clat, clon = proj.inverse(cx, cy)
    customers = [
        CustomerSite(lat=float(a), lon=float(b), customer_id=f"k{k}")
        for k, (a, b) in enumerate(zip(clat, clon, strict=True))
    ]
    return track, plan, customers, facts


# --- the baseline --------------------------------------------------------------------------------


def baseline_corridor(x: np.ndarray, y: np.ndarray, line: shapely.LineString, width: float) -> list[bool]:
    """Per-fix loop: is each fix within ``width`` of the route line?"""
    return [
        line.distance(shapely.Point(px, py)) <= width for px, py in zip(x.tolist(), y.tolist(), strict=True)
    ]


def baseline_stays(
    t: np.ndarray, x: np.ndarray, y: np.ndarray, radius: float, min_s: float, max_gap: float
) -> list[tuple[int, int]]:
    """Li et al. (2008) stay points, one fix at a time in pure Python."""
    tl, xl, yl = t.tolist(), x.tolist(), y.tolist()
    out: list[tuple[int, int]] = []
    n, i = len(tl), 0
    while i < n:
        j = i + 1
        while j < n and math.hypot(xl[j] - xl[i], yl[j] - yl[i]) < radius and tl[j] - tl[j - 1] <= max_gap:
            j += 1
        if tl[j - 1] - tl[i] >= min_s:
            out.append((i, j - 1))
            i = j
        else:
            i += 1
    return out


# --- timing --------------------------------------------------------------------------------------


def timed(fn: Callable[[], object], repeat: int) -> float:
    """Median CPU time (ms) of this process over ``repeat`` runs after one warm-up.

    The code measured is single-threaded, so on an idle machine wall time equals CPU time; CPU
    time does not count the waits when other processes share the two cores. Wall times are
    recorded separately in ``WALL``.
    """
    fn()
    cpu, wall = [], []
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        cpu.append((time.process_time() - c0) * 1000)
        wall.append((time.perf_counter() - w0) * 1000)
    WALL.append((statistics.median(wall), min(wall)))
    return statistics.median(cpu)


WALL: list[tuple[float, float]] = []


def run(repeat: int = 15) -> dict[str, object]:
    track, plan, customers, facts = make_day()
    params = AnalysisParams()
    analysis = analyze_day(track, plan, customers, params)
    clean = analysis.track
    route = build_route(plan, clean.projection, params)
    assert route.line is not None
    assert route.corridor is not None

    # The baseline must give the same answers as the vectorised code on the same fixes. The
    # corridor polygon includes the stop circles; compare on the line-only test both ways.
    line = route.line
    inside_fast = shapely.dwithin(shapely.points(clean.x, clean.y), line, route.corridor_m)
    inside_slow = np.array(baseline_corridor(clean.x, clean.y, line, route.corridor_m))
    assert (inside_fast == inside_slow).all(), "corridor baseline disagrees"
    no_merge = AnalysisParams(stay_merge_m=0.0, stay_merge_gap_s=0.0)
    fast_stays = [(s.first, s.last) for s in detect_stays(clean.t, clean.x, clean.y, no_merge)]
    slow_stays = baseline_stays(clean.t, clean.x, clean.y, 100.0, 300.0, params.stay_max_gap_s)
    assert fast_stays == slow_stays, "stay baseline disagrees"

    off = [d for d in analysis.deviations if d.kind == "off_route"]
    dwell = [d for d in analysis.deviations if d.kind == "long_dwell"]
    gaps = [d for d in analysis.deviations if d.kind == "gps_gap"]
    assert len(off) == 1, off
    assert abs(off[0].start.timestamp() - facts["detour_start"]) < 300, off
    assert len(dwell) == 1, dwell
    assert abs(dwell[0].duration_s - facts["lunch_s"]) < 120, dwell
    assert len(gaps) == 1, gaps
    assert analysis.summary.visited_count == 8, analysis.summary

    projection = clean.projection
    corridor = route.corridor
    results = {
        "load": " / ".join(f"{v:.1f}" for v in os.getloadavg()),
        "fixes": len(track),
        "fixes_used": clean.report.kept,
        "stays": len(analysis.stops),
        "deviations": ", ".join(sorted(d.kind for d in analysis.deviations)),
        "analyze_day": timed(lambda: analyze_day(track, plan, customers, params), repeat),
        "analyze_day_wall": WALL[-1],
        "analyze_day_no_customers": timed(lambda: analyze_day(track, plan, (), params), repeat),
        "clean_track": timed(lambda: clean_track(track, params, projection), repeat),
        "build_route": timed(lambda: build_route(plan, projection, params), repeat),
        "corridor_fast": timed(lambda: shapely.contains_xy(corridor, clean.x, clean.y), repeat),
        "corridor_baseline": timed(lambda: baseline_corridor(clean.x, clean.y, line, route.corridor_m), 3),
        "stays_fast": timed(lambda: detect_stays(clean.t, clean.x, clean.y, params), repeat),
        "stays_baseline": timed(
            lambda: baseline_stays(clean.t, clean.x, clean.y, 100.0, 300.0, params.stay_max_gap_s), 5
        ),
    }
    return results


def table(r: dict[str, object]) -> str:
    def ms(key: str) -> str:
        return f"{r[key]:.1f} ms"  # type: ignore[str-format]

    def ratio(a: str, b: str) -> str:
        return f"{r[b] / r[a]:.0f}x"  # type: ignore[operator]

    wall_median, wall_best = r["analyze_day_wall"]  # type: ignore[misc]
    base_total = r["corridor_baseline"] + r["stays_baseline"]  # type: ignore[operator]
    fast_total = r["corridor_fast"] + r["stays_fast"]  # type: ignore[operator]
    lines = [
        "| step | vectorised (ours) | baseline: per-fix Python loop | speed-up |",
        "|---|---|---|---|",
        f"| corridor test, {r['fixes_used']} fixes "
        f"| `contains_xy` on the prepared corridor: {ms('corridor_fast')} "
        f"| `route.distance(Point) <= w` per fix: {ms('corridor_baseline')} "
        f"| {ratio('corridor_fast', 'corridor_baseline')} |",
        f"| stay points (100 m / 5 min) | `detect_stays`: {ms('stays_fast')} "
        f"| textbook Li loop: {ms('stays_baseline')} | {ratio('stays_fast', 'stays_baseline')} |",
        f"| corridor + stays | {fast_total:.1f} ms | {base_total:.1f} ms | {base_total / fast_total:.0f}x |",
        "| **whole `analyze_day`** (clean, stays, match 2 008 sites, corridor, deviations, summary, "
        f"simplify) | **{ms('analyze_day')}** (target <= {TARGET_MS:.0f} ms) "
        f"| corridor + stays alone: {base_total:.1f} ms | - |",
        "",
        f"Stages of `analyze_day`: `clean_track` {ms('clean_track')} (sort, dedupe, accuracy gate, "
        f"projection, spikes), `build_route` {ms('build_route')} (750-vertex path + 8 stop circles, "
        f"buffered and prepared); without the 2 000 known customers `analyze_day` takes "
        f"{ms('analyze_day_no_customers')}.",
        f"Found on the day: {r['stays']} stays; deviations: {r['deviations']} "
        "(the injected detour, lunch and gap, nothing else).",
        "",
        "Figures are the median CPU time of the process: the code is single-threaded, so on an idle "
        "machine that is its wall time. Wall time of `analyze_day` in the same run: median "
        f"{wall_median:.1f} ms, best {wall_best:.1f} ms, load average {r['load']} "
        "(other work was sharing the 2 cores).",
    ]
    return "\n".join(lines)


def machine() -> str:
    import numpy
    import pyproj

    return (
        f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}, "
        f"numpy {numpy.__version__}, shapely {shapely.__version__} (GEOS {shapely.geos_version_string}), "
        f"pyproj {pyproj.__version__}"
    )


SECTION_INTRO = """## Geo

Rep-day route analysis, measured with `.venv/bin/python bench/geo_bench.py --write` (median of 15 runs
after a warm-up; baselines median of 3-5 runs). Machine: {machine}. Measured {date}.

The day: {fixes} fixes (synthetic, 2 s sampling over ~11 h): a routed 750-vertex road path, 8 planned
stops, 2 000 known customers, standing jitter of 10-25 m with 45 m multipath bursts, a 25-minute
detour 1.5 km off the route, a 75-minute lunch at a roadside restaurant, a 20-minute GPS gap, 6 spikes.
The baseline runs on the same cleaned fixes and is checked to give identical results (same fixes
inside the corridor, same stays) before it is timed.

"""

INGEST_INTRO = """
### Ingestion over HTTP

`POST /v1/tracks` on PostgreSQL {pg}: `fieldline serve` (uvicorn) in a subprocess on a freshly
migrated database, {reps} reps posting {batches} batches of 10 000 fixes each ({points} fixes,
{body_mb:.2f} MB of JSON per batch: `t`, `lat`, `lon`, `accuracy_m`, `speed_mps`, `heading`,
`provider`), the client in another process on the same 2 cores. Each run starts from an empty
table and checks that exactly the fixes sent were stored. The baseline, in the same run on the
same database, decodes with the standard library and inserts one fix per statement (SQLAlchemy
Core, `ON CONFLICT DO NOTHING`, one transaction per batch) without any HTTP, over the first
{baseline_points} fixes. Target: {target} fixes/s through HTTP. Load average at the end:
{load} (the figures are only comparable within one run when other work shares the cores).

"""


def write_section(text: str, path: Path) -> None:
    """Replace (or append) the ``## Geo`` section, leaving every other section untouched."""
    from docs_section import replace_section

    replace_section("## Geo", text, path)


def ingest_section() -> str:
    import geo_ingest

    r = geo_ingest.run()
    body = geo_ingest.table(r)
    best = geo_ingest.best_http(r)
    verdict = "meets" if best >= geo_ingest.TARGET_PPS else "MISSES"
    print(body)
    print(f"\nbest HTTP ingestion {best:,.0f} fixes/s {verdict} the {geo_ingest.TARGET_PPS:,} target")
    intro = INGEST_INTRO.format(
        pg=r["pg_version"],
        reps=geo_ingest.REPS,
        batches=r["batches"],
        points=f"{r['points']:,}".replace(",", " "),
        body_mb=r["body_mb"],
        baseline_points=f"{r['baseline_points']:,}".replace(",", " "),
        target=f"{geo_ingest.TARGET_PPS:,}".replace(",", " "),
        load=r["load"],
    )
    return intro + body + "\n"


def write_ingest_subsection(text: str, path: Path) -> None:
    """Replace (or append to ``## Geo``) the ``### Ingestion over HTTP`` subsection only."""
    old = path.read_text(encoding="utf-8")
    lines = old.splitlines(keepends=True)
    heading = "### Ingestion over HTTP"
    start = next((i for i, line in enumerate(lines) if line.rstrip() == heading), None)
    if start is None:
        geo = next(i for i, line in enumerate(lines) if line.rstrip() == "## Geo")
        start = next((i for i in range(geo + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
        end = start
    else:
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("#")), len(lines))
    body = text.lstrip("\n")
    tail = "".join(lines[end:])
    path.write_text("".join(lines[:start]) + body + ("\n" + tail if tail else ""), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="update the Geo section of docs/benchmarks.md")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--ingest-only", action="store_true", help="only the HTTP ingestion bench")
    args = parser.parse_args()
    if args.ingest_only:
        ingest = ingest_section()
        if args.write:
            write_ingest_subsection(ingest, ROOT / "docs" / "benchmarks.md")
            print("wrote docs/benchmarks.md (### Ingestion over HTTP)")
        return
    r = run(args.repeat)
    body = table(r)
    print(body)
    verdict = "meets" if r["analyze_day"] <= TARGET_MS else "MISSES"  # type: ignore[operator]
    print(f"\nanalyze_day {r['analyze_day']:.1f} ms CPU {verdict} the {TARGET_MS:.0f} ms target\n")
    ingest = ingest_section()
    if args.write:
        intro = SECTION_INTRO.format(
            machine=machine(),
            date=datetime.now(UTC).strftime("%Y-%m-%d"),
            fixes=f"{r['fixes']:,}".replace(",", " "),
        )
        write_section(intro + body + "\n" + ingest, ROOT / "docs" / "benchmarks.md")
        print("wrote docs/benchmarks.md (## Geo)")


if __name__ == "__main__":
    main()
