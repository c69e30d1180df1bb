import { HrpCronError } from "../core/hrpCronError";
import type { DashboardAction } from "./security/access";

/** A signed-in user asked for an action their access does not include (answered 403; nothing changes). */
export class ForbiddenActionError extends HrpCronError {
  constructor(
    readonly login: string,
    readonly action: DashboardAction,
  ) {
    super("FORBIDDEN", `${login} may not ${action}: resolveAccess does not allow it`, { login, action });
  }
  override get name(): string {
    return "ForbiddenActionError";
  }
}
