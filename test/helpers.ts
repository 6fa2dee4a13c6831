// Shared by the tests: evaluate a stack file of the repository under mocks, as the render does.
import { execFileSync } from "node:child_process";
import { projectRoot } from "../components/host/assets";
import { evaluateProgram, Evaluation, EvaluatedResource } from "../components/offline/evaluate";
import { readStackFile } from "../components/offline/stack-file";
import { rawConfig, validateConfig } from "../components/config/load";
import type { StackConfig } from "../components/config/schema";

export const ROOT = projectRoot();

export async function evaluateStack(
  stackFile: string,
  o: { overrides?: Record<string, unknown>; preview?: boolean; computed?: (type: string, name: string) => Record<string, unknown>; stack?: string } = {},
): Promise<Evaluation> {
  const file = readStackFile(ROOT, stackFile, o.overrides);
  return evaluateProgram({ ...file, stack: o.stack ?? file.stack, projectDir: ROOT, preview: o.preview ?? true, ...(o.computed ? { computed: o.computed } : {}) });
}

export const byName = (e: Evaluation, name: string): EvaluatedResource => {
  const r = e.resources.find((x) => x.name === name);
  if (!r) throw new Error(`no resource named ${name}; have ${e.resources.map((x) => x.name).join(", ")}`);
  return r;
};

export const commandsOf = (e: Evaluation) => e.resources.filter((r) => r.type === "command:remote:Command");

/** Runs shellcheck on a script; returns its findings (empty when clean). */
export function shellcheck(script: string): string {
  try {
    execFileSync("shellcheck", ["-s", "bash", "-"], { input: script, stdio: ["pipe", "pipe", "pipe"] });
    return "";
  } catch (e) {
    return String((e as { stdout?: Buffer }).stdout ?? e);
  }
}

/**
 * Evaluates a gitlab.rb with Ruby, the way Omnibus reads it (settings hashes, external_url),
 * with File.read answering from a stand-in; prints the settings as JSON.
 */
export function rubySettings(config: string, files: Record<string, string> = {}): Record<string, unknown> {
  const program = `
    require "json"
    FILES = JSON.parse(${JSON.stringify(JSON.stringify(files))})
    class File; def self.read(p) = FILES.fetch(p) { raise "unexpected read of #{p}" }; end
    S = Hash.new { |h, k| h[k] = {} }
    def external_url(u) = (S["external_url"] = u)
    def postgresql = S["postgresql"]
    def gitlab_rails = S["gitlab_rails"]
    def letsencrypt = S["letsencrypt"]
    def nginx = S["nginx"]
    def puma = S["puma"]
    def sidekiq = S["sidekiq"]
    eval(STDIN.read)
    puts JSON.generate(S)`;
  return JSON.parse(execFileSync("ruby", ["-e", program], { input: config, encoding: "utf8" })) as Record<string, unknown>;
}


/**
 * A stack file's validated config as the program sees it under the stack name `stack` (lab
 * stacks derive their network, addresses and ports from it: components/lab/slots.ts).
 */
export function stackConfigOf(stackFile: string, stack = stackFile, overrides?: Record<string, unknown>): StackConfig {
  const f = readStackFile(ROOT, stackFile, overrides);
  return validateConfig(rawConfig(f.config, (k) => f.secretKeys.includes(k)), { project: f.project, stack }).config;
}

/** A lab host's derived address in a stack made from Pulumi.lab.yaml. */
export const labAddress = (host: string, stack = "lab"): string => stackConfigOf("lab", stack).hosts.find((h) => h.name === host)!.address;
