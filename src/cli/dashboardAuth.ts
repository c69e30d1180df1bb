import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { userInfo } from "node:os";
import { ConfigError } from "../core/errors";

/**
 * Who may use the standalone dashboard (`hrp-cron dashboard`, `worker
 * --dashboard`), from the environment, and the gate that checks every
 * request before the dashboard sees it:
 *
 * - no credentials: only on a loopback address (127.0.0.1, ::1, localhost),
 *   where the local user gets in as `local:<OS user>`; requests must name
 *   this machine in their `Host` (a page of another site that rebinds its
 *   DNS name to 127.0.0.1 is refused);
 * - `HRP_CRON_DASHBOARD_TOKEN`: `Authorization: Bearer TOKEN`, or the URL
 *   opened once with `?token=TOKEN`, which sets a session cookie (derived
 *   from the token, not the token) and redirects to the URL without it;
 * - `HRP_CRON_DASHBOARD_USER` and `HRP_CRON_DASHBOARD_PASSWORD`: HTTP basic auth.
 *
 * Binding another address without credentials is refused. What they may do
 * is `HRP_CRON_DASHBOARD_ACCESS`: `all` (the default) or `read-only`.
 */

/** The environment variables, by what they set. */
export const DASHBOARD_ENV = {
  token: "HRP_CRON_DASHBOARD_TOKEN",
  user: "HRP_CRON_DASHBOARD_USER",
  password: "HRP_CRON_DASHBOARD_PASSWORD",
  access: "HRP_CRON_DASHBOARD_ACCESS",
} as const;

/** The shortest token accepted (`openssl rand -hex 24` makes a good one). */
export const MIN_TOKEN_LENGTH = 16;

/** The cookie a `?token=` visit leaves. */
export const SESSION_COOKIE = "hrp_cron_session";

/** How the standalone dashboard lets people in: read from the environment by {@link standaloneAuth}. */
export interface StandaloneAuth {
  readonly kind: "local" | "credentials";
  readonly access: "all" | "read-only";
  /** The login of the local user (`local:root`), for `kind: "local"`. */
  readonly localLogin: string;
  readonly token: string | undefined;
  readonly basic: { readonly user: string; readonly password: string } | undefined;
}

/**
 * The access rules for a dashboard listening on `host`.
 * @throws ConfigError when `host` is not a loopback address and no credentials are set, or a variable is malformed
 */
export function standaloneAuth(host: string, env: NodeJS.ProcessEnv = process.env): StandaloneAuth {
  const token = nonEmpty(env[DASHBOARD_ENV.token]);
  const user = nonEmpty(env[DASHBOARD_ENV.user]);
  const password = nonEmpty(env[DASHBOARD_ENV.password]);
  if (token !== undefined && token.length < MIN_TOKEN_LENGTH)
    throw new ConfigError(
      `${DASHBOARD_ENV.token} must be at least ${MIN_TOKEN_LENGTH} characters long (openssl rand -hex 24 makes one)`,
      { variable: DASHBOARD_ENV.token },
    );
  if ((user === undefined) !== (password === undefined))
    throw new ConfigError(
      `set both ${DASHBOARD_ENV.user} and ${DASHBOARD_ENV.password} for basic auth, or neither (${user === undefined ? DASHBOARD_ENV.user : DASHBOARD_ENV.password} is missing)`,
      { variable: user === undefined ? DASHBOARD_ENV.user : DASHBOARD_ENV.password },
    );
  if (user?.includes(":"))
    throw new ConfigError(`${DASHBOARD_ENV.user} may not contain ":" (basic auth separates it from the password)`, {
      variable: DASHBOARD_ENV.user,
    });
  const accessText = nonEmpty(env[DASHBOARD_ENV.access]) ?? "all";
  if (accessText !== "all" && accessText !== "read-only")
    throw new ConfigError(`${DASHBOARD_ENV.access} must be "all" or "read-only", got ${JSON.stringify(accessText)}`, {
      variable: DASHBOARD_ENV.access,
    });
  const credentials = token !== undefined || user !== undefined;
  if (!credentials && !isLoopback(host))
    throw new ConfigError(
      `the dashboard listens on ${host} only with credentials: set ${DASHBOARD_ENV.token} (a Bearer token, or ?token= once), or ${DASHBOARD_ENV.user} and ${DASHBOARD_ENV.password} (HTTP basic auth); without them it binds 127.0.0.1 only (leave out --host)`,
      { host },
    );
  return {
    kind: credentials ? "credentials" : "local",
    access: accessText,
    localLogin: `local:${osUser()}`,
    token,
    basic: user !== undefined && password !== undefined ? { user, password } : undefined,
  };
}

