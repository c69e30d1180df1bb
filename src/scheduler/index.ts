export { Scheduler, type JobTypeSpec, type SchedulerEvents, type SchedulerOptions, type TickResult } from "./scheduler";
export { EVENT_NAMES, FREQUENCIES, expressionOf, type EventName, type Frequency } from "./frequencies";
