// How many PostgreSQL connections an MLflow deployment opens at worst, against the
// `max_connections` of its Cloud SQL instance, and the pool sizes that keep it inside.
//
// Google does not publish the default `max_connections` of every tier in a form we could
// read (only db-f1-micro = 25 is confirmed: cloud.google.com/sql/docs/postgres/faq). So the
// library does not guess it: MlflowDatabase *sets* the `max_connections` flag
// (defaultMaxConnections below, overridable with database.maxConnections), and this budget
// is checked against that value. A changed flag restarts the instance.
//
// What holds connections (MLflow source, mlflow/store/db/utils.py create_sqlalchemy_engine
// and the stores that call it; read at 3.11 and for the auth app after 3.16):
//  - every server process (uvicorn worker) holds one SQLAlchemy engine per store: tracking,
//    model registry and job store, plus the basic-auth store with basic auth;
//  - each engine's QueuePool holds up to pool_size + max_overflow connections, both set
//    through MLFLOW_SQLALCHEMYSTORE_POOL_SIZE / _MAX_OVERFLOW (a 0 is ignored as "unset",
//    so both stay >= 1);
//  - `mlflow gc` (tracking and registry engines), the schema migration, and with job
//    execution MLflow's Huey consumers, each with their own engines;
//  - the `mlflow server` command itself, the parent of the workers: it initializes the
//    tracking and registry stores before it starts uvicorn (mlflow/cli/__init__.py server()
//    calls initialize_backend_stores, then _run_server) and keeps both engines, one idle
//    connection each, for its lifetime (measured on the script harness's real PostgreSQL).

import { Validator, isToken } from "./validation";

/** Connections PostgreSQL keeps for superusers (superuser_reserved_connections, default 3). */
export const SUPERUSER_RESERVED_CONNECTIONS = 3;
/** Connections left free for people: psql, a Cloud SQL Studio session, a backup tool. */
export const ADMIN_HEADROOM_CONNECTIONS = 5;
/** Largest pool (pool + overflow) per engine the library configures. */
export const MAX_CONNECTIONS_PER_ENGINE = 10;
/** Connections the `mlflow server` command process keeps open (tracking and registry engines, one each). */
export const SERVER_COMMAND_CONNECTIONS = 2;
/**
 * Huey consumers MLflow's job runner starts when job execution is on (one per job function
 * plus a periodic one; mlflow/server/jobs/utils.py at 3.11 has three job functions): an
 * estimate, each with a job-store engine.
 */
export const JOB_RUNNER_CONSUMERS = 4;

/**
 * The `max_connections` the library sets for a tier: 25 and 50 for the shared-core tiers,
 * and for custom machines the values commonly quoted as Cloud SQL's defaults by memory
 * (100 below 6 GiB, 200 below 7.5, 400 below 15, 500 below 30, 600 below 60, 800 below
 * 120, 1000 from 120 GiB). Setting them makes them true whatever the defaults are.
 */
export function defaultMaxConnections(tier: string): number {
  if (tier === "db-f1-micro") return 25;
  if (tier === "db-g1-small") return 50;
  const m = /^db-custom-\d+-(\d+)$/.exec(tier);
  if (!m) return 100;
  const gib = Number(m[1]) / 1024;
  const steps: Array<[number, number]> = [[6, 100], [7.5, 200], [15, 400], [30, 500], [60, 600], [120, 800]];
  return steps.find(([below]) => gib < below)?.[1] ?? 1000;
}

/** What runs against the database at the same time, at worst. */
export interface ConnectionDemand {
  /** Server processes at once: instances × workers (× 2 while two revisions overlap). */
  readonly serverProcesses: number;
  /**
   * `mlflow server` commands at once, the parents of those processes: 1 on a VM, one per
   * instance on Cloud Run (× 2 while two revisions overlap).
   * @default 1
   */
  readonly serverCommands?: number;
  readonly basicAuth: boolean;
  readonly enableJobExecution: boolean;
  /** `mlflow gc` runs on a schedule (may overlap the servers). */
  readonly gc: boolean;
  /** A schema migration may run while servers serve (Cloud Run's migration job). */
  readonly concurrentMigration: boolean;
}

