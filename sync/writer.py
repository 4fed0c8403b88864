"""Applies mutations to the database: the single write path for synced entities.

One call handles a batch with a bounded number of round trips: it reads every target row (and the
parents children inherit their scope from, and the rows mutations refer to) in one query per entity
type, decides each mutation with the pure :func:`sync.policy.merge` in order, and writes the rows
with one statement per entity type and set of columns (see :mod:`sync.rows`).

The batch is decided in steps (:data:`STEP` mutations): each step's writes are handed to a
:class:`~sync.write_pipe.WritePipe` and sent while the next step is decided. The first step
reserves change numbers under the tenant's clock lock, later steps number on from there.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, update
from sqlalchemy.ext.asyncio import AsyncSession

from api.lib.clock import rfc3339, utcnow
from api.lib.ids import parse_uuid
from sync.clock_repository import allocate_versions, read_clock
from sync.entities import ENTITIES, Actor, EntitySpec, Values
from sync.models import SyncConflict, SyncEviction
from sync.policy import Checked, Current, Decision, Incoming, merge, validate_fields
from sync.rows import (
    Holder,
    RowView,
    Twins,
    load_holders,
    load_rows,
    new_row,
    prepare_insert,
    prepare_insert_records,
    prepare_insert_rows,
    prepare_update_rows,
    refresh_twin,
)
from sync.scope_moves import (
    CHILD_NAMES,
    CHILD_SPECS,
    LOCK_ORDER,
    EvictionNote,
    TeamMove,
    load_children,
    owned_rows,
    team_managers,
    team_move,
)
from sync.write_pipe import WritePipe

#: Mutations decided before their writes are sent: the database applies one step while the next
#: is decided (see :mod:`sync.write_pipe`).
STEP = 100


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
        out: dict[str, Any] = {"status": self.status} if seq is None else {"seq": seq, "status": self.status}
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
#: changes (e.g. a check-in verdict). Receives the session, the spec, the row and the changed fields
#: (shared by the hooks of one mutation: read them, do not change them). A hook with a ``watches``
#: attribute (a set of field names) is called only when one of those fields changed.
AfterMerge = Callable[[AsyncSession, EntitySpec, Any, set[str], Actor], Awaitable[Values]]


_VALUE_NAMES: dict[str, tuple[str, ...]] = {}


def row_values(spec: EntitySpec, row: Any) -> Values:
    """The row's field values, with its id (and a customer's creator, who owns a prospect)."""
    names = _VALUE_NAMES.get(spec.name)
    if names is None:
        extra = ("created_by_id",) if spec.name == "customer" else ()
        names = _VALUE_NAMES[spec.name] = (*spec.fields, "id", *extra)
    if isinstance(row, RowView):
        values = row.values()
        return {name: values[name] for name in names}
    return {name: getattr(row, name) for name in names}


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
    previous: Values | None = None


def _uuid_or_none(value: Any) -> uuid.UUID | None:
    if isinstance(value, uuid.UUID):
        return value
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            return uuid.UUID(value)
    return None


def _check(m: Incoming) -> Checked | None:
    """An upsert's fields, validated (``None`` for a delete or an unknown entity)."""
    spec = ENTITIES.get(m.entity)
    if spec is None or m.op != "upsert":
        return None
    return validate_fields(spec, m.fields)


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
        self._rows: dict[tuple[str, uuid.UUID], RowView] = {}
        #: The actions and photos of each visit the batch moves or deletes: read with it, or
        #: created by the batch. They move with their visit, and are deleted with it.
        self._children: dict[uuid.UUID, list[RowView]] = {}
        #: Children deleted with their visit, waiting for their step's change numbers.
        self._cascaded: list[RowView] = []
        self._absent: set[tuple[str, uuid.UUID]] = set()
        #: Unique values the batch writes, by ``(entity, field)``: who holds each (read, or
        #: given by an earlier mutation of the batch).
        self._holders: defaultdict[tuple[str, str], dict[Any, Holder]] = defaultdict(dict)
        self._purged_through = 0
        self._pipe = WritePipe(session)
        #: Change numbers: the next one to hand out and the end of the range reserved so far.
        self._next_version: int | None = None
        self._reserved_end = 0

    async def read_ahead(self, targets: Iterable[tuple[Any, Any, Any, Any]]) -> None:
        """Start reading (and locking) the rows a batch names while the caller checks it.

        ``targets`` are each mutation's ``(entity, id, op, fields)`` as sent, unchecked (what does
        not parse is skipped). The read goes to the write pipe, so the database reads while Python
        validates; :meth:`apply` waits for it. Rows are locked in the order :meth:`apply` locks
        them: so a batch that names a visit's child (children are locked before their visit),
        moves a visit (``rep_id``) or deletes one (either locks the visit's children first) is not
        read ahead, nor is anything on SQLite (one writer at a time, nothing to overlap)."""
        bind = self.session.bind
        if bind is None or bind.dialect.name != "postgresql":
            return
        wanted: dict[str, set[uuid.UUID]] = defaultdict(set)
        for entity, ident, op, fields in targets:
            if entity.__class__ is not str:
                continue
            if entity in CHILD_NAMES:
                return
            if entity == "visit" and (op == "delete" or (isinstance(fields, dict) and "rep_id" in fields)):
                return
            if entity not in ENTITIES or ident.__class__ is not str:
                continue
            with contextlib.suppress(ValueError):
                wanted[entity].add(parse_uuid(ident))
        if not wanted:
            return
        lock = self.lock_rows

        async def read(session: AsyncSession) -> None:
            for spec in LOCK_ORDER:
                if ids := wanted.get(spec.name):
                    await self._read(session, spec, ids, lock=lock)

        self._pipe.send(read)
        await asyncio.sleep(0)  # the read's first query leaves now

    async def _load(self, mutations: Sequence[Incoming], checked: Sequence[Checked | None]) -> None:
        """Read every row the batch needs, one query per entity type, locking targets in lock order.

        ``checked`` holds each upsert's validated fields: the rows they refer to are read too."""
        await self._pipe.drain()  # a read ahead (:meth:`read_ahead`) is done first
        wanted: dict[str, set[uuid.UUID]] = defaultdict(set)
        refs: dict[str, set[uuid.UUID]] = defaultdict(set)
        unique: dict[tuple[str, str], set[Any]] = defaultdict(set)
        parents: set[uuid.UUID] = set()  # visits moved or deleted: their children come along
        for m, check in zip(mutations, checked, strict=True):
            spec = ENTITIES.get(m.entity)
            if spec is None:
                continue
            wanted[m.entity].add(m.id)
            if m.entity == "visit" and m.op == "delete":
                parents.add(m.id)
            if check is None or check[1] is not None:
                continue  # a delete, or an upsert rejected by validation: it refers to nothing
            values = check[0]
            for name in spec.unique:
                if values.get(name) is not None:
                    unique[(spec.name, name)].add(values[name])
            if spec.parent and (pid := _uuid_or_none(values.get(spec.parent[0]))):
                wanted[spec.parent[1]].add(pid)
            if m.entity == "visit":
                if cid := _uuid_or_none(values.get("customer_id")):
                    refs["customer"].add(cid)
                if "rep_id" in values:
                    parents.add(m.id)
            for ref in ("rep_id", "assigned_rep_id"):
                if uid := _uuid_or_none(values.get(ref)):
                    refs["user"].add(uid)
        if self.actor.user_id is not None and refs:
            refs["user"].add(self.actor.user_id)  # server defaults may name the writer (a visit's rep)
        if self.session.sync_session.new or self.session.sync_session.dirty:
            await self.session.flush()  # rows are read and written with Core: let it see pending changes
        # Children first: existing children name their parent in the row, not the mutation.
        for spec in CHILD_SPECS:
            if wanted.get(spec.name):
                await self._fetch(spec, wanted[spec.name])
                for child_id in wanted[spec.name]:
                    row = self._rows.get((spec.name, child_id))
                    if row is not None:
                        wanted["visit"].add(row.visit_id)
        if parents:
            # A visit given to another rep takes its children along, a deleted visit deletes them:
            # lock them before the visit.
            lock = self.lock_rows
            found = await self._pipe.call(lambda session: load_children(session, parents, lock=lock))
            rows = self._rows
            for visit_id in parents:
                children = found.get(visit_id, ())
                self._children[visit_id] = [rows.setdefault((c.spec.name, c.id), c) for c in children]
        for spec in LOCK_ORDER:
            if wanted.get(spec.name):
                await self._fetch(spec, wanted[spec.name])
        for name, ids in refs.items():
            await self._fetch(ENTITIES[name], ids, lock=False)
        for (name, field_name), values in unique.items():
            holders = await self._pipe.call(
                lambda session, name=name, field_name=field_name, values=values: load_holders(
                    session, ENTITIES[name], self.tenant_id, field_name, values
                )
            )
            self._holders[(name, field_name)].update(holders)
        if any(m.base_version is not None and (m.entity, m.id) not in self._rows for m in mutations):
            clock = await self._pipe.call(lambda session: read_clock(session, self.tenant_id))
            self._purged_through = clock[1]

    async def _fetch(self, spec: EntitySpec, ids: set[uuid.UUID], *, lock: bool = True) -> None:
        rows, absent = self._rows, self._absent  # read already (a read ahead too), found or not
        missing = [i for i in ids if (spec.name, i) not in rows and (spec.name, i) not in absent]
        if not missing:
            return
        lock = lock and self.lock_rows
        await self._pipe.call(lambda session: self._read(session, spec, missing, lock=lock))

    async def _read(
        self, session: AsyncSession, spec: EntitySpec, ids: Collection[uuid.UUID], *, lock: bool
    ) -> None:
        """Read rows of ``spec`` by id into the batch's rows; the ids not found are noted absent."""
        for row in await load_rows(session, spec, "id", ids, lock=lock):
            self._rows[(spec.name, row.id)] = row
        self._absent.update((spec.name, i) for i in ids if (spec.name, i) not in self._rows)

    def _owner_of(self, spec: EntitySpec, values: Values) -> uuid.UUID | None:
        if spec.tenant_wide:
            return None
        if spec.parent:
            parent_row = self._rows.get((spec.parent[1], values.get(spec.parent[0])))
            return parent_row.scope_rep_id if parent_row is not None else None
        return spec.owner(values)

    def _check_references(
        self, spec: EntitySpec, candidate: Values, changed: set[str]
    ) -> tuple[Decision | None, tuple[str, uuid.UUID] | None]:
        """Parents and referenced rows must exist in this tenant (and be visible to the writer).

        Returns the refusal (or ``None``) and, when a referenced row has not been read yet, its
        ``(entity, id)`` instead: read it and ask again (the batch's rows are read up front, so
        this is rare)."""
        if spec.parent and spec.parent[0] in changed:
            pid = candidate.get(spec.parent[0])
            prow = self._rows.get((spec.parent[1], pid))
            if prow is None or prow.tenant_id != self.tenant_id or not self.actor.sees(prow.scope_rep_id):
                return Decision.reject("not_found", f"{spec.parent[1]} {pid} not found", spec.parent[0]), None
            if prow.deleted_at is not None:
                return Decision.reject("deleted", f"{spec.parent[1]} was deleted", spec.parent[0]), None
        if spec.name == "visit" and "customer_id" in changed:
            key = ("customer", candidate["customer_id"])
            cust = self._rows.get(key)
            if cust is None and key not in self._absent:
                return None, key
            if cust is None or cust.tenant_id != self.tenant_id or cust.deleted_at is not None:
                return Decision.reject("not_found", "customer not found", "customer_id"), None
        for ref in ("rep_id", "assigned_rep_id"):
            if ref in changed and candidate.get(ref) is not None and spec.name != "expense":
                key = ("user", candidate[ref])
                user = self._rows.get(key)
                if user is None and key not in self._absent:
                    return None, key
                if user is None or user.tenant_id != self.tenant_id or user.deleted_at is not None:
                    return Decision.reject("not_found", "user not found", ref), None
        return None, None

    def _take_unique(self, spec: EntitySpec, ident: uuid.UUID, changes: Values) -> dict[str, Any] | None:
        """The refusal of ``changes`` when they repeat a unique value another row holds; else
        the values are noted as this row's (later mutations of the batch see them taken).

        A value this batch frees (another row changing away from it) stays taken until the
        batch commits: the database checks the key row by row, in no order we control."""
        wanted = [(name, changes[name]) for name in spec.unique if changes.get(name) is not None]
        for name, value in wanted:
            holder = self._holders[(spec.name, name)].get(value)
            if holder is not None and holder[0] != ident:
                whose = f" by a deleted {spec.name}" if holder[1] else ""
                message = f"{spec.name} {name} {value!r} is already used{whose}"
                return {"code": "duplicate_value", "message": message, "field": name}
        for name, value in wanted:
            self._holders[(spec.name, name)][value] = (ident, False)
        return None

    async def apply(
        self, mutations: Sequence[Incoming], *, skewed: Sequence[bool] | None = None, wait: bool = True
    ) -> list[Outcome]:
        """Decide and write ``mutations``. With ``wait=False`` the last writes may still be on
        their way: the caller must :meth:`finish` (or :meth:`abandon`) before using the session."""
        # Validation needs no rows: done first, its values also name the rows to read.
        checked = [_check(m) for m in mutations]
        await self._load(mutations, checked)
        now = utcnow()
        now_iso = rfc3339(now)
        outcomes: list[Outcome] = []
        step = STEP if self._steppable(mutations, checked) else max(len(mutations), 1)
        try:
            for start in range(0, len(mutations), step):
                end = min(start + step, len(mutations))
                pending: list[tuple[int, Pending]] = []
                for index in range(start, end):
                    if self._pipe.busy:
                        # A turn for the event loop, so the pipe sends its next message as soon as
                        # the database answers the last. A turn costs about a microsecond; with one
                        # every 16 decisions instead, a conflicting push of 500 waited 12-15 ms for
                        # its writes, against 7 ms (docs/benchmarks.md, seventh round).
                        await asyncio.sleep(0)
                    m = mutations[index]
                    outcome, item = await self._decide(m, checked[index], now, now_iso)
                    if skewed and skewed[index]:
                        outcome.notes.append("clock_skew")
                    outcomes.append(outcome)
                    if item is not None:
                        pending.append((index, item))
                await self._persist(mutations, outcomes, pending, now, start)
            self._close_versions()
        except BaseException:
            await self._pipe.settle()
            raise
        twins = Twins(self.session)
        for outcome in outcomes:
            if outcome.id is None or outcome.status == "rejected":
                continue
            row = self._rows.get((outcome.entity, outcome.id))
            if row is not None:
                outcome.row = twins.get(row.spec, row.id) or row
        if wait:
            await self.finish()
        return outcomes

    async def finish(self) -> None:
        """Wait for the writes still on their way; raises the first one's error."""
        await self._pipe.drain()

    @property
    def waited(self) -> float:
        """Seconds this writer spent waiting for the database (reads, and writes still on their way)."""
        return self._pipe.waited

    async def abandon(self) -> None:
        """Wait for the writes still on their way, ignoring errors (the transaction is failing)."""
        await self._pipe.settle()

    def _steppable(self, mutations: Sequence[Incoming], checked: Sequence[Checked | None]) -> bool:
        """Whether the batch may be written in steps: each mutation names a different row, and
        none can move rows between scopes in a way the rest of the batch must see first (a
        loaded visit given to another rep takes its children along; a user changing teams)."""
        if len({(m.entity, m.id) for m in mutations}) != len(mutations):
            return False  # a second write of a row is merged against the first one's stamps
        for m, check in zip(mutations, checked, strict=True):
            if m.entity == "user":
                return False
            moving = m.entity == "visit" and check is not None and "rep_id" in check[0]
            if moving and ("visit", m.id) in self._rows:
                return False
        return True

    async def _decide(
        self, m: Incoming, checked: Checked | None, now: Any, now_iso: str
    ) -> tuple[Outcome, Pending | None]:
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
        key = (spec.name, m.id)
        row = self._rows.get(key)
        if row is not None and row.tenant_id != self.tenant_id:
            return Outcome(
                "rejected",
                error={"code": "id_conflict", "message": "id is taken", "field": "id"},
                entity=spec.name,
                id=m.id,
            ), None
        if row is None and m.base_version is not None and m.base_version < self._purged_through:
            # The client saw this entity, and it is gone: deleted, and its tombstone pruned.
            if m.op == "delete":
                return Outcome("applied", entity=spec.name, id=m.id), None
            return Outcome(
                "rejected",
                error={"code": "deleted", "message": f"{spec.name} was deleted", "field": None},
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
                meta=row.field_meta or {},  # merge only reads it
                version=row.version,
                deleted=row.deleted_at is not None,
            )
            old_owner = row.scope_rep_id
        decision = merge(spec, current, m, self.actor, now_iso=now_iso, checked=checked)
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
        if current is None:
            candidate = {**decision.changes, "id": m.id}
        else:
            candidate = {**current.values, **decision.changes, "id": m.id}
        new_owner = old_owner
        changed = set(decision.changes)
        if decision.op != "delete":
            refused, unread = self._check_references(spec, candidate, changed)
            while unread is not None:
                await self._fetch(ENTITIES[unread[0]], {unread[1]}, lock=False)
                refused, unread = self._check_references(spec, candidate, changed)
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
            if spec.unique and (taken := self._take_unique(spec, m.id, decision.changes)) is not None:
                return Outcome("rejected", error=taken, entity=spec.name, id=m.id), None
        created = row is None
        if created:
            row = new_row(
                spec,
                {
                    **decision.changes,
                    "id": m.id,
                    "tenant_id": self.tenant_id,
                    "version": 0,
                    "field_meta": {},
                    "created_at": now,
                    "updated_at": now,
                    "scope_rep_id": new_owner,
                },
            )
            self._rows[key] = row
            if spec.name == "customer":
                row.location = point_wkt(row.lat, row.lon)
            elif spec.name in CHILD_NAMES and (siblings := self._children.get(row.visit_id)) is not None:
                siblings.append(row)
        elif decision.op == "delete":
            row.set_many({"deleted_at": now, "updated_at": now})
            if spec.name == "visit":
                self._delete_children(m.id, now)
        else:
            row.set_many({**decision.changes, "scope_rep_id": new_owner, "updated_at": now})
            if spec.name == "customer" and ("lat" in changed or "lon" in changed):
                row.location = point_wkt(row.lat, row.lon)
        item = Pending(
            spec=spec,
            row=row,
            decision=decision,
            old_owner=old_owner,
            created=created,
            previous=current.values if current is not None else None,
        )
        if decision.op != "delete":
            for hook in self.after_merge:
                watches = getattr(hook, "watches", None)
                if watches is not None and watches.isdisjoint(changed):
                    continue
                await self._pipe.drain()  # the hook may read through the session
                extra = await hook(self.session, spec, row, changed, self.actor)
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
        start: int,
    ) -> None:
        """Version and send the writes of the mutations from ``start`` on (one step)."""
        pending_keys = {(p.spec.name, p.row.id) for _, p in pending}
        # Loaded rows that get a new version without a mutation of their own (in this step).
        touched: list[Any] = [r for r in self._cascaded if (r.spec.name, r.id) not in pending_keys]
        self._cascaded.clear()
        unloaded: dict[str, list[uuid.UUID]] = defaultdict(list)  # the same, not loaded (bulk update)
        notes = self._children_follow(pending, pending_keys, touched)
        notes.extend(
            EvictionNote(p.spec.name, p.row.id, p.old_owner)
            for _, p in pending
            if p.old_owner is not None and p.old_owner != p.row.scope_rep_id
        )
        moves = await self._team_moves(pending)
        for move in moves:
            seen: set[tuple[str, uuid.UUID]] = set()
            owned = await self._pipe.call(
                lambda session, user=move.user_id: owned_rows(
                    session, self.tenant_id, user, lock=self.lock_rows
                )
            )
            for spec, rid in owned:
                key = (spec.name, rid)
                if move.evicts:
                    notes.append(EvictionNote(spec.name, rid, move.user_id, viewer_id=move.old_viewer))
                if not move.arrives or key in pending_keys or key in seen:
                    continue
                seen.add(key)
                loaded = self._rows.get(key)
                if loaded is not None:
                    touched.append(loaded)
                else:
                    unloaded[spec.name].append(rid)
        needed = len(pending) + len(touched) + sum(map(len, unloaded.values())) + len(notes)
        if needed:
            # Before this step's writes are sent: the first step drains the pipe to reserve them.
            next_version = await self._take_versions(needed)
            next_version = self._record_evictions(notes, next_version, now)
            for row in touched:
                row.version = next_version
                next_version += 1
            for name, ids in unloaded.items():
                table: Any = ENTITIES[name].model.__table__
                stmt = (
                    update(table).where(table.c.id == bindparam("_id")).values(version=bindparam("_version"))
                )
                params = [{"_id": rid, "_version": next_version + offset} for offset, rid in enumerate(ids)]
                self._pipe.send(lambda s, stmt=stmt, params=params: s.execute(stmt, params))
                next_version += len(ids)
            for index, item in pending:
                row = item.row
                # One stamp for every field the mutation wrote (the list is never changed in place).
                stamp = [mutations[index].hlc, next_version]
                meta = dict(row.field_meta or ())
                meta.update(dict.fromkeys(item.decision.stamped, stamp))
                if item.extra_stamped:
                    meta.update(dict.fromkeys(item.extra_stamped, stamp))
                row.set_many({"version": next_version, "field_meta": meta})
                outcomes[index].version = next_version
                next_version += 1
        conflicts = self._conflict_records(mutations[start : len(outcomes)], outcomes[start:])
        self._pipe.send(
            prepare_insert_records(self.session, SyncConflict.__table__, CONFLICT_COLUMNS, conflicts)  # type: ignore[arg-type]
        )
        self._write_rows(Twins(self.session))

    async def _take_versions(self, count: int) -> int:
        """``count`` change numbers for this step; returns the first.

        The first step reserves them from the tenant's clock, whose row stays locked until commit;
        so later steps number on from there, and :meth:`_close_versions` moves the clock past them."""
        if self._next_version is None:
            self._next_version = await self._pipe.call(
                lambda session: allocate_versions(session, self.tenant_id, count)
            )
            self._reserved_end = self._next_version + count
        first = self._next_version
        self._next_version += count
        return first

    def _close_versions(self) -> None:
        """Reserve on the clock the change numbers later steps handed out."""
        if self._next_version is None or self._next_version == self._reserved_end:
            return
        extra = self._next_version - self._reserved_end
        expected = self._reserved_end
        tenant_id = self.tenant_id

        async def advance(session: AsyncSession) -> None:
            first = await allocate_versions(session, tenant_id, extra)
            if first != expected:  # the clock row is locked by this transaction: never happens
                raise RuntimeError(f"change numbers moved under a lock: {first} != {expected}")

        self._reserved_end = self._next_version
        self._pipe.send(advance)

    def _record_evictions(self, notes: list[EvictionNote], first: int, now: Any) -> int:
        if notes:
            self._pipe.send(
                prepare_insert(
                    self.session,
                    SyncEviction.__table__,  # type: ignore[arg-type]
                    [
                        {
                            "tenant_id": self.tenant_id,
                            "version": first + offset,
                            "entity": note.entity,
                            "entity_id": note.id,
                            "scope_rep_id": note.scope_rep_id,
                            "viewer_id": note.viewer_id,
                            "created_at": now,
                        }
                        for offset, note in enumerate(notes)
                    ],
                )
            )
        return first + len(notes)

    def _write_rows(self, twins: Twins) -> None:
        """Send the inserts of new rows (parents first) and the changed columns of the others."""
        new: dict[str, list[RowView]] = defaultdict(list)
        changed: dict[str, list[RowView]] = defaultdict(list)
        for (name, _), row in self._rows.items():
            if not row.dirty:
                continue
            if row.is_new:
                new[name].append(row)
            else:
                changed[name].append(row)
                twin = twins.get(row.spec, row.id)
                if twin is not None:
                    refresh_twin(twin, row.spec, row.values(), row.dirty)
        for name, spec in ENTITIES.items():
            if new.get(name):
                self._pipe.send(prepare_insert_rows(self.session, spec, new[name]))
            if changed.get(name):
                self._pipe.send(prepare_update_rows(self.session, spec, changed[name]))

    def _delete_children(self, visit_id: uuid.UUID, now: Any) -> None:
        """A deleted visit's actions and photos are deleted with it (each gets a tombstone), so no
        replica keeps children of a visit it no longer has; later writes to them are refused
        with ``deleted``, like writes to the visit."""
        for row in self._children.get(visit_id, ()):
            if row.deleted_at is None:
                row.set_many({"deleted_at": now, "updated_at": now})
                self._cascaded.append(row)

    def _children_follow(
        self, pending: list[tuple[int, Pending]], pending_keys: set[tuple[str, uuid.UUID]], touched: list[Any]
    ) -> list[EvictionNote]:
        """Children of a visit given to another rep move with it (see :mod:`sync.scope_moves`)."""
        moved = {
            p.row.id: p.row.scope_rep_id
            for _, p in pending
            if p.spec.name == "visit" and not p.created and p.old_owner != p.row.scope_rep_id
        }
        notes: list[EvictionNote] = []
        for visit_id, new_owner in moved.items():
            for row in self._children.get(visit_id, ()):
                old_owner = row.scope_rep_id
                if old_owner == new_owner:
                    continue
                row.scope_rep_id = new_owner
                if row.deleted_at is not None or (row.spec.name, row.id) in pending_keys:
                    continue  # a tombstone stays put; a child written in this batch gets its own eviction
                touched.append(row)
                if old_owner is not None:
                    notes.append(EvictionNote(row.spec.name, row.id, old_owner))
        return notes

    async def _team_moves(self, pending: list[tuple[int, Pending]]) -> list[TeamMove]:
        changes = [
            (p.row.id, (p.previous or {}).get("team_id"), p.row.team_id)
            for _, p in pending
            if p.spec.name == "user" and not p.created and "team_id" in p.decision.changes
        ]
        if not changes:
            return []
        teams = {t for _, a, b in changes for t in (a, b) if t}
        managers = await self._pipe.call(lambda session: team_managers(session, teams))
        moves = [
            team_move(uid, managers.get(old) if old else None, managers.get(new) if new else None)
            for uid, old, new in changes
        ]
        return [m for m in moves if m is not None]

    def _conflict_records(
        self, mutations: Sequence[Incoming], outcomes: list[Outcome]
    ) -> list[tuple[Any, ...]]:
        """The conflict log rows of these mutations (columns :data:`CONFLICT_COLUMNS`): one per
        mutation with a refused or lost field, or refused as a whole."""
        records: list[tuple[Any, ...]] = []
        now = utcnow()
        tenant_id, user_id, client_id = self.tenant_id, self.actor.user_id, self.client_id
        for m, outcome in zip(mutations, outcomes, strict=True):
            error = outcome.error if outcome.status == "rejected" else None
            if not outcome.conflicts and not error:
                continue
            row = self._rows.get((outcome.entity, m.id)) if outcome.entity else None
            scope = row.scope_rep_id if row is not None and row.tenant_id == tenant_id else user_id
            sent = m.fields
            # The entries the client was told about (shared with its result: copied, not changed).
            entries = [{**c, "client_value": _jsonable(sent.get(c["field"]))} for c in outcome.conflicts]
            records.append(
                (
                    tenant_id, user_id, client_id, scope, m.seq, _clip(outcome.entity or m.entity, 32), m.id,
                    m.hlc, now, outcome.status, entries, error,
                )
            )  # fmt: skip
        return records


#: The columns of :meth:`SyncWriter._conflict_records`, in order.
CONFLICT_COLUMNS = [
    "tenant_id",
    "user_id",
    "client_id",
    "scope_rep_id",
    "seq",
    "entity",
    "entity_id",
    "client_hlc",
    "created_at",
    "status",
    "conflicts",
    "error",
]


def _clip(value: Any, size: int) -> str | None:
    if value is None:
        return None
    return (value if value.__class__ is str else str(value))[:size]


_JSON_TYPES = frozenset({str, int, float, bool, type(None), list, dict})


def _jsonable(value: Any) -> Any:
    if value.__class__ in _JSON_TYPES or isinstance(value, str | int | float | bool | list | dict):
        return value
    return str(value)
