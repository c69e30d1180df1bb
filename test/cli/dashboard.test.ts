import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request } from "node:http";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { Dispatcher, JobAdmin, JobQueue, ModelRegistry } from "../../src";
import { BIN, databaseVariable, hrpCron } from "../docs/cli";
import { BACKENDS, memoryLogger, openTestDb, type TestDb } from "../helpers";
import { HttpClient } from "../dashboard/httpClient";

/**
 * `hrp-cron dashboard` (and `worker --dashboard`, which `npm start` runs)
 * as a child process of the compiled CLI on a test database: it prints its
 * URL, serves the local user on 127.0.0.1 without credentials, refuses any
 * other address without credentials, asks for the token or the password
 * when they are set, is read-only when told, and stops on SIGTERM.
 */

const TOKEN = "s3cret-token-0123456789abcdef";
const LOCAL = `local:${userInfo().username}`;

/** A running CLI process and what it printed so far. */
interface Running {
  readonly child: ChildProcess;
  readonly url: string;
  output(): string;
  /** SIGTERM, then its exit code. */
  stop(): Promise<number | null>;
}

/** Starts `hrp-cron ARGS` and waits for its `dashboard: URL` line. */
async function start(args: readonly string[], env: NodeJS.ProcessEnv): Promise<Running> {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: tmpdir(), env: cleanEnv(env) });
  let output = "";
  child.stdout!.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const deadline = Date.now() + 30_000;
  let url: string | undefined;
  while (!(url = /^dashboard: (http:\/\/\S+)/m.exec(output)?.[1]) && child.exitCode === null && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 25));
  if (!url) {
    child.kill("SIGKILL");
    throw new Error(`no dashboard URL printed:\n${output}`);
  }
  return {
    child,
    url,
    output: () => output,
    stop: () => {
      child.kill("SIGTERM");
      return exited;
    },
  };
}

function cleanEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out = { ...process.env };
  for (const key of Object.keys(out))
    if (key.startsWith("HRP_CRON_DASHBOARD_") || key === "HRP_CRON_CONFIG" || key === "HRP_CRON_LOG_LEVEL")
      delete out[key];
  return { ...out, ...env };
}

/** `http://127.0.0.1:PORT` of a printed URL (a dashboard bound to 0.0.0.0 is reached through 127.0.0.1). */
function originOf(url: string): string {
  return `http://127.0.0.1:${new URL(url).port}`;
}

