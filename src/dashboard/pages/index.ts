import { COMMON_MESSAGES } from "../i18n/common";
import type { Messages } from "../i18n/messages";
import type { Route } from "../router";
import { CRONS_MESSAGES, cronsRoutes } from "./crons";
import { JOBS_MESSAGES, jobsRoutes } from "./jobs";

/** Every page and action of the dashboard, and the texts they use. */

export const ROUTES: readonly Route[] = [...jobsRoutes, ...cronsRoutes];

export const MESSAGES: ReadonlyArray<Messages<string>> = [COMMON_MESSAGES, JOBS_MESSAGES, CRONS_MESSAGES];
