// A loopback stand-in of GitLab's runner API, shared by the runner tests. It answers each endpoint
// with the status gitlab-runner expects of GitLab (network/gitlab.go: RegisterRunner 201,
// VerifyRunner 200 with {id, token, token_expires_at}, UnregisterRunner and UnregisterRunnerManager
// 204, RequestJob 204 when there is no job, ResetToken 201), 403 {"message":"403 Forbidden"} for a
// token it does not know, and 404 for any other path. Tokens come from the body (JSON, form or
// multipart) or the RUNNER-TOKEN header (network.RunnerTokenHeader); when both are sent they must
// agree. Every request is recorded.
import * as fs from "node:fs";
import * as http from "node:http";
import * as path from "node:path";
import type { RunnersConfig } from "../components/config/schema";
import { renderScript } from "../components/host/script";
import { run, type RunResult } from "../components/offline/run";
import { tokenLines } from "../components/runner/host";
import { renderRunnerConfig } from "../components/runner/render";
import { shellcheck } from "./helpers";
import type { AddressInfo } from "node:net";

export interface SeenRequest {
  readonly method: string;
  readonly path: string;
  readonly contentType: string;
  /** The RUNNER-TOKEN header, if sent. */
  readonly runnerToken: string | undefined;
  readonly body: string;
}

interface Runner {
  readonly id: number;
  /** ISO time, or null: GitLab sends null when the instance sets no token expiry. */
  readonly expiresAt: string | null;
  readonly managers: Set<string>;
}

const API = "/api/v4";

/** Fields of a request body: JSON object, application/x-www-form-urlencoded, or multipart/form-data. */
export function bodyFields(contentType: string, body: string): Record<string, string> {
  if (contentType.startsWith("application/json")) {
    const o = JSON.parse(body || "{}") as Record<string, unknown>;
    return Object.fromEntries(Object.entries(o).filter(([, v]) => typeof v === "string" || typeof v === "number").map(([k, v]) => [k, String(v)]));
  }
  if (contentType.startsWith("multipart/form-data")) {
    const fields: Record<string, string> = {};
    for (const m of body.matchAll(/Content-Disposition: form-data; name="([^"]+)"(?:; filename="[^"]*")?\r\n(?:[^\r\n]+\r\n)*\r\n([\s\S]*?)\r\n--/g)) fields[m[1]!] = m[2]!;
    return fields;
  }
  return Object.fromEntries(new URLSearchParams(body));
}

export class GitlabApiStandIn {
  readonly requests: SeenRequest[] = [];
  /** Runner authentication tokens (glrt- or issued to legacy registrations) it accepts. */
  private readonly runners = new Map<string, Runner>();
  private readonly registrationTokens = new Set<string>();
  private nextId = 100;
  private issued = 0;

  private constructor(private readonly server: http.Server, readonly url: string) {}

