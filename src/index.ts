import "reflect-metadata";

export { Dispatcher } from "./worker/dispatcher";
export { HrpCronJobService } from "./api/automatedTasks";
export type {
  ActionFilter,
  ArgsMatch,
  CronSpec,
  JobFilter,
  OperatorAction,
  RunFilter,
  TransactionOption,
} from "./api/serviceInput";
export type { ActionSource, OperatorContext } from "./core/operator";
export type { QueuePause } from "./store/queueState";
export type { RunByCronCall } from "./api/runByCronInput";
export {
  JOB_METHODS_METADATA,
  JOB_MODEL_METADATA,
  ModelRegistry,
  jobMethod,
  jobModel,
  jobModelOf,
} from "./core/registry";
export type { JobMethod, ModelMethods } from "./core/registry";
export { defineJob } from "./core/jobDefinition";
export type { JobDefinition } from "./core/jobDefinition";
export { runAsUser, currentUserId } from "./core/context";
export { migrate, MIGRATIONS_TABLE, pendingMigrations } from "./schema/migrate";
export type { MigrateOptions } from "./schema/migrate";
export { backendFor, MIGRATION_ADVISORY_LOCK_KEY } from "./backend";
export type { Backend } from "./backend";
export { ADMIN_USER_ID } from "./core/users";
export { ResUsersResolver } from "./store/users";
export type { JobUser, UserResolver } from "./core/users";
export { DEFAULTS } from "./core/options";
export type {
  DispatcherOptions,
  PostgresOptions,
  RunDueOptions,
  SandboxOptions,
  ServiceOptions,
  SharedOptions,
} from "./core/options";
export { consoleLogger, pinoLogger } from "./core/logger";
export type { LogFormat, LogLevel, ObjectFirstLogger } from "./core/logger";
export * from "./core/errors";
export * from "./scheduling";
export { MAX_DATE_MS, MIN_DATE_MS, checkDateRange, inDateRange } from "./core/dateRange";
export type { JobEnv, Logger, RunResult, RunRetry } from "./core/types";
export * from "./schema/entities";
export { MIGRATIONS } from "./schema/migrations";
export {
  TYPEORM_MIGRATIONS,
  typeormMigrations,
  type TypeormMigrationClass,
  type TypeormMigrationsOptions,
} from "./schema/typeormMigrations";
export type { HrpCronMigration, MigrationContext } from "./schema/migrations";
export { defineConfig } from "./cli/config";
export type { HrpCronConfig, SetupContext } from "./cli/config";
export { defaultDataSourceOptions, defaultPostgresOptions } from "./schema/dataSourceOptions";
export { JobQueue, type JobQueueOptions, type QueueStats } from "./api/jobQueue";
export { JobAdmin, type PurgeOptions, type PurgeReport, type QueueDelay } from "./api/jobAdmin";
export type { BulkJobFilter, BulkOptions, BulkReport } from "./api/bulkActions";
export type { BulkJob, EnqueueOptions, MethodRef, TypedEnqueueOptions, TypedJob } from "./api/enqueueInput";
export { QueueSet, BUILTIN_QUEUES } from "./core/queues";
export type { QueueConfig, QueueSettings } from "./core/options";
export { Scheduler, type TickResult } from "./scheduler/scheduler";
export type {
  LeaderAcquiredEvent,
  LeaderLostEvent,
  SchedulerControlEvent,
  SchedulerEventMap,
  SchedulerLifecycleEvent,
  TickErrorEvent,
  TickEvent,
} from "./scheduler/events";
export type { JobTypeSpec, SchedulerEvents, SchedulerOptions } from "./scheduler/schedulerInput";
export { EVENT_NAMES, FREQUENCIES, expressionOf, type EventName, type Frequency } from "./scheduling/frequencies";
export { TypedEvents } from "./core/events";
export { DispatcherEvents } from "./worker/events";
export type {
  BatchEndEvent,
  ClaimsRecoveredEvent,
  DispatcherEventMap,
  JobEndEvent,
  JobRetryEvent,
  JobStartEvent,
  WorkerEvent,
} from "./worker/events";
export { prometheusMetrics } from "./observe/prometheus";
export type { PrometheusOptions, PromClient } from "./observe/prometheus";
export { openTelemetryTracing, type OpenTelemetryTracingOptions } from "./observe/tracing";
export type { JobTracing, RunSpan, RunSpanEnd, RunSpanStart } from "./core/tracing";
