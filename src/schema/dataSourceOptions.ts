import type { DataSourceOptions } from "typeorm";
import { ENTITIES } from "./entities";
import { assertDriverInstalled } from "../backend";
import { ConfigError } from "../core/errors";
import type { PostgresOptions } from "../core/options";

/**
 * The default data source: embedded SQLite in `./hrp-cron.sqlite`
 * (override with `HRP_CRON_DB=/path/file.sqlite`), or PostgreSQL when
 * `HRP_CRON_DB` / `DATABASE_URL` is a `postgres://` (or `postgresql://`)
 * URL. Any other URL (`mysql://...`, `http://...`, `sqlite:...`) is refused
 * with a {@link ConfigError} rather than taken for a file name; empty
 * variables count as unset. `synchronize` is off: the schema comes from
 * hrp-cron's migrations (`migrate()`).
 *
 * better-sqlite3 is the embedded driver because TypeORM 1.0 removed the
 * `sqlite3` driver; it is also synchronous and faster. Both drivers are the
 * application's to install (optional peer dependencies of hrp-cron).
 *
 * @throws ConfigError for a URL of another database; DriverNotInstalledError
 * when the chosen driver's package (`better-sqlite3`, `pg`) is not installed
 */
export function defaultDataSourceOptions(
  env: NodeJS.ProcessEnv = process.env,
  entities: DataSourceOptions["entities"] = ENTITIES,
): DataSourceOptions {
  const variable = env.HRP_CRON_DB ? "HRP_CRON_DB" : env.DATABASE_URL ? "DATABASE_URL" : null;
  const url = variable === null ? undefined : env[variable];
  if (url && /^postgres(ql)?:\/\//i.test(url)) {
    return withDriver({
      type: "postgres",
      url,
      entities,
      synchronize: false,
      logging: false,
      poolSize: Number(env.HRP_CRON_PG_POOL ?? 10),
    });
  }
  // A scheme of two letters or more (so "C:\\data\\x.sqlite" stays a path); only the scheme is shown, never credentials.
  const scheme = url === undefined ? undefined : /^([A-Za-z][A-Za-z0-9+.-]+):/.exec(url)?.[1];
  if (scheme !== undefined) {
    throw new ConfigError(
      `${variable} is a "${scheme}:" URL, which hrp-cron cannot use: give a PostgreSQL URL (postgres:// or postgresql://) ` +
        "or the path of an SQLite file (e.g. ./hrp-cron.sqlite). Nothing was opened or created",
      { variable, scheme },
    );
  }
  return withDriver({
    type: "better-sqlite3",
    database: url ?? "./hrp-cron.sqlite",
    entities,
    synchronize: false,
    logging: false,
    enableWAL: true,
    timeout: 10_000,
  });
}

/** `options`, once their driver's package is known to be installed. */
function withDriver(options: DataSourceOptions): DataSourceOptions {
  assertDriverInstalled(options);
  return options;
}

/**
 * PostgreSQL backend options from the environment (see `PostgresOptions`):
 * `HRP_CRON_PG_POOL_MODE` (`session` or `transaction`: set `transaction`
 * behind PgBouncer in `pool_mode = transaction`) and
 * `HRP_CRON_PG_LISTEN_URL` (a direct `postgres://` URL for LISTEN). Only
 * the variables that are set appear; values are checked when applied.
 */
export function defaultPostgresOptions(env: NodeJS.ProcessEnv = process.env): PostgresOptions {
  return {
    ...(env.HRP_CRON_PG_POOL_MODE ? { poolMode: env.HRP_CRON_PG_POOL_MODE as PostgresOptions["poolMode"] } : {}),
    ...(env.HRP_CRON_PG_LISTEN_URL ? { listenUrl: env.HRP_CRON_PG_LISTEN_URL } : {}),
  };
}
