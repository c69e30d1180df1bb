import { execFile, execFileSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Where Debian puts PostgreSQL 15's server binaries. */
export const PG_BIN = process.env.HRP_TEST_PG_BIN ?? "/usr/lib/postgresql/15/bin";

/**
 * A PostgreSQL server of the test's own, for tests that restart or stop the
 * database (the shared server at :5432 is never touched): `initdb` in a
 * temp dir, a free port chosen at start, trust auth, `fsync=off` for speed
 * (a crashed postgres loses nothing: the OS still has the pages;
 * `synchronous_commit` stays on, so an acknowledged commit survives
 * `-m immediate`). PostgreSQL refuses to run as root, so as root the
 * binaries run as the `postgres` system user (`runuser`).
 */
export interface OwnPgServer {
  readonly port: number;
  /** `postgres://postgres@127.0.0.1:<port>/postgres` */
  readonly url: string;
  /** `pg_ctl stop -m <mode>`: fast ends sessions cleanly, immediate is a crash (recovery at next start). */
  stop(mode: "fast" | "immediate"): Promise<void>;
  start(): Promise<void>;
  /** Stops with `mode`, stays down `downMs` (a real restart takes seconds), starts again. */
  restart(mode: "fast" | "immediate", downMs?: number): Promise<void>;
  /** Stops it (immediately) and removes its directory. */
  destroy(): Promise<void>;
}

const asRoot = typeof process.getuid === "function" && process.getuid() === 0;

/** True when this machine can run a server of the test's own (the PostgreSQL server binaries, and the postgres user when we are root). */
export function ownPgServerAvailable(): boolean {
  if (!existsSync(join(PG_BIN, "initdb")) || !existsSync(join(PG_BIN, "pg_ctl"))) return false;
  if (!asRoot) return true;
  try {
    execFileSync("id", ["-u", "postgres"], { stdio: "ignore" });
    return existsSync("/usr/sbin/runuser") || existsSync("/sbin/runuser") || existsSync("/usr/bin/runuser");
  } catch {
    return false;
  }
}

/** The command line running a server binary (as the postgres user when we are root). */
function command(binary: string, args: string[]): [string, string[]] {
  return asRoot ? ["runuser", ["-u", "postgres", "--", join(PG_BIN, binary), ...args]] : [join(PG_BIN, binary), args];
}

function run(binary: string, args: string[]): Promise<string> {
  const [file, argv] = command(binary, args);
  return new Promise((resolve, reject) =>
    execFile(file, argv, { timeout: 60_000 }, (error, stdout, stderr) =>
      error
        ? reject(new Error(`${binary} ${args.join(" ")} failed: ${error.message}\n${stdout}\n${stderr}`))
        : resolve(stdout),
    ),
  );
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (!address || typeof address === "string") throw new Error("no free port");
  return address.port;
}

export async function startOwnPgServer(): Promise<OwnPgServer> {
  const dir = mkdtempSync(join(tmpdir(), "hrp-cron-pg-"));
  if (asRoot) {
    const uid = Number(execFileSync("id", ["-u", "postgres"]).toString().trim());
    const gid = Number(execFileSync("id", ["-g", "postgres"]).toString().trim());
    chownSync(dir, uid, gid);
  }
  const data = join(dir, "data");
  const log = join(dir, "server.log");
  await run("initdb", ["-D", data, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"]);
  const port = await freePort();
  const settings = [
    `-p ${port}`,
    "-c listen_addresses=127.0.0.1",
    `-c unix_socket_directories=${dir}`,
    "-c fsync=off",
    "-c full_page_writes=off",
    "-c max_connections=100",
  ];
  const start = () =>
    run("pg_ctl", ["-D", data, "-l", log, "-w", "-t", "60", "-o", settings.join(" "), "start"]).then(() => undefined);
  const stop = (mode: "fast" | "immediate") =>
    run("pg_ctl", ["-D", data, "-w", "-t", "60", "-m", mode, "stop"]).then(() => undefined);
  // A test process that dies (or a hook that times out) must not leave the server running.
  const onExit = () => {
    try {
      execFileSync(...command("pg_ctl", ["-D", data, "-m", "immediate", "stop"]), { stdio: "ignore" });
    } catch {
      // already stopped
    }
    rmSync(dir, { recursive: true, force: true });
  };
  process.once("exit", onExit);
  await start();
  return {
    port,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop,
    start,
    async restart(mode, downMs = 0) {
      await stop(mode);
      if (downMs > 0) await new Promise((resolve) => setTimeout(resolve, downMs));
      await start();
    },
    async destroy() {
      process.removeListener("exit", onExit);
      await stop("immediate").catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
