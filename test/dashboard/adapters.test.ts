import "reflect-metadata";
import { IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Controller, Get, Injectable, Module, type INestApplication } from "@nestjs/common";
import { NestFactory } from "@nestjs/core";
import express from "express";
import Fastify, { type FastifyInstance, type FastifyRequest } from "fastify";
import { ConfigError, Dispatcher, JobAdmin, JobQueue, ModelRegistry } from "../../src";
import { Dashboard, expressDashboard, fastifyDashboard, type DashboardAccess } from "../../src/dashboard";
import { HrpCronDashboardModule } from "../../src/nest";
import { BACKENDS, memoryLogger, openTestDb, type TestDb } from "../helpers";
import { HttpClient } from "./httpClient";

/**
 * The adapters in real applications listening on a free port, driven over
 * HTTP: Express (with and without a body parser, at the root and at a mount
 * path), Fastify and Nest (on Express). Each app signs users in its own way
 * (a header read by its own middleware or hook); the dashboard's
 * `resolveUser` must receive that framework's request.
 */

const BASE = "/admin/jobs";

/** What the app puts on its requests when its (fake) authentication passes. */
interface AppUser {
  readonly username: string;
}

/** A running app: its origin, the requests `resolveUser` saw, how to check one is the framework's. */
interface RunningApp {
  readonly origin: string;
  readonly seen: unknown[];
  isFrameworkRequest(request: unknown): boolean;
  close(): Promise<void>;
}

type Start = (db: TestDb) => Promise<RunningApp>;

/** The dashboard every app mounts: the user is what the app's middleware found, `resolveUser` records what it got. */
function dashboardOf<Req extends { user?: AppUser }>(db: TestDb, seen: unknown[], access: DashboardAccess = "all") {
  return new Dashboard<Req>({
    dataSource: db.dataSource,
    basePath: BASE,
    resolveUser: (req) => {
      seen.push(req);
      return req.user ? { login: req.user.username } : null;
    },
    resolveAccess: () => access,
  });
}

