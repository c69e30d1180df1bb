import type { DataSource } from "typeorm";
import { ConfigError } from "../core/errors";
import { DEFAULTS } from "../core/options";
import type { Logger } from "../core/types";
import type { UserResolver } from "../core/users";
import type { HrpCronJob } from "../schema/entities/HrpCronJob";
import type { DashboardAccess } from "./security/access";
import { LOCALES, type Locale } from "./i18n/locale";

/** The signed-in person, as `resolveUser` returns them: `login` is what the action log records. */
export interface DashboardUser {
  readonly login: string;
}

/**
 * Options of {@link Dashboard}. Access is closed by default: without
 * `resolveUser` every page answers 403. With `resolveUser` and no
 * `resolveAccess`, users may look but not act (`"read-only"`).
 *
 * `Req` is the framework's request type (Express's `Request`, Fastify's
 * `FastifyRequest`, Node's `IncomingMessage`): adapters hand it to
 * `resolveUser` as is, so the application's own session or auth middleware
 * decides who is asking.
 */
export interface DashboardOptions<Req = unknown, User extends DashboardUser = DashboardUser> {
  readonly dataSource: DataSource;
  /** Where the dashboard is mounted: `/admin/jobs`. @defaultValue `"/"` */
  readonly basePath?: string;
  /** Who is asking; `null` or `undefined` when nobody is signed in (403). Without it nobody gets in. */
  readonly resolveUser?: (request: Req) => User | null | undefined | Promise<User | null | undefined>;
  /** What `user` may do. @defaultValue `() => "read-only"` */
  readonly resolveAccess?: (user: User) => DashboardAccess | Promise<DashboardAccess>;
  /**
   * What the job detail shows of a job's arguments (and result). The
   * default masks the values of keys that look secret or personal
   * (password, token, secret, id card and social security numbers, phone):
   * {@link redactSecrets}. Return the value to show; it is shown as JSON.
   */
  readonly redactArgs?: (value: unknown, job: HrpCronJob) => unknown;
  /** Language when neither a switch nor the browser's `Accept-Language` picks one. @defaultValue `"en"` */
  readonly defaultLocale?: Locale;
  /** Time zone dates are shown in (IANA name). @defaultValue the server's */
  readonly timeZone?: string;
  /** Rows per page of a listing. @defaultValue 50 */
  readonly pageSize?: number;
  /** Most jobs one bulk action ("all matching this filter") may change. @defaultValue 1000 */
  readonly bulkMax?: number;
  /** Where users' logins come from (shown for `user_id`). @defaultValue the `res_users` table */
  readonly userResolver?: UserResolver;
  /** Errors that are not the user's (a database failure) are logged here. @defaultValue console, `warn` and above */
  readonly logger?: Logger;
  /** Clock. @defaultValue `() => new Date()` */
  readonly now?: () => Date;
}

/** {@link DashboardOptions} with defaults filled and values checked. */
export interface ResolvedDashboardOptions<Req, User extends DashboardUser> {
  readonly dataSource: DataSource;
  /** Without a trailing slash: `""` for the root. */
  readonly basePath: string;
  readonly resolveUser: DashboardOptions<Req, User>["resolveUser"];
  readonly resolveAccess: (user: User) => DashboardAccess | Promise<DashboardAccess>;
  readonly redactArgs: NonNullable<DashboardOptions["redactArgs"]> | undefined;
  readonly defaultLocale: Locale;
  readonly timeZone: string | undefined;
  readonly pageSize: number;
  readonly bulkMax: number;
  readonly userResolver: UserResolver | undefined;
  readonly logger: Logger | undefined;
  readonly now: () => Date;
}

/** @throws ConfigError for a base path, locale or size that cannot work */
export function resolveDashboardOptions<Req, User extends DashboardUser>(
  options: DashboardOptions<Req, User>,
): ResolvedDashboardOptions<Req, User> {
  const d = DEFAULTS.dashboard;
  if (!options || typeof options !== "object" || !options.dataSource)
    throw new ConfigError("dashboard: give the DataSource: createDashboard({ dataSource, resolveUser, ... })");
  const base = options.basePath ?? d.basePath;
  if (typeof base !== "string" || !/^\/[A-Za-z0-9_\-./~]*$/.test(base) || base.includes("//") || base.includes(".."))
    throw new ConfigError(`dashboard: basePath must be a URL path such as "/admin/jobs", got ${JSON.stringify(base)}`);
  const locale = options.defaultLocale ?? d.defaultLocale;
  if (!LOCALES.includes(locale))
    throw new ConfigError(
      `dashboard: defaultLocale must be one of ${LOCALES.join(", ")}, got ${JSON.stringify(locale)}`,
    );
  const size = (name: "pageSize" | "bulkMax", max: number): number => {
    const v = options[name] ?? d[name];
    if (!Number.isInteger(v) || v < 1 || v > max)
      throw new ConfigError(`dashboard: ${name} must be an integer from 1 to ${max}, got ${JSON.stringify(v)}`);
    return v;
  };
  for (const fn of ["resolveUser", "resolveAccess", "redactArgs", "now"] as const)
    if (options[fn] !== undefined && typeof options[fn] !== "function")
      throw new ConfigError(`dashboard: ${fn} must be a function`);
  if (options.timeZone !== undefined && !isTimeZone(options.timeZone))
    throw new ConfigError(
      `dashboard: timeZone must be an IANA time zone such as "Asia/Shanghai", got ${JSON.stringify(options.timeZone)}`,
    );
  return {
    dataSource: options.dataSource,
    basePath: base.replace(/\/+$/, ""),
    resolveUser: options.resolveUser,
    resolveAccess: options.resolveAccess ?? (() => "read-only"),
    redactArgs: options.redactArgs,
    defaultLocale: locale,
    timeZone: options.timeZone,
    pageSize: size("pageSize", 500),
    bulkMax: size("bulkMax", 100_000),
    userResolver: options.userResolver,
    logger: options.logger,
    now: options.now ?? (() => new Date()),
  };
}

function isTimeZone(zone: unknown): boolean {
  if (typeof zone !== "string") return false;
  try {
    new Intl.DateTimeFormat("en", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}
