/** What hrp-cron uses of `@nestjs/typeorm`, an optional peer dependency loaded only when needed. */
interface NestTypeorm {
  getDataSourceToken(name?: string): unknown;
}

/**
 * `@nestjs/typeorm`'s injection token of its DataSource `name` (the default
 * connection when undefined), or null when `@nestjs/typeorm` is not
 * installed. Loaded here, lazily, so an application that gives its
 * DataSource itself needs no `@nestjs/typeorm`.
 */
export function typeormDataSourceToken(name: string | undefined): unknown {
  let nestTypeorm: NestTypeorm;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    nestTypeorm = require("@nestjs/typeorm") as NestTypeorm;
  } catch (error) {
    const e = error as { code?: unknown; message?: unknown };
    if (e?.code === "MODULE_NOT_FOUND" && String(e.message).includes("'@nestjs/typeorm'")) return null;
    throw error;
  }
  return nestTypeorm.getDataSourceToken(name);
}
