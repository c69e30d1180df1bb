export { JobQueue, type BulkJob, type EnqueueOptions, type JobQueueOptions, type MethodRef, type QueueStats } from "./jobQueue";
export { QueueSet, BUILTIN_QUEUES, type QueueConfig, type QueueSettings } from "./queues";
