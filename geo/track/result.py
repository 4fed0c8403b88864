"""What a rep-day analysis returns (the route audit's ``summary``, ``stops``, ``deviations``,
``gaps``), as plain dataclasses that msgspec encodes directly, plus :meth:`DayAnalysis.to_dict`
for a JSON-ready payload."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import numpy as np

from geo.track.clean import CleanTrack
from geo.track.model import FloatArray
from geo.track.plan import PlannedRoute

__all__ = [
    "DayAnalysis",
    "DaySummary",
    "Deviation",
    "DeviationKind",
    "Gap",
    "PlannedStopStatus",
    "Stop",
    "StopKind",
    "TrackLine",
    "VisitStatus",
]

StopKind = Literal["customer_visit", "unplanned_stop"]
DeviationKind = Literal["off_route", "long_dwell", "missed_visit", "unplanned_visit", "gps_gap"]
VisitStatus = Literal["visited", "passed", "missed"]


@dataclass(frozen=True, slots=True)
class Stop:
    """A detected stay (route audit ``stops`` item).

    Attributes:
        start, end: first and last fix of the stay.
        lat, lon: centre of the stay (WGS84).
        customer_id: the customer it was matched to, None for an unplanned stop.
        kind: ``customer_visit`` (matched to a customer, planned or not) or ``unplanned_stop``.
        duration_s: ``end - start`` (s), gaps inside included.
        planned_seq: position of the matched stop in the plan (0-based), None when not planned.
        distance_to_customer_m: centre to the matched customer (m), None when unmatched.
        radius_m: spread of the stay's fixes (90th percentile distance to the centre, m).
        n_fixes: number of fixes.
        first_index, last_index: fix range in ``DayAnalysis.track`` (inclusive).
    """

    start: datetime
    end: datetime
    lat: float
    lon: float
    customer_id: str | None
    kind: StopKind
    duration_s: float
    planned_seq: int | None
    distance_to_customer_m: float | None
    radius_m: float
    n_fixes: int
    first_index: int
    last_index: int


@dataclass(frozen=True, slots=True)
class Deviation:
    """Something the manager should look at (route audit ``deviations`` item).

    Attributes:
        kind: ``off_route`` | ``long_dwell`` | ``missed_visit`` | ``unplanned_visit`` | ``gps_gap``.
        start, end: when it happened. A missed visit has its ``planned_at`` (both), else the
            analysed day's first and last fix; None only when the day has no fix at all.
        max_distance_m: ``off_route``: farthest fix from the planned route (m); ``long_dwell``:
            the stay's distance from the planned route (m) if there is a plan; ``missed_visit``:
            closest approach to the stop (m); ``gps_gap``: distance between the gap's ends (m);
            else None.
        detail: one human-readable English sentence with the numbers.
        customer_id: the customer concerned (missed and unplanned visits).
        lat, lon: a representative position (stay centre, stop, farthest off-route fix, gap start).
        length_km: distance travelled during the deviation (off-route), km.
        duration_s: ``end - start`` (s) where both are known.
        first_index, last_index: fix range in ``DayAnalysis.track`` (inclusive) for drawing.
    """

    kind: DeviationKind
    start: datetime | None
    end: datetime | None
    max_distance_m: float | None
    detail: str
    customer_id: str | None = None
    lat: float | None = None
    lon: float | None = None
    length_km: float | None = None
    duration_s: float | None = None
    first_index: int | None = None
    last_index: int | None = None


@dataclass(frozen=True, slots=True)
class Gap:
    """No fix for at least ``gap_min_s`` (route audit ``gaps`` item).

    Attributes:
        start, end: the last fix before and the first fix after the gap.
        duration_s: gap length (s).
        distance_m: straight line between the two ends (m); counted in ``km_travelled`` as an
            estimate (``summary.km_estimated_in_gaps``).
        implied_speed_kmh: ``distance_m`` over ``duration_s`` (km/h).
        customer_id: the customer being visited when the gap lies inside a customer visit.
        is_deviation: whether it is also reported as a ``gps_gap`` deviation.
        before_index: index of the fix before the gap in ``DayAnalysis.track``.
    """

    start: datetime
    end: datetime
    duration_s: float
    distance_m: float
    implied_speed_kmh: float
    customer_id: str | None
    is_deviation: bool
    before_index: int


@dataclass(frozen=True, slots=True)
class PlannedStopStatus:
    """What happened to one planned stop.

    Attributes:
        seq: position in the plan (0-based).
        customer_id: the planned customer.
        status: ``visited`` (a stay matched it), ``passed`` (came within its radius without a
            stay) or ``missed``.
        counted_visited: whether it counts as visited in the summary (``passed`` counts only with
            ``visit_requires_dwell=False``).
        arrived_at, departed_at: the stay's start and end, or the closest approach (both) when
            passed; None when missed.
        closest_m: closest approach of any fix to the stop (m); None on an empty day.
        closest_at: time of that closest fix.
        planned_at: planned arrival, if any.
    """

    seq: int
    customer_id: str
    status: VisitStatus
    counted_visited: bool
    arrived_at: datetime | None
    departed_at: datetime | None
    closest_m: float | None
    closest_at: datetime | None
    planned_at: datetime | None


@dataclass(frozen=True, slots=True)
class DaySummary:
    """Route audit ``summary``.

    Attributes:
        km_travelled: distance along the cleaned track (km), standing jitter and implausible
            jumps excluded, straight lines across gaps included.
        km_estimated_in_gaps: the part of ``km_travelled`` that bridges gaps (km).
        time_on_site_s: time in customer visits (s).
        time_stopped_s: time in all stays (s).
        time_moving_s: tracked time outside stays (s), gaps excluded.
        planned_count, visited_count, missed_count: planned stops, those counted as visited,
            and the rest.
        unplanned_visit_count: stays at known customers not on the plan.
        off_route_count, long_dwell_count, gps_gap_count: deviations of those kinds.
        gps_gap_s: total time in gaps (s).
        in_planned_order: the counted visits happened in the planned order; None without a plan.
        first_fix_at, last_fix_at: the day's tracked span; None on an empty day.
        fixes_received, fixes_used: input fixes and those left after cleaning.
    """

    km_travelled: float
    km_estimated_in_gaps: float
    time_on_site_s: float
    time_stopped_s: float
    time_moving_s: float
    planned_count: int
    visited_count: int
    missed_count: int
    unplanned_visit_count: int
    off_route_count: int
    long_dwell_count: int
    gps_gap_count: int
    gps_gap_s: float
    in_planned_order: bool | None
    first_fix_at: datetime | None
    last_fix_at: datetime | None
    fixes_received: int
    fixes_used: int


@dataclass(frozen=True, slots=True, eq=False)
class TrackLine:
    """The actual track simplified for drawing: one ``(m, 2)`` array of ``(lon, lat)`` per
    continuous piece (pieces split at gaps and implausible jumps; standing jitter collapsed to
    the stay centre)."""

    segments: list[FloatArray] = field(default_factory=list)

    @property
    def n_vertices(self) -> int:
        """Total vertex count over all pieces."""
        return int(sum(s.shape[0] for s in self.segments))


@dataclass(frozen=True, slots=True, eq=False)
class DayAnalysis:
    """Everything :func:`geo.track.analysis.analyze_day` found about one rep-day.

    Attributes:
        summary: totals.
        stops: detected stays in time order.
        deviations: time-ordered deviations (missed visits by planned time, else at the end).
        gaps: GPS gaps in time order.
        planned_stops: one status per planned stop, in plan order.
        track: the cleaned fixes (degrees and metres); ``first_index``/``last_index`` fields
            point into it.
        simplified: the track to draw/export.
        route: the projected plan, None without a plan.
    """

    summary: DaySummary
    stops: list[Stop]
    deviations: list[Deviation]
    gaps: list[Gap]
    planned_stops: list[PlannedStopStatus]
    track: CleanTrack
    simplified: TrackLine
    route: PlannedRoute | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready route audit body (``summary``, ``stops``, ``deviations``, ``gaps``,
        ``planned_stops``); times are RFC 3339 UTC with milliseconds and ``Z``."""
        return {
            "summary": _plain(self.summary),
            "stops": [_plain(s) for s in self.stops],
            "deviations": [_plain(d) for d in self.deviations],
            "gaps": [_plain(g) for g in self.gaps],
            "planned_stops": [_plain(s) for s in self.planned_stops],
        }


def iso_utc(value: datetime | None) -> str | None:
    """RFC 3339 UTC with millisecond precision and ``Z`` (the wire format), None passes."""
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def _plain(obj: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in obj.__slots__:
        value = getattr(obj, name)
        if isinstance(value, datetime):
            value = iso_utc(value)
        elif isinstance(value, float | np.floating):
            value = round(float(value), 3)
        out[name] = value
    return out
