// The `npm run` tools' command lines (issue 17 point 11): --help prints the usage and exits 0; a
// usage mistake prints one line and the usage and exits 2, never a stack trace. Each tool's
// compiled JS is run as npm runs it.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { describe, it } from "node:test";
import { CliSpec, helpText, parseArgs, UsageError } from "../../components/cli/args";
import { ROOT } from "../helpers";

const TOOLS = [
  { npm: "render", js: "dist/components/offline/render-cli.js", prefix: "render" },
  { npm: "recover", js: "dist/components/sentinel/recover-cli.js", prefix: "recover" },
  { npm: "db:failover", js: "dist/components/postgres/failover-cli.js", prefix: "db:failover" },
  { npm: "restore", js: "dist/components/backup/restore-cli.js", prefix: "restore" },
  { npm: "bench", js: "dist/test/bench.js", prefix: "bench" },
  { npm: "lab", js: "dist/components/lab/cli.js", prefix: "lab" },
];

const runTool = (js: string, args: string[]) =>
  spawnSync(process.execPath, [path.join(ROOT, js), ...args], { cwd: ROOT, encoding: "utf8", timeout: 60_000, input: "" });

describe("command-line tools", () => {
  for (const t of TOOLS) {
    it(`npm run ${t.npm} -- --help: the usage on stdout, exit 0`, () => {
      const r = runTool(t.js, ["--help"]);
      assert.equal(r.status, 0, r.stderr);
      assert.ok(r.stdout.startsWith(`usage: npm run ${t.npm}`), r.stdout);
      assert.match(r.stdout, /--help\s+this text/);
      assert.equal(r.stderr, "");
    });

    it(`npm run ${t.npm} with a bad argument: one line and the usage, exit 2, no stack trace`, () => {
      const r = runTool(t.js, ["--no-such-option"]);
      assert.equal(r.status, 2, r.stderr);
      const lines = r.stderr.trimEnd().split("\n");
      assert.deepEqual(lines, [`${t.prefix}: unknown argument '--no-such-option'`, lines[1]]);
      assert.ok(lines[1]!.startsWith(`usage: npm run ${t.npm}`), r.stderr);
      assert.doesNotMatch(r.stderr + r.stdout, /^\s+at /m);
    });
  }

  it("names a missing value or a missing required option the same way", () => {
    const r = runTool("dist/components/offline/render-cli.js", ["--out", "x"]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^render: missing --stack <name>\nusage: npm run render -- --stack <name> \[--out <dir>\]\n$/);
    const v = runTool("dist/components/postgres/failover-cli.js", ["--stack", "lab", "--promote"]);
    assert.equal(v.status, 2);
    assert.match(v.stderr, /^db:failover: --promote needs a value <standby host>\n/);
  });
});

describe("the shared parser", () => {
  const spec: CliSpec = {
    name: "t",
    usage: "t up|down [--stack <name>] [--force]",
    summary: ["A tool."],
    positionals: [{ name: "verb", values: ["up", "down"] }],
    options: { stack: { value: "<name>", help: "which" }, force: { help: "do it" } },
  };
  const mistake = (argv: string[]) => {
    try {
      parseArgs(spec, argv);
    } catch (e) {
      assert.ok(e instanceof UsageError, String(e));
      return e.message;
    }
    assert.fail(`accepted ${argv.join(" ")}`);
  };

  it("reads verbs, values in both spellings and flags", () => {
    assert.deepEqual(parseArgs(spec, ["up", "--stack", "lab", "--force"]), { positionals: ["up"], options: { stack: "lab", force: true } });
    assert.deepEqual(parseArgs(spec, ["down", "--stack=a b"]), { positionals: ["down"], options: { stack: "a b" } });
    assert.equal(parseArgs(spec, ["sideways", "--help"]), "help", "--help wins over any mistake");
    assert.match(helpText(spec), /^usage: t up\|down/);
  });

  it("refuses each mistake with a message that names it", () => {
    assert.equal(mistake(["x"]), "unknown verb 'x': expected up or down");
    assert.equal(mistake([]), "expected verb (up or down) first");
    assert.equal(mistake(["up", "--stack"]), "--stack needs a value <name>");
    assert.equal(mistake(["up", "--stack", "--force"]), "--stack needs a value <name>");
    assert.equal(mistake(["up", "--force=yes"]), "--force takes no value");
    assert.equal(mistake(["up", "--force", "--force"]), "--force is given twice");
    assert.equal(mistake(["up", "extra"]), "unknown argument 'extra'");
  });
});
