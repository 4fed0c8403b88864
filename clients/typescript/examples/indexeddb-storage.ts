/**
 * A `StorageAdapter` over IndexedDB (browsers, PWAs). `setMany` and `deleteMany` run in one
 * readwrite transaction, so they are atomic.
 *
 *   const storage = await IndexedDbStorage.open("fieldline");
 *   const client = new FieldlineClient({ baseUrl, storage });
 */
import type { StorageAdapter } from "../src/index.js"; // in an app: from "@fieldline/client"

const STORE = "kv";

function done(request: IDBRequest): Promise<unknown> {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

export class IndexedDbStorage implements StorageAdapter {
  private constructor(private readonly db: IDBDatabase) {}

  static open(name: string): Promise<IndexedDbStorage> {
    return new Promise((resolve, reject) => {
      const request = indexedDB.open(name, 1);
      request.onupgradeneeded = () => request.result.createObjectStore(STORE);
      request.onsuccess = () => resolve(new IndexedDbStorage(request.result));
      request.onerror = () => reject(request.error);
    });
  }

  /** Runs `work` in one transaction; resolves when the transaction has committed. */
  private transact(mode: IDBTransactionMode, work: (store: IDBObjectStore) => void): Promise<void> {
    return new Promise((resolve, reject) => {
      const tx = this.db.transaction(STORE, mode);
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error ?? new Error("transaction aborted"));
      work(tx.objectStore(STORE));
    });
  }

  async get(key: string): Promise<string | null> {
    const tx = this.db.transaction(STORE, "readonly");
    const value = await done(tx.objectStore(STORE).get(key));
    return typeof value === "string" ? value : null;
  }

  set(key: string, value: string): Promise<void> {
    return this.transact("readwrite", (store) => void store.put(value, key));
  }

  delete(key: string): Promise<void> {
    return this.transact("readwrite", (store) => void store.delete(key));
  }

  async keys(prefix: string): Promise<string[]> {
    const tx = this.db.transaction(STORE, "readonly");
    const range = IDBKeyRange.bound(prefix, `${prefix}\uffff`);
    const keys = (await done(tx.objectStore(STORE).getAllKeys(range))) as IDBValidKey[];
    return keys.map(String);
  }

  setMany(items: Record<string, string>): Promise<void> {
    return this.transact("readwrite", (store) => {
      for (const [k, v] of Object.entries(items)) store.put(v, k);
    });
  }

  deleteMany(keys: string[]): Promise<void> {
    return this.transact("readwrite", (store) => {
      for (const k of keys) store.delete(k);
    });
  }
}
