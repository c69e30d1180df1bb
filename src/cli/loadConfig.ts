import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { DataSource } from "typeorm";
import { assertDriverInstalled, backendFor } from "../backend";
import { ConfigError } from "../core/errors";
import { ModelRegistry } from "../core/registry";
import type { UserResolver } from "../core/users";
import { defaultDataSourceOptions, defaultPostgresOptions } from "../schema/dataSourceOptions";
import { ENTITIES } from "../schema/entities";
import { checkConfig, type HrpCronConfig } from "./config";
import { initializeForCli } from "./connect";

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
  const loaded = requireConfig(path) as { default?: HrpCronConfig } & HrpCronConfig;
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
  await initializeForCli(dataSource);
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

/** The options every command's service, queue and scheduler share: the config's registry (when it names methods) and users. */
export function sharedOptions(
  config: HrpCronConfig,
  registry: ModelRegistry,
): { registry?: ModelRegistry; userResolver?: UserResolver } {
  return {
    ...(registry.list().length > 0 ? { registry } : {}),
    ...(config.userResolver ? { userResolver: config.userResolver } : {}),
  };
}

/** Config files in TypeScript: loaded through jiti when no TypeScript loader (ts-node, tsx, jest) is registered. */
const TYPESCRIPT = /\.(c|m)?ts$/;

/**
 * The config module at `path`. A `.ts` file is required as is when a
 * TypeScript loader is registered; otherwise (Node refuses its syntax) it
 * is compiled on the fly by `jiti`, an optional dependency installed with
 * hrp-cron.
 * @throws ConfigError when a `.ts` config needs jiti and it is missing, or does not compile
 */
function requireConfig(path: string): unknown {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(path);
  } catch (error) {
    if (!TYPESCRIPT.test(path) || !(error instanceof SyntaxError || isUnknownExtension(error))) throw error;
  }
  let createJiti: (from: string, options: object) => (id: string) => unknown;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    ({ createJiti } = require("jiti") as { createJiti: typeof createJiti });
  } catch {
    throw new ConfigError(
      `config file ${path} is TypeScript and the optional package jiti that loads it is not installed: npm install jiti (or compile the config to .js)`,
      { path },
    );
  }
  try {
    return createJiti(__filename, { interopDefault: false, moduleCache: false })(path);
  } catch (error) {
    throw new ConfigError(
      `config file ${path} could not be loaded: ${error instanceof Error ? error.message : String(error)}`,
      {
        path,
      },
    );
  }
}

function isUnknownExtension(error: unknown): boolean {
  return (error as { code?: unknown })?.code === "ERR_UNKNOWN_FILE_EXTENSION";
}
