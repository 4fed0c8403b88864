"""One rep-day, planned vs actual: :func:`analyze_day`.

Pipeline: clean the fixes (:mod:`geo.track.clean`) on a plane centred on the day, detect stays
(:mod:`geo.track.staypoints`), match them to planned stops and known customers, then derive the
deviations (:mod:`geo.track.deviations`) and the summary. Pure and CPU-bound: run it in a worker
thread, not on the event loop.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from itertools import pairwise

import numpy as np
import shapely

from geo.checkin import CustomerSite
from geo.track.clean import CleanTrack, clean_track, snap_to_stays
from geo.track.deviations import Sites, closest_approach, gap_steps, match_stays, off_route_runs
from geo.track.model import FloatArray, Track, to_datetime
from geo.track.params import AnalysisParams
from geo.track.plan import PlannedRoute, PlannedStop, RoutePlan, build_route, path_lonlat
from geo.track.projection import LocalProjection
from geo.track.result import (
    DayAnalysis,
    DaySummary,
    Deviation,
    Gap,
    PlannedStopStatus,
    Stop,
    TrackLine,
    VisitStatus,
)
from geo.track.staypoints import StayPoint, detect_stays

__all__ = ["analyze_day"]


def analyze_day(
    track: Track,
    plan: RoutePlan | None = None,
    customers: Sequence[CustomerSite] = (),
    params: AnalysisParams | None = None,
) -> DayAnalysis:
    """Analyse one rep-day against its plan.

    Args:
        track: the day's raw fixes (any order; duplicates, spikes and poor fixes are handled).
        plan: the day's planned stops and optional routed path; None = no plan (stays, gaps,
            long dwells and unplanned visits are still reported).
        customers: known customer sites (with ``customer_id``) used to recognise visits to
            customers that are not on the plan; sites without coordinates are ignored. Passing
            the planned customers again is harmless.
        params: all thresholds, see :class:`~geo.track.params.AnalysisParams`.

    Returns:
        The summary, stops, deviations, gaps, per-stop statuses, cleaned and simplified track.
    """
    p = params or AnalysisParams()
    projection = _projection_for(track, plan)
    clean = clean_track(track, p, projection)
    t, x, y = clean.t, clean.x, clean.y
    stays = detect_stays(t, x, y, p)
    route = build_route(plan, projection, p) if plan is not None else None
    planned = list(plan.stops) if plan is not None else []
    sites = _sites(planned, customers, projection, route, p)

    # Stays -> stops.
    stay_acc = np.array([_median_accuracy(clean.accuracy_m[s.first : s.last + 1]) for s in stays])
    matches = match_stays(stays, stay_acc if stays else np.zeros(0), sites)
    stay_lat, stay_lon = projection.inverse([s.x for s in stays], [s.y for s in stays])
    stops = [
        _stop(s, m, sites, float(la), float(lo))
        for s, m, la, lo in zip(stays, matches, stay_lat.tolist(), stay_lon.tolist(), strict=True)
    ]

    # Stationary jitter collapsed to the stay centres for distances and drawing.
    xs, ys = snap_to_stays(x, y, [(s.first, s.last) for s in stays], [(s.x, s.y) for s in stays])
    steps = np.hypot(np.diff(xs), np.diff(ys))
    dt = np.diff(t)
    gap_idx = gap_steps(t, p.gap_min_s)
    stay_of = _stay_membership(t.size, stays)

    statuses = _planned_statuses(planned, route, stays, matches, sites, clean, p)
    deviations: list[Deviation] = []
    deviations += _off_route(clean, route, statuses, steps, stays, p)
    deviations += _stay_deviations(stops, stays, matches, sites, route, bool(planned), p)
    gaps = _gaps(clean, gap_idx, stay_of, stops, p)
    deviations += [_gap_deviation(g, clean) for g in gaps if g.is_deviation]
    deviations += _missed(statuses, planned, route, clean)
    deviations.sort(key=_deviation_order)

    moving = (stay_of[:-1] < 0) | (stay_of[:-1] != stay_of[1:]) if t.size > 1 else np.zeros(0, dtype=bool)
    in_gap = np.zeros(max(t.size - 1, 0), dtype=bool)
    in_gap[gap_idx] = True
    counted = ~clean.jump
    visits = [s for s in stops if s.kind == "customer_visit"]
    summary = DaySummary(
        km_travelled=float(steps[counted].sum()) / 1000.0,
        km_estimated_in_gaps=float(steps[counted & in_gap].sum()) / 1000.0,
        time_on_site_s=float(sum(s.duration_s for s in visits)),
        time_stopped_s=float(sum(s.duration_s for s in stops)),
        time_moving_s=float(dt[moving & ~in_gap & counted].sum()),
        planned_count=len(planned),
        visited_count=sum(1 for s in statuses if s.counted_visited),
        missed_count=sum(1 for s in statuses if not s.counted_visited),
        unplanned_visit_count=sum(1 for d in deviations if d.kind == "unplanned_visit"),
        off_route_count=sum(1 for d in deviations if d.kind == "off_route"),
        long_dwell_count=sum(1 for d in deviations if d.kind == "long_dwell"),
        gps_gap_count=sum(1 for d in deviations if d.kind == "gps_gap"),
        gps_gap_s=float(sum(g.duration_s for g in gaps)),
        in_planned_order=_in_order(statuses) if planned else None,
        first_fix_at=to_datetime(t[0]) if t.size else None,
        last_fix_at=to_datetime(t[-1]) if t.size else None,
        fixes_received=clean.report.received,
        fixes_used=clean.report.kept,
    )
    return DayAnalysis(
        summary=summary,
        stops=stops,
        deviations=deviations,
        gaps=gaps,
        planned_stops=statuses,
        track=clean,
        simplified=_simplify(xs, ys, clean, gap_idx, p.simplify_m),
        route=route,
    )


# --- setup ---------------------------------------------------------------------------------------


def _projection_for(track: Track, plan: RoutePlan | None) -> LocalProjection:
    ok = (
        np.isfinite(track.lat)
        & np.isfinite(track.lon)
        & (np.abs(track.lat) <= 90)
        & (np.abs(track.lon) <= 180)
    )
    ok &= ~((track.lat == 0) & (track.lon == 0))
    if ok.any():
        return LocalProjection.centred_on(track.lat[ok], track.lon[ok])
    if plan is not None and plan.stops:
        return LocalProjection.centred_on([s.lat for s in plan.stops], [s.lon for s in plan.stops])
    path = path_lonlat(plan.path) if plan is not None else None
    if path is not None:
        return LocalProjection.centred_on(path[:, 1], path[:, 0])
    return LocalProjection(0.0, 0.0)


def _median_accuracy(values: FloatArray) -> float:
    """Median reported accuracy (m), NaN when none is known."""
    known = values[~np.isnan(values)]
    return float(np.median(known)) if known.size else float("nan")


def _sites(
    planned: Sequence[PlannedStop],
    customers: Sequence[CustomerSite],
    projection: LocalProjection,
    route: PlannedRoute | None,
    p: AnalysisParams,
) -> Sites:
    known = [c for c in customers if c.lat is not None and c.lon is not None and c.customer_id is not None]
    cx, cy = projection.forward([c.lat for c in known], [c.lon for c in known])
    px = route.stop_x if route is not None else np.zeros(0)
    py = route.stop_y if route is not None else np.zeros(0)
    pr = route.stop_radius_m if route is not None else np.zeros(0)
    radius = [
        c.geofence_radius_m if c.geofence_radius_m and c.geofence_radius_m > 0 else p.default_radius_m
        for c in known
    ]
    return Sites(
        x=np.concatenate((px, cx)),
        y=np.concatenate((py, cy)),
        radius_m=np.concatenate((pr, np.asarray(radius, dtype=np.float64))),
        customer_id=[s.customer_id for s in planned] + [str(c.customer_id) for c in known],
        planned_seq=np.concatenate((np.arange(len(planned)), np.full(len(known), -1))).astype(np.intp),
    )


def _stay_membership(n: int, stays: Sequence[StayPoint]) -> np.ndarray:
    """Per fix, the index of the stay it belongs to, -1 while moving."""
    of = np.full(n, -1, dtype=np.intp)
    for k, s in enumerate(stays):
        of[s.first : s.last + 1] = k
    return of


# --- stops and planned stops ---------------------------------------------------------------------


def _stop(stay: StayPoint, match: int | None, sites: Sites, lat: float, lon: float) -> Stop:
    customer_id = sites.customer_id[match] if match is not None else None
    seq = int(sites.planned_seq[match]) if match is not None and sites.planned_seq[match] >= 0 else None
    distance = (
        float(np.hypot(sites.x[match] - stay.x, sites.y[match] - stay.y)) if match is not None else None
    )
    return Stop(
        start=to_datetime(stay.start_t),
        end=to_datetime(stay.end_t),
        lat=lat,
        lon=lon,
        customer_id=customer_id,
        kind="customer_visit" if match is not None else "unplanned_stop",
        duration_s=stay.duration_s,
        planned_seq=seq,
        distance_to_customer_m=distance,
        radius_m=stay.radius_m,
        n_fixes=stay.n_points,
        first_index=stay.first,
        last_index=stay.last,
    )


def _planned_statuses(
    planned: Sequence[PlannedStop],
    route: PlannedRoute | None,
    stays: Sequence[StayPoint],
    matches: Sequence[int | None],
    sites: Sites,
    clean: CleanTrack,
    p: AnalysisParams,
) -> list[PlannedStopStatus]:
    if route is None or not planned:
        return []
    closest, where = closest_approach(clean.x, clean.y, route.stop_x, route.stop_y)
    first_stay: dict[int, StayPoint] = {}
    for stay, m in zip(stays, matches, strict=True):
        if m is not None and sites.planned_seq[m] >= 0:
            first_stay.setdefault(int(sites.planned_seq[m]), stay)
    out: list[PlannedStopStatus] = []
    for seq, stop in enumerate(planned):
        has_fix = bool(np.isfinite(closest[seq]))
        closest_at = to_datetime(clean.t[where[seq]]) if has_fix else None
        stay = first_stay.get(seq)
        status: VisitStatus
        if stay is not None:
            status, arrived, departed = "visited", to_datetime(stay.start_t), to_datetime(stay.end_t)
        elif has_fix and closest[seq] <= route.stop_radius_m[seq]:
            status, arrived, departed = "passed", closest_at, closest_at
        else:
            status, arrived, departed = "missed", None, None
        out.append(
            PlannedStopStatus(
                seq=seq,
                customer_id=stop.customer_id,
                status=status,
                counted_visited=status == "visited" or (status == "passed" and not p.visit_requires_dwell),
                arrived_at=arrived,
                departed_at=departed,
                closest_m=float(closest[seq]) if has_fix else None,
                closest_at=closest_at,
                planned_at=stop.planned_at,
            )
        )
    return out


def _in_order(statuses: Sequence[PlannedStopStatus]) -> bool:
    arrivals = [s.arrived_at for s in statuses if s.counted_visited and s.arrived_at is not None]
    return all(a <= b for a, b in pairwise(arrivals))


# --- deviations ----------------------------------------------------------------------------------


def _off_route(
    clean: CleanTrack,
    route: PlannedRoute | None,
    statuses: Sequence[PlannedStopStatus],
    steps: FloatArray,
    stays: Sequence[StayPoint],
    p: AnalysisParams,
) -> list[Deviation]:
    if route is None or route.corridor is None:
        return []
    window: tuple[float, float] | None = None
    if p.off_route_within_plan_only:
        reached = [s for s in statuses if s.status != "missed" and s.arrived_at and s.departed_at]
        if reached:
            window = (
                min(s.arrived_at.timestamp() for s in reached),  # type: ignore[union-attr]
                max(s.departed_at.timestamp() for s in reached),  # type: ignore[union-attr]
            )
    counted_steps = np.where(clean.jump, 0.0, steps)
    runs = off_route_runs(clean.t, clean.x, clean.y, route, p.off_route_min_s, window, counted_steps)
    out: list[Deviation] = []
    for run in runs:
        start, end = clean.t[run.first], clean.t[run.last]
        stopped = sum(
            min(s.end_t, end) - max(s.start_t, start) for s in stays if s.start_t < end and s.end_t > start
        )
        lat, lon = float(clean.lat[run.farthest]), float(clean.lon[run.farthest])
        detail = (
            f"Off the planned route for {_minutes(end - start)}, {run.length_m / 1000:.1f} km driven, "
            f"up to {run.max_distance_m:.0f} m from the route"
            + (f" (including {_minutes(stopped)} stopped)" if stopped > 0 else "")
            + "."
        )
        out.append(
            Deviation(
                kind="off_route",
                start=to_datetime(start),
                end=to_datetime(end),
                max_distance_m=run.max_distance_m,
                detail=detail,
                lat=lat,
                lon=lon,
                length_km=run.length_m / 1000,
                duration_s=float(end - start),
                first_index=run.first,
                last_index=run.last,
            )
        )
    return out


def _stay_deviations(
    stops: Sequence[Stop],
    stays: Sequence[StayPoint],
    matches: Sequence[int | None],
    sites: Sites,
    route: PlannedRoute | None,
    has_plan: bool,
    p: AnalysisParams,
) -> list[Deviation]:
    """``unplanned_visit`` for stays at customers off the plan (only when there is a plan with
    stops: without one no visit is "unplanned"), ``long_dwell`` for long stays at no known
    customer."""
    out: list[Deviation] = []
    for stop, stay, m in zip(stops, stays, matches, strict=True):
        if m is not None and sites.planned_seq[m] < 0 and has_plan:
            out.append(
                Deviation(
                    kind="unplanned_visit",
                    start=stop.start,
                    end=stop.end,
                    max_distance_m=None,
                    detail=(
                        f"Visited customer {stop.customer_id}, not on today's plan, for "
                        f"{_minutes(stop.duration_s)}."
                    ),
                    customer_id=stop.customer_id,
                    lat=stop.lat,
                    lon=stop.lon,
                    duration_s=stop.duration_s,
                    first_index=stop.first_index,
                    last_index=stop.last_index,
                )
            )
        elif m is None and stop.duration_s >= p.long_dwell_min_s:
            off = (
                float(shapely.distance(shapely.points(stay.x, stay.y), route.line))
                if route is not None and route.line is not None
                else None
            )
            where = f", {off:.0f} m from the planned route" if off is not None else ""
            out.append(
                Deviation(
                    kind="long_dwell",
                    start=stop.start,
                    end=stop.end,
                    max_distance_m=off,
                    detail=f"Stopped {_minutes(stop.duration_s)} at no known customer{where}.",
                    lat=stop.lat,
                    lon=stop.lon,
                    duration_s=stop.duration_s,
                    first_index=stop.first_index,
                    last_index=stop.last_index,
                )
            )
    return out


def _gaps(
    clean: CleanTrack,
    gap_idx: np.ndarray,
    stay_of: np.ndarray,
    stops: Sequence[Stop],
    p: AnalysisParams,
) -> list[Gap]:
    out: list[Gap] = []
    for k in gap_idx.tolist():
        duration = float(clean.t[k + 1] - clean.t[k])
        distance = float(np.hypot(clean.x[k + 1] - clean.x[k], clean.y[k + 1] - clean.y[k]))
        stay = int(stay_of[k]) if stay_of[k] >= 0 and stay_of[k] == stay_of[k + 1] else -1
        customer = stops[stay].customer_id if stay >= 0 and stops[stay].kind == "customer_visit" else None
        out.append(
            Gap(
                start=to_datetime(clean.t[k]),
                end=to_datetime(clean.t[k + 1]),
                duration_s=duration,
                distance_m=distance,
                implied_speed_kmh=distance / duration * 3.6,
                customer_id=customer,
                is_deviation=customer is None or p.gap_in_visit_is_deviation,
                before_index=k,
            )
        )
    return out


def _gap_deviation(gap: Gap, clean: CleanTrack) -> Deviation:
    where = f" during the visit to customer {gap.customer_id}" if gap.customer_id else ""
    return Deviation(
        kind="gps_gap",
        start=gap.start,
        end=gap.end,
        max_distance_m=gap.distance_m,
        detail=(
            f"No GPS fix for {_minutes(gap.duration_s)}{where}; the ends are {gap.distance_m:.0f} m apart "
            f"({gap.implied_speed_kmh:.0f} km/h on a straight line)."
        ),
        lat=float(clean.lat[gap.before_index]),
        lon=float(clean.lon[gap.before_index]),
        duration_s=gap.duration_s,
        first_index=gap.before_index,
        last_index=gap.before_index + 1,
    )


def _missed(
    statuses: Sequence[PlannedStopStatus],
    planned: Sequence[PlannedStop],
    route: PlannedRoute | None,
    clean: CleanTrack,
) -> list[Deviation]:
    out: list[Deviation] = []
    day_start = to_datetime(clean.t[0]) if len(clean) else None
    day_end = to_datetime(clean.t[-1]) if len(clean) else None
    for status, stop in zip(statuses, planned, strict=True):
        if status.counted_visited:
            continue
        if status.status == "passed" and status.closest_at is not None:
            how = f"passed within {status.closest_m:.0f} m at {status.closest_at:%H:%M} UTC without stopping"
        elif status.closest_m is not None:
            how = f"never came closer than {status.closest_m:.0f} m"
        else:
            how = "no GPS fix all day"
        planned_at: datetime | None = stop.planned_at
        out.append(
            Deviation(
                kind="missed_visit",
                start=planned_at or day_start,
                end=planned_at or day_end,
                max_distance_m=status.closest_m,
                detail=f"Planned stop {status.seq + 1} (customer {status.customer_id}) not visited: {how}.",
                customer_id=status.customer_id,
                lat=stop.lat,
                lon=stop.lon,
            )
        )
    return out


def _deviation_order(d: Deviation) -> tuple[float, float, str]:
    start = d.start.timestamp() if d.start else float("inf")
    end = d.end.timestamp() if d.end else float("inf")
    return (start, end, d.kind)


def _minutes(seconds: float) -> str:
    minutes = round(seconds / 60)
    if minutes >= 90:
        return f"{minutes // 60} h {minutes % 60:02d} min"
    return f"{minutes} min"


# --- drawing -------------------------------------------------------------------------------------


def _simplify(
    xs: FloatArray, ys: FloatArray, clean: CleanTrack, gap_idx: np.ndarray, tolerance_m: float
) -> TrackLine:
    """Douglas-Peucker per continuous piece; pieces break at gaps and at implausible jumps that
    move the (jitter-snapped) track. Plain DP (no topology preservation): a drawn track may
    cross itself anyway, and it is ten times faster."""
    n = xs.size
    if n == 0:
        return TrackLine([])
    moved = np.hypot(np.diff(xs), np.diff(ys)) > 0
    cuts = np.union1d(gap_idx, np.flatnonzero(clean.jump & moved))
    bounds = np.concatenate(([0], cuts + 1, [n]))
    pieces: list[np.ndarray] = []
    for lo, hi in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
        if hi - lo >= 2:
            line = shapely.simplify(
                shapely.linestrings(xs[lo:hi], ys[lo:hi]), tolerance_m, preserve_topology=False
            )
            pieces.append(shapely.get_coordinates(line))
        else:
            pieces.append(np.column_stack((xs[lo:hi], ys[lo:hi])))
    coords = np.concatenate(pieces)
    lat, lon = clean.projection.inverse(coords[:, 0], coords[:, 1])  # one transform for all pieces
    lonlat = np.column_stack((lon, lat))
    ends = np.cumsum([len(piece) for piece in pieces])[:-1]
    return TrackLine(np.split(lonlat, ends))