/** The pools chosen and the worst case they lead to. */
export interface ConnectionPlan {
  readonly maxConnections: number;
  /** Connections MLflow may use: max_connections less the reserved and the headroom. */
  readonly available: number;
  readonly poolSize: number;
  readonly maxOverflow: number;
  /** Worst case with these pools. */
  readonly worstCase: number;
  /** The worst case, term by term, for messages. */
  readonly terms: readonly string[];
  /** Whether the worst case fits (pools of at least 1 + 1). */
  readonly fits: boolean;
}

/** Engines of one server process. */
export function enginesPerServerProcess(basicAuth: boolean): number {
  return 3 + (basicAuth ? 1 : 0);
}

/**
 * The largest per-engine pool (at most MAX_CONNECTIONS_PER_ENGINE, at least 2: pool 1 +
 * overflow 1) whose worst case fits `maxConnections`.
 */
export function planConnections(demand: ConnectionDemand, maxConnections: number): ConnectionPlan {
  const available = maxConnections - SUPERUSER_RESERVED_CONNECTIONS - ADMIN_HEADROOM_CONNECTIONS;
  const engines = [
    { what: `${demand.serverProcesses} server process${demand.serverProcesses === 1 ? "" : "es"} × ${enginesPerServerProcess(demand.basicAuth)} engines (tracking, registry, jobs${demand.basicAuth ? ", auth" : ""})`,
      count: demand.serverProcesses * enginesPerServerProcess(demand.basicAuth) },
    ...(demand.gc ? [{ what: "mlflow gc × 2 engines", count: 2 }] : []),
    ...(demand.concurrentMigration ? [{ what: "the schema migration × 2 engines (tracking, auth)", count: 2 }] : []),
    ...(demand.enableJobExecution ? [{ what: `${JOB_RUNNER_CONSUMERS} job consumers × 1 engine`, count: JOB_RUNNER_CONSUMERS }] : []),
  ];
  const commands = demand.serverCommands ?? 1;
  const fixed = commands * SERVER_COMMAND_CONNECTIONS;
  const totalEngines = engines.reduce((sum, e) => sum + e.count, 0);
  const perEngine = Math.min(MAX_CONNECTIONS_PER_ENGINE, Math.max(2, Math.floor((available - fixed) / totalEngines)));
  const poolSize = Math.ceil(perEngine / 2);
  const maxOverflow = perEngine - poolSize;
  const worstCase = totalEngines * perEngine + fixed;
  return {
    maxConnections,
    available,
    poolSize,
    maxOverflow,
    worstCase,
    terms: [
      ...engines.map((e) => `${e.what} × ${perEngine} connections`),
      `${commands} mlflow server command${commands === 1 ? "" : "s"} (the workers' parent${commands === 1 ? "" : "s"}) × ${SERVER_COMMAND_CONNECTIONS} idle connections`,
    ],
    fits: worstCase <= available,
  };
}

/** The problem text of a plan that does not fit, for MlflowValidationError. */
export function budgetExpected(plan: ConnectionPlan): string {
  return `a worker count whose worst case fits the database: ${plan.terms.join(" + ")} = ${plan.worstCase} connections, ` +
    `but max_connections ${plan.maxConnections} leaves ${plan.available} (${SUPERUSER_RESERVED_CONNECTIONS} reserved for superusers, ` +
    `${ADMIN_HEADROOM_CONNECTIONS} for administrators); use fewer workers (or instances), a larger database.tier, or a higher database.maxConnections`;
}

/**
 * Adds a problem at `path` when the demand cannot fit `maxConnections` (skipped when it is
 * only known at apply); returns the plan.
 */
export function checkConnectionBudget(v: Validator, path: string, value: unknown, demand: ConnectionDemand,
  maxConnections: number): ConnectionPlan {
  const plan = planConnections(demand, maxConnections);
  if (!isToken(maxConnections) && !plan.fits) v.fail(path, value, budgetExpected(plan));
  return plan;
}
