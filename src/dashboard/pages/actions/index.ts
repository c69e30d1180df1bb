import type { Route } from "../../router";
import { actionLogPage } from "./log";

export { ACTIONS_MESSAGES } from "./messages";

/** The operator action log. */
export const actionsRoutes: readonly Route[] = [{ method: "GET", pattern: "/actions", handler: actionLogPage }];
