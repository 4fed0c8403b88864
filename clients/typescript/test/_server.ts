/**
 * Starts a real Fieldline server for end-to-end tests: `python -m api.cli serve` on a free port,
 * on a copy of a demo-seeded SQLite database (seeded once per day and schema, then cached).
 */
import { spawn, execFile, type ChildProcess } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
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

/** `sqlite` (default) or `postgres` (`FIELDLINE_TS_TEST_PG_URL`, a PostGIS-enabled server). */
export const ENGINE = process.env.FIELDLINE_TS_TEST_DB === "postgres" ? "postgres" : "sqlite";
const PG_URL = process.env.FIELDLINE_TS_TEST_PG_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";

function pgUrl(database: string): string {
  return `${PG_URL.slice(0, PG_URL.lastIndexOf("/"))}/${database}`;
}

/** Runs SQL on a PostgreSQL database (the admin one by default) with the repository's asyncpg. */
async function pg(sql: string, database?: string): Promise<string> {
  const code =
    "import asyncio, sys, asyncpg\n" +
    "async def main():\n" +
    "    c = await asyncpg.connect(sys.argv[1])\n" +
    "    try: print(await c.fetchval(sys.argv[2]) if sys.argv[2].lstrip().upper().startswith('SELECT') else await c.execute(sys.argv[2]))\n" +
    "    finally: await c.close()\n" +
    "asyncio.run(main())";
  const { stdout } = await run(PYTHON, ["-c", code, database ? pgUrl(database) : PG_URL, sql]);
  return stdout.trim();
}

function serverEnv(databaseUrl: string, varDir: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    PYTHONPATH: REPO,
    FIELDLINE_DATABASE_URL: databaseUrl,
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

/** Runs `build` once across concurrent test processes (a directory as the lock). */
async function once(lock: string, ready: () => Promise<boolean>, build: () => Promise<void>): Promise<void> {
  while (!(await ready())) {
    try {
      await mkdir(lock);
    } catch {
      const age =
        Date.now() -
        (await stat(lock).then(
          (s) => s.mtimeMs,
          () => Date.now(),
        ));
      if (age > 180_000) await rm(lock, { recursive: true, force: true });
      await sleep(200);
      continue;
    }
    try {
      if (!(await ready())) await build();
    } finally {
      await rm(lock, { recursive: true, force: true });
    }
  }
}

async function seed(databaseUrl: string, varDir: string): Promise<void> {
  await run(PYTHON, ["-m", "api.cli", "seed", "demo"], { env: serverEnv(databaseUrl, varDir), cwd: REPO });
}

/** A migrated, demo-seeded database (a SQLite file, or a PostgreSQL template database), built
 * once per day and schema and shared by every test file. */
export async function templateDatabase(): Promise<string> {
  const cache = join(tmpdir(), "fieldline-ts-tests");
  await mkdir(cache, { recursive: true });
  const key = await sourcesKey();
  const lock = join(cache, `${key}-${ENGINE}.lock`);
  if (ENGINE === "postgres") {
    const name = `fieldline_ts_tpl_${key}`;
    const ready = async (): Promise<boolean> =>
      (await pg(`SELECT count(*) FROM pg_database WHERE datname = '${name}'`)) === "1";
    await once(lock, ready, async () => {
      const work = await mkdtemp(join(cache, "seed-"));
      await pg(`DROP DATABASE IF EXISTS ${name}_build`);
      await pg(`CREATE DATABASE ${name}_build`);
      await seed(`${pgUrl(`${name}_build`)}`, work);
      await pg(`ALTER DATABASE ${name}_build RENAME TO ${name}`);
      await rm(work, { recursive: true, force: true });
      const stale = await pg(
        `SELECT string_agg(datname, ',') FROM pg_database WHERE datname LIKE 'fieldline\\_ts\\_tpl\\_%' AND datname <> '${name}'`,
      );
      for (const old of stale.split(",").filter((d) => d && d !== "None")) await pg(`DROP DATABASE IF EXISTS ${old}`);
    });
    return name;
  }
  const target = join(cache, `${key}.db`);
  await once(
    lock,
    () => exists(target),
    async () => {
      const work = await mkdtemp(join(cache, "seed-"));
      const db = join(work, "fieldline.db");
      await seed(`sqlite:///${db}`, work);
      await rename(db, target);
      await rm(work, { recursive: true, force: true });
      for (const name of await readdir(cache)) {
        if (name.endsWith(".db") && join(cache, name) !== target) await rm(join(cache, name), { force: true });
      }
    },
  );
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
  databaseUrl: string;
  varDir: string;
  /** Runs one SQL statement on the server's database (what an operator's job would do). */
  sql(statement: string): Promise<void>;
  stop(): Promise<void>;
}

/** Starts a server on its own copy of the demo database. */
export async function startServer(): Promise<TestServer> {
  const template = await templateDatabase();
  const varDir = await mkdtemp(join(tmpdir(), "fieldline-ts-server-"));
  let databaseUrl: string;
  let sql: (statement: string) => Promise<void>;
  let drop = async (): Promise<void> => undefined;
  if (ENGINE === "postgres") {
    const name = `fieldline_ts_${randomBytes(6).toString("hex")}`;
    await pg(`CREATE DATABASE ${name} TEMPLATE ${template}`);
    databaseUrl = pgUrl(name);
    sql = async (statement) => void (await pg(statement, name));
    drop = async () => void (await pg(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  } else {
    const dbPath = join(varDir, "fieldline.db");
    await copyFile(template, dbPath);
    databaseUrl = `sqlite:///${dbPath}`;
    sql = (statement) => execSqlite(dbPath, statement);
  }
  const port = await freePort();
  const child: ChildProcess = spawn(
    PYTHON,
    ["-m", "api.cli", "serve", "--host", "127.0.0.1", "--port", String(port), "--no-migrate"],
    {
      env: serverEnv(databaseUrl, varDir),
      cwd: REPO,
      stdio: ["ignore", "ignore", process.env.FIELDLINE_TEST_SERVER_LOG ? "inherit" : "pipe"],
    },
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
    databaseUrl,
    varDir,
    sql,
    async stop() {
      process.removeListener("exit", kill);
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        await Promise.race([exited, sleep(5000)]);
        if (child.exitCode === null) child.kill("SIGKILL");
      }
      await rm(varDir, { recursive: true, force: true });
      await drop();
    },
  };
}

async function execSqlite(dbPath: string, statement: string): Promise<void> {
  const code = "import sqlite3,sys\nc=sqlite3.connect(sys.argv[1],timeout=30)\nc.execute(sys.argv[2])\nc.commit()";
  await run(PYTHON, ["-c", code, dbPath, statement]);
}

/** Runs a Python snippet with the repository's environment; returns its stdout. */
export async function python(code: string, args: string[] = []): Promise<string> {
  const { stdout } = await run(PYTHON, ["-c", code, ...args], { cwd: REPO, env: { ...process.env, PYTHONPATH: REPO } });
  return stdout;
}
