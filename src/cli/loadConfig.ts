import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { DataSource } from "typeorm";
import { assertDriverInstalled, backendFor } from "../backend";
import { ConfigError } from "../core/errors";
import { ModelRegistry } from "../core/registry";
import { defaultDataSourceOptions, defaultPostgresOptions } from "../schema/dataSourceOptions";
import { ENTITIES } from "../schema/entities";
import { checkConfig, type HrpCronConfig } from "./config";

/** Finding, loading and opening what the app's config file (`hrp-cron.config.js`) names: the config itself, its DataSource, its registry. */

/** The config file's absolute path (`--config`, else `HRP_CRON_CONFIG`, else `./hrp-cron.config.js`). */
export function configPathOf(explicitPath: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return resolve(explicitPath ?? env.HRP_CRON_CONFIG ?? "hrp-cron.config.js");
}

/** Loads the config module; no file means the defaults (embedded SQLite, empty registry). */
export function loadConfig(explicitPath: string | undefined, env: NodeJS.ProcessEnv = process.env): HrpCronConfig {
  const candidate = explicitPath ?? env.HRP_CRON_CONFIG;
  const path = configPathOf(explicitPath, env);
  if (!existsSync(path)) {
    if (candidate)
      throw new ConfigError(
        `config file ${path} does not exist; pass --config with the path of your hrp-cron.config.js`,
        { path },
      );
    return {};
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const loaded = require(path) as { default?: HrpCronConfig } & HrpCronConfig;
  const config = loaded.default ?? loaded;
  if (typeof config !== "object" || config === null) {
    throw new ConfigError(`config file ${path} must export an object (use defineConfig)`, { path });
  }
  checkConfig(config, path);
  return config;
}

/** Resolves the configured DataSource, initialized, with its backend options (`postgres`) applied. */
export async function openDataSource(config: HrpCronConfig): Promise<DataSource> {
  const dataSource = await configuredDataSource(config);
  if (!dataSource.isInitialized) await dataSource.initialize();
  const postgres = { ...defaultPostgresOptions(process.env), ...config.postgres };
  if (Object.keys(postgres).length > 0) backendFor(dataSource, postgres);
  return dataSource;
}

/**
 * The configured DataSource as given: not initialized unless the config
 * initialized it. DataSource options (the config's, else the defaults) are
 * checked for their driver package first.
 *
 * @throws DriverNotInstalledError when the options' driver package (`better-sqlite3`, `pg`) is not installed
 */
export async function configuredDataSource(config: HrpCronConfig): Promise<DataSource> {
  const given = typeof config.dataSource === "function" ? await config.dataSource() : config.dataSource;
  if (given instanceof DataSource) return given;
  const options = given ?? defaultDataSourceOptions(process.env, ENTITIES);
  assertDriverInstalled(options);
  return new DataSource(options);
}

export async function openRegistry(config: HrpCronConfig): Promise<ModelRegistry> {
  const given = typeof config.registry === "function" ? await config.registry() : config.registry;
  if (given !== undefined && !(given instanceof ModelRegistry)) {
    throw new ConfigError("config.registry must be a ModelRegistry (or a function returning one)", {});
  }
  return given ?? new ModelRegistry();
}
