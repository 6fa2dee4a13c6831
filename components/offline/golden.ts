// Golden renders: the offline render of every stack in the repository, committed under
// rendered/<stack>/, so that a pull request shows host by host which files and commands change.
// `npm run render:golden` refreshes them; a unit test fails while they are out of date.
import * as fs from "node:fs";
import * as path from "node:path";
import { projectRoot } from "../host/assets";
import { renderToMap, writeRender } from "./render-cli";

/** Stacks with a Pulumi.<stack>.yaml in the repository. */
export function repositoryStacks(root = projectRoot()): string[] {
  return fs
    .readdirSync(root)
    .map((f) => /^Pulumi\.(.+)\.ya?ml$/.exec(f)?.[1])
    .filter((s): s is string => !!s)
    .sort();
}

export const goldenDir = (stack: string, root = projectRoot()) => path.join(root, "rendered", stack);

/** Files of a committed render, by relative path. */
export function readGolden(stack: string, root = projectRoot()): Map<string, string> {
  const dir = goldenDir(stack, root);
  const files = new Map<string, string>();
  const walk = (d: string) => {
    if (!fs.existsSync(d)) return;
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, e.name);
      if (e.isDirectory()) walk(full);
      else files.set(path.relative(dir, full).split(path.sep).join("/"), fs.readFileSync(full, "utf8"));
    }
  };
  walk(dir);
  return files;
}

async function main(): Promise<void> {
  for (const stack of repositoryStacks()) {
    process.stderr.write(`render:golden: ${stack}\n`);
    writeRender(await renderToMap(stack), goldenDir(stack));
  }
}

if (require.main === module) {
  main().catch((e: unknown) => {
    process.stderr.write(`render:golden: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
