// Evaluates the Pulumi program without the CLI, a backend or any host: the runtime's mocks stand
// in for the engine, and a stack transformation records every resource as the program declares
// it (type, name, parent, options and inputs with their secret and unknown markers). The offline
// render and the operator commands (their SSH connections, connections.ts) work from this record,
// so neither keeps a copy of the program.
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";

/** Shown instead of a secret value. */
export const SECRET = "[secret]";
/** Shown instead of a value not known before the resources exist. */
export const UNKNOWN = "[unknown]";

export interface EvaluatedResource {
  /** `<type>::<name>`, unique in a stack. */
  readonly id: string;
  readonly type: string;
  readonly name: string;
  readonly custom: boolean;
  readonly parent?: string;
  /** Explicit `dependsOn`, as ids. */
  readonly dependsOn: readonly string[];
  /** Resources whose outputs flow into the inputs, as ids. */
  readonly inputDependencies: readonly string[];
  /** Inputs with secrets as "[secret]" and unknowns as "[unknown]": safe to write and show. */
  readonly display: Record<string, unknown>;
  /** Inputs with secret values in clear: only for the operator commands' SSH and the tests, never written anywhere. */
  readonly values: Record<string, unknown>;
  readonly options: {
    readonly deleteBeforeReplace?: boolean;
    readonly protect?: boolean;
    readonly retainOnDelete?: boolean;
    readonly additionalSecretOutputs?: readonly string[];
    readonly provider?: string;
  };
}

export interface Evaluation {
  readonly resources: readonly EvaluatedResource[];
  readonly outputs: Record<string, unknown>;
}

export interface EvaluateOptions {
  readonly project: string;
  readonly stack: string;
  /** Config by full key (`gitlab-ha:hosts`), values as the CLI passes them (objects as JSON text). */
  readonly config: Readonly<Record<string, string>>;
  readonly secretKeys: readonly string[];
  /** Plans as `pulumi preview` (unknowns stay unknown) rather than `pulumi up`. */
  readonly preview: boolean;
  /** Output properties the engine would compute (e.g. a generated password), by resource. */
  readonly computed?: (type: string, name: string) => Record<string, unknown>;
  /** Directory of Pulumi.yaml: the program runs with it as working directory, as under the CLI. */
  readonly projectDir: string;
}

interface Recorded {
  type: string;
  name: string;
  custom: boolean;
  props: Record<string, unknown>;
  opts: pulumi.ResourceOptions;
}

/** Runs index.ts under mocks and returns what it declared. Not re-entrant: one at a time. */
export async function evaluateProgram(o: EvaluateOptions): Promise<Evaluation> {
  const recorded: Recorded[] = [];
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => ({
        id: args.custom ? `${args.name}-id` : undefined,
        state: { ...args.inputs, ...(o.computed?.(args.type, args.name) ?? {}) },
      }),
      call: (args) => args.inputs,
    },
    o.project,
    o.stack,
    o.preview,
  );
  pulumi.runtime.setAllConfig({ ...o.config }, [...o.secretKeys]);

  const cwd = process.cwd();
  process.chdir(o.projectDir);
  let outputs: Record<string, unknown> = {};
  try {
    // The compiled program beside this module (dist/index.js when run from dist/).
    const programPath = require.resolve(path.resolve(__dirname, "..", "..", "index"));
    delete require.cache[programPath];
    const program = require(programPath) as () => Promise<Record<string, unknown>>;
    // The program's return value, kept as it is: the stack's own output is all-unknown as soon as
    // one value in it is unknown (a password generated at `up` time, in a preview).
    let returned: Record<string, unknown> = {};
    await pulumi.runtime.runInPulumiStack(async () => {
      pulumi.runtime.registerStackTransformation((a) => {
        // A reference to an existing resource (rehydrated from a URN) is no declaration.
        if (a.opts.urn) return undefined;
        recorded.push({ type: a.type, name: a.name, custom: !(a.resource instanceof pulumi.ComponentResource), props: a.props, opts: a.opts });
        return undefined;
      });
      returned = (await program()) ?? {};
      return returned;
    });
    outputs = (await resolveDisplay(returned)) as Record<string, unknown>;
    // Let the program's last registrations (component outputs) finish before the next evaluation
    // replaces the mocks; waitForRPCs is exported by the runtime but marked internal.
    await (pulumi.runtime as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs();
  } finally {
    process.chdir(cwd);
  }
  return { resources: await Promise.all(recorded.map(toEvaluated)), outputs };
}

