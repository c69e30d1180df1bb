import type { EntityManager } from "typeorm";
import { requireActiveUser, type JobUser, type UserResolver } from "../core/users";
import type { ClaimedRun } from "../store/claims";

/**
 * The users of one batch transaction, each looked up once
 * (`requireActiveUser`: missing or inactive users fail their jobs).
 * `prefetch` sends the lookups ahead, one after another on the batch's
 * connection, before any job needs them.
 */
export class BatchUsers {
  private readonly users = new Map<number, Promise<JobUser>>();

  constructor(
    private readonly resolver: UserResolver,
    private readonly manager: EntityManager,
  ) {}

  /** User `uid`, looked up in this batch's transaction (once). */
  get(uid: number): Promise<JobUser> {
    let user = this.users.get(uid);
    if (!user) {
      user = requireActiveUser(this.resolver, this.manager, uid);
      this.users.set(uid, user);
    }
    return user;
  }

  /** Looks `uids` up one after another; resolves when all are known. A failed lookup is the job's (see `get`), not this call's. */
  async prefetch(uids: Iterable<number>): Promise<void> {
    for (const uid of uids) await this.get(uid).catch(() => undefined);
  }
}

/** Thrown inside a prepared batch's transaction when it is cancelled: rolls the (empty) transaction back. */
class BatchCancelled extends Error {}

/**
 * A batch whose transaction opens while its claim is still committing
 * (PostgreSQL, where the batch runs on another connection than the claim):
 * the batch's `BEGIN` and its users' lookups ride alongside the claim's
 * last statements and `COMMIT` instead of after them, so a lone job on an
 * idle worker starts two round trips sooner.
 *
 * The claim stays committed before any job runs: the transaction waits,
 * doing nothing else, until {@link run} gives it its runs — which the
 * dispatcher does only once `claimDue` has returned. {@link cancel} (the
 * claim failed, or its runs went elsewhere) rolls the empty transaction
 * back. Exactly one of the two must be called.
 */
export class PreparedBatch<Outcome> {
  private give!: (runs: readonly ClaimedRun[] | null) => void;
  private readonly given = new Promise<readonly ClaimedRun[] | null>((resolve) => (this.give = resolve));
  private readonly outcome: Promise<Outcome>;
  /** The crons of the batch, once known (for the batch's error messages). */
  private readonly crons: number[] = [];
  /** The batch's users, once its transaction has begun. */
  private users!: (users: BatchUsers) => void;
  private readonly usersReady = new Promise<BatchUsers>((resolve) => (this.users = resolve));
  /** The lookups sent ahead so far (see {@link prefetch}). */
  private warm: Promise<void>;

  /**
   * `transaction(crons, work)` runs the batch's transaction (committed once,
   * retried while the database is away; `crons` are filled in by
   * {@link run}); `body` is the batch itself.
   */
  constructor(
    userIds: readonly number[],
    resolver: UserResolver,
    transaction: (crons: readonly number[], work: (manager: EntityManager) => Promise<Outcome>) => Promise<Outcome>,
    body: (manager: EntityManager, runs: readonly ClaimedRun[], users: BatchUsers) => Promise<Outcome>,
  ) {
    this.warm = this.usersReady.then((users) => users.prefetch(userIds));
    this.outcome = transaction(this.crons, async (manager) => {
      const users = new BatchUsers(resolver, manager);
      this.users(users);
      const runs = await this.given;
      await this.warm; // one statement at a time on the connection
      if (runs === null) throw new BatchCancelled();
      return body(manager, runs, users);
    });
    this.outcome.catch(() => undefined); // its caller (run) sees the error; a cancelled one has none
  }

  /** Looks users `userIds` up too, as soon as the transaction has begun (before {@link run} gives it its runs). */
  prefetch(userIds: readonly number[]): void {
    this.warm = this.warm.then(() => this.usersReady.then((users) => users.prefetch(userIds)));
  }

  /** Runs `runs` (their claim committed) in the prepared transaction; resolves with the batch's outcome. */
  run(runs: readonly ClaimedRun[]): Promise<Outcome> {
    this.crons.push(...runs.map((r) => r.cron.id));
    this.give(runs);
    return this.outcome;
  }

  /** Rolls the prepared transaction back unused. */
  cancel(): void {
    this.give(null);
  }
}