  static async start(): Promise<GitlabApiStandIn> {
    let standIn: GitlabApiStandIn | undefined;
    const server = http.createServer((req, res) => {
      let body = "";
      req.on("data", (d: Buffer) => (body += d.toString()));
      req.on("end", () => standIn!.answer(req, body, res));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    standIn = new GitlabApiStandIn(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return standIn;
  }

  /** A runner created in GitLab (its glrt- token), as the UI or POST /user/runners makes one. */
  createRunner(token: string, o: { expiresAt?: string | null } = {}): number {
    const id = this.nextId++;
    this.runners.set(token, { id, expiresAt: o.expiresAt === undefined ? null : o.expiresAt, managers: new Set() });
    return id;
  }

  /** A registration token (legacy flow) that POST /runners accepts. */
  allowRegistrationToken(token: string): void {
    this.registrationTokens.add(token);
  }

  knows(token: string): boolean {
    return this.runners.has(token);
  }

  managersOf(token: string): string[] {
    return [...(this.runners.get(token)?.managers ?? [])];
  }

  reset(): void {
    this.requests.length = 0;
  }

  close(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }

  private answer(req: http.IncomingMessage, body: string, res: http.ServerResponse): void {
    const contentType = String(req.headers["content-type"] ?? "");
    const header = req.headers["runner-token"];
    const runnerToken = typeof header === "string" ? header : undefined;
    const seen: SeenRequest = { method: req.method!, path: req.url!, contentType, runnerToken, body };
    this.requests.push(seen);
    const json = (status: number, value?: unknown) => {
      if (value === undefined) res.writeHead(status).end();
      else res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(value));
    };
    const forbidden = () => json(403, { message: "403 Forbidden" });
    let fields: Record<string, string>;
    try {
      fields = bodyFields(contentType, body);
    } catch {
      return json(400, { error: "body is not valid JSON" });
    }
    if (runnerToken !== undefined && fields.token !== undefined && runnerToken !== fields.token) return json(400, { error: "RUNNER-TOKEN and token differ" });
    const token = fields.token ?? runnerToken ?? "";
    const route = `${req.method} ${(req.url ?? "").split("?")[0]}`;
    const runner = this.runners.get(token);
    const manager = () => {
      if (runner && fields.system_id) runner.managers.add(fields.system_id);
    };
    switch (route) {
      case `POST ${API}/runners`: {
        if (!this.registrationTokens.has(token)) return forbidden();
        const issued = `t1_issued${++this.issued}_${Math.random().toString(36).slice(2, 10)}`;
        const id = this.nextId++;
        this.runners.set(issued, { id, expiresAt: null, managers: new Set() });
        return json(201, { id, token: issued, token_expires_at: null });
      }
      case `POST ${API}/runners/verify`:
        if (!runner) return forbidden();
        manager();
        return json(200, { id: runner.id, token, token_expires_at: runner.expiresAt });
      case `DELETE ${API}/runners`:
        if (!runner) return forbidden();
        this.runners.delete(token);
        return json(204);
      case `DELETE ${API}/runners/managers`:
        if (!runner) return forbidden();
        if (!fields.system_id || !runner.managers.delete(fields.system_id)) return json(404, { message: "404 Not Found" });
        return json(204);
      case `POST ${API}/jobs/request`:
        if (!runner) return forbidden();
        manager();
        return json(204);
      case `POST ${API}/runners/reset_authentication_token`: {
        if (!runner) return forbidden();
        const fresh = `glrt-rotated${++this.issued}_${Math.random().toString(36).slice(2, 10)}`;
        const expiresAt = new Date(Date.now() + 30 * 86400_000).toISOString();
        this.runners.delete(token);
        this.runners.set(fresh, { ...runner, expiresAt });
        return json(201, { token: fresh, token_expires_at: expiresAt });
      }
      default:
        return json(404, { error: "404 Not Found" });
    }
  }
}

/**
 * Runs the program's runner register step (components/runner/scripts/register.sh, shellcheck-clean)
 * for the named runners against a GitLab URL, with their tokens on stdin as the program sends them,
 * in `dir` standing for /etc/gitlab-runner. No token may appear in the step's output.
 */
export async function runRegisterStep(o: {
  readonly dir: string;
  readonly runners: RunnersConfig;
  readonly names: readonly string[];
  readonly url: string;
  readonly tokens: Record<string, { token?: string; registrationToken?: string }>;
  readonly descriptions?: readonly string[];
  readonly tags?: readonly string[];
}): Promise<RunResult> {
  const { dir, names, url } = o;
  const mine = o.runners.runners.filter((r) => names.includes(r.name)).map((r) => ({ ...r, url }));
  fs.writeFileSync(path.join(dir, "config.toml.tmpl"), renderRunnerConfig(o.runners, mine, url));
  const script = renderScript({
    description: "test",
    host: "r1",
    vars: {
      TOKEN_DIR: path.join(dir, "tokens"),
      SYSTEM_ID_FILE: path.join(dir, ".runner_system_id"),
      TEMPLATE: path.join(dir, "config.toml.tmpl"),
      CONFIG_FILE: path.join(dir, "config.toml"),
      RUNNER_NAMES: [...names],
      RUNNER_URLS: names.map(() => url),
      RUNNER_DESCRIPTIONS: [...(o.descriptions ?? names)],
      RUNNER_TAGS: [...(o.tags ?? names.map(() => ""))],
    },
    bodies: ["components/runner/scripts/register.sh"],
  });
  const findings = shellcheck(script);
  if (findings) throw new Error(`register step is not shellcheck-clean:\n${findings}`);
  const r = await run("bash", ["-c", script], { stdin: tokenLines(JSON.stringify(o.tokens), [...names]) });
  for (const t of Object.values(o.tokens).flatMap((x) => [x.token, x.registrationToken])) {
    if (t && (r.stdout.includes(t) || r.stderr.includes(t))) throw new Error("a token appears in the register step's output");
  }
  return r;
}
