import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import type { DataSource } from "typeorm";
import { ConfigError } from "../core/errors";
import { consoleLogger } from "../core/logger";
import { Dashboard, nodeListener } from "../dashboard";
import type { HrpCronConfig } from "./config";
import { gate, type StandaloneAuth } from "./dashboardAuth";

/** The dashboard served by the CLI (`hrp-cron dashboard`, `hrp-cron worker --dashboard`) on Node's `http`. */

export interface StandaloneDashboardOptions {
  readonly dataSource: DataSource;
  readonly config: HrpCronConfig;
  readonly auth: StandaloneAuth;
  readonly host: string;
  /** 0: any free port (the URL says which). */
  readonly port: number;
  /** @defaultValue the config's `dashboard.basePath`, else `"/"` */
  readonly basePath?: string;
}

/** A listening dashboard. */
export interface StandaloneDashboard {
  /** Where to open it: `http://127.0.0.1:8787/`. */
  readonly url: string;
  /** Stops listening and closes open connections. */
  close(): Promise<void>;
}

/**
 * Builds the dashboard over `dataSource` (the config's users and
 * `dashboard` options) behind the access gate of `auth`, and listens.
 * @throws ConfigError for options the dashboard refuses, or an address that cannot be bound (in use, not this machine's)
 */
export async function serveStandaloneDashboard(options: StandaloneDashboardOptions): Promise<StandaloneDashboard> {
  const { auth, host, port, config } = options;
  const logins = new WeakMap<IncomingMessage, string>();
  const dashboard = new Dashboard<IncomingMessage>({
    ...config.dashboard,
    dataSource: options.dataSource,
    basePath: options.basePath ?? config.dashboard?.basePath,
    resolveUser: (req) => {
      const login = logins.get(req);
      return login === undefined ? null : { login };
    },
    resolveAccess: () => auth.access,
    ...(config.userResolver ? { userResolver: config.userResolver } : {}),
    logger: consoleLogger("warn"),
  });
  const base = dashboard.basePath;
  const listener = nodeListener(dashboard);
  const server = createServer((req, res) => {
    const outcome = gate(auth, base === "" ? "/" : base, req, res);
    if (outcome === "answered") return;
    logins.set(req, outcome.login);
    // The root of a dashboard mounted below it leads there.
    if (base !== "" && (req.url === "/" || req.url === "") && req.method === "GET") {
      res.statusCode = 302;
      res.setHeader("location", `${base}/`);
      res.end();
      return;
    }
    listener(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) => reject(listenError(error, host, port)));
    server.listen(port, host, () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  const shownHost = host.includes(":") ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${bound}${base}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** A failure to listen, said as what to change. */
function listenError(error: NodeJS.ErrnoException, host: string, port: number): Error {
  const where = `${host}:${port}`;
  if (error.code === "EADDRINUSE")
    return new ConfigError(`the dashboard cannot listen on ${where}: the port is in use; pass another port`, {
      host,
      port,
    });
  if (error.code === "EADDRNOTAVAIL" || error.code === "ENOTFOUND" || error.code === "EAI_AGAIN")
    return new ConfigError(`the dashboard cannot listen on ${where}: not an address of this machine`, { host, port });
  if (error.code === "EACCES")
    return new ConfigError(`the dashboard may not listen on ${where}: ports below 1024 need privileges`, {
      host,
      port,
    });
  return error;
}

/** One line saying who gets in, printed after the URL. */
export function describeAccess(auth: StandaloneAuth): string {
  const what = auth.access === "all" ? "full access" : "read-only";
  if (auth.kind === "local") return `${what} for ${auth.localLogin}, from this machine only`;
  const ways = [
    ...(auth.token !== undefined ? ["HRP_CRON_DASHBOARD_TOKEN (?token= once, or Authorization: Bearer)"] : []),
    ...(auth.basic !== undefined ? [`basic auth as ${auth.basic.user}`] : []),
  ];
  return `${what}, signing in with ${ways.join(" or ")}`;
}
