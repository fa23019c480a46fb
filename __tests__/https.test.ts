// Public mode with a domain: Caddy terminates HTTPS on the VM in front of MLflow on 127.0.0.1.
import * as fs from "fs";
import * as path from "path";
import { MlflowValidationError, renderCaddyfile, renderMlflowUnit, renderStartupScript } from "../lib";
import { SCRIPT_OPTIONS, checkCaddyfile, onlyResource, resourcesOf, synthStack, vmScript, TfJson, tool } from "./helpers";

const HTTPS_ACCESS = { mode: "public" as const, domain: "mlflow.example.com", allowedSourceRanges: ["203.0.113.0/24"] };
const ADDRESS = "${google_compute_address.Server_Address_A4786078.address}";

function firewalls(json: TfJson): Record<string, any> {
  return Object.fromEntries(resourcesOf(json, "google_compute_firewall").map(([, f]) => [f.name, f]));
}


describe("public mode with a domain", () => {
  const { json } = synthStack({ access: HTTPS_ACCESS });

  test("snapshot", () => {
    expect(json).toMatchSnapshot();
  });

  test("firewall: 443 from the allowed ranges, 80 from anywhere (ACME), SSH via IAP, MLflow's port nowhere", () => {
    const fw = firewalls(json);
    expect(Object.keys(fw).sort()).toEqual(["mlflow-allow-acme", "mlflow-allow-https", "mlflow-allow-iap", "mlflow-allow-internal", "mlflow-deny-ssh"]);
    expect(fw["mlflow-allow-https"]).toMatchObject({ source_ranges: ["203.0.113.0/24"], allow: [{ protocol: "tcp", ports: ["443"] }] });
    expect(fw["mlflow-allow-acme"]).toMatchObject({ source_ranges: ["0.0.0.0/0"], allow: [{ protocol: "tcp", ports: ["80"] }] });
    expect(fw["mlflow-allow-iap"]).toMatchObject({ allow: [{ protocol: "tcp", ports: ["22"] }] });
    expect(fw["mlflow-allow-internal"]).toMatchObject({ allow: [{ protocol: "tcp", ports: ["443"] }] });
    for (const f of Object.values(fw)) expect(JSON.stringify(f.allow ?? [])).not.toContain("5000");
  });

  test("MLflow listens on 127.0.0.1, accepts the domain as host and as CORS origin", () => {
    const script = vmScript(json);
    expect(script).toContain("--host 127.0.0.1 --port 5000");
    // Behind Caddy only the domain reaches MLflow: no internal IP or DNS name among the hosts.
    expect(script).toContain("--allowed-hosts localhost,localhost:*,127.0.0.1,127.0.0.1:*,0.0.0.0,0.0.0.0:*,mlflow.example.com,mlflow.example.com:443 ");
    expect(script).toContain("--cors-allowed-origins https://mlflow.example.com");
    expect(script).not.toContain(`${ADDRESS}:5000`);
  });

  test("the script installs and configures Caddy", () => {
    const script = vmScript(json);
    expect(script).toContain("DOMAIN=mlflow.example.com");
    expect(script).toContain("reverse_proxy 127.0.0.1:5000");
    expect(script).toMatch(/if \[\[ -n \$DOMAIN \]\]; then OS_PACKAGES\+=\(caddy\); fi/);
  });

  test("tracking_uri is https://<domain>; the A record to create is an output", () => {
    expect(json.output.tracking_uri.value).toBe("https://mlflow.example.com");
    expect(json.output.dns_record_needed.value).toBe(`mlflow.example.com. 300 IN A ${ADDRESS}`);
    expect(json.resource.google_dns_record_set).toBeUndefined();
  });

  test("with dnsZone the stack creates the A record and enables the DNS API", () => {
    const withZone = synthStack({ access: { ...HTTPS_ACCESS, dnsZone: "example-com" } }).json;
    expect(onlyResource(withZone, "google_dns_record_set")).toMatchObject({
      managed_zone: "example-com", name: "mlflow.example.com.", type: "A", ttl: 300, rrdatas: [ADDRESS],
    });
    expect(withZone.output.dns_record_needed).toBeUndefined();
    expect(resourcesOf(withZone, "google_project_service").map(([, s]) => s.service)).toContain("dns.googleapis.com");
  });
});

