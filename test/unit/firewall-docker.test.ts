// Issue 9, points 8-11: firewalld masked on EL hosts; GitLab's Docker-published ports filtered in
// DOCKER-USER (proved in network namespaces with a DNAT like Docker's); IPv6 filtered by the same
// rules; only the program's chains persisted; extra rules per role; the sentinel port between
// data nodes only. Namespace tests need root, ip, iptables and ip6tables.
import assert from "node:assert/strict";
import { ChildProcess, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { ConfigError, rawConfig, validateConfig } from "../../components/config/load";
import type { ConfigIssue } from "../../components/config/rules";
import { firewallRules } from "../../components/firewall/firewall";
import { CHAIN, DOCKER_CHAIN, FirewallInput, renderIptablesRules } from "../../components/firewall/render";
import { scriptOf, renderScript, ShellValue } from "../../components/host/script";
import { readStackFile } from "../../components/offline/stack-file";
import { policyViolations } from "../../components/offline/render";
import { checkAll, type ResourceView } from "../../components/policy/pack/checks";
import { byName, elServiceStandIns, evaluateStack, NETNS_LISTENER, NETNS_PROBE, ROOT, requireTool, shellcheck } from "../helpers";

const script = (name: string, vars: Record<string, ShellValue>) =>
  renderScript({ description: `firewall ${name}`, host: "fwtest", vars, bodies: [`components/firewall/scripts/${name}.sh`] });
const ruleLines = (text: string) => text.split("\n").filter((l) => l.startsWith("-A "));
const sh = (args: string[], o: { env?: NodeJS.ProcessEnv } = {}) => spawnSync(args[0]!, args.slice(1), { encoding: "utf8", timeout: 60_000, ...o });
function run(args: string[]): string {
  const r = sh(args);
  if (r.status !== 0) throw new Error(`${args.join(" ")}: ${r.status} ${r.stderr}`);
  return r.stdout;
}
const stackConfig = (stack: string, overrides?: Record<string, unknown>) => {
  const f = readStackFile(ROOT, stack, overrides);
  return validateConfig(rawConfig(f.config, (k) => f.secretKeys.includes(k)), { project: f.project, stack }).config;
};
function issuesOf(stack: string, overrides: Record<string, unknown>): ConfigIssue[] {
  try {
    stackConfig(stack, overrides);
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return [...e.issues];
  }
  return [];
}
const rootWithIptables = process.getuid?.() === 0 && ["iptables", "ip6tables", "ip"].every((t) => sh([t, t === "ip" ? "-V" : "--version"]).status === 0);

describe("firewall point 8: firewalld on EL hosts", () => {
  const standIns = elServiceStandIns;

  it("stops and masks a running firewalld, enables iptables and ip6tables for boot, then changes nothing", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gitlabha-fwd-"));
    try {
      const bin = standIns(dir);
      fs.writeFileSync(path.join(dir, "firewalld.enabled"), "enabled\n");
      fs.writeFileSync(path.join(dir, "firewalld.active"), "");
      const text = script("install", { OS_FAMILY: "dnf", DOCKER_OWED: path.join(dir, "docker-owed") });
      assert.equal(shellcheck(text), "");
      const env = { ...process.env, PATH: `${bin}:${process.env.PATH}` };
      const first = sh(["bash", "-c", text], { env });
      assert.equal(first.status, 0, first.stderr);
      assert.deepEqual(first.stdout.trim().split("\n"), [
        "gitlab-ha: changed: firewalld stopped and masked",
        "gitlab-ha: changed: enabled iptables",
        "gitlab-ha: changed: enabled ip6tables",
      ]);
      assert.equal(fs.readFileSync(path.join(dir, "firewalld.enabled"), "utf8").trim(), "masked");
      assert.ok(!fs.existsSync(path.join(dir, "firewalld.active")), "firewalld is stopped");
      const second = sh(["bash", "-c", text], { env });
      assert.equal(second.status, 0, second.stderr);
      assert.equal(second.stdout, "");
      // Masked but somehow running (started by hand before the mask): stopped again.
      fs.writeFileSync(path.join(dir, "firewalld.active"), "");
      assert.equal(sh(["bash", "-c", text], { env }).stdout, "gitlab-ha: changed: firewalld stopped\n");
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("shows in the el9 render of the prod stack", async () => {
    const e = await evaluateStack("prod");
    const install = scriptOf(String(byName(e, "firewall-10-228-130-58-install").display.create))!;
    assert.match(install, /^# gitlab-ha: install the OS's iptables persistence, mask firewalld$/m);
    assert.match(install, /systemctl mask --quiet --now firewalld\.service/);
    assert.match(install, /for unit in iptables ip6tables/);
  });
});

describe("firewall point 9: GitLab's published ports in DOCKER-USER", () => {
  it("renders a Docker chain that matches the original destination port of DNAT'd connections only", () => {
    const lab = stackConfig("lab", { firewall: { gitlabClientNetworks: ["192.0.2.0/24", "2001:db8::/32"] } });
    const published = [lab.gitlab.ports.http, lab.gitlab.ports.https, lab.gitlab.ports.ssh];
    const rules = firewallRules(lab, lab.hosts.find((h) => h.name === "gitlab")!);
    const v4 = renderIptablesRules({ host: "gitlab", rules }, 4);
    const d = ruleLines(v4).filter((l) => l.startsWith(`-A ${DOCKER_CHAIN} `));
    const m = (p: number) => `-p tcp -m conntrack --ctstate DNAT --ctorigdstport ${p} --ctdir ORIGINAL -m comment --comment "gitlab clients: http https ssh"`;
    assert.deepEqual(d, [
      `-A ${DOCKER_CHAIN} -m conntrack --ctstate ESTABLISHED,RELATED -j RETURN`,
      ...published.map((p) => `-A ${DOCKER_CHAIN} -s 192.0.2.0/24 ${m(p)} -j RETURN`),
      ...published.map((p) => `-A ${DOCKER_CHAIN} ${m(p)} -j REJECT --reject-with tcp-reset`),
    ]);
    const v6 = renderIptablesRules({ host: "gitlab", rules }, 6);
    assert.ok(ruleLines(v6).includes(`-A ${DOCKER_CHAIN} -s 2001:db8::/32 ${m(lab.gitlab.ports.https)} -j RETURN`));
    // Hosts without published ports get no Docker chain.
    const pg = renderIptablesRules({ host: "pgsql", rules: firewallRules(lab, lab.hosts.find((h) => h.name === "pgsql")!) });
    assert.doesNotMatch(pg, new RegExp(DOCKER_CHAIN));
  });

  it("the policy looks at the Docker chain's rules", () => {
    const file = (content: string): ResourceView => ({ type: "gitlab-ha:host:File", name: "f", props: { path: "/etc/gitlab-ha/iptables.rules", content } });
    const names = (content: string) => checkAll([file(content)]).map((v) => v.message);
    const c = '-m comment --comment "gitlab clients: http https ssh"';
    const accept = `-A ${CHAIN} -p tcp -m tcp --dport 443 ${c} -j ACCEPT`;
    const reject = `-A ${DOCKER_CHAIN} -p tcp -m conntrack --ctstate DNAT --ctorigdstport 443 --ctdir ORIGINAL ${c} -j REJECT --reject-with tcp-reset`;
    // GitLab's port admitted in INPUT only: Docker's forwarded connections are not filtered at all.
    assert.match(names(`*filter\n${accept}\nCOMMIT\n`).join("\n"), /published port 443 is not filtered where Docker forwards it/);
    assert.deepEqual(names(`*filter\n${accept}\n${reject}\nCOMMIT\n`), []);
    // A RETURN to Docker's chains for everyone, on any other port, admits everyone.
    const open = `-A ${DOCKER_CHAIN} -p tcp -m conntrack --ctstate DNAT --ctorigdstport 5432 --ctdir ORIGINAL -m comment --comment "pg" -j RETURN`;
    assert.match(names(`*filter\n${open}\nCOMMIT\n`).join("\n"), /--ctorigdstport 5432 .* admits everyone/);
    assert.deepEqual(names(`*filter\n${open.replace("-p tcp", "-s 10.0.0.0/8 -p tcp")}\nCOMMIT\n`), []);
    // The same checks on the IPv6 file.
    const v6 = checkAll([{ ...file(`*filter\n${accept}\nCOMMIT\n`), props: { path: "/etc/gitlab-ha/ip6tables.rules", content: `*filter\n${open}\nCOMMIT\n` } }]);
    assert.equal(v6.length, 1);
  });

  describe("in network namespaces: a client, a host with Docker's DNAT, a container", { skip: requireTool("root, ip, iptables and ip6tables", rootWithIptables) }, () => {
    const id = process.pid;
    const CLIENT = `gitlabha-dkcli-${id}`;
    const HOST = `gitlabha-dkhost-${id}`;
    const CTR = `gitlabha-dkctr-${id}`;
    const HOST_IP = "10.233.0.1";
    const ALLOWED = "10.233.0.2";
    const REFUSED = "10.233.0.3";
    const CTR_IP = "172.30.233.2";
    const PUBLISHED = 18443;
    const OTHER_PUBLISHED = 18444;
    let dir = "";
    let listeners: ChildProcess[] = [];
    const inNs = (ns: string, ...a: string[]) => ["ip", "netns", "exec", ns, ...a];
    const probe = (from: string, to: string, port: number, ns = CLIENT) => run(inNs(ns, "python3", "-c", NETNS_PROBE, to, String(port), from)).trim();
    const files = () => ({ v4: path.join(dir, "fw.rules"), v6: path.join(dir, "fw6.rules"), p4: path.join(dir, "persist", "rules.v4"), p6: path.join(dir, "persist", "rules.v6") });
    function apply() {
      const f = files();
      const text = script("apply", { RULES_FILE: f.v4, RULES_FILE6: f.v6, CHAIN, DOCKER_CHAIN, PERSIST_FILE: f.p4, PERSIST_FILE6: f.p6, SSH_SOURCES: ["10.233.0.0/24"] });
      return sh(inNs(HOST, "bash", "-c", text), { env: { ...process.env, SSH_CONNECTION: `${ALLOWED} 40000 ${HOST_IP} 22` } });
    }
    async function listen(ns: string, ip: string, ...ports: number[]) {
      const l = spawn("ip", inNs(ns, "python3", "-c", NETNS_LISTENER, ip, ...ports.map(String)).slice(1), { stdio: ["ignore", "pipe", "inherit"] });
      listeners.push(l);
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("listener not ready in 10 s")), 10_000);
        l.stdout!.on("data", (d: Buffer) => { if (d.toString().includes("ready")) { clearTimeout(timer); resolve(); } });
        l.on("exit", (code) => { clearTimeout(timer); reject(new Error(`listener exited ${code}`)); });
      });
    }

    before(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "gitlabha-dk-"));
      for (const ns of [CLIENT, HOST, CTR]) {
        run(["ip", "netns", "add", ns]);
        run(["ip", "-n", ns, "link", "set", "lo", "up"]);
      }
      run(["ip", "-n", HOST, "link", "add", "ext0", "type", "veth", "peer", "name", "cli0"]);
      run(["ip", "-n", HOST, "link", "set", "cli0", "netns", CLIENT]);
      run(["ip", "-n", HOST, "link", "add", "br0", "type", "veth", "peer", "name", "eth0"]);
      run(["ip", "-n", HOST, "link", "set", "eth0", "netns", CTR]);
      for (const [ns, dev, addrs] of [[HOST, "ext0", [`${HOST_IP}/24`]], [CLIENT, "cli0", [`${ALLOWED}/24`, `${REFUSED}/24`]], [HOST, "br0", ["172.30.233.1/24"]], [CTR, "eth0", [`${CTR_IP}/24`]]] as const) {
        for (const a of addrs) run(["ip", "-n", ns, "addr", "add", a, "dev", dev]);
        run(["ip", "-n", ns, "link", "set", dev, "up"]);
      }
      run(["ip", "-n", CTR, "route", "add", "default", "via", "172.30.233.1"]);
      run(inNs(HOST, "sysctl", "-qw", "net.ipv4.ip_forward=1"));
      // What Docker sets up for a container publishing 18443->443 and 18444->444 (docs.docker.com
      // "Docker with iptables" / "Port publishing"): DNAT in nat PREROUTING, masquerade out,
      // FORWARD policy DROP jumping to DOCKER-USER first, then accepting what is published.
      const restore = `*nat
:DOCKER - [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
-A POSTROUTING -s 172.30.233.0/24 ! -o br0 -j MASQUERADE
-A DOCKER -i br0 -j RETURN
-A DOCKER ! -i br0 -p tcp -m tcp --dport ${PUBLISHED} -j DNAT --to-destination ${CTR_IP}:443
-A DOCKER ! -i br0 -p tcp -m tcp --dport ${OTHER_PUBLISHED} -j DNAT --to-destination ${CTR_IP}:444
COMMIT
*filter
:FORWARD DROP [0:0]
:DOCKER-USER - [0:0]
:DOCKER - [0:0]
-A FORWARD -j DOCKER-USER
-A FORWARD -o br0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -o br0 -j DOCKER
-A FORWARD -i br0 ! -o br0 -j ACCEPT
-A DOCKER -d ${CTR_IP}/32 ! -i br0 -o br0 -p tcp -m tcp --dport 443 -j ACCEPT
-A DOCKER -d ${CTR_IP}/32 ! -i br0 -o br0 -p tcp -m tcp --dport 444 -j ACCEPT
-A DOCKER-USER -j RETURN
COMMIT
`;
      const r = spawnSync("ip", ["netns", "exec", HOST, "iptables-restore"], { input: restore, encoding: "utf8" });
      assert.equal(r.status, 0, r.stderr);
      await listen(CTR, CTR_IP, 443, 444);
      // A server outside on port 443 too: the container's own connections to it must pass.
      await listen(CLIENT, REFUSED, 443);
      // Before the firewall, both clients reach the published port.
      assert.equal(probe(ALLOWED, HOST_IP, PUBLISHED), "hello");
      assert.equal(probe(REFUSED, HOST_IP, PUBLISHED), "hello");
    });

    after(async () => {
      for (const l of listeners) {
        if (l.exitCode === null) {
          const exited = new Promise((r) => l.once("exit", r));
          l.kill();
          await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))]);
        }
      }
      listeners = [];
      for (const ns of [CLIENT, HOST, CTR]) sh(["ip", "netns", "del", ns]);
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    it("admits the client networks to the published port and refuses everyone else", () => {
      const input: FirewallInput = {
        host: "dkhost",
        rules: [
          { comment: "ssh from admins", protocol: "tcp", ports: [22], sources: ["10.233.0.0/24"] },
          { comment: "gitlab clients: https", protocol: "tcp", ports: [PUBLISHED], sources: [`${ALLOWED}/32`], docker: true },
        ],
      };
      const f = files();
      fs.writeFileSync(f.v4, renderIptablesRules(input, 4));
      fs.writeFileSync(f.v6, renderIptablesRules(input, 6));
      const r = apply();
      assert.equal(r.status, 0, r.stderr);
      assert.equal(probe(ALLOWED, HOST_IP, PUBLISHED), "hello");
      assert.equal(probe(REFUSED, HOST_IP, PUBLISHED), "refused", "a source outside the client networks is refused on the published port");
      assert.match(r.stdout, /DOCKER-USER jumps to GITLAB-HA-DOCKER first/);
      assert.equal(run(inNs(HOST, "iptables", "-S", "DOCKER-USER")).trim().split("\n")[1], `-A DOCKER-USER -j ${DOCKER_CHAIN}`);
      // Another published port is left to Docker's rules; the container's outgoing connection to a
      // server's 443 (the container's port number, but SNAT'd, not DNAT'd) is not caught.
      assert.equal(probe(REFUSED, HOST_IP, OTHER_PUBLISHED), "hello");
      assert.equal(probe(CTR_IP, REFUSED, 443, CTR), "hello");
      assert.equal(apply().stdout, "", "second run changes nothing");
    });

    it("persists its own chains only, which restore alone at boot", () => {
      const f = files();
      const persisted = fs.readFileSync(f.p4, "utf8");
      assert.doesNotMatch(persisted, /DNAT --to-destination|MASQUERADE|-A DOCKER |-A FORWARD/, "no Docker runtime rule");
      assert.deepEqual(persisted.split("\n").filter((l) => /^[*:]/.test(l)), ["*filter", `:${CHAIN} - [0:0]`, ":DOCKER-USER - [0:0]", `:${DOCKER_CHAIN} - [0:0]`]);
      assert.ok(ruleLines(persisted).every((l) => new RegExp(`^-A (${CHAIN}|${DOCKER_CHAIN}) |^-A INPUT -j ${CHAIN}$|^-A DOCKER-USER -j ${DOCKER_CHAIN}$`).test(l)), persisted);
      // Boot: restored into an empty table (as netfilter-persistent / iptables.service do), then
      // the chains read back exactly as live.
      const boot = `gitlabha-dkboot-${id}`;
      run(["ip", "netns", "add", boot]);
      try {
        const r = spawnSync("ip", ["netns", "exec", boot, "iptables-restore"], { input: persisted, encoding: "utf8" });
        assert.equal(r.status, 0, r.stderr);
        for (const c of [CHAIN, DOCKER_CHAIN]) assert.equal(run(inNs(boot, "iptables", "-S", c)), run(inNs(HOST, "iptables", "-S", c)));
        const r6 = spawnSync("ip", ["netns", "exec", boot, "ip6tables-restore"], { input: fs.readFileSync(f.p6, "utf8"), encoding: "utf8" });
        assert.equal(r6.status, 0, r6.stderr);
        assert.equal(run(inNs(boot, "ip6tables", "-S", CHAIN)), run(inNs(HOST, "ip6tables", "-S", CHAIN)));
      } finally {
        sh(["ip", "netns", "del", boot]);
      }
    });

    it("removes its Docker chain when the host no longer publishes GitLab's ports", () => {
      const f = files();
      const input: FirewallInput = { host: "dkhost", rules: [{ comment: "ssh from admins", protocol: "tcp", ports: [22], sources: ["10.233.0.0/24"] }] };
      fs.writeFileSync(f.v4, renderIptablesRules(input, 4));
      fs.writeFileSync(f.v6, renderIptablesRules(input, 6));
      const r = apply();
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /iptables: chain GITLAB-HA-DOCKER removed/);
      assert.deepEqual(run(inNs(HOST, "iptables", "-S", "DOCKER-USER")).trim().split("\n"), ["-N DOCKER-USER", "-A DOCKER-USER -j RETURN"]);
      assert.equal(probe(REFUSED, HOST_IP, PUBLISHED), "hello");
      assert.equal(apply().stdout, "");
    });
  });
});

