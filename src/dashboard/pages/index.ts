import { COMMON_MESSAGES } from "../i18n/common";
import type { Messages } from "../i18n/messages";
import type { Route } from "../router";
import { JOBS_MESSAGES, jobsRoutes } from "./jobs";
import { OVERVIEW_MESSAGES, overviewRoutes } from "./overview";

/** Every page and action of the dashboard, and the texts they use. */

export const ROUTES: readonly Route[] = [...jobsRoutes, ...overviewRoutes];

export const MESSAGES: ReadonlyArray<Messages<string>> = [COMMON_MESSAGES, JOBS_MESSAGES, OVERVIEW_MESSAGES];
