import type { DataSourceOptions } from "typeorm";
import { DriverNotInstalledError } from "../core/errors";

/**
 * The npm package TypeORM loads for each driver hrp-cron supports. Both are
 * optional peer dependencies of hrp-cron: the application installs the one
 * it uses. (TypeORM 1.0 removed the `sqlite3` driver: SQLite means
 * `better-sqlite3`.)
 */
export const DRIVER_PACKAGES = {
  "better-sqlite3": "better-sqlite3",
  postgres: "pg",
} as const satisfies Readonly<Record<string, string>>;

/**
 * Throws {@link DriverNotInstalledError} when the package the driver of
 * `options` loads cannot be found, before TypeORM tries to load it. The
 * package is looked up with Node's own resolution from `from` (by default
 * where hrp-cron is installed: with peer dependencies, the application's
 * `node_modules`). Options that bring their own driver module (`driver`)
 * need no package; other driver types are left to `backendFor`, which
 * refuses them.
 *
 * ```ts
 * const options = { type: "postgres", url: process.env.DATABASE_URL, entities: ENTITIES } as const;
 * assertDriverInstalled(options); // DriverNotInstalledError "... run `npm install pg` ..." without pg
 * const dataSource = new DataSource(options);
 * ```
 * @throws DriverNotInstalledError naming the package to install
 */
export function assertDriverInstalled(options: DataSourceOptions, from: string = __dirname): void {
  const type = options.type as string;
  if (!Object.hasOwn(DRIVER_PACKAGES, type) || (options as { driver?: unknown }).driver !== undefined) return;
  const packageName = DRIVER_PACKAGES[type as keyof typeof DRIVER_PACKAGES];
  try {
    require.resolve(packageName, { paths: [from] });
  } catch (error) {
    throw new DriverNotInstalledError(type, packageName, { cause: error });
  }
}