describe("firewall point 10: IPv6", () => {
  it("refuses admin networks of one family only when hosts are reached over the other", () => {
    const v6only = issuesOf("prod", { firewall: { adminNetworks: ["::/0"] } });
    assert.ok(v6only.some((i) => i.path === "firewall.adminNetworks" && /expected an IPv4 network too: hosts\[0\] is reached over SSH at /.test(i.message)), JSON.stringify(v6only));
    // Lab stacks admit their IPv4 gateway themselves (components/lab/slots.ts).
    assert.deepEqual(issuesOf("lab", { firewall: { adminNetworks: ["fd00::/8"] } }), []);
  });

  it("filters IPv6 with the same rules, and the policy sees an SSH rule open to everyone over IPv6", async () => {
    const lab = stackConfig("lab", { firewall: { adminNetworks: ["fd00:1::/64"] } });
    const v6 = renderIptablesRules({ host: "pgsql", rules: firewallRules(lab, lab.hosts.find((h) => h.name === "pgsql")!) }, 6);
    assert.deepEqual(ruleLines(v6).filter((l) => /dport|REJECT|icmp/.test(l)), [
      `-A ${CHAIN} -p ipv6-icmp -j ACCEPT`,
      `-A ${CHAIN} -s fe80::/10 -d fe80::/64 -p udp -m udp --dport 546 -m comment --comment "dhcpv6 client" -j ACCEPT`,
      `-A ${CHAIN} -s fd00:1::/64 -p tcp -m tcp --dport 22 -m comment --comment "ssh from admin networks" -j ACCEPT`,
      `-A ${CHAIN} -p tcp -j REJECT --reject-with tcp-reset`,
      `-A ${CHAIN} -j REJECT --reject-with icmp6-port-unreachable`,
    ]);
    const e = await evaluateStack("lab", { overrides: { firewall: { adminNetworks: ["::/0"] } } });
    const v = policyViolations(e);
    assert.ok(v.some((x) => x.policy === "no-rule-open-to-everyone" && x.message.includes("/etc/gitlab-ha/ip6tables.rules") && x.message.includes("--dport 22")), JSON.stringify(v));
  });

  describe("in network namespaces over IPv6", { skip: requireTool("root, ip, iptables and ip6tables", rootWithIptables) }, () => {
    const FW = `gitlabha-fw6-${process.pid}`;
    const PEER = `gitlabha-fw6peer-${process.pid}`;
    const FW_IP = "fd00:233::1";
    const PEER_IP = "fd00:233::2";
    let dir = "";
    let listener: ChildProcess | undefined;
    const inNs = (ns: string, ...a: string[]) => ["ip", "netns", "exec", ns, ...a];

    before(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "gitlabha-fw6-"));
      for (const ns of [FW, PEER]) {
        run(["ip", "netns", "add", ns]);
        run(["ip", "-n", ns, "link", "set", "lo", "up"]);
      }
      run(["ip", "-n", FW, "link", "add", "fw0", "type", "veth", "peer", "name", "peer0"]);
      run(["ip", "-n", FW, "link", "set", "peer0", "netns", PEER]);
      for (const [ns, dev, ip] of [[FW, "fw0", FW_IP], [PEER, "peer0", PEER_IP]] as const) {
        run(["ip", "-n", ns, "-6", "addr", "add", `${ip}/64`, "dev", dev, "nodad"]);
        run(["ip", "-n", ns, "link", "set", dev, "up"]);
      }
      const l = spawn("ip", inNs(FW, "python3", "-c", NETNS_LISTENER, FW_IP, "18080", "18081").slice(1), { stdio: ["ignore", "pipe", "inherit"] });
      listener = l;
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("listener not ready in 10 s")), 10_000);
        l.stdout!.on("data", (d: Buffer) => { if (d.toString().includes("ready")) { clearTimeout(timer); resolve(); } });
        l.on("exit", (code) => { clearTimeout(timer); reject(new Error(`listener exited ${code}`)); });
      });
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

    it("admits an IPv6 source where a rule names it, refuses a port open to IPv4 sources only", () => {
      const probe = (port: number) => run(inNs(PEER, "python3", "-c", NETNS_PROBE, FW_IP, String(port), "")).trim();
      assert.equal(probe(18081), "hello", "without the firewall the port answers");
      const input: FirewallInput = {
        host: "fw6",
        rules: [
          { comment: "ssh", protocol: "tcp", ports: [22], sources: ["fd00:233::/64"] },
          { comment: "web from the peer", protocol: "tcp", ports: [18080], sources: [PEER_IP] },
          { comment: "v4 only", protocol: "tcp", ports: [18081], sources: ["0.0.0.0/0"] },
        ],
      };
      const [v4, v6, p4, p6] = ["fw.rules", "fw6.rules", "rules.v4", "rules.v6"].map((n) => path.join(dir, n)) as [string, string, string, string];
      fs.writeFileSync(v4, renderIptablesRules(input, 4));
      fs.writeFileSync(v6, renderIptablesRules(input, 6));
      const text = script("apply", { RULES_FILE: v4, RULES_FILE6: v6, CHAIN, DOCKER_CHAIN, PERSIST_FILE: p4, PERSIST_FILE6: p6, SSH_SOURCES: ["10.0.0.0/8", "fd00:233::/64"] });
      const r = sh(inNs(FW, "bash", "-c", text), { env: { ...process.env, SSH_CONNECTION: `${PEER_IP} 40000 ${FW_IP} 22` } });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /ip6tables: INPUT jumps to GITLAB-HA-INPUT first/);
      assert.equal(probe(18080), "hello");
      assert.equal(probe(18081), "refused");
      assert.match(fs.readFileSync(p6, "utf8"), /-A GITLAB-HA-INPUT -s fd00:233::2\/128 -p tcp -m tcp --dport 18080 /);
    });
  });
});

