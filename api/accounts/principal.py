"""The authenticated caller, as every service sees it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

ROLES = ("rep", "manager", "admin")


@dataclass(frozen=True)
class Principal:
    user_id: uuid.UUID
    tenant_id: uuid.UUID
    role: str
    device_id: uuid.UUID
    name: str = ""
    team_id: uuid.UUID | None = None
    #: The reps whose data this principal may see: themselves; a manager's team; ``None`` = tenant-wide.
    rep_scope: frozenset[uuid.UUID] | None = field(default=None)

    @property
    def is_rep(self) -> bool:
        return self.role == "rep"

    @property
    def is_manager(self) -> bool:
        return self.role == "manager"

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def sees_rep(self, rep_id: uuid.UUID | None) -> bool:
        """Whether data owned by ``rep_id`` is in this principal's scope."""
        if self.rep_scope is None:
            return True
        return rep_id is not None and rep_id in self.rep_scope
