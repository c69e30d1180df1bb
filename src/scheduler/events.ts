/** The payloads of the scheduler's typed events (`scheduler.events`, a `TypedEvents<SchedulerEventMap>`). */

/** This scheduler started ticking (`start()`) or stopped (`stop()`). */
export interface SchedulerLifecycleEvent {
  /** The scheduler's id (`scheduler.id`, `host:pid:random`): the lease's holder. */
  readonly schedulerId: string;
}

/** This scheduler took the leader's lease: from now on its ticks enqueue due job types. */
export interface LeaderAcquiredEvent {
  readonly schedulerId: string;
  /** The tick's time (the scheduler's clock). */
  readonly at: Date;
}

/** This scheduler is no longer the leader. */
export interface LeaderLostEvent {
  readonly schedulerId: string;
  readonly at: Date;
  /**
   * `not-renewed`: a tick could not renew the lease (another scheduler took
   * it after this one missed renewing it in time, or the scheduler is paused
   * or disabled); `released`: `stop()` gave it up.
   */
  readonly reason: "not-renewed" | "released";
}

/** A tick committed: what it enqueued (as leader) and what it skipped. */
export interface TickEvent {
  readonly schedulerId: string;
  readonly at: Date;
  /** Whether this scheduler held the lease for the tick (a tick that is not the leader's enqueues nothing). */
  readonly leader: boolean;
  /** Methods of the job types enqueued (one per due type; a type replaying missed periods is named once). */
  readonly enqueued: readonly string[];
  /** Due types not enqueued, with why (previous run still live, cannot be scheduled, enqueue failed). */
  readonly skipped: ReadonlyArray<{ readonly method: string; readonly reason: string }>;
  /** How long the tick took, its transaction included. */
  readonly durationMs: number;
}

/** A tick failed as a whole (its transaction rolled back: nothing it did is kept; the next tick tries again). */
export interface TickErrorEvent {
  readonly schedulerId: string;
  readonly at: Date;
  readonly error: string;
}

/** This scheduler's `setControl` changed the persisted controls (they concern every scheduler). */
export interface SchedulerControlEvent {
  readonly schedulerId: string;
  /** `true`: paused (nothing is enqueued until resumed), `false`: resumed; absent: unchanged. */
  readonly paused?: boolean;
  /** `false`: disabled, `true`: enabled; absent: unchanged. */
  readonly enabled?: boolean;
}

/** Every event a `Scheduler` emits, by name, with its payload. */
export interface SchedulerEventMap {
  "scheduler:start": SchedulerLifecycleEvent;
  /** After `stop()` waited for the tick in progress and released the lease. */
  "scheduler:stop": SchedulerLifecycleEvent;
  "leader:acquired": LeaderAcquiredEvent;
  "leader:lost": LeaderLostEvent;
  /** Every committed tick, leader or not. */
  tick: TickEvent;
  "tick:error": TickErrorEvent;
  /** `setControl` paused, resumed, disabled or enabled the schedulers. */
  control: SchedulerControlEvent;
}
