// The offline render: what a stack would create, laid out for pull-request review. Pure: from an
// evaluation and the stack's config to a map of relative file paths to contents.
import * as YAML from "yaml";
import { hostOf as hostInHeader } from "../host/script";
import { SECRET, type Evaluation, type EvaluatedResource } from "./evaluate";
import { checkAll, type Violation } from "../policy/pack/checks";
import { dependencies, topologicalOrder } from "./graph";

const REMOTE_COMMAND = "command:remote:Command";
const LOCAL_COMMAND = "command:local:Command";
const HOST_FILE = "gitlab-ha:host:File";

const yaml = (v: unknown) => YAML.stringify(v, { lineWidth: 0, blockQuote: "literal" });

/** The host a remote command runs on, from its script header. */
function hostOf(r: EvaluatedResource): string {
  const host = hostInHeader(String(r.display.create));
  if (!host) throw new Error(`${r.id}: its command names no host`);
  return host;
}

export function renderStack(evaluation: Evaluation): Map<string, string> {
  const files = new Map<string, string>();
  const { resources } = evaluation;
  const deps = dependencies(resources);

  files.set(
    "resources.yaml",
    yaml(
      resources.map((r) => ({
        type: r.type,
        name: r.name,
        ...(r.parent ? { parent: r.parent } : {}),
        ...(deps.get(r.id)!.size ? { dependsOn: [...deps.get(r.id)!].sort() } : {}),
        ...(Object.keys(r.options).length ? { options: r.options } : {}),
        inputs: r.display,
      })),
    ),
  );
  files.set("outputs.yaml", yaml(evaluation.outputs));
  files.set("policy.yaml", yaml(policyViolations(evaluation)));

  // Files the program places, under their target path on each host.
  const fileOfCommand = new Map<string, string>();
  for (const r of resources.filter((x) => x.type === HOST_FILE)) {
    const write = resources.find((c) => c.parent === r.id && c.type === REMOTE_COMMAND)!;
    const host = hostOf(write);
    const target = String(r.display.path);
    const content = r.display.content === SECRET ? `${SECRET}\n` : String(r.display.content);
    files.set(`hosts/${host}/files${target}`, content);
    fileOfCommand.set(write.id, `files${target} (mode ${r.display.mode}, ${r.display.owner}:${r.display.group})`);
  }

  // Commands, per host, in the order the engine may run them.
  const scripts = new Map<string, string[]>();
  const ordered = topologicalOrder(resources);
  for (const r of ordered.filter((x) => x.type === REMOTE_COMMAND || x.type === LOCAL_COMMAND)) {
    const where = r.type === LOCAL_COMMAND ? "local" : `hosts/${hostOf(r)}`;
    const list = scripts.get(where) ?? [];
    const stdin = r.display.stdin === undefined ? "none" : fileOfCommand.get(r.id) ?? (r.display.stdin === SECRET ? SECRET : "given");
    const header = [
      `# [${list.length + 1}] ${r.name}`,
      `#     after: ${[...deps.get(r.id)!].map((d) => d.split("::")[1]).sort().join(", ") || "-"}`,
      `#     stdin: ${stdin}`,
      ...(r.display.triggers ? [`#     re-run when changed: ${JSON.stringify(r.display.triggers)}`] : []),
    ];
    const body = [String(r.display.create)];
    if (r.display.delete) body.push(`# on delete:\n${String(r.display.delete)}`);
    list.push([...header, ...body].join("\n"));
    scripts.set(where, list);
  }
  for (const [where, list] of scripts) {
    files.set(`${where}/commands.sh`, `# Commands of ${where}, in order (gitlab-ha offline render).\n\n${list.join("\n\n")}\n`);
  }
  return new Map([...files].sort(([a], [b]) => a.localeCompare(b)));
}

/** The policy pack's checks, on what the render shows (secrets as "[secret]"). */
export function policyViolations(evaluation: Evaluation): Violation[] {
  return checkAll(
    evaluation.resources.map((r) => ({
      type: r.type,
      name: r.name,
      props: r.display,
      ...(r.options.deleteBeforeReplace ? { deleteBeforeReplace: true } : {}),
      ...(r.options.protect ? { protect: true } : {}),
    })),
  );
}
