// jest globalSetup of `npm run test:script`: makes the fake Cloud SQL instances' template
// data directory once (initdb, certificates) for every test file, which run in parallel
// workers; they find it through MLFLOW_HARNESS_CLOUDSQL_TEMPLATE (workers inherit the
// environment). global-teardown.ts removes it.
import { DB_PASSWORD } from "./secrets";
import { makeTemplate, postgresBin } from "./cloudsql";

export default function globalSetup(): void {
  if (process.getuid?.() !== 0 || !postgresBin()) return; // the files skip or fail with the reason (exec-helpers.ts)
  process.env.MLFLOW_HARNESS_CLOUDSQL_TEMPLATE = makeTemplate(DB_PASSWORD).dir;
}
