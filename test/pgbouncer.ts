import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * A real PgBouncer for tests, started in a temporary directory on a free
 * port in front of the shared PostgreSQL server. Debian's `pgbouncer`
 * package (1.18) is what CI installs; tests skip where no binary exists.
 */

/** The pgbouncer binary, or null where it is not installed. */
export const PGBOUNCER: string | null = findPgBouncer();

function findPgBouncer(): string | null {
  for (const path of ["/usr/sbin/pgbouncer", "/usr/bin/pgbouncer", "/usr/local/bin/pgbouncer"])
    if (existsSync(path)) return path;
  const found = spawnSync("sh", ["-c", "command -v pgbouncer"], { encoding: "utf8" });
  return found.status === 0 && found.stdout.trim() ? found.stdout.trim() : null;
}

export interface PgBouncer {
  /** `postgres://` URL of the pooled database (database name `hrp`). */
  readonly url: string;
  /** Everything PgBouncer logged so far. */
  output(): string;
  stop(): Promise<void>;
}

export interface PgBouncerOptions {
  /** The server behind it (a `postgres://` URL with host, port, user and database). */
  readonly upstreamUrl: string;
  /** `pool_mode`. @defaultValue "transaction" */
  readonly poolMode?: "session" | "transaction" | "statement";
  /** Server connections per database/user (`default_pool_size`): fewer than the clients, so clients share them. @defaultValue 4 */
  readonly poolSize?: number;
  /**
   * Schema set as every server connection's `search_path` (`connect_query`):
   * PgBouncer refuses the `options` startup parameter that other tests use
   * to isolate their schema.
   */
  readonly searchPath?: string;
  /**
   * `server_round_robin = 1`: hand out idle server connections in turn
   * instead of the most recently used one first, so consecutive
   * transactions of one client land on different server connections.
   * @defaultValue false
   */
  readonly roundRobin?: boolean;
}

/** Starts PgBouncer and resolves once it accepts connections. */
export async function startPgBouncer(options: PgBouncerOptions): Promise<PgBouncer> {
  if (!PGBOUNCER) throw new Error("pgbouncer is not installed");
  const upstream = new URL(options.upstreamUrl);
  const dir = mkdtempSync(join(tmpdir(), "hrp-cron-pgbouncer-"));
  // PgBouncer refuses to run as root; as root it is told to switch to an unprivileged user, who must read these files.
  chmodSync(dir, 0o755);
  const connectQuery = options.searchPath ? ` connect_query='SET search_path TO ${options.searchPath}'` : "";
  const user = decodeURIComponent(upstream.username || "postgres");
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    writeFileSync(join(dir, "users.txt"), `"${user}" ""\n`, { mode: 0o644 });
    writeFileSync(
      join(dir, "pgbouncer.ini"),
      [
        "[databases]",
        `hrp = host=${upstream.hostname} port=${upstream.port || 5432} dbname=${upstream.pathname.slice(1)} user=${user}${connectQuery}`,
        "[pgbouncer]",
        "listen_addr = 127.0.0.1",
        `listen_port = ${port}`,
        "unix_socket_dir =",
        "auth_type = trust",
        `auth_file = ${join(dir, "users.txt")}`,
        `pool_mode = ${options.poolMode ?? "transaction"}`,
        `default_pool_size = ${options.poolSize ?? 4}`,
        "max_client_conn = 500",
        `server_round_robin = ${options.roundRobin ? 1 : 0}`,
        "",
      ].join("\n"),
      { mode: 0o644 },
    );
    const args =
      process.getuid?.() === 0 ? ["-u", unprivilegedUser(), join(dir, "pgbouncer.ini")] : [join(dir, "pgbouncer.ini")];
    const child = spawn(PGBOUNCER, args, { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout!.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (output += d.toString()));
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    const up = await waitUntil(
      () => output.includes(`listening on 127.0.0.1:${port}`),
      () => child.exitCode !== null || child.signalCode !== null,
    );
    if (up) {
      return {
        url: `postgres://${encodeURIComponent(user)}@127.0.0.1:${port}/hrp`,
        output: () => output,
        async stop() {
          await stopChild(child, exited);
          rmSync(dir, { recursive: true, force: true });
        },
      };
    }
    await stopChild(child, exited);
    if (attempt >= 3) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`pgbouncer did not start:\n${output}`);
    }
  }
}

async function stopChild(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
  await exited;
  clearTimeout(timer);
}

function unprivilegedUser(): string {
  for (const name of ["postgres", "nobody"]) if (spawnSync("id", ["-u", name]).status === 0) return name;
  throw new Error("no unprivileged user to run pgbouncer as");
}

/** A TCP port that was free a moment ago (PgBouncer failing to bind is retried). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port")),
      );
    });
  });
}

/** Polls until `ready()` (true) or `failed()` (false), at most 10 s. */
async function waitUntil(ready: () => boolean, failed: () => boolean): Promise<boolean> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (ready()) return true;
    if (failed()) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return false;
}
