// Creates the program's docker.Network and docker.Container resources on a real engine with the
// docker CLI, from the very inputs the program gave them. Inputs this driver does not implement
// are refused by name, so a new input in the program cannot be silently ignored in the lab.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { run, runOk } from "./run";

type Values = Record<string, unknown>;
const HASH_LABEL = "gitlab-ha.inputs";

function refuseUnknown(kind: string, values: Values, known: readonly string[]): void {
  const extra = Object.keys(values).filter((k) => !known.includes(k));
  if (extra.length) throw new Error(`lab executor: ${kind} input(s) ${extra.join(", ")} not implemented`);
}

const dockerEnv = (host: string): NodeJS.ProcessEnv => ({ ...process.env, DOCKER_HOST: host });

export async function ensureNetwork(values: Values, engine: string): Promise<boolean> {
  refuseUnknown("docker.Network", values, ["name", "driver", "ipamConfigs"]);
  const name = String(values.name);
  const env = dockerEnv(engine);
  const subnets = ((values.ipamConfigs as { subnet: string }[] | undefined) ?? []).map((c) => c.subnet);
  const existing = await run("docker", ["network", "inspect", name, "--format", "{{range .IPAM.Config}}{{.Subnet}} {{end}}"], { env });
  if (existing.code === 0) {
    if (existing.stdout.trim() === subnets.join(" ")) return false;
    await runOk("docker", ["network", "rm", name], { env });
  }
  await runOk("docker", ["network", "create", "--driver", String(values.driver ?? "bridge"), ...subnets.flatMap((s) => ["--subnet", s]), name], { env });
  return true;
}

const CONTAINER_INPUTS = [
  "name", "hostname", "image", "command", "capabilities", "securityOpts", "tmpfs", "volumes",
  "networksAdvanced", "ports", "uploads", "restart", "labels", "envs", "shmSize", "healthcheck", "start",
  "mounts", "destroyGraceSeconds", "mustRun",
] as const;