/** A GET with any `Host` header (fetch cannot set one). */
function getWithHost(origin: string, path: string, host: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${origin}${path}`, { headers: { host } }, (res) => {
      let text = "";
      res.on("data", (d: Buffer) => (text += d.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("hrp-cron dashboard without a database", () => {
  it("refuses to listen on 0.0.0.0 without credentials, naming the variables, and opens nothing", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hrp-cron-dashboard-"));
    try {
      const file = join(dir, "never.sqlite");
      const result = await hrpCron(["dashboard", "--host", "0.0.0.0"], { env: { HRP_CRON_DB: file }, cwd: dir });
      expect(result.code).toBe(1);
      expect(result.stderr.trim()).toBe(
        "hrp-cron: ConfigError: the dashboard listens on 0.0.0.0 only with credentials: set HRP_CRON_DASHBOARD_TOKEN (a Bearer token, or ?token= once), or HRP_CRON_DASHBOARD_USER and HRP_CRON_DASHBOARD_PASSWORD (HTTP basic auth); without them it binds 127.0.0.1 only (leave out --host)",
      );
      expect(existsSync(file)).toBe(false);
      const short = await hrpCron(["dashboard"], { env: { HRP_CRON_DB: file, HRP_CRON_DASHBOARD_TOKEN: "short" } });
      expect([short.code, short.stderr.trim()]).toEqual([
        1,
        "hrp-cron: ConfigError: HRP_CRON_DASHBOARD_TOKEN must be at least 16 characters long (openssl rand -hex 24 makes one)",
      ]);
      const half = await hrpCron(["dashboard"], { env: { HRP_CRON_DB: file, HRP_CRON_DASHBOARD_USER: "ops" } });
      expect([half.code, half.stderr]).toEqual([1, expect.stringContaining("HRP_CRON_DASHBOARD_PASSWORD is missing")]);
      const access = await hrpCron(["dashboard"], { env: { HRP_CRON_DB: file, HRP_CRON_DASHBOARD_ACCESS: "some" } });
      expect([access.code, access.stderr]).toEqual([
        1,
        expect.stringContaining('HRP_CRON_DASHBOARD_ACCESS must be "all" or "read-only", got "some"'),
      ]);
      expect(existsSync(file)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.each(BACKENDS)("hrp-cron dashboard on %s", (kind) => {
  let db: TestDb;
  let running: Running | null = null;
  beforeEach(async () => {
    db = await openTestDb(kind);
    const registry = new ModelRegistry().register("test.cli", {
      async post() {
        throw new Error("ledger locked");
      },
    });
    const queue = new JobQueue(db.dataSource, { registry });
    for (let i = 0; i < 2; i++) await queue.enqueue("test.cli.post", { kwargs: { i } });
    await new Dispatcher(db.dataSource, registry, { logger: memoryLogger() }).runDue();
  });
  afterEach(async () => {
    if (running && running.child.exitCode === null) running.child.kill("SIGKILL");
    running = null;
    await db.close();
  });
  const env = () => ({ HRP_CRON_DB: databaseVariable(db) });

  it("prints its URL, lets the local user in on 127.0.0.1 without credentials, and stops on SIGTERM", async () => {
    running = await start(["dashboard", "--port", "0"], env());
    expect(running.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(running.output()).toContain(`(full access for ${LOCAL}, from this machine only)`);
    const client = new HttpClient(running.url.replace(/\/$/, ""));
    const page = await client.get("/jobs?state=failed");
    expect(page.status).toBe(200);
    expect(page.text).toContain("test.cli.post");
    expect(page.text).toContain('name="do"'); // full access: the action buttons
    expect(page.text).toContain('method="post"');
    const retried = await client.post("/jobs/bulk", { do: "retry:selected", ids: "2", confirmed: "1", back: "/jobs" });
    expect(retried.status).toBe(303);
    const [action] = await new JobAdmin(db.dataSource).listActions();
    expect(action).toMatchObject({ action: "bulk_retry", actor: LOCAL, source: "dashboard", affected: 1 });
    // A page of another site whose name resolves to 127.0.0.1 (DNS rebinding) is refused.
    const rebound = await getWithHost(originOf(running.url), "/jobs", "evil.example:80");
    expect(rebound.status).toBe(403);
    expect(rebound.text).toContain("this machine only");
    expect((await getWithHost(originOf(running.url), "/jobs", `localhost:${new URL(running.url).port}`)).status).toBe(
      200,
    );
    expect(await running.stop()).toBe(0);
  });

  it("with a token, on 0.0.0.0: 401 without it, a Bearer header or ?token= once (then a cookie)", async () => {
    running = await start(["dashboard", "--port", "0", "--host", "0.0.0.0", "--base-path", "/ops"], {
      ...env(),
      HRP_CRON_DASHBOARD_TOKEN: TOKEN,
    });
    expect(running.url).toMatch(/^http:\/\/0\.0\.0\.0:\d+\/ops\/$/);
    const origin = originOf(running.url);
    const anonymous = await new HttpClient(origin).get("/ops/jobs");
    expect(anonymous.status).toBe(401);
    expect(anonymous.text).toContain("?token=");
    expect(anonymous.text).not.toContain(TOKEN);
    expect(
      (await new HttpClient(origin, { authorization: "Bearer wrong-token-0123456789" }).get("/ops/jobs")).status,
    ).toBe(401);
    const bearer = await new HttpClient(origin, { authorization: `Bearer ${TOKEN}` }).get("/ops/jobs");
    expect(bearer.status).toBe(200);

    const browser = new HttpClient(origin);
    expect((await browser.get("/ops/jobs?token=wrong-token-0123456789")).status).toBe(401);
    const signIn = await browser.get(`/ops/jobs?state=failed&token=${TOKEN}`);
    expect(signIn.status).toBe(303);
    expect(signIn.headers.get("location")).toBe("/ops/jobs?state=failed"); // the token leaves the address bar
    const cookie = signIn.headers.get("set-cookie")!;
    expect(cookie).toMatch(/^hrp_cron_session=[\w-]+; Path=\/ops; HttpOnly; SameSite=Strict$/);
    expect(cookie).not.toContain(TOKEN);
    const page = await browser.get("/ops/jobs?state=failed");
    expect(page.status).toBe(200);
    expect(page.text).toContain("test.cli.post");
    expect((await browser.post("/ops/jobs/bulk", { do: "retry:filter", state: "failed", confirmed: "1" })).status).toBe(
      303,
    );
    const [action] = await new JobAdmin(db.dataSource).listActions();
    expect(action).toMatchObject({ actor: "token", affected: 2 });
    expect((await browser.get("/")).status).toBe(302); // the root leads to the base path
    expect(await running.stop()).toBe(0);
  });

  it("with a user and password: HTTP basic auth", async () => {
    running = await start(["dashboard", "--port", "0"], {
      ...env(),
      HRP_CRON_DASHBOARD_USER: "ops",
      HRP_CRON_DASHBOARD_PASSWORD: "correct horse",
    });
    expect(running.output()).toContain("(full access, signing in with basic auth as ops)");
    const origin = originOf(running.url);
    const anonymous = await new HttpClient(origin).get("/jobs");
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("www-authenticate")).toBe('Basic realm="hrp-cron dashboard", charset="UTF-8"');
    const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
    expect((await new HttpClient(origin, { authorization: basic("ops", "wrong") }).get("/jobs")).status).toBe(401);
    expect((await new HttpClient(origin, { authorization: basic("ops", "correct horse") }).get("/jobs")).status).toBe(
      200,
    );
    expect(await running.stop()).toBe(0);
  });

  it("HRP_CRON_DASHBOARD_ACCESS=read-only: no action buttons, and a forged POST is refused", async () => {
    running = await start(["dashboard", "--port", "0"], { ...env(), HRP_CRON_DASHBOARD_ACCESS: "read-only" });
    expect(running.output()).toContain(`(read-only for ${LOCAL}, from this machine only)`);
    const client = new HttpClient(originOf(running.url));
    const page = await client.get("/jobs?state=failed");
    expect(page.status).toBe(200);
    expect(page.text).toContain("test.cli.post");
    expect(page.text).not.toContain('name="do"');
    expect(page.text).not.toContain('method="post"'); // no action form at all
    const forged = await client.post("/jobs/bulk", { do: "retry:filter", state: "failed", confirmed: "1" });
    expect(forged.status).toBe(403);
    expect(await new JobAdmin(db.dataSource).listActions()).toEqual([]);
    expect(await running.stop()).toBe(0);
  });

  it("npm start's worker serves the example's dashboard on 127.0.0.1 (--dashboard=0: any free port)", async () => {
    const pkg = JSON.parse(readFileSync(join(__dirname, "..", "..", "package.json"), "utf8")) as {
      scripts: { start: string };
    };
    const command = pkg.scripts.start.split("&&").pop()!.trim().split(/\s+/);
    expect(command).toContain("--dashboard");
    const args = command.slice(2).map((a) => (a === "--dashboard" ? "--dashboard=0" : a));
    running = await start(
      args.map((a) => (a.startsWith("dist/") ? join(__dirname, "..", "..", a) : a)),
      env(),
    );
    expect(running.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    for (const deadline = Date.now() + 20_000; !/worker \S+ running/.test(running.output()) && Date.now() < deadline;)
      await new Promise((r) => setTimeout(r, 25));
    expect(running.output()).toMatch(/^dashboard: .*\n(.*\n)*worker \S+ running; Ctrl-C stops it$/m); // one process, both
    const page = await new HttpClient(originOf(running.url)).get("/jobs");
    expect(page.status).toBe(200);
    expect(page.text).toContain("createAssetAcceptanceAccountMove"); // the example's jobs
    expect(await running.stop()).toBe(0);
  });
});