async function toEvaluated(r: Recorded): Promise<EvaluatedResource> {
  const [display, values, inputDependencies] = await Promise.all([
    resolveDisplay(r.props),
    resolveValues(r.props),
    collectDependencies(r.props),
  ]);
  const dependsOn = await (pulumi.output(r.opts.dependsOn as pulumi.Input<unknown>) as unknown as OutputInternals).promise();
  const deps = await Promise.all(asArray(dependsOn).map(idOf));
  const provider = (r.opts as pulumi.CustomResourceOptions).provider;
  return {
    id: `${r.type}::${r.name}`,
    type: r.type,
    name: r.name,
    custom: r.custom,
    ...(r.opts.parent ? { parent: await idOf(r.opts.parent) } : {}),
    dependsOn: deps,
    inputDependencies,
    display: display as Record<string, unknown>,
    values: values as Record<string, unknown>,
    options: {
      ...((r.opts as pulumi.CustomResourceOptions).deleteBeforeReplace ? { deleteBeforeReplace: true } : {}),
      ...(r.opts.protect ? { protect: true } : {}),
      ...(r.opts.retainOnDelete ? { retainOnDelete: true } : {}),
      ...((r.opts as pulumi.CustomResourceOptions).additionalSecretOutputs?.length
        ? { additionalSecretOutputs: [...(r.opts as pulumi.CustomResourceOptions).additionalSecretOutputs!] }
        : {}),
      ...(provider ? { provider: await idOf(provider) } : {}),
    },
  };
}

const asArray = (v: unknown): unknown[] => (v === undefined || v === null ? [] : Array.isArray(v) ? v : [v]);

/** `<type>::<name>` of a resource, from its URN. */
export async function idOf(resource: unknown): Promise<string> {
  const urn = (await ((resource as pulumi.Resource).urn as unknown as OutputInternals).promise()) as string;
  // urn:pulumi:<stack>::<project>::<parent types$type>::<name>
  const parts = urn.split("::");
  return `${parts[2]!.split("$").pop()}::${parts.slice(3).join("::")}`;
}

interface OutputInternals {
  isKnown: Promise<boolean>;
  isSecret: Promise<boolean>;
  promise(withUnknowns?: boolean): Promise<unknown>;
  resources(): Set<pulumi.Resource>;
}

/**
 * Resolves inputs. "display": a secret Output shows as one "[secret]" (as Pulumi shows it) and an
 * unknown as "[unknown]"; "values": everything in clear, unknowns left out.
 */
async function walk(value: unknown, mode: "display" | "values"): Promise<unknown> {
  if (pulumi.Output.isInstance(value)) {
    const o = value as unknown as OutputInternals;
    const [known, secret] = await Promise.all([o.isKnown, o.isSecret]);
    if (mode === "display" && secret) return SECRET;
    if (!known) return mode === "display" ? UNKNOWN : undefined;
    return walk(await o.promise(true), mode);
  }
  if (value instanceof Promise) return walk(await value, mode);
  if (pulumi.isUnknown(value)) return mode === "display" ? UNKNOWN : undefined;
  if (pulumi.Resource.isInstance(value)) return idOf(value);
  if (Array.isArray(value)) return Promise.all(value.map((v) => walk(v, mode)));
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const w = await walk(v, mode);
      if (w !== undefined) out[k] = w;
    }
    return out;
  }
  return value;
}

export const resolveDisplay = (value: unknown) => walk(value, "display");
const resolveValues = (value: unknown) => walk(value, "values");

async function collectDependencies(value: unknown): Promise<string[]> {
  const found = new Set<pulumi.Resource>();
  const visit = async (v: unknown): Promise<void> => {
    if (pulumi.Output.isInstance(v)) {
      const o = v as unknown as OutputInternals;
      for (const r of o.resources()) found.add(r);
      if (await o.isKnown) await visit(await o.promise(true));
    } else if (Array.isArray(v)) await Promise.all(v.map(visit));
    else if (v && typeof v === "object" && !(v instanceof Promise) && !pulumi.Resource.isInstance(v)) {
      await Promise.all(Object.values(v).map(visit));
    }
  };
  await visit(value);
  return [...new Set(await Promise.all([...found].map(idOf)))].sort();
}
