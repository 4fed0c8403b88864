/**
 * A `StorageAdapter` for Node that keeps everything in one JSON file.
 *
 * Every write replaces the file atomically (write a temporary file, flush it, rename it over the
 * old one), so a crash leaves either the old state or the new one, never half of a `setMany`.
 * Fine for command-line tools, tests and small data sets; apps with large replicas should use a
 * database-backed adapter (see `examples/`).
 */
import { open, readFile, rename, mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import type { StorageAdapter } from "./storage.js";

export class JsonFileStorage implements StorageAdapter {
  private data: Map<string, string> | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(readonly path: string) {}

  async get(key: string): Promise<string | null> {
    return (await this.load()).get(key) ?? null;
  }

  async keys(prefix: string): Promise<string[]> {
    return [...(await this.load()).keys()].filter((k) => k.startsWith(prefix));
  }

  set(key: string, value: string): Promise<void> {
    return this.write((d) => void d.set(key, value));
  }

  delete(key: string): Promise<void> {
    return this.write((d) => void d.delete(key));
  }

  setMany(items: Record<string, string>): Promise<void> {
    return this.write((d) => {
      for (const [k, v] of Object.entries(items)) d.set(k, v);
    });
  }

  deleteMany(keys: string[]): Promise<void> {
    return this.write((d) => {
      for (const k of keys) d.delete(k);
    });
  }

  private async load(): Promise<Map<string, string>> {
    if (this.data === undefined) {
      let text: string | undefined;
      try {
        text = await readFile(this.path, "utf8");
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
      }
      const parsed: unknown = text ? JSON.parse(text) : {};
      if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
        throw new Error(`${this.path} is not a JSON object`);
      }
      const map = new Map<string, string>();
      for (const [k, v] of Object.entries(parsed)) if (typeof v === "string") map.set(k, v);
      this.data ??= map;
    }
    return this.data;
  }

  /** Applies `change` to a copy, persists the copy, then makes it current: writes are serialised. */
  private write(change: (data: Map<string, string>) => void): Promise<void> {
    const run = async (): Promise<void> => {
      const next = new Map(await this.load());
      change(next);
      await this.persist(next);
      this.data = next;
    };
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  private async persist(data: Map<string, string>): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    const tmp = `${this.path}.${process.pid}.tmp`;
    const handle = await open(tmp, "w");
    try {
      await handle.writeFile(JSON.stringify(Object.fromEntries(data)));
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, this.path);
  }
}
