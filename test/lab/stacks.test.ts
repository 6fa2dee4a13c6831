// Lab stacks, plural: two stacks made as engineers make them (`pulumi stack init <name>` with a
// byte copy of Pulumi.lab.yaml) converge AT THE SAME TIME on one Docker engine, each with the
// lab CLI as its own process (`npm run lab -- up --stack <name>`: `pulumi up` through the real
// engine), and clash in nothing;
// destroying one leaves the other's containers, network and state untouched. A third stack set
// to an occupied slot (lab.slot) is refused before it creates anything, naming the clash.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { run, runOk } from "../../components/offline/run";
import { ROOT, stackConfigOf } from "../helpers";
import { ensureDockerEngine, waitFor } from "./bed";

const A = "labstack-a";
const B = "labstack-b";
const C = "labstack-c";
const STACKS = [A, B, C];
const HOSTS = ["pgsql", "pgsq2", "gitlab", "gitlab2", "witness"];
const LAB_FILE = path.join(ROOT, "Pulumi.lab.yaml");
const stackFile = (s: string) => path.join(ROOT, `Pulumi.${s}.yaml`);
const container = (s: string, h: string) => `gitlab-ha-${s}-${h}`;
const network = (s: string) => `gitlab-ha-${s}`;
const KEY = path.join(ROOT, ".lab", "ssh", "id_ed25519");
/** A stack's state in the lab's file backend (project-scoped layout of the CLI's file backend). */
const stateFileOf = (s: string) => path.join(ROOT, ".lab", "pulumi", ".pulumi", "stacks", "gitlab-ha", `${s}.json`);

/** The lab CLI as an engineer runs it, in its own process; resolves with its exit and output. */
function labCli(verb: "up" | "destroy", stack: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [path.join(ROOT, "dist/components/lab/cli.js"), verb, "--stack", stack], { cwd: ROOT });
    let output = "";
    p.stdout.on("data", (d: Buffer) => (output += d.toString()));
    p.stderr.on("data", (d: Buffer) => {
      output += d.toString();
      if (process.env.LAB_VERBOSE) process.stderr.write(`${stack}: ${d.toString()}`);
    });
    p.on("error", reject);
    p.on("close", (code) => resolve({ code: code ?? 1, output }));
  });
}

async function inspect(name: string, format: string): Promise<string | undefined> {
  const r = await run("docker", ["inspect", name, "--format", format]);
  return r.code === 0 ? r.stdout.trim() : undefined;
}
const networkExists = async (name: string) => (await run("docker", ["network", "inspect", name])).code === 0;
const sh = async (s: string, host: string, script: string) => (await runOk("docker", ["exec", container(s, host), "bash", "-c", script])).stdout.trim();
const sha = (file: string) => crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");

