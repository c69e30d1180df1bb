import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { MESSAGES } from "../../src/dashboard/pages";
import { mergeMessages, translator } from "../../src/dashboard/i18n/messages";
import { LOCALES, negotiateLocale } from "../../src/dashboard/i18n/locale";
import { ASSET_NAMES, ASSETS_DIR } from "../../src/dashboard/assets";
import { html, raw } from "../../src/dashboard/html";
import { csrfRefusal } from "../../src/dashboard/security/csrf";
import { Access } from "../../src/dashboard/security/access";

/** What holds for the dashboard without a database: its texts, its assets, its security checks. */

const SRC = join(__dirname, "..", "..", "src", "dashboard");

describe("dashboard texts", () => {
  const catalog = mergeMessages(MESSAGES);

  it("every locale has every key, and each translation keeps the English text's {placeholders}", () => {
    const keys = Object.keys(catalog.en).sort();
    expect(keys.length).toBeGreaterThan(50);
    const vars = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
    for (const locale of LOCALES) {
      expect(Object.keys(catalog[locale]).sort()).toEqual(keys);
      for (const key of keys) {
        expect({ key, text: catalog[locale][key].trim() === "" }).toEqual({ key, text: false });
        expect({ key, vars: vars(catalog[locale][key]) }).toEqual({ key, vars: vars(catalog.en[key]) });
      }
    }
  });

  it("the Chinese catalogue is translated, not copied: most texts differ from the English ones", () => {
    const keys = Object.keys(catalog.en);
    const same = keys.filter((k) => catalog["zh-CN"][k] === catalog.en[k] && /[a-z]{3}/.test(catalog.en[k]));
    // Texts that are names or syntax (hrp-cron, qualifier examples) may stay; prose may not.
    expect(same.length / keys.length).toBeLessThan(0.05);
  });

  it('every key a page uses exists (t("...") calls with literal keys in the sources)', () => {
    const files = (dir: string): string[] =>
      readdirSync(dir).flatMap((n) => {
        const p = join(dir, n);
        return statSync(p).isDirectory() ? files(p) : p.endsWith(".ts") ? [p] : [];
      });
    const missing: string[] = [];
    for (const file of files(SRC))
      for (const m of readFileSync(file, "utf8").matchAll(/\bt\("([\w.-]+)"/g))
        if (!(m[1] in catalog.en)) missing.push(`${file.slice(SRC.length + 1)}: ${m[1]}`);
    expect(missing).toEqual([]);
  });

  it("picks the locale from the switch, then Accept-Language, then the default", () => {
    expect(negotiateLocale("zh-CN", "en", "en")).toBe("zh-CN");
    expect(negotiateLocale(undefined, "zh-Hans-CN,zh;q=0.9,en;q=0.8", "en")).toBe("zh-CN");
    expect(negotiateLocale(undefined, "fr-FR, en-GB;q=0.8, zh;q=0.5", "zh-CN")).toBe("en");
    expect(negotiateLocale(undefined, "en;q=0.2, zh-TW;q=0, zh;q=0.9", "en")).toBe("zh-CN");
    expect(negotiateLocale("xx", "de", "zh-CN")).toBe("zh-CN");
  });
});

describe("dashboard assets", () => {
  it("stay within the JavaScript budget (8 KB, one script) and load nothing from elsewhere", () => {
    const js = ASSET_NAMES.filter((n) => n.endsWith(".js"));
    expect(js).toEqual(["dashboard.js"]);
    const bytes = js.reduce((n, name) => n + statSync(join(ASSETS_DIR, name)).size, 0);
    expect(bytes).toBeLessThanOrEqual(8 * 1024);
    for (const name of ASSET_NAMES) {
      const text = readFileSync(join(ASSETS_DIR, name), "utf8");
      expect({ name, external: /(https?:)?\/\/[a-z0-9.-]+\.[a-z]{2,}|@import|@font-face|url\(/i.test(text) }).toEqual({
        name,
        external: false,
      });
      expect({ name, evalLike: /\beval\(|new Function\(/.test(text) }).toEqual({ name, evalLike: false });
    }
  });

  it("no page source writes an inline style, script or event handler (the CSP would block it)", () => {
    const offenders: string[] = [];
    const walk = (dir: string) => {
      for (const n of readdirSync(dir)) {
        const p = join(dir, n);
        if (statSync(p).isDirectory()) walk(p);
        else if (p.endsWith(".ts") && / style="|<style|\son[a-z]+="|<script>/.test(readFileSync(p, "utf8")))
          offenders.push(p);
      }
    };
    walk(SRC);
    expect(offenders).toEqual([]);
  });
});

describe("dashboard markup and security checks", () => {
  it("escapes every interpolated value unless it is markup built by html", () => {
    const name = `<img src=x onerror="alert(1)">'&`;
    expect(html`<td title="${name}">${name}</td>`.text).toBe(
      '<td title="&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&#39;&amp;">&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&#39;&amp;</td>',
    );
    expect(html`<p>${html`<b>${"x<"}</b>`}${[1, "<", raw("<i>")]}${null}${false}</p>`.text).toBe(
      "<p><b>x&lt;</b>1&lt;<i></p>",
    );
  });

  const post = (headers: Record<string, string>) => ({
    method: "POST",
    url: "/jobs/bulk",
    headers: { host: "a.test", ...headers },
  });
  it("lets a same-origin POST with the right token through and refuses the others by reason", () => {
    const token = "t".repeat(43);
    expect(csrfRefusal(post({ origin: "http://a.test", "sec-fetch-site": "same-origin" }), token, token)).toBeNull();
    expect(csrfRefusal(post({ origin: "https://a.test" }), token, token)).toBeNull(); // an older browser: Origin only
    expect(csrfRefusal(post({ "sec-fetch-site": "same-origin" }), token, token)).toBeNull();
    expect(csrfRefusal(post({ origin: "http://evil.test", "sec-fetch-site": "cross-site" }), token, token)).toBe(
      "cross-site",
    );
    expect(csrfRefusal(post({ "sec-fetch-site": "same-site" }), token, token)).toBe("cross-site");
    expect(csrfRefusal(post({ origin: "null" }), token, token)).toBe("cross-site");
    expect(csrfRefusal(post({ origin: "http://a.test.evil.test" }), token, token)).toBe("cross-site");
    expect(csrfRefusal(post({}), token, token)).toBe("cross-site"); // neither header: not a browser form of ours
    expect(csrfRefusal(post({ origin: "http://a.test" }), token, "x".repeat(43))).toBe("token");
    expect(csrfRefusal(post({ origin: "http://a.test" }), undefined, token)).toBe("token");
    expect(csrfRefusal(post({ origin: "http://a.test" }), token, null)).toBe("token");
  });

  it("reads each form of resolveAccess, and refuses a malformed one", () => {
    expect(new Access("all").can("stop")).toBe(true);
    expect(new Access("read-only").canAct).toBe(false);
    expect(new Access("read-only").canView).toBe(true);
    expect(new Access("forbidden").canView).toBe(false);
    const some = new Access({ actions: ["retry", "runNow"] });
    expect([some.can("retry"), some.can("runNow"), some.can("cancel"), some.canAct]).toEqual([true, true, false, true]);
    expect(() => new Access("everything" as never)).toThrow(/resolveAccess returned "everything"/);
    expect(() => new Access({ actions: ["drop"] } as never)).toThrow(TypeError);
  });
});

describe("dashboard translator", () => {
  it("fills placeholders and picks English plurals by count", () => {
    const t = translator({ a: "{n} {n|job is|jobs are} pending, {who} left", b: "plain" });
    expect(t("a", { n: 1, who: "li" })).toBe("1 job is pending, li left");
    expect(t("a", { n: 3, who: "li" })).toBe("3 jobs are pending, li left");
    expect(t("a", { n: 0 })).toBe("0 jobs are pending, {who} left");
    expect(t("b")).toBe("plain");
    expect(t("missing.key")).toBe("[missing.key]");
  });
});
