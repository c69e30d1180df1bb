import type { DataSource } from "typeorm";
import { migrate } from "../schema/migrate";
import { HrpCronJobService } from "../api/automatedTasks";
import type { ParsedArgs } from "./args";
import { openDataSource, openRegistry, type HrpCronConfig } from "./config";

/** Where a command writes, and how the worker learns it should stop. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  /** Resolves when the user asks the worker to stop (SIGINT/SIGTERM in the real CLI). */
  stopRequested: Promise<void>;
}

export interface CommandContext {
  readonly args: ParsedArgs;
  readonly config: HrpCronConfig;
  readonly io: CliIo;
}

export type Command = {
  readonly summary: string;
  readonly flags: readonly string[];
  run(ctx: CommandContext): Promise<number>;
};


/**
 * Opens the database (with `open`: the worker waits for an unreachable one),
 * migrates it and runs the config's setup, then `work`; always closes.
 */
export async function withDatabase<T>(
  config: HrpCronConfig,
  work: (ds: DataSource, service: HrpCronJobService) => Promise<T>,
  open: (config: HrpCronConfig) => Promise<DataSource> = openDataSource,
): Promise<T> {
  const dataSource = await open(config);
  try {
    await migrate(dataSource);
    const registry = await openRegistry(config);
    const service = new HrpCronJobService(dataSource, { registry: registry.list().length > 0 ? registry : undefined });
    if (config.setup) await config.setup({ dataSource, registry, service });
    return await work(dataSource, service);
  } finally {
    // A job abandoned at stop may keep a connection busy; do not let it hold the exit.
    if (dataSource.isInitialized) await Promise.race([dataSource.destroy(), new Promise((r) => setTimeout(r, 5_000).unref())]);
  }
}

