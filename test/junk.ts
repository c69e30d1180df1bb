import fc from "fast-check";
import { IANAZone } from "luxon";

/**
 * fast-check generators of malformed input for the property tests
 * (test/properties.test.ts): for each kind of field, values that are wrong
 * for it — wrong types, NaN, huge numbers, empty strings, broken unicode,
 * deep nesting, cycles, objects with toJSON, hostile proxies, class
 * instances, invalid dates. Validity is decided here independently of the
 * library's own checks wherever that is practical.
 */

/**
 * Dates outside years 0001-9999 are refused by `checkDate` only once the
 * schedule work of issue 12 (item 6) is merged. Until then the generators
 * leave them out; set this to true after merging to test them too.
 */
export const DATE_RANGE_CHECKED = true;

class Thing {
  readonly queue = "default";
}

function revokedProxy(): object {
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  return proxy;
}

const trap = () => {
  throw new Error("proxy trap");
};
const hostileProxy = () =>
  new Proxy({}, { get: trap, ownKeys: trap, getPrototypeOf: trap, has: trap, getOwnPropertyDescriptor: trap });
const throwingGetter = () => Object.defineProperty({}, "x", { enumerable: true, get: trap });
const cyclic = () => {
  const a: unknown[] = [];
  a.push(a);
  return a;
};
const deep = (levels: number) => {
  let value: unknown = 1;
  for (let i = 0; i < levels; i++) value = i % 2 ? [value] : { v: value };
  return value;
};
const arrayWithExtra = () => Object.assign([1], { extra: true });

/** A fresh value from one of `makers` (fresh, because some are mutable or revoked). */
function makeOneOf<T>(makers: Array<() => T>): fc.Arbitrary<T> {
  return fc.constantFrom(...makers).map((make) => make());
}

/**
 * A value fast-check itself must not touch (it looks for a clone method on
 * every generated object, which a revoked proxy or a throwing trap would
 * break): generated as a holder, turned into the value by {@link realize}
 * just before the call.
 */
export class Hostile {
  constructor(readonly make: () => unknown) {}

  [fc.toStringMethod](): string {
    return `<${this.make.name || "hostile value"}>`;
  }
}

/** A copy of the input with every {@link Hostile} holder (in arrays and plain objects, at any depth) replaced by its value. */
export function realize<T>(input: T): T {
  if (input instanceof Hostile) return input.make() as T;
  if (Array.isArray(input)) return input.map((item) => realize(item)) as T;
  if (
    typeof input === "object" &&
    input !== null &&
    Object.getPrototypeOf(input) === Object.prototype &&
    Object.getOwnPropertySymbols(input).length === 0
  ) {
    return Object.fromEntries(Object.entries(input).map(([key, value]) => [key, realize(value)])) as T;
  }
  return input;
}

const hostile = (make: () => unknown) => () => new Hostile(make);

/**
 * Values of every kind; most are wrong for any given field. Near misses
 * (strings that read as booleans or numbers, NaN, 1.5, 2^31, blank and
 * broken strings, objects that pretend) are weighted up: they are what
 * slips through loose checks, and a modest number of runs must meet them.
 */
export const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.constantFrom<unknown>(
      undefined,
      null,
      NaN,
      Infinity,
      -Infinity,
      -0,
      0,
      1,
      -1,
      0.5,
      1.5,
      2 ** 31,
      2 ** 31 - 1,
      2 ** 53,
      -(2 ** 53),
      Number.MAX_VALUE,
      Number.MIN_VALUE,
      "",
      " ",
      "\t\n",
      "\u0000",
      "a\u0000b",
      "\ud800",
      "\udfff x",
      "no",
      "yes",
      "true",
      "false",
      "0",
      "1",
      "5",
      "null",
      "undefined",
      "NaN",
      "🚀",
      "é́́",
      "x".repeat(300),
      true,
      false,
      Symbol("s"),
      10n,
      -(2n ** 80n),
    ),
  },
  {
    weight: 4,
    arbitrary: makeOneOf([
      () => () => 1,
      () => function named() {},
      () => new Map(),
      () => new Set([1]),
      () => new Thing(),
      () => new Date(Number.NaN),
      () => Buffer.from("x"),
      hostile(revokedProxy),
      hostile(hostileProxy),
      hostile(throwingGetter),
      () => ({ toJSON: () => "2026-01-01T00:00:00Z" }),
      () => Object.create(null),
      () => [],
      () => ({}),
      () => [1, 2],
      () => /re/,
      () => new Error("e"),
      () => Promise.resolve(1),
      hostile(cyclic),
      () => deep(70),
      hostile(() => deep(5_000)),
      hostile(arrayWithExtra),
      hostile(() => ({ [Symbol("k")]: 1 })),
      () => new Uint8Array(2),
    ]),
  },
  fc.integer(),
  fc.double(),
  fc.string({ maxLength: 20 }),
  fc.string({ unit: "binary", maxLength: 10 }),
  fc.string({ unit: "grapheme", maxLength: 10 }),
  fc.date({ min: new Date("1970-01-01T00:00:00Z"), max: new Date("2100-01-01T00:00:00Z"), noInvalidDate: false }),
  fc.array(fc.anything({ maxDepth: 2 }), { maxLength: 3 }),
  fc.object({ maxDepth: 2 }),
);

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const isInt = (v: unknown, min: number, max: number) =>
  typeof v === "number" && Number.isInteger(v) && v >= min && v <= max;

/** Not an integer in [min, max] (`optional`: undefined is valid, so never generated; null is not a value for any option). */
export const badInt = (min: number, max: number, optional = true) =>
  anyValue.filter((v) => !isInt(v, min, max) && !(optional && v === undefined));

