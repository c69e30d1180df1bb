import "reflect-metadata";
import { DataSource } from "typeorm";
import { defaultDataSourceOptions } from "./src/schema/dataSourceOptions";

export { defaultDataSourceOptions };

/** The default DataSource (not initialized): `./hrp-cron.sqlite`, or `HRP_CRON_DB` / `DATABASE_URL`. */
export default new DataSource(defaultDataSourceOptions());
