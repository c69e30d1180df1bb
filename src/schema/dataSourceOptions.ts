import type { DataSourceOptions } from "typeorm";
import { ENTITIES } from "./entities";
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
 * `sqlite3` driver; it is also synchronous and faster.
 */
export function defaultDataSourceOptions(
  env: NodeJS.ProcessEnv = process.env,
  entities: DataSourceOptions["entities"] = ENTITIES,
): DataSourceOptions {
  const variable = env.HRP_CRON_DB ? "HRP_CRON_DB" : env.DATABASE_URL ? "DATABASE_URL" : null;
  const url = variable === null ? undefined : env[variable];
  if (url && /^postgres(ql)?:\/\//i.test(url)) {
    return {
      type: "postgres",
      url,
      entities,
      synchronize: false,
      logging: false,
      poolSize: Number(env.HRP_CRON_PG_POOL ?? 10),
    };
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
  return {
    type: "better-sqlite3",
    database: url ?? "./hrp-cron.sqlite",
    entities,
    synchronize: false,
    logging: false,
    enableWAL: true,
    timeout: 10_000,
  };
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
