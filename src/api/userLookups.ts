import type { EntityManager } from "typeorm";
import { ValidationError } from "../core/errors";
import type { UserResolver } from "../core/users";

/**
 * Users by id and by login, through the configured `userResolver`, for
 * listings that show people rather than ids. They read through `manager`
 * outside any transaction: on SQLite a transaction would wait for the
 * write lock a running job holds (the dashboard in a worker's process).
 */

/**
 * The logins of users `ids`: one lookup per distinct id. An id the
 * resolver does not know maps to `#ID?`. A resolver that fails (its table
 * missing: a CLI run without the config that names the application's
 * resolver) gives an empty map, so the listing shows ids rather than failing.
 */
export async function userLogins(
  manager: EntityManager,
  resolver: UserResolver,
  ids: Iterable<number>,
): Promise<Map<number, string>> {
  const logins = new Map<number, string>();
  try {
    for (const id of new Set(ids)) logins.set(id, (await resolver.findUser(manager, id))?.login ?? `#${id}?`);
    return logins;
  } catch {
    return new Map();
  }
}

/**
 * The time zones of users `ids` (null: none set): a cron without its own
 * zone runs in its user's. An id the resolver does not know, or a resolver
 * that fails, is left out.
 */
export async function userTimeZones(
  manager: EntityManager,
  resolver: UserResolver,
  ids: Iterable<number>,
): Promise<Map<number, string | null>> {
  const zones = new Map<number, string | null>();
  try {
    for (const id of new Set(ids)) {
      const user = await resolver.findUser(manager, id);
      if (user) zones.set(id, user.tz ?? null);
    }
    return zones;
  } catch {
    return new Map();
  }
}

/**
 * The id of the user with `login`, or null when nobody has it.
 * @throws ValidationError for a login that is not a short text, or when the resolver cannot look up logins (it has no `findUserByLogin`)
 */
export async function userIdByLogin(
  manager: EntityManager,
  resolver: UserResolver,
  login: string,
): Promise<number | null> {
  if (typeof login !== "string" || login === "" || login.length > 256)
    throw new ValidationError("login", "must be a non-empty string of at most 256 characters", login);
  if (!resolver.findUserByLogin)
    throw new ValidationError(
      "user",
      "this application's userResolver has no findUserByLogin, so users are found by id only: give the user id",
      login,
    );
  return (await resolver.findUserByLogin(manager, login))?.id ?? null;
}
