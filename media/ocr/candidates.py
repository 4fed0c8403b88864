"""Scored candidate values and how candidates from several OCR passes are combined."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import Any

import msgspec


class Candidate(msgspec.Struct, frozen=True):
    value: Any
    score: float  # in [0, 1]
    line: int = -1  # index of the line it came from, -1 when derived


def best(candidates: Sequence[Candidate]) -> Candidate | None:
    return max(candidates, key=lambda c: c.score, default=None)


def vote(passes: Sequence[Sequence[Candidate]], *, fuzzy: bool = False) -> Candidate | None:
    """The value most passes agree on, weighted by score.

    Each pass contributes its best score per value; a value's vote is its best score, scaled
    from 0.5 (one pass of many saw it) to 1 (every pass saw it), so agreement raises confidence
    while one clear read still beats a weak value that every pass produced. With `fuzzy`, strings
    closer than 0.85 (difflib ratio) count as the same value and the best-scored spelling is kept.
    """
    if not passes:
        return None
    groups: list[tuple[Any, list[float], float]] = []  # representative, per-pass best, best single score
    for pass_index, candidates in enumerate(passes):
        for candidate in candidates:
            slot = _find_group(groups, candidate.value, fuzzy)
            if slot is None:
                scores = [0.0] * len(passes)
                scores[pass_index] = candidate.score
                groups.append((candidate.value, scores, candidate.score))
                continue
            representative, scores, top = groups[slot]
            scores[pass_index] = max(scores[pass_index], candidate.score)
            if candidate.score > top:
                representative, top = candidate.value, candidate.score
            groups[slot] = (representative, scores, top)
    if not groups:
        return None
    value, scores, _ = max(groups, key=lambda g: (_agreement(g[1]), g[2]))
    return Candidate(value=value, score=min(1.0, _agreement(scores)))


def _agreement(scores: list[float]) -> float:
    share = sum(1 for score in scores if score > 0) / len(scores)
    return max(scores) * (0.5 + 0.5 * share)


def _find_group(groups: list[tuple[Any, list[float], float]], value: Any, fuzzy: bool) -> int | None:
    for index, (representative, _, _) in enumerate(groups):
        if representative == value:
            return index
        if fuzzy and isinstance(value, str) and isinstance(representative, str):
            ratio = difflib.SequenceMatcher(None, value.upper(), representative.upper()).ratio()
            if ratio >= 0.85:
                return index
    return None
