/**
 * Where the SDK keeps its state: a tiny async key-value interface over strings.
 *
 * `setMany` and `deleteMany` must be atomic (all or nothing, one transaction): the SDK relies on
 * them so that an outbox append, or a pulled page and its cursor, survive a crash together.
 */
export interface StorageAdapter {
  get(key: string): Promise<string | null>;
  set(key: string, value: string): Promise<void>;
  delete(key: string): Promise<void>;
  /** Every key starting with `prefix`, in any order. */
  keys(prefix: string): Promise<string[]>;
  /** Writes every item or none. */
  setMany(items: Record<string, string>): Promise<void>;
  /** Deletes every key or none. Keys that do not exist are ignored. */
  deleteMany(keys: string[]): Promise<void>;
}

/** State kept in memory only: for tests, and for apps that do not need to survive a restart. */
export class MemoryStorage implements StorageAdapter {
  protected readonly data = new Map<string, string>();

  async get(key: string): Promise<string | null> {
    return this.data.get(key) ?? null;
  }

  async set(key: string, value: string): Promise<void> {
    this.data.set(key, value);
  }

  async delete(key: string): Promise<void> {
    this.data.delete(key);
  }

  async keys(prefix: string): Promise<string[]> {
    return [...this.data.keys()].filter((k) => k.startsWith(prefix));
  }

  async setMany(items: Record<string, string>): Promise<void> {
    for (const [k, v] of Object.entries(items)) this.data.set(k, v);
  }

  async deleteMany(keys: string[]): Promise<void> {
    for (const k of keys) this.data.delete(k);
  }

  /** A copy of everything stored (for tests and debugging). */
  snapshot(): Record<string, string> {
    return Object.fromEntries(this.data);
  }
}
