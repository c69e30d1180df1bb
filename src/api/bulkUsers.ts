import type { EntityManager } from "typeorm";
import { requireActiveUser, userKeyOf, type UserResolver } from "../core/users";

/**
 * The stored identity (`user_key`) of each user that the jobs of a bulk
 * call (`userIds`, job by job) run as, checking each distinct user once, in
 * `manager`'s transaction: one lookup per user, not per job.
 * @throws InvalidUserError for a missing or inactive user, naming the first
 *   entry that asked for it (`item(index)`, e.g. `calls[3]`)
 */
export async function userKeysOnce(
  resolver: UserResolver,
  manager: EntityManager,
  userIds: readonly number[],
  item: (index: number) => string,
): Promise<Map<number, string>> {
  const keys = new Map<number, string>();
  for (let i = 0; i < userIds.length; i++) {
    const uid = userIds[i];
    if (!keys.has(uid)) keys.set(uid, userKeyOf(await requireActiveUser(resolver, manager, uid, item(i))));
  }
  return keys;
}