/**
 * Not a positive 32-bit id; or, with `missing`, a well-formed id of nothing
 * (ids from 100000 up). `nullMeansDefault`: a positional user id, where null
 * (like undefined) means "the default user".
 */
export const badId = (missing = true, optional = false, nullMeansDefault = false) =>
  fc.oneof(
    badInt(1, 2 ** 31 - 1, optional).filter((v) => !(nullMeansDefault && v === null)),
    ...(missing ? [fc.integer({ min: 100_000, max: 2 ** 31 - 1 })] : []),
  );

/** Not `true` or `false`. */
export const badBool = anyValue.filter((v) => typeof v !== "boolean" && v !== undefined);

/** Not a usable name: wrong type, blank, too long, NUL or lone surrogates. */
export const badName = (max = 256, optional = false) =>
  fc.oneof(
    anyValue.filter(
      (v) =>
        !(
          typeof v === "string" &&
          v.trim() !== "" &&
          v.length <= max &&
          !v.includes("\u0000") &&
          !LONE_SURROGATE.test(v)
        ) && !(optional && v === undefined),
    ),
    fc.constant("x".repeat(max + 1)),
  );

/** A value that is not a JSON value (for inside an args array). */
export const badJson: fc.Arbitrary<unknown> = makeOneOf<unknown>([
  () => undefined,
  () => NaN,
  () => Infinity,
  () => () => 1,
  () => Symbol("s"),
  () => 1n,
  () => new Date(),
  () => new Map(),
  () => new Thing(),
  hostile(revokedProxy),
  hostile(hostileProxy),
  hostile(throwingGetter),
  () => ({ toJSON: () => 1 }),
  hostile(cyclic),
  () => deep(70),
  hostile(arrayWithExtra),
  hostile(() => ({ [Symbol("k")]: 1 })),
  () => Object.assign(Object.create({ inherited: 1 }), { a: 1 }),
]);

/** Not an array of JSON values: a non-array, or an array hiding a bad value (possibly nested). */
export const badArgs = fc.oneof(
  anyValue.filter((v) => !Array.isArray(v) && v !== undefined),
  badJson.map((bad) => [bad]),
  badJson.map((bad) => [1, { nested: [bad] }]),
);

/** Not a plain object of JSON values. */
export const badKwargs = fc.oneof(
  anyValue.filter(
    (v) =>
      v !== undefined &&
      !(typeof v === "object" && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype),
  ),
  badJson.map((bad) => ({ key: bad })),
);

/** Not a valid date: a wrong type, an invalid Date, a date string without a zone; out-of-range years once {@link DATE_RANGE_CHECKED}. */
export const badDate = (optional = true) =>
  fc.oneof(
    anyValue.filter((v) => {
      if (optional && v === undefined) return false;
      if (v instanceof Date) return Number.isNaN(v.getTime());
      return !(typeof v === "string" && /T.*(Z|[+-]\d\d:?\d\d)$/.test(v) && !Number.isNaN(Date.parse(v)));
    }),
    fc.constantFrom("2026-11-23", "2026-11-23 10:00:00", "2026-13-45T99:00:00Z", "tomorrow"),
    ...(DATE_RANGE_CHECKED
      ? [
          fc.constantFrom(
            new Date(8.64e15),
            new Date(-8.64e15),
            new Date("+010000-01-01T00:00:00Z"),
            new Date("0000-12-31T00:00:00Z"),
          ),
        ]
      : []),
  );

/** Not a usable time zone: unknown names, nonsense offsets, the machine's own zone. */
export const badTimeZone = fc.oneof(
  anyValue.filter(
    (v) =>
      v !== undefined &&
      !(typeof v === "string" && (IANAZone.isValidZone(v) || /^utc([+-]\d{1,2}(:\d\d)?)?$/i.test(v))),
  ),
  fc.constantFrom(
    "UTC+99",
    "UTC-13",
    "UTC+14:01",
    "UTC+5:60",
    "UTC+99:99",
    "local",
    "system",
    "default",
    "Mars/Olympus",
    "GMT+3",
    "+05:00",
  ),
);

/** Not a cron expression. */
export const badCron = fc.oneof(
  anyValue.filter((v) => v !== undefined && !(typeof v === "string" && /^(\S+\s+){4,5}\S+$/.test(v.trim()))),
  fc.constantFrom(
    "",
    " ",
    "* * *",
    "61 * * * *",
    "* 25 * * *",
    "* * 32 * *",
    "* * * 13 *",
    "bad cron x y",
    "@sometimes",
    "1-99 * * * *",
  ),
);

/** An options object that is not one: a non-object, or a plain object with a key not in `allowed`. */
export const badOptions = (allowed: readonly string[]) =>
  fc.oneof(
    anyValue.filter(
      (v) =>
        v !== undefined &&
        !(
          typeof v === "object" &&
          v !== null &&
          !Array.isArray(v) &&
          [Object.prototype, null].includes(Object.getPrototypeOf(v))
        ),
    ),
    fc
      .string({ minLength: 1, maxLength: 12 })
      .filter((k) => !allowed.includes(k) && k !== "__proto__")
      .map((k) => ({ [k]: 1 })),
    fc.constant(null).map(() => new Thing()),
  );

/** One field of `base` replaced by a bad value from `fields` (or an unknown key added when `allowed` is given). */
export function corruptOne<T extends object>(
  base: T,
  fields: Partial<Record<keyof T & string, fc.Arbitrary<unknown>>>,
): fc.Arbitrary<T> {
  const variants = Object.entries(fields).map(([key, arb]) =>
    (arb as fc.Arbitrary<unknown>).map((bad) => ({ ...base, [key]: bad }) as T),
  );
  return fc.oneof(...variants);
}
