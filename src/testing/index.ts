import "reflect-metadata";

/**
 * `hrp-cron/testing`: helpers for testing an application's jobs without
 * sleeping and without a background worker, with any test framework
 * (docs/testing.md). A test moves a {@link testClock} that the application's
 * service or queue reads, runs what is due with {@link drain} (or one job
 * with {@link runJob}), and asserts on the jobs and on the audit view's
 * runs (the `expect*` helpers throw {@link JobExpectationError} with what
 * was found instead; `enqueuedJobs` and `runsOf` return the data).
 */
export { testClock, type Duration, type TestClock } from "./clock";
export { drain, runJob, type DrainedRun, type DrainOptions, type RunJobOptions } from "./drain";
export { enqueuedJobs, expectEnqueued, expectNotEnqueued, type EnqueuedJob, type JobMatch } from "./jobs";
export { expectRun, runsOf, type RunMatch } from "./runs";
export type { MethodMatch } from "./match";
export { createTestDataSource, type TestDataSourceOptions } from "./dataSource";
export { DrainLimitError, JobExpectationError, JobsFailedError } from "./errors";
