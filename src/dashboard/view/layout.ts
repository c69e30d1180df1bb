import type { Flash, NavKey, PageContext } from "../context";
import { html, type SafeHtml } from "../html";
import { LOCALES } from "../i18n/locale";
import { CSRF_FIELD } from "../security/csrf";

/** The page shell: head, navigation, who is signed in, language and refresh controls, the one-time message. */

const NAV: ReadonlyArray<{ key: NavKey; path: string }> = [
  { key: "overview", path: "/" },
  { key: "jobs", path: "/jobs" },
  { key: "crons", path: "/crons" },
  { key: "queues", path: "/queues" },
  { key: "workers", path: "/workers" },
  { key: "actions", path: "/actions" },
];

/** Intervals a user may pick for live refresh, in seconds (0: off). */
export const REFRESH_CHOICES_S: readonly number[] = [0, 2, 5, 15, 60];

const LOCALE_NAMES: Readonly<Record<(typeof LOCALES)[number], string>> = { en: "English", "zh-CN": "简体中文" };

/** A whole page around `body`. `assetVersion` busts caches when the package's assets change. */
export function layout(
  ctx: PageContext,
  page: { readonly title: string; readonly nav: NavKey | null; readonly body: SafeHtml },
  extras: { readonly nonce: string; readonly flash: Flash | null; readonly assetVersion: string },
): SafeHtml {
  const { t } = ctx;
  const access = ctx.access.access;
  const accessLabel =
    access === "all" || access === "read-only" ? t(`layout.access.${access}`) : t("layout.access.some");
  const asset = (name: string) => ctx.href(`/assets/${name}`, { v: extras.assetVersion });
  const langLink = (locale: (typeof LOCALES)[number]) => {
    const q = new URLSearchParams(ctx.query);
    q.set("lang", locale);
    return html`<a
      href="${ctx.href(ctx.path, q)}"
      lang="${locale}"
      hreflang="${locale}"
      ${locale === ctx.locale ? html` aria-current="true"` : ""}
      >${LOCALE_NAMES[locale]}</a
    >`;
  };
  return html`<!doctype html>
    <html lang="${ctx.locale}">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="referrer" content="same-origin" />
        <title>${page.title} · ${t("app.name")}</title>
        <link rel="stylesheet" href="${asset("dashboard.css")}" />
        <script src="${asset("dashboard.js")}" nonce="${extras.nonce}" defer></script>
      </head>
      <body data-csrf-field="${CSRF_FIELD}">
        <a class="skip" href="#content">${t("layout.skip")}</a>
        <header class="top">
          <a class="brand" href="${ctx.href("/")}">${t("app.name")}</a>
          <nav aria-label="${t("nav.main")}">
            ${NAV.map(
              (n) =>
                html`<a href="${ctx.href(n.path)}" ${n.key === page.nav ? html` aria-current="page"` : ""}
                  >${t(`nav.${n.key}`)}</a
                >`,
            )}
          </nav>
          <div class="tools">
            <span class="who" title="${accessLabel}"
              >${t("layout.signedIn", { login: ctx.user.login })} · ${accessLabel}</span
            >
            <span class="langs" aria-label="${t("layout.language")}">${LOCALES.map(langLink)}</span>
            <label class="refresh"
              >${t("layout.refresh")}
              <select id="hrp-refresh" data-refresh-select>
                ${REFRESH_CHOICES_S.map(
                  (s) =>
                    html`<option value="${s}">
                      ${s === 0 ? t("layout.refresh.off") : t("layout.refresh.every", { s })}
                    </option>`,
                )}
              </select>
            </label>
          </div>
        </header>
        ${extras.flash && html`<p class="flash flash-${extras.flash.kind}" role="${extras.flash.kind === "error" ? "alert" : "status"}">${extras.flash.text}</p>`}
        <main id="content">
          <h1>${page.title}</h1>
          ${page.body}
        </main>
      </body>
    </html> `;
}

/** A page shown when nobody may see the dashboard: no navigation, no user. */
export function barePage(lang: string, title: string, message: string, asset: (name: string) => string): SafeHtml {
  return html`<!doctype html>
    <html lang="${lang}">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${title}</title>
        <link rel="stylesheet" href="${asset("dashboard.css")}" />
      </head>
      <body>
        <main id="content" class="bare">
          <h1>${title}</h1>
          <p>${message}</p>
        </main>
      </body>
    </html> `;
}