describe("Caddyfile", () => {
  const caddyfile = renderCaddyfile({ domain: "mlflow.example.com", port: 5000 });

  test("site, reverse proxy to loopback, HSTS, streaming, no body limit", () => {
    expect(caddyfile).toMatch(/^mlflow\.example\.com \{$/m);
    expect(caddyfile).toMatch(/^\treverse_proxy 127\.0\.0\.1:5000 \{$/m);
    expect(caddyfile).toContain('header Strict-Transport-Security "max-age=31536000"');
    expect(caddyfile).toContain("flush_interval -1");
    expect(caddyfile).not.toMatch(/^\s*(request_body|max_size)/m);
  });

  test("caddy validates it (Debian's caddy package)", () => {
    if (!tool("caddy")) return;
    const { config, adaptStatus, validation } = checkCaddyfile(caddyfile);
    expect(adaptStatus).toBe(0);
    const server = Object.values(config.apps.http.servers as Record<string, any>)[0];
    expect(server.listen).toEqual([":443"]);
    const route = server.routes[0];
    expect(route.match).toEqual([{ host: ["mlflow.example.com"] }]);
    const handlers = route.handle[0].routes[0].handle;
    expect(handlers).toEqual(expect.arrayContaining([
      expect.objectContaining({ handler: "reverse_proxy", upstreams: [{ dial: "127.0.0.1:5000" }], flush_interval: -1 }),
    ]));
    expect(validation.output).toContain("Valid configuration");
    expect(validation.status).toBe(0);
    // A stop waits for requests in flight less long than caddy.service's TimeoutStopSec=
    // (5 s, in the caddy package's unit and in the harness's copy of caddyserver/dist's):
    // past that, systemd kills Caddy and the unit fails (the "HTTPS proxy failed" alert).
    expect(config.apps.http.grace_period).toBe(3e9);
    const unit = fs.readFileSync(path.join(__dirname, "script-harness/bin/apt-get"), "utf8");
    expect(unit).toMatch(/^TimeoutStopSec=5s$/m);
    expect(config.apps.http.grace_period / 1e9).toBeLessThan(5);
  });

  test("refuses a domain that is not a DNS name", () => {
    expect(() => renderCaddyfile({ domain: "a.com {\n}", port: 5000 })).toThrow(/not a DNS name/);
  });

  test("the script refuses a domain while MLflow listens on every address", () => {
    expect(() => renderStartupScript({ ...SCRIPT_OPTIONS, domain: "mlflow.example.com", caddyDataDevice: "caddy-data" })).toThrow(/127\.0\.0\.1/);
    expect(() => renderStartupScript({ ...SCRIPT_OPTIONS, domain: "mlflow.example.com", caddyDataDevice: "caddy-data", bindAddress: "127.0.0.1" })).not.toThrow();
    expect(renderMlflowUnit({ ...SCRIPT_OPTIONS, domain: "mlflow.example.com", bindAddress: "127.0.0.1" })).toContain("--host 127.0.0.1");
  });
});

describe("bad domain input", () => {
  test.each([
    ["scheme", "https://mlflow.example.com"],
    ["port", "mlflow.example.com:443"],
    ["space", "mlflow example.com"],
    ["trailing dot", "mlflow.example.com."],
    ["path", "mlflow.example.com/ui"],
    ["capitals", "MLflow.Example.com"],
    ["single label", "mlflow"],
  ])("%s", (_case, domain) => {
    const error = (() => {
      try {
        synthStack({ access: { ...HTTPS_ACCESS, domain } });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(MlflowValidationError);
    expect((error as MlflowValidationError).problems.map((p) => p.path)).toContain("access.domain");
    expect((error as Error).message).toMatch(/access\.domain: .* no scheme \(https:\/\/\), port, path, spaces or trailing dot/);
  });

  test("domain with allowPlaintextHttp is contradictory", () => {
    expect(() => synthStack({ access: { ...HTTPS_ACCESS, allowPlaintextHttp: true } })).toThrow(/access\.allowPlaintextHttp: true is not valid; expected no value with access\.domain/);
  });

  test("dnsZone without a domain, or malformed", () => {
    expect(() => synthStack({ access: { mode: "public", allowedSourceRanges: ["203.0.113.0/24"], allowPlaintextHttp: true, dnsZone: "example-com" } }))
      .toThrow(/access\.dnsZone: "example-com" is not valid; expected no value without access\.domain/);
    expect(() => synthStack({ access: { ...HTTPS_ACCESS, dnsZone: "Example.com" } })).toThrow(/access\.dnsZone: .*Cloud DNS managed zone name/);
  });

  test("public mode without a domain still needs allowPlaintextHttp: true", () => {
    expect(() => synthStack({ access: { mode: "public", allowedSourceRanges: ["203.0.113.0/24"] } })).toThrow(/access\.allowPlaintextHttp/);
  });
});
