import type { DataSource } from "typeorm";
import { missingDatabaseFile } from "../backend";
import { ConfigError } from "../core/errors";
import { pendingMigrations } from "../schema/migrate";
import { HrpCronJobService } from "../api/automatedTasks";
import type { ModelRegistry } from "../core/registry";
import type { HrpCronConfig } from "./config";
import { initializeForCli } from "./connect";
import { configuredDataSource, openRegistry, sharedOptions } from "./loadConfig";

/**
 * For commands that only read (`jobs`, `crons`, `runs`, `queues`, `doctor`,
 * `job-types`, `scheduler status`): opens the existing database and runs
 * `work`; always closes. Unlike `withDatabase` it never migrates, never runs
 * the config's `setup` and never creates a database file: a missing SQLite
 * file, or a schema that hrp-cron's migrations have not brought up to date,
 * is refused with a {@link ConfigError} saying what to do.
 */
export async function withExistingDatabase<T>(
  config: HrpCronConfig,
  work: (ds: DataSource, service: HrpCronJobService, registry: ModelRegistry) => Promise<T>,
): Promise<T> {
  const dataSource = await configuredDataSource(config);
  if (!dataSource.isInitialized) {
    const missing = missingDatabaseFile(dataSource.options);
    if (missing !== null) {
      throw new ConfigError(
        `database file ${missing} does not exist (nothing was created). Create it with "hrp-cron migrate" or by starting a worker, ` +
          "or point HRP_CRON_DB / DATABASE_URL or --config at your database",
        { path: missing },
      );
    }
    await initializeForCli(dataSource);
  }
  try {
    const pending = await pendingMigrations(dataSource);
    if (pending.length > 0) {
      throw new ConfigError(
        `the database schema is not up to date (${pending.length} hrp-cron migration(s) not applied: ${pending.join(", ")}); ` +
          `run "hrp-cron migrate" first (this command only reads, so it does not migrate)`,
        { pending },
      );
    }
    const registry = await openRegistry(config);
    return await work(dataSource, new HrpCronJobService(dataSource, sharedOptions(config, registry)), registry);
  } finally {
    if (dataSource.isInitialized) await dataSource.destroy();
  }
}
