import type { DataSourceOptions } from "typeorm";
import { ENTITIES } from "../entities";
import type { PostgresOptions } from "./options";

/**
 * The default data source: embedded SQLite in `./hrp-cron.sqlite`
 * (override with `HRP_CRON_DB=/path/file.sqlite`), or PostgreSQL when
 * `HRP_CRON_DB` / `DATABASE_URL` is a `postgres://` URL. `synchronize` is
 * off: the schema comes from hrp-cron's migrations (`migrate()`).
 *
 * better-sqlite3 is the embedded driver because TypeORM 1.0 removed the
 * `sqlite3` driver; it is also synchronous and faster.
 */
export function defaultDataSourceOptions(env: NodeJS.ProcessEnv = process.env, entities: DataSourceOptions["entities"] = ENTITIES): DataSourceOptions {
  const url = env.HRP_CRON_DB ?? env.DATABASE_URL;
  if (url && /^postgres(ql)?:\/\//.test(url)) {
    return { type: "postgres", url, entities, synchronize: false, logging: false, poolSize: Number(env.HRP_CRON_PG_POOL ?? 10) };
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
