// The firewall: its renderer, shellcheck of its scripts, and apply.sh run for real in two network
// namespaces made here (needs root and iptables), with TCP between them on 10.231.0.0/24 only.
import assert from "node:assert/strict";
import { ChildProcess, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { CHAIN, DOCKER_CHAIN, FirewallInput, FirewallRule, renderIptablesRules, sanitiseComment } from "../../components/firewall/render";
import { renderScript, ShellValue } from "../../components/host/script";
import { NETNS_LISTENER, NETNS_PROBE, requireTool, shellcheck } from "../helpers";

const body = (name: string) => `components/firewall/scripts/${name}.sh`;
const script = (name: string, vars: Record<string, ShellValue>) =>
  renderScript({ description: `firewall ${name}`, host: "fwtest", vars, bodies: [body(name)] });
const ruleLines = (text: string) => text.split("\n").filter((l) => l.startsWith("-A "));

describe("firewall renderer", () => {
  const input: FirewallInput = {
    host: "pgsql",
    rules: [
      { comment: "ssh from admins", protocol: "tcp", ports: [22], sources: ["10.0.0.0/8", "192.0.2.7"] },
      { comment: "web", protocol: "tcp", ports: [80, [8000, 8010], [9, 9]], sources: ["0.0.0.0/0"] },
      { comment: "dns", protocol: "udp", ports: [53], sources: ["10.1.0.0/16"] },
    ],
  };

  it("fills only its chain, in the declared order, ending with fast rejects", () => {
    const text = renderIptablesRules(input);
    const A = `-A ${CHAIN}`;
    const c = (s: string) => `-m comment --comment "${s}" -j ACCEPT`;
    assert.deepEqual(ruleLines(text), [
      `${A} -i lo -j ACCEPT`,
      `${A} -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT`,
      `${A} -p icmp -m icmp --icmp-type echo-request -j ACCEPT`,
      `${A} -s 10.0.0.0/8 -p tcp -m tcp --dport 22 ${c("ssh from admins")}`,
      `${A} -s 192.0.2.7 -p tcp -m tcp --dport 22 ${c("ssh from admins")}`,
      `${A} -p tcp -m tcp --dport 80 ${c("web")}`,
      `${A} -p tcp -m tcp --dport 8000:8010 ${c("web")}`,
      `${A} -p tcp -m tcp --dport 9 ${c("web")}`,
      `${A} -s 10.1.0.0/16 -p udp -m udp --dport 53 ${c("dns")}`,
      `${A} -p tcp -j REJECT --reject-with tcp-reset`,
      `${A} -j REJECT --reject-with icmp-port-unreachable`,
    ]);
    // No other chain or table is declared, so --noflush leaves them alone.
    assert.deepEqual(text.split("\n").filter((l) => /^[*:]/.test(l)), ["*filter", `:${CHAIN} - [0:0]`]);
    assert.match(text, /^# gitlab-ha firewall \(IPv4\) of host pgsql: managed by gitlab-ha.*\n.*iptables-restore --noflush/);
    assert.ok(text.endsWith("COMMIT\n"));
  });

  it("is deterministic and keeps the given order", () => {
    assert.equal(renderIptablesRules(input), renderIptablesRules(structuredClone(input)));
    const swapped = renderIptablesRules({ ...input, rules: [input.rules[2]!, input.rules[0]!] });
    assert.match(ruleLines(swapped)[3]!, /--dport 53 /);
  });

  it("sanitises comments and the host name", () => {
    const evil = `pg from "pgsq2"; $(rm -rf /)\n-A INPUT -j ACCEPT ${"x".repeat(300)}`;
    const s = sanitiseComment(evil);
    assert.match(s, /^[A-Za-z0-9 ._:/-]{1,200}$/);
    assert.ok(s.startsWith("pg from _pgsq2_ _rm -rf /_-A INPUT -j ACCEPT x"));
    assert.equal(sanitiseComment(" \t\"\" "), "_");
    assert.equal(sanitiseComment(""), "gitlab-ha");
    const text = renderIptablesRules({ host: "h\n*nat", rules: [{ comment: evil, protocol: "tcp", ports: [1], sources: ["0.0.0.0/0"] }] });
    assert.equal(text.split("\n").filter((l) => l.startsWith("*")).length, 1, "a newline cannot inject a table");
    assert.equal(ruleLines(text).length, 6);
  });

  it("refuses bad ports, ranges, sources and empty rules", () => {
    const bad = (r: Partial<FirewallRule>) => () =>
      renderIptablesRules({ host: "h", rules: [{ comment: "x", protocol: "tcp", ports: [1], sources: ["10.0.0.1"], ...r }] });
    for (const ports of [[0], [65536], [1.5], [[10, 9] as const], [[0, 5] as const], []]) assert.throws(bad({ ports }), /port|needs/);
    for (const s of ["fd00::1/129", "10.0.0.0/33", "10.0.0", "10.0.0.1/8/1", "host.example", ""]) assert.throws(bad({ sources: [s] }), /IPv4 or IPv6/);
    assert.throws(bad({ sources: [] }), /needs at least one/);
  });
});

describe("firewall host scripts", () => {
  for (const family of ["apt", "dnf"]) {
    it(`are strict and shellcheck-clean (${family})`, () => {
      const vars = { OS_FAMILY: family, RULES_FILE: "/etc/gitlab-ha/firewall.rules", RULES_FILE6: "/etc/gitlab-ha/firewall6.rules", CHAIN, DOCKER_CHAIN,
        SSH_SOURCES: ["10.0.0.0/8", "192.0.2.7", "fd00::/8"],
        PERSIST_FILE: family === "apt" ? "/etc/iptables/rules.v4" : "/etc/sysconfig/iptables",
        PERSIST_FILE6: family === "apt" ? "/etc/iptables/rules.v6" : "/etc/sysconfig/ip6tables" };
      for (const name of ["apply", "install"]) {
        const text = script(name, vars);
        assert.ok(text.startsWith("set -euo pipefail\n"));
        assert.equal(shellcheck(text), "", name);
      }
    });
  }
});

const sh = (args: string[], input?: string) => spawnSync(args[0]!, args.slice(1), { encoding: "utf8", timeout: 30_000, ...(input === undefined ? {} : { input }) });
function run(args: string[]): string {
  const r = sh(args);
  if (r.status !== 0) throw new Error(`${args.join(" ")}: ${r.status} ${r.stderr}`);
  return r.stdout;
}
const rootWithIptables = process.getuid?.() === 0 && sh(["iptables", "--version"]).status === 0 && sh(["ip", "-V"]).status === 0;

describe("firewall apply.sh in network namespaces", { skip: requireTool("root, ip and iptables", rootWithIptables) }, () => {
  const FW = `gitlabha-fwtest-${process.pid}`;
  const PEER = `gitlabha-fwpeer-${process.pid}`;
  const FW_IP = "10.231.0.1";
  const PEER_IP = "10.231.0.2";
  let dir = "";
  let rulesFile = "";
  let rulesFile6 = "";
  let persistFile = "";
  let persistFile6 = "";
  let listener: ChildProcess | undefined;
  const inFw = (...a: string[]) => ["ip", "netns", "exec", FW, ...a];

  // Allowed: 18080 from the peer, the range 18089-18091 from anyone; 18081 only from a host
  // that does not exist, so the peer is refused there (the listener accepts on all three).
  const rules = (web: number): FirewallInput => ({
    host: "fwtest",
    rules: [
      { comment: "ssh from admins", protocol: "tcp", ports: [22], sources: ["10.231.0.0/24"] },
      { comment: `web ${web} from the peer`, protocol: "tcp", ports: [web], sources: [`${PEER_IP}/32`] },
      { comment: "other from elsewhere", protocol: "tcp", ports: [web === 18080 ? 18081 : 18080], sources: ["10.231.0.3"] },
      { comment: "range from anyone", protocol: "tcp", ports: [[18089, 18091]], sources: ["0.0.0.0/0"] },
    ],
  });

  /** Runs the rendered apply.sh inside the firewalled namespace as over SSH from `client`. */
  function apply(client: string, wrap = false) {
    const text = script("apply", { RULES_FILE: rulesFile, RULES_FILE6: rulesFile6, CHAIN, DOCKER_CHAIN, PERSIST_FILE: persistFile, PERSIST_FILE6: persistFile6,
      SSH_SOURCES: ["10.231.0.0/24", "192.0.2.7", "fd00:231::/64"] });
    const env: NodeJS.ProcessEnv = { ...process.env, SSH_CONNECTION: `${client} 40000 ${FW_IP} 22` };
    // wrap: like sudo, the script's own environment lacks SSH_CONNECTION but its parent has it.
    const args = wrap ? ["bash", "-c", 'env -u SSH_CONNECTION bash -c "$1"; exit $?', "wrapper", text] : ["bash", "-c", text];
    return spawnSync("ip", ["netns", "exec", FW, ...args], { encoding: "utf8", env, timeout: 60_000 });
  }
  /** iptables-save text without its timestamps and counters. */
  const normal = (text: string) =>
    text.trim().split("\n").filter((l) => !/^# (Generated by|Completed on)/.test(l)).map((l) => l.replace(/ \[\d+:\d+\]$/, "")).join("\n");
  const saved = () => normal(run(inFw("iptables-save")));
  /** Connects from the peer: the listener's greeting, "refused" or "timeout". */
  const probe = (port: number) =>
    run(["ip", "netns", "exec", PEER, "python3", "-c", NETNS_PROBE, FW_IP, String(port)]).trim();

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "gitlabha-fwtest-"));
    rulesFile = path.join(dir, "firewall.rules");
    persistFile = path.join(dir, "etc", "iptables", "rules.v4");
    rulesFile6 = path.join(dir, "firewall6.rules");
    persistFile6 = path.join(dir, "etc", "iptables", "rules.v6");
    run(["ip", "netns", "add", FW]);
    run(["ip", "netns", "add", PEER]);
    for (const ns of [FW, PEER]) run(["ip", "-n", ns, "link", "set", "lo", "up"]);
    run(["ip", "-n", FW, "link", "add", "fw0", "type", "veth", "peer", "name", "peer0"]);
    run(["ip", "-n", FW, "link", "set", "peer0", "netns", PEER]);
    for (const [ns, dev, ip] of [[FW, "fw0", FW_IP], [PEER, "peer0", PEER_IP]] as const) {
      run(["ip", "-n", ns, "addr", "add", `${ip}/24`, "dev", dev]);
      run(["ip", "-n", ns, "link", "set", dev, "up"]);
    }
    const l = spawn("ip", inFw("python3", "-c", NETNS_LISTENER, FW_IP, "18080", "18081", "18090").slice(1), { stdio: ["ignore", "pipe", "inherit"] });
    listener = l;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("listener not ready in 10 s")), 10_000);
      l.stdout!.on("data", (d: Buffer) => { if (d.toString().includes("ready")) { clearTimeout(timer); resolve(); } });
      l.on("exit", (code) => { clearTimeout(timer); reject(new Error(`listener exited ${code}`)); });
    });
    // Without the firewall every port answers: a refusal later is the firewall's doing.
    for (const port of [18080, 18081, 18090]) assert.equal(probe(port), "hello");
  });

  after(async () => {
    if (listener && listener.exitCode === null) {
      const exited = new Promise((r) => listener!.once("exit", r));
      listener.kill();
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))]);
    }
    for (const ns of [FW, PEER]) sh(["ip", "netns", "del", ns]);
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const write = (web: number) => {
    fs.writeFileSync(rulesFile, renderIptablesRules(rules(web)));
    fs.writeFileSync(rulesFile6, renderIptablesRules(rules(web), 6));
  };

  it("first run loads the chain, jumps to it first and persists the ruleset", () => {
    write(18080);
    const r = apply(PEER_IP);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split("\n");
    assert.ok(lines.every((l) => l.startsWith("gitlab-ha: changed: ")), r.stdout);
    assert.ok(lines.some((l) => l.includes("iptables: chains loaded")) && lines.some((l) => l.includes("INPUT jumps")), r.stdout);
    assert.deepEqual(run(inFw("iptables", "-S", "INPUT")).trim().split("\n"), ["-P INPUT ACCEPT", `-A INPUT -j ${CHAIN}`]);
    assert.equal(ruleLines(run(inFw("iptables", "-S", CHAIN))).length, 9);
    assert.doesNotMatch(saved(), new RegExp(`${CHAIN}-NEW`), "the temporary chain is gone");
    // The persisted file is the program's chain and jump: restored in a fresh table, it reads back the same.
    const persisted = fs.readFileSync(persistFile, "utf8");
    assert.ok(ruleLines(persisted).every((l) => l.startsWith(`-A ${CHAIN} `) || l === `-A INPUT -j ${CHAIN}`), persisted);
    assert.equal(ruleLines(persisted).length, 10);
  });

  it("second run prints nothing and changes nothing", () => {
    const before = saved();
    const mtime = fs.statSync(persistFile).mtimeMs;
    const r = apply(PEER_IP);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, "");
    assert.equal(saved(), before);
    assert.equal(fs.statSync(persistFile).mtimeMs, mtime);
  });

  it("accepts and refuses the peer's connections as declared", () => {
    assert.equal(probe(18080), "hello");
    assert.equal(probe(18081), "refused");
    assert.equal(probe(18090), "hello");
  });

  it("puts a displaced or duplicated jump back first, once", () => {
    run(inFw("iptables", "-I", "INPUT", "1", "-p", "udp", "-j", "ACCEPT"));
    run(inFw("iptables", "-A", "INPUT", "-j", CHAIN));
    const r = apply(PEER_IP);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /INPUT jumps/);
    assert.deepEqual(ruleLines(run(inFw("iptables", "-S", "INPUT"))), [`-A INPUT -j ${CHAIN}`, "-A INPUT -p udp -j ACCEPT"]);
    run(inFw("iptables", "-D", "INPUT", "-p", "udp", "-j", "ACCEPT"));
    assert.equal(apply(PEER_IP).stdout, "", "a foreign INPUT rule is not persisted, so its removal changes nothing");
  });

  it("applies a changed rule set, then is quiet again", () => {
    write(18081);
    const r = apply(PEER_IP);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /iptables: chains loaded/);
    assert.match(fs.readFileSync(persistFile, "utf8"), /--dport 18081 -m comment --comment "web 18081 from the peer"/);
    assert.equal(probe(18080), "refused");
    assert.equal(probe(18081), "hello");
    assert.equal(apply(PEER_IP).stdout, "");
  });

  it("refuses an SSH session from outside the SSH sources without touching anything", () => {
    const before = saved();
    const persisted = fs.readFileSync(persistFile, "utf8");
    write(18080);
    for (const [client, wrap] of [["10.231.1.0", false], ["192.0.2.8", false], ["198.51.100.9", true], ["fd00:232::1", false], ["fd00::1", true]] as const) {
      const r = apply(client, wrap);
      assert.notEqual(r.status, 0, client);
      assert.match(r.stderr, new RegExp(`session comes from ${client.replace(/\./g, "\\.")}, outside the allowed SSH sources`));
      assert.equal(r.stdout, "");
    }
    assert.equal(saved(), before);
    assert.equal(fs.readFileSync(persistFile, "utf8"), persisted);
    // Inside a source (a CIDR, a bare address, IPv4-mapped, an IPv6 CIDR in long or short form): applied.
    for (const client of ["10.231.0.255", "192.0.2.7", "::ffff:10.231.0.9", "fd00:231::9", "FD00:0231:0:0:ffff:0:0:1%eth0"]) {
      const r = apply(client);
      assert.equal(r.status, 0, `${client}: ${r.stderr}`);
    }
    assert.equal(probe(18080), "hello");
  });
});

