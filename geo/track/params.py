"""Every tunable number of the rep-day analysis, in one documented place."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

__all__ = ["AnalysisParams"]


@dataclass(frozen=True, slots=True)
class AnalysisParams:
    """Parameters of :func:`geo.track.analysis.analyze_day`. Distances in metres, times in seconds.

    Cleaning (``geo.track.clean``):
        max_accuracy_m: fixes with a reported accuracy above this are left out of the analysis
            (kept in storage): 100 m, the common gate (Traccar ``filter.accuracy``); real phone
            days have Wi-Fi/cell fixes of 500-1000 m. Unknown accuracy is kept.
        max_speed_kmh: a step faster than this is implausible: 250 km/h (above any road
            speed; scikit-mobility uses 500, Traccar leaves it to the operator). Real logger
            tracks show spikes of 500-1500 km/h. The step is first shortened by both fixes'
            accuracies, so standing jitter sampled every second is never "fast".
        unknown_accuracy_m: accuracy assumed for that shortening when a fix reports none: 25 m
            (the middle of the 10-50 m standing jitter of real tracks).
        spike_min_m: a single fix that jumps at least this far away and straight back is a
            spike even below ``max_speed_kmh``: 200 m ("hundreds of metres and back").
        spike_return_ratio: ... "straight back" = the fixes before and after the spike are within
            this fraction of the shorter jump: 0.25 (scikit-mobility's loop ``ratio_max``).
        spike_max_points, spike_max_s: a run of at most this many fixes / this long between an
            implausible jump out and a jump back is dropped as a multi-fix spike: 10 fixes,
            300 s (tunnel exits, indoor multipath).

    Stays (``geo.track.staypoints``), Li et al. 2008 sliding window as in trackintel:
        stay_radius_m: all fixes of a stay are within this of its first fix: 100 m.
        stay_min_s: minimum stay duration: 300 s. 100 m / 5 min is the trackintel default and
            what the real development tracks support: 50 m finds *fewer* stays because 10-50 m
            standing jitter breaks the window.
        stay_max_gap_s: a gap in the fixes longer than this ends a stay even if the rep is back
            at the same place: 3 h. Shorter gaps whose both ends are inside the stay radius
            count as time at the place (a phone indoors at a customer loses the signal).
        stay_merge_m, stay_merge_gap_s: consecutive stays whose centres are closer than
            100 m and separated by less than 300 s are one stay (jitter bursts split stays).

    Gaps:
        gap_min_s: no fix for at least this long while the day is in progress is a GPS gap:
            600 s. Trackintel uses 15 min for stays; 10 min is short enough to be noticed on a
            sales day and long enough to ignore brief tunnels and lifts.
        gap_in_visit_is_deviation: report a gap that lies inside a customer visit as a
            ``gps_gap`` deviation too: False (indoors at a customer is expected; the gap is still
            listed in ``gaps``).

    Planned route (``geo.track.plan``, ``geo.track.deviations``):
        corridor_path_m: corridor half-width around a routed ``path``: 100 m. Traccar's vehicle
            polyline default is 25 m and the research note's 50 m; phones in streets between
            buildings err by 10-50 m and a parallel street is not a detour.
        corridor_straight_m: corridor half-width around straight legs between stops (no
            ``path``): 300 m, because roads are not straight.
        off_route_min_s: outside the corridor for at least this long is an ``off_route``
            deviation: 300 s.
        off_route_within_plan_only: only look for off-route segments between the arrival at the
            first planned stop reached and the departure from the last one (the commute from
            home to the first customer is not a detour): True. With no stop reached the whole
            day is checked.
        default_radius_m: geofence radius for customers and planned stops without their own:
            150 m (the check-in default).
        visit_requires_dwell: a planned stop counts as visited only with a stay at it: True.
            False counts any pass within the stop's radius (delivery or bus-like plans).
        long_dwell_min_s: a stay at no known customer lasting at least this is a
            ``long_dwell`` deviation: 1800 s.

    Output:
        simplify_m: Douglas-Peucker tolerance for the drawn/exported track: 5 m (audit maps
            need 5-10 m; 20 000 fixes shrink to a few thousand vertices).
    """

    max_accuracy_m: float = 100.0
    max_speed_kmh: float = 250.0
    unknown_accuracy_m: float = 25.0
    spike_min_m: float = 200.0
    spike_return_ratio: float = 0.25
    spike_max_points: int = 10
    spike_max_s: float = 300.0
    stay_radius_m: float = 100.0
    stay_min_s: float = 300.0
    stay_max_gap_s: float = 3 * 3600.0
    stay_merge_m: float = 100.0
    stay_merge_gap_s: float = 300.0
    gap_min_s: float = 600.0
    gap_in_visit_is_deviation: bool = False
    corridor_path_m: float = 100.0
    corridor_straight_m: float = 300.0
    off_route_min_s: float = 300.0
    off_route_within_plan_only: bool = True
    default_radius_m: float = 150.0
    visit_requires_dwell: bool = True
    long_dwell_min_s: float = 1800.0
    simplify_m: float = 5.0

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool):
                continue
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{f.name} must be a finite non-negative number, got {value!r}")
        for name in ("stay_radius_m", "stay_min_s", "max_speed_kmh", "gap_min_s", "spike_max_points"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")

    @property
    def max_speed_mps(self) -> float:
        """``max_speed_kmh`` in m/s."""
        return self.max_speed_kmh / 3.6