describe("firewall point 11: extra rules per role, the sentinel port between data nodes", () => {
  it("opens configured extra ports on the hosts of the named roles only", () => {
    const lab = stackConfig("lab", {
      firewall: {
        extraRules: [
          { name: "node exporter", roles: ["postgres-primary", "postgres-standby"], ports: [9100, "9187-9188"], sources: ["10.9.0.5", "fd00:9::/64"] },
          { name: "backup pull", roles: ["drbd"], protocol: "tcp", ports: [873], sources: ["10.9.0.6/32"] },
        ],
      },
    });
    const rules = (name: string) => firewallRules(lab, lab.hosts.find((h) => h.name === name)!).filter((r) => r.comment.startsWith("extra: "));
    assert.deepEqual(rules("pgsql"), [{ comment: "extra: node exporter", protocol: "tcp", ports: [9100, [9187, 9188]], sources: ["10.9.0.5", "fd00:9::/64"] }]);
    assert.deepEqual(rules("gitlab").map((r) => r.comment), ["extra: backup pull"]);
    assert.deepEqual(rules("witness"), []);
    const text = renderIptablesRules({ host: "pgsql", rules: rules("pgsql") });
    assert.ok(ruleLines(text).includes(`-A ${CHAIN} -s 10.9.0.5 -p tcp -m tcp --dport 9187:9188 -m comment --comment "extra: node exporter" -j ACCEPT`));
  });

  it("validates extra rules with their key paths", () => {
    const issues = issuesOf("lab", {
      firewall: {
        extraRules: [
          { name: "x", roles: ["nope"], ports: ["9-8", 70000], sources: ["0.0.0.0/0", "::/0", "10.0.0.0/33"], protocol: "icmp" },
          { name: "-evil\n-A INPUT -j ACCEPT", roles: [], ports: [], sources: [] },
        ],
      },
    });
    const at = (p: string, re: RegExp) => assert.ok(issues.some((i) => i.path === p && re.test(i.message)), `${p} ${re}: ${JSON.stringify(issues)}`);
    at("firewall.extraRules[0].roles[0]", /./);
    at("firewall.extraRules[0].ports[0]", /range/);
    at("firewall.extraRules[0].ports[1]", /port/);
    at("firewall.extraRules[0].sources[0]", /open to everyone is refused/);
    at("firewall.extraRules[0].sources[1]", /open to everyone is refused/);
    at("firewall.extraRules[0].sources[2]", /./);
    at("firewall.extraRules[0].protocol", /./);
    at("firewall.extraRules[1].name", /short name/);
    at("firewall.extraRules[1].roles", /at least one role/);
    at("firewall.extraRules[1].ports", /at least one port/);
    at("firewall.extraRules[1].sources", /at least one source/);
  });

  it("opens the sentinel port to the other data node, not to the witness", () => {
    const lab = stackConfig("lab");
    const sentinel = firewallRules(lab, lab.hosts.find((h) => h.name === "gitlab")!).find((r) => r.ports.includes(lab.failover.sentinel.port))!;
    const a = (h: string) => lab.hosts.find((x) => x.name === h)!.address;
    assert.deepEqual(sentinel.sources, [a("gitlab2")]);
    const drbd = firewallRules(lab, lab.hosts.find((h) => h.name === "gitlab")!).find((r) => r.ports.includes(lab.drbd!.port))!;
    assert.deepEqual(drbd.sources, [a("gitlab2"), a("witness")], "DRBD itself still meshes with the witness");
  });
});

