// Command-line arguments of the project's tools (npm run render, recover, db:failover, restore,
// bench, lab): one parser, so that every tool answers --help with its usage (exit 0) and a usage
// mistake with one line and the usage (exit 2, the shells' convention for misuse), never a stack.

export interface OptionSpec {
  /** Takes a value (`--stack lab` or `--stack=lab`); a flag otherwise. */
  readonly value?: string;
  readonly required?: boolean;
  readonly help: string;
}

export interface CliSpec {
  /** Prefix of the tool's messages, e.g. "render". */
  readonly name: string;
  /** The synopsis line, e.g. "npm run render -- --stack <name> [--out <dir>]". */
  readonly usage: string;
  /** What the tool does: printed under the synopsis by --help. */
  readonly summary: readonly string[];
  readonly options: Readonly<Record<string, OptionSpec>>;
  /** Leading words before the options (lab's verb), each from its list. */
  readonly positionals?: readonly { readonly name: string; readonly values: readonly string[]; readonly default?: string }[];
}

export interface ParsedArgs {
  readonly options: Readonly<Record<string, string | true | undefined>>;
  readonly positionals: readonly string[];
}

/** A mistake on the command line: reported as one line plus the usage, exit 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** Parses argv (without node and the script); `"help"` when --help or -h was asked. */
export function parseArgs(spec: CliSpec, argv: readonly string[]): ParsedArgs | "help" {
  if (argv.includes("--help") || argv.includes("-h")) return "help";
  const options: Record<string, string | true> = {};
  const positionals: string[] = [];
  let i = 0;
  for (const p of spec.positionals ?? []) {
    const word = argv[i];
    if ((word === undefined || word.startsWith("-")) && p.default !== undefined) {
      positionals.push(p.default);
      continue;
    }
    if (word === undefined || word.startsWith("-")) throw new UsageError(`expected ${p.name} (${p.values.join(" or ")}) first`);
    if (!p.values.includes(word)) throw new UsageError(`unknown ${p.name} '${word}': expected ${p.values.join(" or ")}`);
    positionals.push(word);
    i++;
  }
  for (; i < argv.length; i++) {
    const arg = argv[i]!;
    const m = /^--([a-z][a-z0-9-]*)(?:=(.*))?$/s.exec(arg);
    const opt = m ? spec.options[m[1]!] : undefined;
    if (!m || !opt) throw new UsageError(`unknown argument '${arg}'`);
    const name = m[1]!;
    if (name in options) throw new UsageError(`--${name} is given twice`);
    if (!opt.value) {
      if (m[2] !== undefined) throw new UsageError(`--${name} takes no value`);
      options[name] = true;
      continue;
    }
    const value = m[2] ?? argv[++i];
    if (value === undefined || value === "" || (m[2] === undefined && value.startsWith("--"))) throw new UsageError(`--${name} needs a value ${opt.value}`);
    options[name] = value;
  }
  for (const [name, opt] of Object.entries(spec.options)) {
    if (opt.required && !(name in options)) throw new UsageError(`missing --${name} ${opt.value ?? ""}`.trimEnd());
  }
  return { options, positionals };
}

/** The --help text: synopsis, summary, options. */
export function helpText(spec: CliSpec): string {
  const rows = Object.entries(spec.options).map(([name, o]) => [`--${name}${o.value ? ` ${o.value}` : ""}`, `${o.help}${o.required ? " (required)" : ""}`] as const);
  const width = Math.max(0, ...rows.map(([l]) => l.length));
  return [
    `usage: ${spec.usage}`,
    "",
    ...spec.summary,
    "",
    "options:",
    ...rows.map(([l, h]) => `  ${l.padEnd(width)}  ${h}`),
    `  ${"--help".padEnd(width)}  this text`,
    "",
  ].join("\n");
}

/**
 * parseArgs for a tool's main: prints the help and exits 0, or prints the mistake and the usage
 * and exits 2.
 */
export function cliArgs(spec: CliSpec, argv: readonly string[] = process.argv.slice(2)): ParsedArgs {
  let parsed: ParsedArgs | "help";
  try {
    parsed = parseArgs(spec, argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`${spec.name}: ${e.message}\nusage: ${spec.usage}\n`);
    process.exit(2);
  }
  if (parsed === "help") {
    process.stdout.write(helpText(spec));
    process.exit(0);
  }
  return parsed;
}

/** A value option: the string given (cliArgs refuses a missing required one). */
export const stringOpt = (a: ParsedArgs, name: string): string | undefined => {
  const v = a.options[name];
  return typeof v === "string" ? v : undefined;
};
