// Terraform reads ${…} and %{…} in every string of the synthesized JSON. The only ones left
// must be references to things the stack declares; the script's shell syntax must reach the
// VM unchanged.
import { synthStack, vmScript, TfJson, SCRIPT_OPTIONS, TEST_CA_PEM } from "./helpers";
import { renderStartupScript } from "../lib";

const SCENARIOS: Array<[string, object]> = [
  ["private default", {}],
  ["public plain HTTP", { access: { mode: "public", allowedSourceRanges: ["203.0.113.0/24"], allowPlaintextHttp: true } }],
  ["existing network", { network: { existingNetwork: "default", existingSubnetwork: "default" } }],
  ["no basic auth", { auth: { basicAuth: false } }],
  ["cloud run, iap", { server: { kind: "cloud-run" }, access: { iapMembers: ["group:ml@example.com"] } }],
  ["cloud run, internal", { server: { kind: "cloud-run" }, access: { mode: "internal", invokerMembers: ["serviceAccount:t@p.iam.gserviceaccount.com"] } }],
];

/** Every live interpolation (`${` not escaped as `$${`) and template directive in a text. */
function liveInterpolations(text: string): string[] {
  return [...text.matchAll(/(?<!\$)\$\{([^}]*)\}/g)].map((m) => m[1]);
}

function declared(json: TfJson): Set<string> {
  const names = new Set<string>();
  for (const [type, rs] of Object.entries(json.resource)) for (const n of Object.keys(rs)) names.add(`${type}.${n}`);
  for (const [type, ds] of Object.entries(json.data ?? {})) for (const n of Object.keys(ds)) names.add(`data.${type}.${n}`);
  return names;
}

describe.each(SCENARIOS)("%s", (_name, props) => {
  const { json, text } = synthStack(props);

  test("every ${…} in the JSON refers to a declared resource or data source", () => {
    const known = declared(json);
    // `self` is the object a lifecycle condition belongs to (the existing subnetwork's
    // Private Google Access postcondition); it appears nowhere else.
    const conditions = new Set(Object.values(json.data?.google_compute_subnetwork ?? {})
      .flatMap((d: any) => (d.lifecycle?.postcondition ?? []).map((c: any) => c.condition)));
    const found = liveInterpolations(text).filter((expr) => !(expr.startsWith("self.") && conditions.has(`\${${expr}}`)));
    expect(found.length).toBeGreaterThan(0);
    for (const expr of found) {
      // A function call (the migration job's token): every reference in it must be declared.
      if (/^[a-z0-9]+\(/.test(expr)) {
        const refs = [...expr.replace(/"[^"]*"/g, "").matchAll(/\b((?:data\.)?[a-z0-9_]+\.[A-Za-z0-9_-]+)\./g)].map((m) => m[1]);
        expect(refs.length).toBeGreaterThan(0);
        for (const ref of refs) expect({ expr, ref, ok: known.has(ref) }).toEqual({ expr, ref, ok: true });
        continue;
      }
      const m = /^(data\.[a-z0-9_]+\.[A-Za-z0-9_-]+|[a-z0-9_]+\.[A-Za-z0-9_-]+)(\.[a-z0-9_]+(\[\d+\])?)*$/.exec(expr);
      expect({ expr, ok: m !== null && known.has(m[1]) }).toEqual({ expr, ok: true });
    }
  });

  test("no live %{…} template directive anywhere", () => {
    expect(text).not.toMatch(/(?<!%)%\{/);
  });

  test("the script the VM receives is the rendered template, shell syntax intact", () => {
    if (!json.resource.google_compute_instance) {
      // Cloud Run: the program texts in the containers reach Python unchanged.
      const text = JSON.stringify(json.resource.google_cloud_run_v2_service);
      expect(text).toContain("quote = lambda s: urllib.parse.quote(s, safe=");
      expect(liveInterpolations(text).every((r) => /^(google_|data\.google_)/.test(r))).toBe(true);
      return;
    }
    const script = vmScript(json);
    expect(script).toContain("dpkg-query -W -f='${Status}'");
    expect(script).toContain('"${PYTHON_REQUIREMENTS[@]}"');
    // Only the construct's own references remain as Terraform interpolations.
    const refs = liveInterpolations(JSON.stringify(json.resource.google_compute_instance));
    for (const r of refs) expect(r).toMatch(/^(google_|data\.google_)/);
  });
});

test("the synthesized script equals renderStartupScript with the references filled in", () => {
  const { json } = synthStack();
  const script = vmScript(json)
    .replace("'${google_sql_database_instance.Database_B269D8BB.private_ip_address}'", "10.91.0.3")
    .replace("'${google_sql_database_instance.Database_B269D8BB.server_ca_cert[0].cert}'", `'${TEST_CA_PEM}'`)
    .replace("acme-ml-prod/${google_sql_database_instance.Database_B269D8BB.name}", "acme-ml-prod/mlflow-db")
    .replace(/\$\{google_compute_address\.Server_InternalAddress_[0-9A-F]+\.address\}/g, "10.20.0.2")
    // The destination of the server and of gc.
    .replace(/\$\{google_storage_bucket\.ArtifactStore_8A81FDFB\.name\}/g, "acme-ml-prod-mlflow-artifacts");
  const internalNames = ["mlflow-server.europe-west1-b.c.acme-ml-prod.internal", "mlflow-server.c.acme-ml-prod.internal"];
  expect(script).toBe(renderStartupScript({
    ...SCRIPT_OPTIONS,
    endpoints: [...SCRIPT_OPTIONS.endpoints!, ...internalNames.map((host) => ({ scheme: "http" as const, host, port: 5000 }))],
  }));
});
