"""Who may submit and review an expense, and when (plain checks raising domain errors).

The status transitions themselves are the sync rules (:mod:`sync.entities`); these add what the
REST actions require on top: complete fields before submitting, only submitted expenses reviewed,
never by their own rep, and a reason with every rejection.
"""

from __future__ import annotations

import uuid
from typing import Any

from api.lib.errors import Conflict, Forbidden, ValidationFailed, field_error

#: Fields an expense needs before it can be submitted for approval.
SUBMIT_REQUIRES = ("date", "total", "currency", "category_code")
#: Statuses an expense can be submitted from (``processing``: its receipt is still being read;
#: ``submitted`` again is a harmless retry).
SUBMITTABLE = frozenset({"draft", "needs_review", "rejected", "submitted"})
#: Statuses an expense can be approved or rejected from (by REST or by a manager's sync push).
REVIEWABLE = frozenset({"submitted"})
#: Review statuses that decide an expense (and move its status to the same value).
REVIEW_DECISIONS = frozenset({"approved", "rejected"})


def _wrong_status(action: str, status: str) -> Conflict:
    return Conflict(
        f"an expense that is {status} cannot be {action}",
        code="invalid_transition",
        errors=[field_error("status", "invalid_transition", f"status is {status}")],
    )


def check_submittable(expense: Any) -> None:
    if expense.status not in SUBMITTABLE:
        raise _wrong_status("submitted", expense.status)
    missing = [name for name in SUBMIT_REQUIRES if getattr(expense, name) in (None, "")]
    if missing:
        raise ValidationFailed(
            f"fill in {', '.join(missing)} before submitting",
            errors=[field_error(name, "required", f"{name} is required to submit") for name in missing],
        )


def check_review(
    expense: Any, *, reviewer_id: uuid.UUID, reviewer_role: str, decision: str, comment: str | None
) -> None:
    if reviewer_role not in {"manager", "admin"}:
        raise Forbidden("Only the rep's manager or an admin can review")
    if expense.rep_id == reviewer_id and reviewer_role != "admin":
        raise Forbidden("Managers cannot review their own expenses")
    if expense.status not in REVIEWABLE:
        raise _wrong_status("reviewed", expense.status)
    if decision == "rejected" and not (comment or "").strip():
        raise ValidationFailed(
            "a rejection needs a comment", errors=[field_error("comment", "required", "say what to fix")]
        )