async function listening(server: Server): Promise<string> {
  if (!server.listening) await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function closing(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** Express 5: the app's auth middleware sets `req.user` from `x-user`; `/hello` is its own route; errors are shown by name. */
function expressApp(options: { urlencoded?: boolean; mount?: string; basePath?: string } = {}): Start {
  return async (db) => {
    const app = express();
    const seen: unknown[] = [];
    if (options.urlencoded) app.use(express.urlencoded({ extended: true }));
    app.use((req: express.Request & { user?: AppUser }, _res, next) => {
      const login = req.get("x-user");
      if (login) req.user = { username: login };
      next();
    });
    app.get("/hello", (_req, res) => void res.send("hello from the app"));
    const dashboard = dashboardOf<express.Request & { user?: AppUser }>(db, seen);
    if (options.mount) app.use(options.mount, expressDashboard(dashboard));
    else app.use(expressDashboard(dashboard));
    app.use((_req: express.Request, res: express.Response) => void res.status(404).send("the app's 404"));
    app.use((error: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
      res.status(500).send(`${error.name}: ${error.message}`);
    });
    const server = app.listen(0, "127.0.0.1");
    return {
      origin: await listening(server),
      seen,
      isFrameworkRequest: (r) => Object.getPrototypeOf(r) === app.request,
      close: () => closing(server),
    };
  };
}

/** Fastify 5: an onRequest hook sets `request.user`; `/hello` is its own route. */
function fastifyApp(setup: (app: FastifyInstance) => void = () => undefined): Start {
  return async (db) => {
    const app = Fastify();
    const seen: unknown[] = [];
    app.decorateRequest("user", undefined);
    app.addHook("onRequest", async (request: FastifyRequest & { user?: AppUser }) => {
      const login = request.headers["x-user"];
      if (typeof login === "string") request.user = { username: login };
    });
    app.get("/hello", async () => "hello from the app");
    app.setNotFoundHandler(async (_request, reply) => reply.code(404).send("the app's 404"));
    setup(app);
    await app.register(fastifyDashboard(dashboardOf<FastifyRequest & { user?: AppUser }>(db, seen)));
    await app.listen({ port: 0, host: "127.0.0.1" });
    return {
      origin: await listening(app.server),
      seen,
      isFrameworkRequest: (r) =>
        typeof r === "object" &&
        r !== null &&
        (r as FastifyRequest).raw instanceof IncomingMessage &&
        "routeOptions" in r,
      close: () => app.close(),
    };
  };
}

@Controller("hello")
class HelloController {
  @Get()
  hello() {
    return "hello from the app";
  }
}

/** A users service of the app, injected into `forRootAsync`'s factory. */
@Injectable()
class AppUsers {
  private readonly admins = new Set(["li.na"]);
  accessOf(login: string): DashboardAccess {
    return this.admins.has(login) ? "all" : "read-only";
  }
}

@Module({ providers: [AppUsers], exports: [AppUsers] })
class UsersModule {}

/** Nest 11 on Express: global middleware (as passport would be) sets `req.user`; the dashboard comes from the module. */
function nestApp(options: { async?: boolean; globalPrefix?: string } = {}): Start {
  return async (db) => {
    const seen: unknown[] = [];
    const resolveUser = (req: express.Request & { user?: AppUser }) => {
      seen.push(req);
      return req.user ? { login: req.user.username } : null;
    };
    const basePath = `${options.globalPrefix ? `/${options.globalPrefix}` : ""}${BASE}`;
    const dashboardModule = options.async
      ? HrpCronDashboardModule.forRootAsync({
          imports: [UsersModule],
          inject: [AppUsers],
          useFactory: (users: AppUsers) => ({
            dataSource: db.dataSource,
            basePath,
            resolveUser,
            resolveAccess: (user) => users.accessOf(user.login),
          }),
        })
      : HrpCronDashboardModule.forRoot({
          dataSource: db.dataSource,
          basePath,
          resolveUser,
          resolveAccess: () => "all",
        });
    @Module({ imports: [dashboardModule], controllers: [HelloController] })
    class AppModule {}
    const app: INestApplication = await NestFactory.create(AppModule, { logger: false });
    if (options.globalPrefix) app.setGlobalPrefix(options.globalPrefix);
    app.use((req: express.Request & { user?: AppUser }, _res: express.Response, next: express.NextFunction) => {
      const login = req.get("x-user");
      if (login) req.user = { username: login };
      next();
    });
    await app.listen(0, "127.0.0.1");
    const expressApp = app.getHttpAdapter().getInstance() as express.Express;
    return {
      origin: await listening(app.getHttpServer() as Server),
      seen,
      isFrameworkRequest: (r) => Object.getPrototypeOf(r) === expressApp.request,
      close: () => app.close(),
    };
  };
}

const APPS: ReadonlyArray<[string, Start]> = [
  ["Express, no body parser, at the root", expressApp()],
  ["Express, express.urlencoded(), mounted at the base path", expressApp({ urlencoded: true, mount: BASE })],
  ["Express, mounted at a parent path", expressApp({ mount: "/admin" })],
  ["Fastify", fastifyApp()],
  ["Fastify with its own form parser", fastifyApp((app) => registerOwnFormParser(app))],
  ["Nest (forRoot)", nestApp()],
  ["Nest (forRootAsync, injected users service)", nestApp({ async: true })],
];

/** An application that parses forms itself at its root (as @fastify/formbody does): the plugin uses its fields. */
function registerOwnFormParser(app: FastifyInstance): void {
  app.addContentTypeParser("application/x-www-form-urlencoded", { parseAs: "string" }, (_req, body, done) => {
    const fields: Record<string, string | string[]> = {};
    for (const [k, v] of new URLSearchParams(body as string)) {
      const had = fields[k];
      fields[k] = had === undefined ? v : [...(Array.isArray(had) ? had : [had]), v];
    }
    done(null, fields);
  });
}

describe.each(BACKENDS)("dashboard adapters on %s", (kind) => {
  let db: TestDb;
  let app: RunningApp | null = null;
  beforeEach(async () => {
    db = await openTestDb(kind);
  });
  afterEach(async () => {
    await app?.close();
    app = null;
    await db.close();
  });

  /** Three failed jobs (ids 1-3). */
  async function failedJobs(): Promise<void> {
    const registry = new ModelRegistry().register("test.adapter", {
      async post() {
        throw new Error("ledger locked");
      },
    });
    const queue = new JobQueue(db.dataSource, { registry });
    for (let i = 0; i < 3; i++) await queue.enqueue("test.adapter.post", { kwargs: { i } });
    await new Dispatcher(db.dataSource, registry, { logger: memoryLogger() }).runDue();
  }

  describe.each(APPS)("%s", (_name, start) => {
    it("serves the pages under the base path to the app's signed-in users, with the framework's request", async () => {
      await failedJobs();
      app = await start(db);
      const client = new HttpClient(app.origin, { "x-user": "li.na" });
      const page = await client.get(`${BASE}/jobs?state=failed`);
      expect(page.status).toBe(200);
      expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8");
      expect(page.headers.get("content-security-policy")).toMatch(/frame-ancestors 'none'/);
      expect(page.text).toContain("test.adapter.post");
      expect(page.text).toContain(`href="${BASE}/assets/dashboard.css`);
      const css = await client.get(`${BASE}/assets/dashboard.css`);
      expect([css.status, css.headers.get("content-type")]).toEqual([200, "text/css; charset=utf-8"]);
      expect(app.seen.length).toBeGreaterThan(0);
      expect(app.seen.every((r) => app!.isFrameworkRequest(r))).toBe(true);
      // Nobody signed in to the app: the dashboard says 403 (resolveUser returned null).
      const anonymous = await new HttpClient(app.origin).get(`${BASE}/jobs`);
      expect(anonymous.status).toBe(403);
    });

    it("passes every other path on to the application", async () => {
      app = await start(db);
      const client = new HttpClient(app.origin, { "x-user": "li.na" });
      const hello = await client.get("/hello");
      expect([hello.status, hello.text]).toEqual([200, "hello from the app"]);
      for (const path of ["/nowhere", `${BASE}x/jobs`]) {
        const missing = await client.get(path);
        expect([path, missing.status]).toEqual([path, 404]);
        expect(missing.text).toMatch(/^(the app's 404|\{"message":"Cannot GET )/); // not a dashboard page
      }
    });

    it("takes a same-origin POST with its CSRF token and refuses a cross-site one", async () => {
      await failedJobs();
      app = await start(db);
      const admin = new JobAdmin(db.dataSource);
      const client = new HttpClient(app.origin, { "x-user": "li.na" });
      expect((await client.get(`${BASE}/jobs`)).status).toBe(200); // sets the CSRF cookie
      const fields = { do: "retry:selected", ids: ["1", "3"], confirmed: "1", back: "/jobs?state=failed" };
      const crossSite = await client.post(`${BASE}/jobs/bulk`, fields, {
        origin: "https://evil.example",
        "sec-fetch-site": "cross-site",
      });
      expect(crossSite.status).toBe(403);
      expect(crossSite.text).toContain("cross-site");
      const forged = await client.post(`${BASE}/jobs/bulk`, { ...fields, _csrf: "x".repeat(43) });
      expect(forged.status).toBe(403);
      expect((await admin.listJobs({ state: "failed" })).length).toBe(3);

      const done = await client.post(`${BASE}/jobs/bulk`, { ...fields, reason: "ledger unlocked" });
      expect(done.status).toBe(303);
      expect(done.headers.get("location")).toBe(`${BASE}/jobs?state=failed`);
      expect((await admin.listJobs({ state: "pending" })).map((j) => j.id)).toEqual([3, 1]);
      const [action] = await admin.listActions();
      expect(action).toMatchObject({
        action: "bulk_retry",
        actor: "li.na",
        source: "dashboard",
        ip: "127.0.0.1",
        userAgent: "node",
        reason: "ledger unlocked",
        affected: 2,
      });
      const after = await client.get(`${BASE}/jobs?state=failed`);
      expect(after.text).toContain("2 jobs are pending again");
    });
  });

  it("Express mounted where its base path cannot be: a ConfigError naming the basePath to give", async () => {
    app = await expressApp({ mount: "/ops" })(db);
    const page = await new HttpClient(app.origin, { "x-user": "li.na" }).get("/ops/jobs");
    expect(page.status).toBe(500);
    expect(page.text).toContain(`ConfigError: dashboard: mounted at "/ops" but its basePath is "${BASE}"`);
    expect(page.text).toContain('new Dashboard({ basePath: "/ops"');
  });

  it("Fastify: answers every method under the base path (HEAD, 405 for the others) and refuses a prefix", async () => {
    app = await fastifyApp()(db);
    const client = new HttpClient(app.origin, { "x-user": "li.na" });
    const head = await client.send("HEAD", `${BASE}/jobs`, undefined);
    expect([head.status, head.text, head.headers.get("content-type")]).toEqual([200, "", "text/html; charset=utf-8"]);
    for (const method of ["PUT", "DELETE", "PATCH", "OPTIONS"]) {
      const other = await client.send(method, `${BASE}/jobs`, undefined);
      expect([method, other.status, other.headers.get("allow")]).toEqual([method, 405, "GET, POST"]);
    }
    const prefixed = Fastify();
    await expect(prefixed.register(fastifyDashboard(dashboardOf(db, [])), { prefix: "/ops" }).ready()).rejects.toThrow(
      new ConfigError(
        `dashboard: registered with the prefix "/ops": register fastifyDashboard without one and give the full path as the Dashboard's basePath ("/ops${BASE}")`,
        {},
      ),
    );
    await prefixed.close();
  });

  it("Nest: below a global prefix; forRootAsync's factory decides access with an injected service", async () => {
    await failedJobs();
    app = await nestApp({ async: true, globalPrefix: "api" })(db);
    const admin = new HttpClient(app.origin, { "x-user": "li.na" });
    const page = await admin.get(`/api${BASE}/jobs?state=failed`);
    expect(page.status).toBe(200);
    expect(page.text).toContain('name="do"'); // li.na may act
    const reader = new HttpClient(app.origin, { "x-user": "wang.fang" });
    const readOnly = await reader.get(`/api${BASE}/jobs?state=failed`);
    expect(readOnly.status).toBe(200);
    expect(readOnly.text).not.toContain('name="do"');
    const refused = await reader.post(`/api${BASE}/jobs/bulk`, { do: "retry:filter", state: "failed", confirmed: "1" });
    expect(refused.status).toBe(403);
    expect((await admin.get("/api/hello")).text).toBe("hello from the app");
  });

  it("Nest: unknown options and a missing DataSource are named", () => {
    expect(() => HrpCronDashboardModule.forRoot({ basePath: BASE, resolveUsr: () => null } as never)).toThrow(
      /HrpCronDashboardModule.forRoot: unknown option "resolveUsr"; known options are dataSource, basePath, resolveUser/,
    );
    expect(() => HrpCronDashboardModule.forRoot({ dataSource: db.dataSource, dataSourceName: "other" })).toThrow(
      "HrpCronDashboardModule.forRoot: give dataSource or dataSourceName, not both",
    );
    expect(() => HrpCronDashboardModule.forRootAsync({ useFactory: 1 } as never)).toThrow(
      /"useFactory" must be a function/,
    );
  });
});
