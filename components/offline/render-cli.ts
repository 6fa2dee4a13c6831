// npm run render -- --stack <name> [--out <dir>] (RENDER_CLI below)
// Evaluates the program for Pulumi.<name>.yaml with no CLI, backend or host and writes what it
// would do (default rendered/<name>/). An invalid config writes nothing and exits non-zero.
import * as fs from "node:fs";
import * as path from "node:path";
import * as YAML from "yaml";
import { cliArgs, CliSpec, stringOpt } from "../cli/args";
import { ConfigError } from "../config/load";
import { projectRoot } from "../host/assets";
import { evaluateProgram } from "./evaluate";
import { renderStack } from "./render";
import { readStackFile, StackFileError } from "./stack-file";

export async function renderToMap(stack: string, projectDir = projectRoot()): Promise<Map<string, string>> {
  const file = readStackFile(projectDir, stack);
  return renderStack(await evaluateProgram({ ...file, projectDir, preview: true }));
}

/** Replaces `outDir` with the rendered files (written beside it first, then swapped in). */
export function writeRender(files: Map<string, string>, outDir: string): void {
  const tmp = `${outDir}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  for (const [rel, content] of files) {
    const full = path.join(tmp, rel);
    fs.mkdirSync(path.dirname(full), { recursive: true });
    fs.writeFileSync(full, content);
  }
  fs.rmSync(outDir, { recursive: true, force: true });
  fs.mkdirSync(path.dirname(outDir), { recursive: true });
  fs.renameSync(tmp, outDir);
}

export const RENDER_CLI: CliSpec = {
  name: "render",
  usage: "npm run render -- --stack <name> [--out <dir>]",
  summary: [
    "Evaluates the program for Pulumi.<name>.yaml offline (no Pulumi CLI, backend or host) and writes",
    "what it would do: commands per host, files, resources. Exit 1 on an invalid config, 3 on a policy violation.",
  ],
  options: {
    stack: { value: "<name>", required: true, help: "the stack file Pulumi.<name>.yaml" },
    out: { value: "<dir>", help: "output directory (default rendered/<name>/)" },
  },
};

async function main(): Promise<void> {
  const args = cliArgs(RENDER_CLI);
  const stack = stringOpt(args, "stack")!;
  const out = stringOpt(args, "out");
  const root = projectRoot();
  const outDir = path.resolve(out ?? path.join(root, "rendered", stack));
  process.stderr.write(`render: evaluating stack ${stack} offline\n`);
  const files = await renderToMap(stack, root);
  writeRender(files, outDir);
  process.stderr.write(`render: wrote ${files.size} files to ${path.relative(process.cwd(), outDir) || "."}\n`);
  const violations = YAML.parse(files.get("policy.yaml")!) as { policy: string; resource: string; message: string }[];
  if (violations.length) {
    for (const v of violations) process.stderr.write(`render: policy ${v.policy} violated by ${v.resource}: ${v.message}\n`);
    process.exitCode = 3;
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    if (err instanceof ConfigError || err instanceof StackFileError) process.stderr.write(`render: ${err.message}\n`);
    else process.stderr.write(`render: failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exit(1);
  });
}