/** Whether `host` (an address or a name to bind) is this machine only. */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[(.*)\]$/, "$1");
  return h === "localhost" || h === "::1" || /^127(\.\d{1,3}){3}$/.test(h);
}

/** What the gate decided: the request's login, or that it answered the request itself. */
export type GateOutcome = { readonly login: string } | "answered";

/**
 * Checks one request against `auth`: returns the login to hand the
 * dashboard, or answers it (401 with how to sign in, 403 for a foreign
 * `Host`, 303 after `?token=`) and returns `"answered"`.
 */
export function gate(auth: StandaloneAuth, cookiePath: string, req: IncomingMessage, res: ServerResponse): GateOutcome {
  if (auth.kind === "local") {
    const host = hostOf(req.headers.host);
    if (host !== undefined && isLoopback(host)) return { login: auth.localLogin };
    answer(
      res,
      403,
      `hrp-cron dashboard: this address answers requests for this machine only (Host: 127.0.0.1:PORT or localhost:PORT); to serve others, set ${DASHBOARD_ENV.token} or ${DASHBOARD_ENV.user} and ${DASHBOARD_ENV.password}`,
    );
    return "answered";
  }
  const authorization = req.headers.authorization ?? "";
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(authorization)?.[1];
  if (auth.token !== undefined && bearer !== undefined && same(bearer, auth.token)) return { login: "token" };
  const basic = /^Basic\s+(\S+)\s*$/i.exec(authorization)?.[1];
  if (auth.basic !== undefined && basic !== undefined) {
    const [user, ...rest] = Buffer.from(basic, "base64").toString("utf8").split(":");
    if (same(user, auth.basic.user) && same(rest.join(":"), auth.basic.password)) return { login: auth.basic.user };
  }
  if (auth.token !== undefined) {
    const session = sessionOf(auth.token);
    if (same(cookieOf(req.headers.cookie, SESSION_COOKIE) ?? "", session)) return { login: "token" };
    const url = new URL(req.url ?? "/", "http://dashboard.invalid");
    const given = url.searchParams.get("token");
    if (given !== null && same(given, auth.token) && (req.method === "GET" || req.method === "HEAD")) {
      url.searchParams.delete("token");
      res.statusCode = 303;
      res.setHeader("location", `${url.pathname}${url.search}`);
      res.setHeader("set-cookie", `${SESSION_COOKIE}=${session}; Path=${cookiePath}; HttpOnly; SameSite=Strict`);
      res.setHeader("cache-control", "no-store");
      res.setHeader("referrer-policy", "no-referrer");
      res.end();
      return "answered";
    }
  }
  if (auth.basic !== undefined) res.setHeader("www-authenticate", 'Basic realm="hrp-cron dashboard", charset="UTF-8"');
  answer(
    res,
    401,
    `hrp-cron dashboard: sign in${auth.token !== undefined ? ": open this URL with ?token=<${DASHBOARD_ENV.token}> once, or send Authorization: Bearer <token>" : ""}${auth.basic !== undefined ? `${auth.token !== undefined ? "; or" : ":"} with the user and password of ${DASHBOARD_ENV.user} and ${DASHBOARD_ENV.password}` : ""}`,
  );
  return "answered";
}

function answer(res: ServerResponse, status: number, text: string): void {
  res.statusCode = status;
  res.setHeader("content-type", "text/plain; charset=utf-8");
  res.setHeader("cache-control", "no-store");
  res.end(`${text}\n`);
}

/** Compares secrets in constant time (of their hashes, so lengths do not show). */
function same(given: string, expected: string): boolean {
  const a = createHash("sha256").update(given).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b);
}

/** The session cookie's value for `token`: a MAC of it, so the cookie never holds the token itself. */
function sessionOf(token: string): string {
  return createHmac("sha256", token).update("hrp-cron dashboard session").digest("base64url");
}

function cookieOf(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** The host name of a `Host` header (`127.0.0.1:8787` → `127.0.0.1`, `[::1]:8787` → `::1`). */
function hostOf(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const m = /^\[([^\]]+)\](?::\d+)?$/.exec(header) ?? /^([^:]+)(?::\d+)?$/.exec(header);
  return m?.[1];
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === "" ? undefined : value;
}

function osUser(): string {
  try {
    return userInfo().username;
  } catch {
    return "unknown";
  }
}
