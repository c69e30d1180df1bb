import { IANAZone } from "luxon";

/** Fixed offsets as luxon reads them: `UTC`, `UTC+5`, `UTC-03:30`. */
const FIXED_OFFSET = /^utc(?:([+-])(\d{1,2})(?::(\d{2}))?)?$/i;

/** Real zones lie between UTC-12:00 and UTC+14:00. */
const MIN_OFFSET_MINUTES = -12 * 60;
const MAX_OFFSET_MINUTES = 14 * 60;

/**
 * True for a time zone a schedule can be computed in, the same on every
 * machine: an IANA name (`Asia/Shanghai`, `UTC`, `Etc/GMT+12`), or a fixed
 * offset `UTC±H[:MM]` within UTC-12 to UTC+14 with minutes below 60.
 * Luxon also accepts offsets such as `UTC+99` (and `local`/`system`, the
 * machine's own zone, which differs between workers); those are refused.
 */
export function isUsableTimeZone(timeZone: unknown): timeZone is string {
  if (typeof timeZone !== "string" || timeZone.length > 64) return false;
  const fixed = FIXED_OFFSET.exec(timeZone);
  if (fixed) {
    if (fixed[1] === undefined) return true;
    const minutes = Number(fixed[3] ?? 0);
    const offset = (fixed[1] === "-" ? -1 : 1) * (Number(fixed[2]) * 60 + minutes);
    return minutes < 60 && offset >= MIN_OFFSET_MINUTES && offset <= MAX_OFFSET_MINUTES;
  }
  return IANAZone.isValidZone(timeZone);
}
