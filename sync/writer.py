"""Applies mutations to the database: the single write path for synced entities.

One call handles a batch with a bounded number of round trips: it reads every target row (and the
parents children inherit their scope from) in one query per entity type, decides each mutation with
the pure :func:`sync.policy.merge` in order, then reserves change numbers under the tenant's clock
lock and flushes all rows together.
"""

from __future__ import annotations

import contextlib
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.accounts.models import User
from api.customers.models import Customer
from api.lib.clock import rfc3339, utcnow
from sync.clock_repository import allocate_versions
from sync.entities import ENTITIES, Actor, EntitySpec, Values
from sync.models import SyncConflict, SyncEviction
from sync.policy import Current, Decision, Incoming, merge


@dataclass
class Outcome:
    """The result of one mutation, ready for the wire."""

    status: str
    version: int | None = None
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    error: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    entity: str = ""
    id: uuid.UUID | None = None
    row: Any = None

    def to_wire(self, seq: int | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"status": self.status}
        if seq is not None:
            out = {"seq": seq, **out}
        if self.version is not None:
            out["version"] = self.version
        if self.conflicts:
            out["conflicts"] = self.conflicts
        if self.error:
            out["error"] = self.error
        if self.notes:
            out["notes"] = self.notes
        return out


#: Called for every accepted create/update before versions are assigned; may add server-side
#: changes (e.g. a check-in verdict). Receives the session, the spec, the row and the changed fields.
AfterMerge = Callable[[AsyncSession, EntitySpec, Any, set[str], Actor], Awaitable[Values]]


def row_values(spec: EntitySpec, row: Any) -> Values:
    values = {name: getattr(row, name) for name in spec.fields}
    values["id"] = row.id
    if spec.name == "customer":
        values["created_by_id"] = row.created_by_id
    return values


def point_wkt(lat: float | None, lon: float | None) -> str | None:
    if lat is None or lon is None:
        return None
    return f"SRID=4326;POINT({lon!r} {lat!r})"


@dataclass
class Pending:
    spec: EntitySpec
    row: Any
    decision: Decision
    old_owner: uuid.UUID | None
    created: bool
    extra_stamped: list[str] = field(default_factory=list)


