import { backendFor } from "../../../backend";
import type { ScheduledJobType } from "../../../schema/entities/ScheduledJobType";
import { failingTypes, findType } from "../../../store/scheduler";
import type { PageContext } from "../../context";

/** The Scheduled Job Type reads the pages make through the scheduler's store functions. */

/** Type `id`, or null. */
export function findTypeById(ctx: PageContext, id: number): Promise<ScheduledJobType | null> {
  return findType(ctx.dataSource.manager, id);
}

/** Ids of the types whose latest log row is `Failed` (`hrp-cron doctor`'s failing types). */
export async function failingTypeIds(ctx: PageContext): Promise<Set<number>> {
  const backend = backendFor(ctx.dataSource);
  // Outside a transaction: on SQLite one would wait for the write lock of a job running in this process.
  return new Set((await failingTypes(backend, ctx.dataSource.manager)).map((f) => f.id));
}