/** sshd of a lab host, over its published port on loopback, as the program reaches it. */
async function sshHostname(s: string, host: string): Promise<string> {
  const port = stackConfigOf("lab", s).hosts.find((h) => h.name === host)!.ssh.port!;
  const r = await runOk("ssh", ["-p", String(port), "-i", KEY, "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "UserKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=no", "-o", "LogLevel=ERROR", "root@127.0.0.1", "hostname"]);
  return r.stdout.trim();
}

async function streaming(s: string): Promise<string> {
  const standby = stackConfigOf("lab", s).hosts.find((h) => h.name === "pgsq2")!.address;
  return waitFor(`${s}: pgsq2 streaming`, 60, async () => {
    const row = await sh(s, "pgsql", `runuser -u postgres -- psql -X -At -c "select host(client_addr) || ' ' || state from pg_stat_replication"`);
    return row === `${standby} streaming` ? row : undefined;
  });
}

async function cleanUp(): Promise<void> {
  for (const s of STACKS) {
    if (fs.existsSync(stackFile(s))) await labCli("destroy", s);
    fs.rmSync(stateFileOf(s), { force: true });
  }
  for (const s of STACKS) fs.rmSync(stackFile(s), { force: true });
}

describe("two lab stacks from byte copies of Pulumi.lab.yaml, at the same time", { timeout: 1_800_000 }, () => {
  let ups: { code: number; output: string }[] = [];

  before(async () => {
    await ensureDockerEngine();
    await cleanUp();
    // `pulumi stack init <name>` with the lab config copied: byte copies.
    for (const s of [A, B]) fs.copyFileSync(LAB_FILE, stackFile(s));
    ups = await Promise.all([labCli("up", A), labCli("up", B)]);
  });
  after(async () => {
    if (!process.env.KEEP_LAB) await cleanUp();
    else for (const s of STACKS) fs.rmSync(stackFile(s), { force: true });
  });

  it("both converge, each on its own network and subnet", async () => {
    for (const [i, s] of [A, B].entries()) assert.equal(ups[i]!.code, 0, `${s}:\n${ups[i]!.output.slice(-3000)}`);
    assert.equal(fs.readFileSync(stackFile(A), "utf8"), fs.readFileSync(LAB_FILE, "utf8"), "the stack file is a byte copy");
    const subnets = await Promise.all([A, B].map((s) => inspect(network(s), "{{range .IPAM.Config}}{{.Subnet}}{{end}}")));
    assert.deepEqual(subnets, [A, B].map((s) => stackConfigOf("lab", s).lab!.network.subnet));
    assert.notEqual(subnets[0], subnets[1]);
  });

  it("runs every host of both stacks, each reachable over its own SSH port", async () => {
    for (const s of [A, B]) {
      for (const h of HOSTS) {
        assert.equal(await inspect(container(s, h), "{{.State.Running}}"), "true", `${container(s, h)} running`);
        assert.equal(await sshHostname(s, h), h, `${s}/${h} over SSH`);
      }
      // GitLab's stand-in containers exist, created (the failover engine starts them).
      for (const h of ["gitlab", "gitlab2"]) assert.equal(await inspect(`${container(s, h)}-gitlab`, "{{.State.Status}}"), "created");
    }
  });

  it("streams each stack's PostgreSQL standby from its own primary", async () => {
    for (const s of [A, B]) assert.equal(await streaming(s), `${stackConfigOf("lab", s).hosts.find((h) => h.name === "pgsq2")!.address} streaming`);
  });

  it("refuses a third stack set to an occupied slot before it creates anything, naming the clash and lab.slot", async () => {
    const slot = stackConfigOf("lab", A).lab!.slot!;
    fs.writeFileSync(stackFile(C), fs.readFileSync(LAB_FILE, "utf8").replace("  gitlab-ha:lab:\n", `  gitlab-ha:lab:\n    slot: ${slot}\n`));
    const r = await labCli("up", C);
    assert.equal(r.code, 1, r.output);
    assert.match(r.output, new RegExp(`overlaps network '${network(A)}'`));
    assert.match(r.output, new RegExp(`already published by container '${container(A, "pgsql")}'`));
    assert.match(r.output, new RegExp(`share slot ${slot}: give stack '${C}' a free slot \\(0-199\\) with lab\\.slot`));
    assert.equal(await networkExists(network(C)), false);
    for (const h of HOSTS) assert.equal(await inspect(container(C, h), "{{.Id}}"), undefined, `${container(C, h)} not created`);
  });

  it("destroying one stack leaves the other's containers, network and state untouched", async () => {
    const ids = async (s: string) => Promise.all([...HOSTS, "gitlab-gitlab", "gitlab2-gitlab"].map((h) => inspect(container(s, h), "{{.Id}} {{.State.StartedAt}}")));
    const before = { containers: await ids(B), network: await inspect(network(B), "{{.Id}}"), state: sha(stateFileOf(B)) };
    const r = await labCli("destroy", A);
    assert.equal(r.code, 0, r.output);
    assert.deepEqual(await ids(A), Array(7).fill(undefined), "stack A's containers are gone");
    assert.equal(await networkExists(network(A)), false, "stack A's network is gone");
    assert.equal(fs.existsSync(stateFileOf(A)), false, "stack A's state is gone");
    assert.equal(fs.readFileSync(stackFile(A), "utf8"), fs.readFileSync(LAB_FILE, "utf8"), "stack A's file is kept as it was");
    assert.deepEqual(await ids(B), before.containers, "stack B's containers are the same, never restarted");
    assert.equal(await inspect(network(B), "{{.Id}}"), before.network);
    assert.equal(sha(stateFileOf(B)), before.state);
    assert.equal(await sshHostname(B, "pgsql"), "pgsql");
    await streaming(B);
  });
});
