/**
 * A `StorageAdapter` over SQLite with better-sqlite3 (Node, Electron): `npm install better-sqlite3`.
 * `setMany` and `deleteMany` run in one SQLite transaction, so they are atomic.
 *
 *   const client = new FieldlineClient({ baseUrl, storage: new BetterSqliteStorage("fieldline.db") });
 */
import Database from "better-sqlite3";
import type { StorageAdapter } from "../src/index.js"; // in an app: from "@fieldline/client"

type Statement = ReturnType<Database["prepare"]>;

export class BetterSqliteStorage implements StorageAdapter {
  private readonly db: Database;
  private readonly getStmt: Statement;
  private readonly setStmt: Statement;
  private readonly deleteStmt: Statement;
  private readonly keysStmt: Statement;
  private readonly setAll: (items: Record<string, string>) => void;
  private readonly deleteAll: (keys: string[]) => void;

  constructor(filename: string) {
    this.db = new Database(filename);
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("synchronous = NORMAL");
    this.db.exec("CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID");
    this.getStmt = this.db.prepare("SELECT value FROM kv WHERE key = ?");
    this.setStmt = this.db.prepare(
      "INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    );
    this.deleteStmt = this.db.prepare("DELETE FROM kv WHERE key = ?");
    // A range scan on the primary key: every key starting with the prefix.
    this.keysStmt = this.db.prepare("SELECT key FROM kv WHERE key >= ? AND key < ?");
    this.setAll = this.db.transaction((items: Record<string, string>) => {
      for (const [k, v] of Object.entries(items)) this.setStmt.run(k, v);
    });
    this.deleteAll = this.db.transaction((keys: string[]) => {
      for (const k of keys) this.deleteStmt.run(k);
    });
  }

  async get(key: string): Promise<string | null> {
    const row = this.getStmt.get(key) as { value: string } | undefined;
    return row?.value ?? null;
  }

  async set(key: string, value: string): Promise<void> {
    this.setStmt.run(key, value);
  }

  async delete(key: string): Promise<void> {
    this.deleteStmt.run(key);
  }

  async keys(prefix: string): Promise<string[]> {
    return (this.keysStmt.all(prefix, `${prefix}\uffff`) as { key: string }[]).map((r) => r.key);
  }

  async setMany(items: Record<string, string>): Promise<void> {
    this.setAll(items);
  }

  async deleteMany(keys: string[]): Promise<void> {
    this.deleteAll(keys);
  }

  close(): void {
    this.db.close();
  }
}