class SyncWriter:
    def __init__(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        actor: Actor,
        *,
        after_merge: Sequence[AfterMerge] = (),
        lock_rows: bool = False,
        client_id: uuid.UUID | None = None,
    ) -> None:
        self.session = session
        self.tenant_id = tenant_id
        self.actor = actor
        self.after_merge = list(after_merge)
        self.lock_rows = lock_rows
        self.client_id = client_id
        self._rows: dict[tuple[str, uuid.UUID], Any] = {}

    async def _load(self, mutations: Sequence[Incoming]) -> None:
        wanted: dict[str, set[uuid.UUID]] = defaultdict(set)
        for m in mutations:
            if m.entity in ENTITIES:
                wanted[m.entity].add(m.id)
                parent = ENTITIES[m.entity].parent
                if parent and isinstance(m.fields.get(parent[0]), str):
                    with contextlib.suppress(ValueError):
                        wanted[parent[1]].add(uuid.UUID(m.fields[parent[0]]))
        # Existing children name their parent in the row, not the mutation: load those too.
        for name in ("visit_action", "photo"):
            if wanted.get(name):
                await self._fetch(ENTITIES[name], wanted[name])
                for child_id in wanted[name]:
                    row = self._rows.get((name, child_id))
                    if row is not None:
                        wanted["visit"].add(row.visit_id)
        for name, spec in ENTITIES.items():
            if wanted.get(name):
                await self._fetch(spec, wanted[name])

    async def _fetch(self, spec: EntitySpec, ids: set[uuid.UUID]) -> None:
        missing = [i for i in ids if (spec.name, i) not in self._rows]
        if not missing:
            return
        model: Any = spec.model
        stmt = select(model).where(model.id.in_(sorted(missing)))
        if (
            self.lock_rows
            and self.session.bind is not None
            and self.session.bind.dialect.name == "postgresql"
        ):
            stmt = stmt.order_by(model.id).with_for_update()
        for row in (await self.session.scalars(stmt)).all():
            self._rows[(spec.name, row.id)] = row

    def _owner_of(self, spec: EntitySpec, values: Values) -> uuid.UUID | None:
        if spec.tenant_wide:
            return None
        if spec.parent:
            parent_row = self._rows.get((spec.parent[1], values.get(spec.parent[0])))
            return parent_row.scope_rep_id if parent_row is not None else None
        return spec.owner(values)

    async def _check_references(
        self, spec: EntitySpec, candidate: Values, changed: set[str]
    ) -> Decision | None:
        """Parents and referenced rows must exist in this tenant (and be visible to the writer)."""
        if spec.parent and spec.parent[0] in changed:
            pid = candidate.get(spec.parent[0])
            prow = self._rows.get((spec.parent[1], pid))
            if prow is None or prow.tenant_id != self.tenant_id or not self.actor.sees(prow.scope_rep_id):
                return Decision.reject("not_found", f"{spec.parent[1]} {pid} not found", spec.parent[0])
            if prow.deleted_at is not None:
                return Decision.reject("deleted", f"{spec.parent[1]} was deleted", spec.parent[0])
        if spec.name == "visit" and "customer_id" in changed:
            cust = await self._get("customer", Customer, candidate["customer_id"])
            if cust is None or cust.deleted_at is not None:
                return Decision.reject("not_found", "customer not found", "customer_id")
        for ref in ("rep_id", "assigned_rep_id"):
            if ref in changed and candidate.get(ref) is not None and spec.name != "expense":
                user = await self._get("user", User, candidate[ref])
                if user is None or user.deleted_at is not None:
                    return Decision.reject("not_found", "user not found", ref)
        return None

    async def _get(self, name: str, model: Any, ident: uuid.UUID) -> Any:
        row = self._rows.get((name, ident))
        if row is None:
            row = await self.session.get(model, ident)
            if row is not None:
                self._rows[(name, ident)] = row
        if row is None or row.tenant_id != self.tenant_id:
            return None
        return row

    async def apply(
        self, mutations: Sequence[Incoming], *, skewed: Sequence[bool] | None = None
    ) -> list[Outcome]:
        await self._load(mutations)
        now = utcnow()
        now_iso = rfc3339(now)
        outcomes: list[Outcome] = []
        pending: list[tuple[int, Pending]] = []
        for index, m in enumerate(mutations):
            outcome, item = await self._decide(m, now, now_iso)
            if skewed and skewed[index]:
                outcome.notes.append("clock_skew")
            outcomes.append(outcome)
            if item is not None:
                pending.append((index, item))
        await self._persist(mutations, outcomes, pending, now)
        return outcomes

    async def _decide(self, m: Incoming, now: Any, now_iso: str) -> tuple[Outcome, Pending | None]:
        spec = ENTITIES.get(m.entity)
        if spec is None:
            return Outcome(
                "rejected",
                error={
                    "code": "unknown_entity",
                    "message": f"unknown entity {m.entity!r}",
                    "field": "entity",
                },
                entity=m.entity,
                id=m.id,
            ), None
        row = self._rows.get((spec.name, m.id))
        if row is not None and row.tenant_id != self.tenant_id:
            return Outcome(
                "rejected",
                error={"code": "id_conflict", "message": "id is taken", "field": "id"},
                entity=spec.name,
                id=m.id,
            ), None
        current: Current | None = None
        old_owner = None
        if row is not None:
            if not spec.tenant_wide and not self.actor.sees(row.scope_rep_id):
                return Outcome(
                    "rejected",
                    error={"code": "not_found", "message": f"{spec.name} not found", "field": None},
                    entity=spec.name,
                    id=m.id,
                ), None
            current = Current(
                values=row_values(spec, row),
                meta=dict(row.field_meta or {}),
                version=row.version,
                deleted=row.deleted_at is not None,
            )
            old_owner = row.scope_rep_id
        decision = merge(spec, current, m, self.actor, now_iso=now_iso)
        base = Outcome(
            decision.status, conflicts=decision.conflicts, error=decision.error, entity=spec.name, id=m.id
        )
        if decision.status == "rejected" or decision.op == "none":
            if decision.op == "none" and row is not None:
                base.version = row.version
                base.row = row
                if decision.stamped:
                    meta = dict(row.field_meta or {})
                    for name in decision.stamped:
                        meta[name] = [m.hlc, (meta.get(name) or [None, row.version])[1]]
                    row.field_meta = meta
            return base, None
        candidate = {**(current.values if current else {}), **decision.changes, "id": m.id}
        new_owner = old_owner
        if decision.op != "delete":
            refused = await self._check_references(spec, candidate, set(decision.changes))
            if refused is not None:
                return Outcome("rejected", error=refused.error, entity=spec.name, id=m.id), None
            new_owner = self._owner_of(spec, candidate)
            if not spec.tenant_wide and not self.actor.sees(new_owner):
                return Outcome(
                    "rejected",
                    error={"code": "forbidden", "message": "outside your scope", "field": None},
                    entity=spec.name,
                    id=m.id,
                ), None
        created = row is None
        if created:
            row = spec.model(id=m.id, tenant_id=self.tenant_id, version=0, field_meta={}, created_at=now)  # type: ignore[call-arg]
            self._rows[(spec.name, m.id)] = row
        if decision.op == "delete":
            row.deleted_at = now
        else:
            for name, value in decision.changes.items():
                setattr(row, name, value)
            if spec.name == "customer" and ({"lat", "lon"} & set(decision.changes) or created):
                row.location = point_wkt(row.lat, row.lon)
            row.scope_rep_id = new_owner
        row.updated_at = now
        item = Pending(spec=spec, row=row, decision=decision, old_owner=old_owner, created=created)
        if decision.op != "delete":
            for hook in self.after_merge:
                extra = await hook(self.session, spec, row, set(decision.changes), self.actor)
                for name, value in extra.items():
                    setattr(row, name, value)
                    item.extra_stamped.append(name)
        return base, item

    async def _persist(
        self,
        mutations: Sequence[Incoming],
        outcomes: list[Outcome],
        pending: list[tuple[int, Pending]],
        now: Any,
    ) -> None:
        evictions: list[tuple[int, Pending]] = [
            (i, p) for i, p in pending if p.old_owner is not None and p.old_owner != p.row.scope_rep_id
        ]
        needed = len(pending) + len(evictions)
        conflict_rows = self._conflict_rows(mutations, outcomes)
        if needed == 0:
            if conflict_rows:
                self.session.add_all(conflict_rows)
            await self.session.flush()
            return
        first = await allocate_versions(self.session, self.tenant_id, needed)
        next_version = first
        for _, item in evictions:
            self.session.add(
                SyncEviction(
                    tenant_id=self.tenant_id,
                    version=next_version,
                    entity=item.spec.name,
                    entity_id=item.row.id,
                    scope_rep_id=item.old_owner,
                    created_at=now,
                )
            )
            next_version += 1
        for index, item in pending:
            row = item.row
            row.version = next_version
            meta = dict(row.field_meta or {})
            hlc = mutations[index].hlc
            for name in item.decision.stamped:
                meta[name] = [hlc, next_version]
            for name in item.extra_stamped:
                meta[name] = [hlc, next_version]
            row.field_meta = meta
            outcomes[index].version = next_version
            outcomes[index].row = row
            if item.created:
                self.session.add(row)
            next_version += 1
        if conflict_rows:
            self.session.add_all(conflict_rows)
        await self.session.flush()

    def _conflict_rows(self, mutations: Sequence[Incoming], outcomes: list[Outcome]) -> list[SyncConflict]:
        rows: list[SyncConflict] = []
        for m, outcome in zip(mutations, outcomes, strict=True):
            row = self._rows.get((outcome.entity, m.id)) if outcome.entity else None
            scope = (
                row.scope_rep_id
                if row is not None and row.tenant_id == self.tenant_id
                else self.actor.user_id
            )
            for c in outcome.conflicts:
                rows.append(
                    SyncConflict(
                        tenant_id=self.tenant_id,
                        user_id=self.actor.user_id,
                        client_id=self.client_id,
                        scope_rep_id=scope,
                        seq=getattr(m, "seq", None),
                        entity=outcome.entity or m.entity,
                        entity_id=m.id,
                        field=c["field"],
                        outcome=c.get("code") or c["outcome"],
                        client_value=_jsonable(m.fields.get(c["field"])),
                        server_value=c.get("server_value"),
                        client_hlc=m.hlc,
                        server_hlc=c.get("server_hlc"),
                    )
                )
            if outcome.status == "rejected" and outcome.error and not outcome.conflicts:
                rows.append(
                    SyncConflict(
                        tenant_id=self.tenant_id,
                        user_id=self.actor.user_id,
                        client_id=self.client_id,
                        scope_rep_id=scope,
                        seq=getattr(m, "seq", None),
                        entity=outcome.entity or m.entity,
                        entity_id=m.id,
                        field=outcome.error.get("field"),
                        outcome=outcome.error["code"],
                        client_value=None,
                        server_value=None,
                        client_hlc=m.hlc,
                        server_hlc=None,
                    )
                )
        return rows


def _jsonable(value: Any) -> Any:
    if isinstance(value, str | int | float | bool | type(None) | list | dict):
        return value
    return str(value)
