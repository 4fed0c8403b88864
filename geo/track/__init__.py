"""Route analysis of a rep-day: cleaning, stays, planned route, deviations, summary.

Pure functions on numpy arrays; no HTTP, no database. Entry point: :func:`analyze_day`.
"""

from geo.track.analysis import analyze_day
from geo.track.clean import CleaningReport, CleanTrack, clean_track
from geo.track.model import Track
from geo.track.params import AnalysisParams
from geo.track.plan import PlannedRoute, PlannedStop, RoutePlan, build_route
from geo.track.projection import LocalProjection
from geo.track.result import (
    DayAnalysis,
    DaySummary,
    Deviation,
    DeviationKind,
    Gap,
    PlannedStopStatus,
    Stop,
    StopKind,
    TrackLine,
)
from geo.track.staypoints import StayPoint, detect_stays

__all__ = [
    "AnalysisParams",
    "CleanTrack",
    "CleaningReport",
    "DayAnalysis",
    "DaySummary",
    "Deviation",
    "DeviationKind",
    "Gap",
    "LocalProjection",
    "PlannedRoute",
    "PlannedStop",
    "PlannedStopStatus",
    "RoutePlan",
    "StayPoint",
    "Stop",
    "StopKind",
    "Track",
    "TrackLine",
    "analyze_day",
    "build_route",
    "clean_track",
    "detect_stays",
]
