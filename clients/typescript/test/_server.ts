/**
 * Starts a real Fieldline server for end-to-end tests: `python -m api.cli serve` on a free port,
 * on a copy of a demo-seeded SQLite database (seeded once per day and schema, then cached).
 */
import { spawn, execFile, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFile, mkdir, mkdtemp, readdir, readFile, rename, rm, stat } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);

/** The repository root (this file runs from `clients/typescript/dist/test/`). */
export const REPO = process.env.FIELDLINE_REPO ?? resolve(dirname(fileURLToPath(import.meta.url)), "../../../..");
export const PYTHON = process.env.FIELDLINE_PYTHON ?? join(REPO, ".venv/bin/python");
export const DEMO_PASSWORD = "fieldline-demo";

function serverEnv(dbPath: string, varDir: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    PYTHONPATH: REPO,
    FIELDLINE_DATABASE_URL: `sqlite:///${dbPath}`,
    FIELDLINE_VAR_DIR: varDir,
    FIELDLINE_MEDIA_ROOT: join(varDir, "media"),
    FIELDLINE_RUN_WORKER: "0",
    FIELDLINE_LOG_LEVEL: "WARNING",
    FIELDLINE_ENV: "development",
  };
}

async function sourcesKey(): Promise<string> {
  const hash = createHash("sha1");
  for (const dir of ["api/db/migrations/versions", "api/seed"]) {
    for (const name of (await readdir(join(REPO, dir))).sort()) {
      if (name.endsWith(".py")) hash.update(name).update(await readFile(join(REPO, dir, name)));
    }
  }
  hash.update(new Date().toISOString().slice(0, 10)).update(REPO);
  return hash.digest("hex").slice(0, 16);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** A migrated, demo-seeded database file, built once and shared by every test file. */
export async function templateDatabase(): Promise<string> {
  const cache = join(tmpdir(), "fieldline-ts-tests");
  await mkdir(cache, { recursive: true });
  const key = await sourcesKey();
  const target = join(cache, `${key}.db`);
  const lock = join(cache, `${key}.lock`);
  for (let waited = 0; !(await exists(target)); waited += 200) {
    try {
      await mkdir(lock);
    } catch {
      const age = Date.now() - (await stat(lock).then((s) => s.mtimeMs, () => Date.now()));
      if (age > 180_000) await rm(lock, { recursive: true, force: true });
      await sleep(200);
      continue;
    }
    try {
      const work = await mkdtemp(join(cache, "seed-"));
      const db = join(work, "fieldline.db");
      await run(PYTHON, ["-m", "api.cli", "seed", "demo"], { env: serverEnv(db, work), cwd: REPO });
      await rename(db, target);
      await rm(work, { recursive: true, force: true });
    } finally {
      await rm(lock, { recursive: true, force: true });
    }
  }
  return target;
}

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolvePort(port));
    });
  });
}

export interface TestServer {
  baseUrl: string;
  dbPath: string;
  varDir: string;
  stop(): Promise<void>;
}

/** Starts a server on its own copy of the demo database. */
export async function startServer(): Promise<TestServer> {
  const template = await templateDatabase();
  const varDir = await mkdtemp(join(tmpdir(), "fieldline-ts-server-"));
  const dbPath = join(varDir, "fieldline.db");
  await copyFile(template, dbPath);
  const port = await freePort();
  const child: ChildProcess = spawn(
    PYTHON,
    ["-m", "api.cli", "serve", "--host", "127.0.0.1", "--port", String(port), "--no-migrate"],
    { env: serverEnv(dbPath, varDir), cwd: REPO, stdio: ["ignore", "ignore", process.env.FIELDLINE_TEST_SERVER_LOG ? "inherit" : "pipe"] },
  );
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const kill = (): void => {
    if (child.exitCode === null) child.kill("SIGTERM");
  };
  process.once("exit", kill);
  const baseUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited (${child.exitCode}): ${stderr}`);
    try {
      const res = await fetch(`${baseUrl}/health`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      kill();
      throw new Error(`server did not start: ${stderr}`);
    }
    await sleep(100);
  }
  return {
    baseUrl,
    dbPath,
    varDir,
    async stop() {
      process.removeListener("exit", kill);
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        await Promise.race([exited, sleep(5000)]);
        if (child.exitCode === null) child.kill("SIGKILL");
      }
      await rm(varDir, { recursive: true, force: true });
    },
  };
}

/** Runs one SQL statement on the server's SQLite database (what an operator's purge job would do). */
export async function execSql(dbPath: string, statement: string): Promise<void> {
  const code = "import sqlite3,sys\nc=sqlite3.connect(sys.argv[1],timeout=30)\nc.execute(sys.argv[2])\nc.commit()";
  await run(PYTHON, ["-c", code, dbPath, statement]);
}

/** Runs a Python snippet with the repository's environment; returns its stdout. */
export async function python(code: string, args: string[] = []): Promise<string> {
  const { stdout } = await run(PYTHON, ["-c", code, ...args], { cwd: REPO, env: { ...process.env, PYTHONPATH: REPO } });
  return stdout;
}
