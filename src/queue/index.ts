export { JobQueue, type EnqueueOptions, type JobQueueOptions, type MethodRef } from "./jobQueue";
export { QueueSet, BUILTIN_QUEUES, type QueueConfig, type QueueSettings } from "./queues";
