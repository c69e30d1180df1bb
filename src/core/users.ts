import type { EntityManager } from "typeorm";
import { InvalidUserError } from "./errors";

/** The user a job runs as, as the engine sees it. */
export interface JobUser {
  readonly id: number;
  readonly login: string;
  readonly name: string;
  readonly active: boolean;
  /** IANA time zone, or null for UTC. */
  readonly tz: string | null;
  /**
   * A stable identity that never passes to another person (e.g. a UUID).
   * Jobs store it (`user_key`) when they are created and refuse to run when
   * the user id later resolves to a different one. @defaultValue `login`
   */
  readonly key?: string;
}

/**
 * Finds users by id. The default reads `res_users`; applications with their
 * own user table implement this interface (reading through `manager`, so the
 * lookup is part of the job's transaction).
 */
export interface UserResolver {
  /** The user, or null when no such user exists. Inactive users are returned with `active: false`. */
  findUser(manager: EntityManager, userId: number): Promise<JobUser | null>;
  /**
   * The user with this login, or null. Optional: listings that take a login
   * (the dashboard's user filter) need it; without it they take ids only.
   */
  findUserByLogin?(manager: EntityManager, login: string): Promise<JobUser | null>;
}

/** Id of Administrator, created by the first migration. */
export const ADMIN_USER_ID = 1;

/**
 * The user `uid`, or throws: a job never runs as (and is never written for)
 * a missing or inactive user, and never falls back to another one. `item`
 * names the bulk call's entry that asked for the user, for the error.
 * @throws InvalidUserError
 */
export async function requireActiveUser(
  resolver: UserResolver,
  manager: EntityManager,
  uid: number,
  item?: string,
): Promise<JobUser> {
  const user = await resolver.findUser(manager, uid);
  if (!user) throw new InvalidUserError(uid, "missing", {}, item);
  if (!user.active) throw new InvalidUserError(uid, "inactive", {}, item);
  return user;
}

/** The identity stored with a job (`user_key`): the resolver's `key`, else the login. */
export function userKeyOf(user: JobUser): string {
  return user.key ?? user.login;
}

/**
 * `user` if it is still the person a job was created for: its key equals
 * `expected` (the job's stored `user_key`). Rows stored without a key
 * (`null`, created before migration 0009) are not checked.
 * @throws InvalidUserError (`replaced`) when the id now belongs to another login
 */
export function checkUserKey(user: JobUser, expected: string | null): JobUser {
  if (expected === null || expected === userKeyOf(user)) return user;
  throw new InvalidUserError(user.id, "replaced", { expected, actual: userKeyOf(user) });
}
