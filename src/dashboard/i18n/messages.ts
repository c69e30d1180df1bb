import type { Locale } from "./locale";

/**
 * Translated texts. Each part of the dashboard declares its own with
 * {@link defineMessages}: the English texts, and the Chinese ones under the
 * same keys (the compiler refuses a missing or extra key, and a test checks
 * every locale of the merged catalogue). `{name}` in a text is replaced by
 * the value given to `t`; `{n|job|jobs}` picks the first word when `n` is 1
 * and the second otherwise (English plurals; Chinese needs none).
 */
export type Messages<K extends string> = Readonly<Record<Locale, Readonly<Record<K, string>>>>;

/** The messages of one part of the dashboard, in every locale. */
export function defineMessages<const K extends string>(
  en: Readonly<Record<K, string>>,
  zhCN: Readonly<Record<NoInfer<K>, string>>,
): Messages<K> {
  return { en, "zh-CN": zhCN };
}

/** Looks up texts of one locale: `t("jobs.title")`, `t("jobs.count.page", { n: 3 })`. */
export type Translate = (key: string, vars?: Readonly<Record<string, string | number>>) => string;

/**
 * A translator over `catalog`. An unknown key is a programming error and
 * shows as the key itself in brackets (and the locale test fails), never
 * as an exception in front of an operator.
 */
export function translator(catalog: Readonly<Record<string, string>>): Translate {
  return (key, vars) => {
    const text = catalog[key];
    if (text === undefined) return `[${key}]`;
    if (!vars) return text;
    return text
      .replace(/\{(\w+)\|([^|}]*)\|([^}]*)\}/g, (m, name: string, one: string, other: string) =>
        name in vars ? (Number(vars[name]) === 1 ? one : other) : m,
      )
      .replace(/\{(\w+)\}/g, (m, name: string) => (name in vars ? String(vars[name]) : m));
  };
}

/** Merges message sets into one catalogue per locale. @throws Error on a key defined twice (a programming error) */
export function mergeMessages(
  parts: ReadonlyArray<Messages<string>>,
): Readonly<Record<Locale, Record<string, string>>> {
  const out: Record<Locale, Record<string, string>> = { en: {}, "zh-CN": {} };
  for (const part of parts)
    for (const locale of Object.keys(out) as Locale[])
      for (const [key, text] of Object.entries(part[locale])) {
        if (key in out[locale]) throw new Error(`dashboard message ${key} is defined twice`);
        out[locale][key] = text;
      }
  return out;
}
