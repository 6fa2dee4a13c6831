// Host scripts live as .sh files beside the components that run them, so shellcheck and editors
// see real shell. They are read from the source tree both under `pulumi up` (ts-node) and from
// compiled tests in dist/, hence the search for the project root.
import * as fs from "node:fs";
import * as path from "node:path";

let root: string | undefined;

/** Directory holding Pulumi.yaml. */
export function projectRoot(): string {
  if (root) return root;
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, "Pulumi.yaml"))) return (root = dir);
    if (path.dirname(dir) === dir) throw new Error(`gitlab-ha: no Pulumi.yaml above ${__dirname}`);
  }
}

const cache = new Map<string, string>();

/** Reads a file of the project by its path from the project root, e.g. "components/host/scripts/lib.sh". */
export function readAsset(relative: string): string {
  let text = cache.get(relative);
  if (text === undefined) {
    text = fs.readFileSync(path.join(projectRoot(), relative), "utf8");
    cache.set(relative, text);
  }
  return text;
}
