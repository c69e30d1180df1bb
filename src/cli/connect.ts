import type { DataSource, DataSourceOptions } from "typeorm";
import { DatabaseConnectError } from "../core/errors";

/**
 * Initializes `dataSource` for a CLI command: a failure becomes one
 * {@link DatabaseConnectError} line saying where it looked and what to
 * check, instead of the driver's stack trace.
 */
export async function initializeForCli(dataSource: DataSource): Promise<DataSource> {
  if (dataSource.isInitialized) return dataSource;
  try {
    return await dataSource.initialize();
  } catch (error) {
    await dataSource.driver.disconnect().catch(() => undefined); // the failed attempt's pool
    throw new DatabaseConnectError(describeTarget(dataSource.options), error);
  }
}

/** Where `options` point, for messages: the driver and host/port/database or file, never a password. */
export function describeTarget(options: DataSourceOptions): string {
  const o = options as DataSourceOptions & {
    url?: string;
    host?: string;
    port?: number;
    database?: unknown;
  };
  if (o.type === "postgres") {
    if (o.url) {
      try {
        const url = new URL(o.url);
        return `postgres at ${url.hostname || "localhost"}:${url.port || 5432}${url.pathname}`;
      } catch {
        return "postgres (an unparsable url)";
      }
    }
    return `postgres at ${o.host ?? "localhost"}:${o.port ?? 5432}/${String(o.database ?? "")}`;
  }
  return `${o.type} ${typeof o.database === "string" ? `file ${o.database}` : "database"}`;
}
