import type { HrpCronMigration } from "./migration";

/**
 * `hrp_cron_job.trace_context`: the trace context of the code that enqueued
 * the job (propagation headers as JSON: W3C `traceparent` / `tracestate`),
 * stored when tracing is on (the `tracing` option) so the job's run span is
 * a child of the enqueuer's span. Null without tracing, for recurring crons,
 * and for rows from before. Nullable, no default: adding it rewrites no row.
 */
export const jobTraceContext: HrpCronMigration = {
  name: "0017-job-trace-context",
  async up({ run }) {
    await run(`ALTER TABLE hrp_cron_job ADD COLUMN trace_context text`);
  },
};
