// jest globalTeardown of `npm run test:script`: removes the template made by global-setup.ts.
import * as fs from "fs";

export default function globalTeardown(): void {
  const dir = process.env.MLFLOW_HARNESS_CLOUDSQL_TEMPLATE;
  if (dir && !process.env.KEEP_VMS) fs.rmSync(dir, { recursive: true, force: true });
}
