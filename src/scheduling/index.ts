export {
  INTERVAL_TYPES,
  MAX_INTERVAL_NUMBER,
  addInterval,
  checkInterval,
  checkTimeZone,
  isCalendarInterval,
  isIntervalType,
  planOf,
  stepPlan,
  type CalendarIntervalType,
  type IntervalType,
} from "./interval";
export { nextCronOccurrence, validateCronExpression } from "./cronExpression";
export * from "./schedule";
