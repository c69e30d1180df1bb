import type { DataSource } from "typeorm";
import { backendFor } from "../backend";
import { coerceError, DatabaseConnectError, DatabaseUnavailableError } from "../core/errors";
import { describeTarget } from "./connect";
import type { HrpCronConfig } from "./config";
import { configuredDataSource } from "./loadConfig";
import type { CliIo } from "./database";

/** First wait between attempts; doubles up to {@link MAX_WAIT_MS}. */
const FIRST_WAIT_MS = 500;
const MAX_WAIT_MS = 5_000;

/**
 * Opens the configured database for `hrp-cron worker`, waiting for it while
 * it is unreachable — a worker started before its database (a deploy, a
 * host reboot, PostgreSQL restarting) must not exit. Each failed attempt
 * prints one line to stderr (the driver's message, no stack trace); waits
 * grow from 0.5 s to 5 s. Errors that waiting cannot fix (bad password,
 * unknown database, bad options) are thrown at once. A stop request (Ctrl-C)
 * while waiting ends it with `DatabaseUnavailableError`.
 */
export async function openWhenReachable(config: HrpCronConfig, io: CliIo): Promise<DataSource> {
  const dataSource = await configuredDataSource(config);
  const backend = backendFor(dataSource);
  let stopped = false;
  void io.stopRequested.then(() => (stopped = true));
  const began = Date.now();
  for (let attempt = 1; !dataSource.isInitialized; attempt++) {
    try {
      await dataSource.initialize();
    } catch (error) {
      if (!backend.isTransientError(error)) {
        await dataSource.driver.disconnect().catch(() => undefined);
        throw new DatabaseConnectError(describeTarget(dataSource.options), error);
      }
      await dataSource.driver.disconnect().catch(() => undefined); // the failed attempt's pool
      if (stopped)
        throw new DatabaseUnavailableError(
          { operation: "starting the worker" },
          "nothing",
          attempt,
          Date.now() - began,
          error,
          true,
        );
      const waitMs = Math.min(MAX_WAIT_MS, FIRST_WAIT_MS * 2 ** (attempt - 1));
      io.err(
        `hrp-cron: database unavailable (${oneLine(error)}); attempt ${attempt} failed, retrying in ${waitMs / 1000} s`,
      );
      // A timer that keeps the process alive: nothing else may while the worker waits (an unref'd one let it exit 0).
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([new Promise((resolve) => (timer = setTimeout(resolve, waitMs))), io.stopRequested]);
      clearTimeout(timer);
    }
  }
  return dataSource;
}

function oneLine(error: unknown): string {
  const e = coerceError(error) as Error & { code?: unknown };
  const code = typeof e.code === "string" ? `${e.code}: ` : "";
  return `${code}${e.message}`.replace(/\s+/g, " ").trim();
}
