/**
 * The outbox: mutations made on this device and not yet acknowledged by the server, in `seq`
 * order. Storage is the truth; a copy is kept in memory because this client is its only writer.
 */
import type { StorageAdapter } from "./storage.js";
import type { UserKeys } from "./keys.js";
import type { Mutation } from "./wire.js";

export class Outbox {
  private readonly entries = new Map<number, Mutation>();
  /** The last `seq` handed out (persisted: a seq is never reused, even after a trim). */
  private last = 0;

  constructor(
    private readonly storage: StorageAdapter,
    private readonly keys: UserKeys,
  ) {}

  async load(): Promise<void> {
    this.entries.clear();
    for (const key of await this.storage.keys(this.keys.outboxPrefix)) {
      const text = await this.storage.get(key);
      if (text === null) continue;
      const m = JSON.parse(text) as Mutation;
      this.entries.set(m.seq, m);
    }
    this.last = Number((await this.storage.get(this.keys.seq)) ?? "0");
    for (const seq of this.entries.keys()) if (seq > this.last) this.last = seq;
  }

  get lastSeq(): number {
    return this.last;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Pending mutations, oldest first. */
  pending(): Mutation[] {
    return [...this.entries.values()].sort((a, b) => a.seq - b.seq);
  }

  /** Pending mutations of one entity, oldest first. */
  pendingFor(entity: string, id: string): Mutation[] {
    return this.pending().filter((m) => m.entity === entity && m.id === id);
  }

  /**
   * Appends a mutation with the next seq, together with `extra` items, in one atomic write.
   * Call under the client's write lock: the seq is taken only once the write succeeded.
   */
  async append(build: (seq: number) => Mutation, extra: Record<string, string> = {}): Promise<Mutation> {
    const m = build(this.last + 1);
    await this.storage.setMany({
      ...extra,
      [this.keys.outbox(m.seq)]: JSON.stringify(m),
      [this.keys.seq]: String(m.seq),
    });
    this.entries.set(m.seq, m);
    this.last = m.seq;
    return m;
  }

  /** Drops every entry with `seq <= upTo`. */
  async trimThrough(upTo: number): Promise<Mutation[]> {
    const gone = this.pending().filter((m) => m.seq <= upTo);
    if (gone.length === 0) return gone;
    await this.storage.deleteMany(gone.map((m) => this.keys.outbox(m.seq)));
    for (const m of gone) this.entries.delete(m.seq);
    return gone;
  }

  /** Never hand out a seq the server has already seen from this device (restored backups). */
  async advanceTo(seq: number): Promise<void> {
    if (seq <= this.last) return;
    await this.storage.set(this.keys.seq, String(seq));
    this.last = seq;
  }
}
