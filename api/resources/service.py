"""Reads and writes of synced entities for the REST API.

Writes are single mutations through :class:`sync.writer.SyncWriter`, stamped with the server's
clock, so REST obeys the same merge and domain rules as sync and shows up in every pull. REST is
strict: a write that would be refused for any field fails whole (nothing is written).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from api.accounts.principal import Principal
from api.lib.errors import Conflict, DomainError, Forbidden, Gone, NotFound, ValidationFailed, field_error
from api.lib.ids import uuid7
from sync.entities import Actor, EntitySpec
from sync.hlc import HybridClock
from sync.policy import Incoming
from sync.scope import scope_filter
from sync.serialize import entity_data
from sync.writer import AfterMerge, Outcome, SyncWriter

_ERRORS: dict[str, type[DomainError]] = {
    "not_found": NotFound,
    "forbidden": Forbidden,
    "validation_failed": ValidationFailed,
    "read_only": Forbidden,
    "locked": Conflict,
    "invalid_transition": Conflict,
    "deleted": Gone,
    "id_conflict": Conflict,
    "duplicate_value": Conflict,
}


def outcome_error(outcome: Outcome) -> DomainError | None:
    refused = [c for c in outcome.conflicts if c["outcome"] in {"rejected", "kept_server"}]
    if outcome.status != "rejected" and not refused:
        return None
    if outcome.error:
        code, message, field = outcome.error["code"], outcome.error["message"], outcome.error.get("field")
    else:
        first = refused[0]
        code = first.get("code") or "conflict"
        field = first["field"]
        message = f"{field} cannot be changed ({code})"
    cls = _ERRORS.get(code, Conflict)
    errors = [
        field_error(
            c["field"], c.get("code") or c["outcome"], f"{c['field']}: {c.get('code') or c['outcome']}"
        )
        for c in refused
    ] or ([field_error(field, code, message)] if field else None)
    return cls(message, code=code, errors=errors)


class ResourceService:
    def __init__(
        self,
        session: AsyncSession,
        principal: Principal,
        clock: HybridClock,
        after_merge: Sequence[AfterMerge] = (),
    ) -> None:
        self.session = session
        self.principal = principal
        self.clock = clock
        self.after_merge = after_merge

    def actor(self) -> Actor:
        return Actor(
            user_id=self.principal.user_id, role=self.principal.role, rep_scope=self.principal.rep_scope
        )

    def _base(self, spec: EntitySpec) -> list[ColumnElement[bool]]:
        model: Any = spec.model
        return [
            model.tenant_id == self.principal.tenant_id,
            model.deleted_at.is_(None),
            scope_filter(spec, self.principal.rep_scope),
        ]

    async def list(
        self,
        spec: EntitySpec,
        filters: list[ColumnElement[bool]],
        *,
        limit: int,
        offset: int,
        order_by: Sequence[Any] | None = None,
    ) -> dict[str, Any]:
        model: Any = spec.model
        cond = [*self._base(spec), *filters]
        total = await self.session.scalar(select(func.count()).select_from(model).where(*cond))
        stmt = select(model).where(*cond).order_by(*(order_by or [model.created_at, model.id]))
        rows = (await self.session.scalars(stmt.limit(limit).offset(offset))).all()
        return {
            "items": [entity_data(spec, r) for r in rows],
            "limit": limit,
            "offset": offset,
            "total": int(total or 0),
        }

    async def get_row(self, spec: EntitySpec, ident: uuid.UUID) -> Any:
        model: Any = spec.model
        row = await self.session.scalar(select(model).where(model.id == ident, *self._base(spec)))
        if row is None:
            raise NotFound(f"{spec.name} not found")
        return row

    async def get(self, spec: EntitySpec, ident: uuid.UUID) -> dict[str, Any]:
        return entity_data(spec, await self.get_row(spec, ident))

    async def write(
        self,
        spec: EntitySpec,
        ident: uuid.UUID,
        fields: dict[str, Any],
        *,
        op: str = "upsert",
        base_version: int | None = None,
        actor: Actor | None = None,
    ) -> Outcome:
        writer = SyncWriter(
            self.session,
            self.principal.tenant_id,
            actor or self.actor(),
            after_merge=self.after_merge,
            lock_rows=True,
        )
        incoming = Incoming(
            entity=spec.name, id=ident, op=op, hlc=self.clock.now(), base_version=base_version, fields=fields
        )
        try:
            (outcome,) = await writer.apply([incoming])
        except IntegrityError as exc:
            # Another request wrote the same id or unique value after this one looked.
            raise Conflict(f"{spec.name} was written concurrently; retry", code="concurrent_write") from exc
        if (error := outcome_error(outcome)) is not None:
            raise error
        return outcome

    async def create(self, spec: EntitySpec, fields: dict[str, Any]) -> dict[str, Any]:
        ident = fields.pop("id", None)
        ident = uuid.UUID(str(ident)) if ident else uuid7()
        model: Any = spec.model
        if await self.session.scalar(select(model.id).where(model.id == ident)) is not None:
            raise Conflict(f"{spec.name} {ident} already exists", code="id_conflict")
        outcome = await self.write(spec, ident, fields)
        return entity_data(spec, outcome.row)

    async def update(self, spec: EntitySpec, ident: uuid.UUID, fields: dict[str, Any]) -> dict[str, Any]:
        await self.get_row(spec, ident)
        outcome = await self.write(spec, ident, fields)
        row = outcome.row if outcome.row is not None else await self.get_row(spec, ident)
        return entity_data(spec, row)

    async def delete(self, spec: EntitySpec, ident: uuid.UUID) -> None:
        await self.get_row(spec, ident)
        await self.write(spec, ident, {}, op="delete")