/** Creates the container unless one with the same inputs runs; replaces it otherwise. */
export async function ensureContainer(values: Values, engine: string, inputsHash: string): Promise<boolean> {
  refuseUnknown("docker.Container", values, CONTAINER_INPUTS);
  const env = dockerEnv(engine);
  const name = String(values.name);
  const current = await run("docker", ["inspect", name, "--format", `{{index .Config.Labels "${HASH_LABEL}"}} {{.State.Running}}`], { env });
  if (current.code === 0) {
    if (current.stdout.trim() === `${inputsHash} ${values.start === false ? "false" : "true"}`) return false;
    // Replace: delete before create, as the provider does (a graceful stop first when asked).
    if (values.destroyGraceSeconds !== undefined) await run("docker", ["stop", "--time", String(Number(values.destroyGraceSeconds)), name], { env });
    await runOk("docker", ["rm", "-f", name], { env });
  }
  const args = ["create", "--name", name, "--label", `${HASH_LABEL}=${inputsHash}`];
  if (values.hostname) args.push("--hostname", String(values.hostname));
  for (const c of (values.capabilities as { adds?: string[] } | undefined)?.adds ?? []) args.push("--cap-add", c);
  for (const s of (values.securityOpts as string[] | undefined) ?? []) args.push("--security-opt", s);
  for (const [p, o] of Object.entries((values.tmpfs as Record<string, string> | undefined) ?? {})) args.push("--tmpfs", o ? `${p}:${o}` : p);
  for (const v of (values.volumes as { hostPath: string; containerPath: string; readOnly?: boolean }[] | undefined) ?? []) {
    args.push("-v", `${v.hostPath}:${v.containerPath}${v.readOnly ? ":ro" : ""}`);
  }
  for (const m of (values.mounts as { type: string; source?: string; target: string; readOnly?: boolean }[] | undefined) ?? []) {
    if (m.type !== "bind" || !m.source || /,/.test(m.source + m.target)) throw new Error(`lab executor: mount ${JSON.stringify(m)} not implemented (bind mounts only)`);
    args.push("--mount", `type=bind,source=${m.source},target=${m.target}${m.readOnly ? ",readonly" : ""}`);
  }
  const networks = (values.networksAdvanced as { name: string; ipv4Address?: string }[] | undefined) ?? [];
  if (networks.length > 1) throw new Error("lab executor: containers on more than one network are not implemented");
  for (const n of networks) args.push("--network", n.name, ...(n.ipv4Address ? ["--ip", n.ipv4Address] : []));
  for (const p of (values.ports as { internal: number; external?: number; ip?: string; protocol?: string }[] | undefined) ?? []) {
    args.push("-p", `${p.ip ? `${p.ip}:` : ""}${p.external ?? ""}:${p.internal}/${p.protocol ?? "tcp"}`);
  }
  if (values.restart) args.push("--restart", String(values.restart));
  for (const l of (values.labels as { label: string; value: string }[] | undefined) ?? []) args.push("--label", `${l.label}=${l.value}`);
  for (const e of (values.envs as string[] | undefined) ?? []) args.push("-e", e);
  if (values.shmSize !== undefined) args.push("--shm-size", `${Number(values.shmSize)}m`);
  const hc = values.healthcheck as { tests: string[]; interval?: string; timeout?: string; retries?: number; startPeriod?: string } | undefined;
  if (hc) {
    const [kind, ...cmd] = hc.tests;
    if (kind !== "CMD" && kind !== "CMD-SHELL") throw new Error(`lab executor: healthcheck ${kind} not implemented`);
    args.push("--health-cmd", kind === "CMD" ? cmd.map((c) => (/^[A-Za-z0-9_./:=-]+$/.test(c) ? c : `'${c.replace(/'/g, `'\\''`)}'`)).join(" ") : cmd.join(" "));
    if (hc.interval) args.push("--health-interval", hc.interval);
    if (hc.timeout) args.push("--health-timeout", hc.timeout);
    if (hc.retries !== undefined) args.push("--health-retries", String(hc.retries));
    if (hc.startPeriod) args.push("--health-start-period", hc.startPeriod);
  }
  args.push(String(values.image), ...((values.command as string[] | undefined) ?? []));
  await runOk("docker", args, { env });

  // Uploads go in before the first start, as a tar from / (parent directories included), as the
  // provider does.
  const uploads = (values.uploads as { file: string; content: string; permissions?: string }[] | undefined) ?? [];
  if (uploads.length) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gitlab-ha-upload-"));
    try {
      for (const u of uploads) {
        const local = path.join(dir, u.file);
        fs.mkdirSync(path.dirname(local), { recursive: true });
        fs.writeFileSync(local, u.content);
        fs.chmodSync(local, parseInt(u.permissions ?? "0644", 8));
      }
      const tar = path.join(os.tmpdir(), `gitlab-ha-upload-${process.pid}.tar`);
      await runOk("tar", ["-C", dir, "--owner=0", "--group=0", "-cf", tar, "."]);
      try {
        await runOk("docker", ["cp", "-", `${name}:/`], { env, stdin: fs.readFileSync(tar) });
      } finally {
        fs.rmSync(tar, { force: true });
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  if (values.start !== false) await runOk("docker", ["start", name], { env });
  // The provider reads the container back after creating it and, when it is not running while
  // must_run (default true) is set, deletes it and fails (kreuzwerker
  // resource_docker_container_funcs.go resourceDockerContainerRead): so does the executor.
  if (values.mustRun !== false) {
    const state = await run("docker", ["inspect", name, "--format", "{{.State.Running}}"], { env });
    if (state.stdout.trim() !== "true") {
      await run("docker", ["rm", "-f", name], { env });
      throw new Error(`docker.Container ${name}: container failed to be in running state (set mustRun: false for a container created stopped)`);
    }
  }
  return true;
}

export async function removeContainer(name: string, engine: string): Promise<void> {
  await run("docker", ["rm", "-f", name], { env: dockerEnv(engine) });
}

export async function removeNetwork(name: string, engine: string): Promise<void> {
  await run("docker", ["network", "rm", name], { env: dockerEnv(engine) });
}
