/**
 * A `StorageAdapter` over React Native's AsyncStorage (`@react-native-async-storage/async-storage`).
 *
 * AsyncStorage's `multiSet`/`multiRemove` are not atomic on every platform, so each batch is first
 * written as one journal entry (a single `setItem` is atomic), then applied, then the journal is
 * removed. After a crash, the next call replays a journal left behind: the batch takes effect
 * whole. For large replicas prefer SQLite (op-sqlite, expo-sqlite) with a transaction, like
 * `better-sqlite3-storage.ts`.
 *
 *   const client = new FieldlineClient({ baseUrl, storage: new AsyncStorageAdapter() });
 */
import AsyncStorage from "@react-native-async-storage/async-storage";
import type { StorageAdapter } from "../src/index.js"; // in an app: from "@fieldline/client"

interface Batch {
  set: Record<string, string>;
  del: string[];
}

export class AsyncStorageAdapter implements StorageAdapter {
  private recovered: Promise<void> | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly journalKey = "fieldline/__journal") {}

  private recover(): Promise<void> {
    this.recovered ??= (async () => {
      const text = await AsyncStorage.getItem(this.journalKey);
      if (text !== null) await this.apply(JSON.parse(text) as Batch);
    })();
    return this.recovered;
  }

  private async apply(batch: Batch): Promise<void> {
    const pairs = Object.entries(batch.set);
    if (pairs.length > 0) await AsyncStorage.multiSet(pairs);
    if (batch.del.length > 0) await AsyncStorage.multiRemove(batch.del);
    await AsyncStorage.removeItem(this.journalKey);
  }

  /** Journal, apply, clear: one batch at a time. */
  private batch(batch: Batch): Promise<void> {
    const run = async (): Promise<void> => {
      await this.recover();
      await AsyncStorage.setItem(this.journalKey, JSON.stringify(batch));
      await this.apply(batch);
    };
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  async get(key: string): Promise<string | null> {
    await this.recover();
    await this.queue;
    return AsyncStorage.getItem(key);
  }

  set(key: string, value: string): Promise<void> {
    return this.batch({ set: { [key]: value }, del: [] });
  }

  delete(key: string): Promise<void> {
    return this.batch({ set: {}, del: [key] });
  }

  async keys(prefix: string): Promise<string[]> {
    await this.recover();
    await this.queue;
    return (await AsyncStorage.getAllKeys()).filter((k) => k.startsWith(prefix) && k !== this.journalKey);
  }

  setMany(items: Record<string, string>): Promise<void> {
    return this.batch({ set: items, del: [] });
  }

  deleteMany(keys: string[]): Promise<void> {
    return this.batch({ set: {}, del: keys });
  }
}
