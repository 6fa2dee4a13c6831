// Lab stacks, plural: a byte copy of Pulumi.lab.yaml under another stack name must be a second
// lab that clashes with the first in nothing (components/lab/slots.ts). The two-stacks-at-once
// proof on real containers is test/lab/stacks.test.ts.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { ConfigError, rawConfig, validateConfig } from "../../components/config/load";
import type { StackConfig } from "../../components/config/schema";
import { derivedSlot, fnv1a, LAB_SLOTS } from "../../components/lab/slots";
import { readStackFile } from "../../components/offline/stack-file";
import { byName, evaluateStack, ROOT } from "../helpers";

type Values = Record<string, unknown>;
const labValues = (): Values => {
  const f = readStackFile(ROOT, "lab");
  return structuredClone(rawConfig(f.config, (k) => f.secretKeys.includes(k)).values) as Values;
};
const configOf = (stack: string, patch: (v: Values) => void = () => undefined): StackConfig => {
  const v = labValues();
  patch(v);
  return validateConfig({ values: v, secretKeys: new Set() }, { project: "gitlab-ha", stack }).config;
};
const issuesOf = (stack: string | undefined, patch: (v: Values) => void) => {
  const v = labValues();
  patch(v);
  try {
    validateConfig({ values: v, secretKeys: new Set() }, stack ? { project: "gitlab-ha", stack } : undefined);
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return [...e.issues];
  }
  return [];
};
const hostsOf = (v: Values) => v.hosts as Values[];

/** Everything two lab stacks on one engine must not share. */
function clashables(c: StackConfig): string[] {
  return [
    `network ${c.lab!.network.name}`,
    `subnet ${c.lab!.network.subnet}`,
    ...c.hosts.map((h) => `address ${h.address}`),
    ...c.hosts.map((h) => `port ${h.ssh.port}`),
    ...Object.values(c.gitlab.ports).map((p) => `port ${p}`),
    `volume ${c.gitlab.volumeRoot}`,
  ];
}

describe("lab stacks: what a stack derives from its name", () => {
  it("FNV-1a is the published function (test vectors of the FNV reference)", () => {
    // draft-eastlake-fnv: FNV-1a 32 of "" is 0x811c9dc5, of "a" 0xe40c292c, of "foobar" 0xbf9cf968.
    assert.equal(fnv1a(""), 0x811c9dc5);
    assert.equal(fnv1a("a"), 0xe40c292c);
    assert.equal(fnv1a("foobar"), 0xbf9cf968);
  });

  it("gives the repository's lab stack concrete values in its slot, and admits its gateway", () => {
    const slot = derivedSlot({ project: "gitlab-ha", stack: "lab" });
    assert.equal(slot, fnv1a("gitlab-ha/lab") % LAB_SLOTS);
    const c = configOf("lab");
    const n = 50 + slot;
    const block = 20000 + 20 * slot;
    assert.equal(c.lab!.slot, slot);
    assert.deepEqual(c.lab!.network, { name: "gitlab-ha-lab", subnet: `172.31.${n}.0/24` });
    assert.deepEqual(
      c.hosts.map((h) => [h.name, h.address, h.ssh.port]),
      ["pgsql", "pgsq2", "gitlab", "gitlab2", "witness"].map((name, i) => [name, `172.31.${n}.${11 + i}`, block + i]),
    );
    assert.deepEqual(c.gitlab.ports, { http: block + 17, https: block + 18, ssh: block + 19 });
    assert.equal(c.gitlab.volumeRoot, "/var/tmp/gitlab-ha-lab");
    assert.deepEqual(c.firewall.adminNetworks, [`172.31.${n}.1/32`]);
  });

  it("is deterministic, and two stack names share nothing on the engine", () => {
    assert.deepEqual(configOf("labstack-a"), configOf("labstack-a"));
    const a = clashables(configOf("labstack-a"));
    const b = clashables(configOf("labstack-b"));
    assert.deepEqual(a.filter((x) => b.includes(x)), []);
    assert.equal(new Set(a).size, a.length, "nothing clashes inside one stack either");
  });

  it("spreads stack names over the slots", () => {
    const names = Array.from({ length: 20 }, (_, i) => `lab-${i}`);
    const slots = new Set(names.map((stack) => derivedSlot({ project: "gitlab-ha", stack })));
    assert.ok(slots.size >= 18, `20 names derive only ${slots.size} slots`);
    for (const s of slots) assert.ok(s >= 0 && s < LAB_SLOTS);
  });

  it("lab.slot overrides the derived slot (for two names that derive the same one)", () => {
    // Two stack names with the same slot, found by search: the case lab.slot exists for.
    const taken = derivedSlot({ project: "gitlab-ha", stack: "labstack-a" });
    let other = 0;
    while (derivedSlot({ project: "gitlab-ha", stack: `twin-${other}` }) !== taken) other++;
    const twin = `twin-${other}`;
    assert.equal(configOf(twin).lab!.network.subnet, configOf("labstack-a").lab!.network.subnet, "the collision lab.slot resolves");
    const moved = configOf(twin, (v) => ((v.lab as Values).slot = (taken + 1) % LAB_SLOTS));
    assert.equal(moved.lab!.slot, (taken + 1) % LAB_SLOTS);
    assert.equal(moved.lab!.network.subnet, `172.31.${50 + ((taken + 1) % LAB_SLOTS)}.0/24`);
    assert.deepEqual(clashables(moved).filter((x) => clashables(configOf("labstack-a")).includes(x)), []);
  });

  it("keeps what the config sets explicitly", () => {
    const c = configOf("labstack-a", (v) => {
      hostsOf(v)[1] = { ...hostsOf(v)[1], address: "10.77.0.40", ssh: { port: 2299 } };
      (v.lab as Values).network = { name: "mine", subnet: "10.77.0.0/16" };
      v.gitlab = { ...(v.gitlab as Values), ports: { http: 8080 }, volumeRoot: "/srv/lab-gitlab" };
      v.firewall = { adminNetworks: ["192.0.2.0/24"] };
    });
    assert.deepEqual(c.lab!.network, { name: "mine", subnet: "10.77.0.0/16" });
    assert.equal(c.hosts[0]!.address, "10.77.0.11", "derived inside the explicit subnet");
    assert.equal(c.hosts[1]!.address, "10.77.0.40");
    assert.equal(c.hosts[1]!.ssh.port, 2299);
    assert.equal(c.gitlab.ports.http, 8080);
    assert.notEqual(c.gitlab.ports.https, 443, "the keys left out are still the slot's");
    assert.equal(c.gitlab.volumeRoot, "/srv/lab-gitlab");
    assert.deepEqual(c.firewall.adminNetworks, ["10.77.0.1/32", "192.0.2.0/24"]);
  });

  it("reports problems with their key paths, before anything is created", () => {
    const at = (issues: { path: string; message: string }[], p: string, re: RegExp) =>
      assert.ok(issues.some((i) => i.path === p && re.test(i.message)), `${p} ${re}: ${JSON.stringify(issues)}`);
    at(issuesOf("labstack-a", (v) => ((v.lab as Values).slot = LAB_SLOTS)), "lab.slot", /slot from 0 to 199/);
    at(issuesOf("labstack-a", (v) => ((v.lab as Values).slot = 1.5)), "lab.slot", /whole number/);
    at(issuesOf("labstack-a", (v) => ((v.lab as Values).network = { name: "n", subnet: "10.0.0.0/29" })), "hosts[0].address", /no room for a derived address/);
    const many = issuesOf("labstack-a", (v) => {
      v.hosts = Array.from({ length: 18 }, (_, i) => ({ name: `h${i}`, roles: ["runner"] }));
    });
    at(many, "hosts[17].ssh.port", /SSH ports for 17 hosts: set this host's ssh.port/);
    assert.ok(!many.some((i) => i.path === "hosts[16].ssh.port"), JSON.stringify(many));
    // An explicit address that another host derives is a duplicate, named at its key path.
    at(issuesOf("labstack-a", (v) => (hostsOf(v)[1] = { ...hostsOf(v)[1], address: configOf("labstack-a").hosts[0]!.address })), "hosts[1].address", /duplicate address/);
    // Without the stack's name a lab stack cannot be checked at all: one clear issue.
    assert.deepEqual(issuesOf(undefined, () => undefined).map((i) => i.path), ["lab"]);
  });

  it("names the lab network, containers, published ports and volume per stack in the program", async () => {
    const e = await evaluateStack("lab", { stack: "labstack-b" });
    const c = configOf("labstack-b");
    const pg = byName(e, "lab-pgsql").values;
    assert.equal(pg.name, "gitlab-ha-labstack-b-pgsql");
    assert.deepEqual(pg.networksAdvanced, [{ name: "gitlab-ha-labstack-b", ipv4Address: c.hosts[0]!.address }]);
    assert.deepEqual(pg.ports, [{ internal: 22, external: c.hosts[0]!.ssh.port, ip: "127.0.0.1" }]);
    assert.deepEqual(byName(e, "lab-network").values.ipamConfigs, [{ subnet: c.lab!.network.subnet }]);
    const gl = byName(e, "gitlab-gitlab-container").values;
    assert.equal(gl.name, "gitlab-ha-labstack-b-gitlab-gitlab");
    assert.deepEqual((gl.mounts as { source: string }[]).map((m) => m.source.split("/").slice(0, 4).join("/")), Array(3).fill("/var/tmp/gitlab-ha-labstack-b"));
    assert.match(String(byName(e, "lab-slot-free").values.create), new RegExp(`slot-free\\.sh labstack-b ${c.lab!.slot} gitlab-ha-labstack-b ${c.lab!.network.subnet.replace(/\./g, "\\.")} `));
  });
});

describe("lab stacks: the pre-flight check names a slot clash (stand-in docker)", () => {
  // A `docker` on PATH that answers `network ls/inspect`, `ps` and `inspect` like the engine
  // (formats as in slot-free.sh): one network of another stack and one container publishing 20342.
  const fake = (dir: string) => {
    const bin = path.join(dir, "docker");
    fs.writeFileSync(
      bin,
      `#!/usr/bin/env bash
case "$1 $2" in
  "network ls") printf 'n1\\nn2\\nn3\\n' ;;
  "network inspect") printf 'bridge 172.17.0.0/16 \\ngitlab-ha-other 172.31.67.0/24 \\nhost \\n' ;;
  "ps -aq") printf 'c1\\nc2\\n' ;;
  inspect*) printf '/gitlab-ha-other-pgsql 20342 \\n/gitlab-ha-mine-pgsql 20500 \\n' ;;
  *) echo "unexpected docker $*" >&2; exit 2 ;;
esac
`,
      { mode: 0o755 },
    );
    return bin;
  };
  const check = (args: string[], own = "gitlab-ha-mine-pgsql") => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "slot-free-"));
    fake(dir);
    const r = spawnSync("bash", [path.join(ROOT, "components/lab/scripts/slot-free.sh"), ...args], {
      encoding: "utf8",
      env: { ...process.env, PATH: `${dir}:${process.env.PATH}`, OWN_CONTAINERS: own },
    });
    fs.rmSync(dir, { recursive: true, force: true });
    return r;
  };

  it("refuses an overlapping subnet and a taken port, naming the other network, container and lab.slot", () => {
    const r = check(["mine", "17", "gitlab-ha-mine", "172.31.67.0/24", "20340", "20342"]);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /lab stack mine clashes/);
    assert.match(r.stderr, /subnet 172\.31\.67\.0\/24 overlaps network 'gitlab-ha-other' \(172\.31\.67\.0\/24\)/);
    assert.match(r.stderr, /port 20342 is already published by container 'gitlab-ha-other-pgsql'/);
    assert.match(r.stderr, /share slot 17: give stack 'mine' a free slot \(0-199\) with lab\.slot in Pulumi\.mine\.yaml/);
  });

  it("passes a free slot, its own network and its own containers' ports", () => {
    assert.equal(check(["mine", "18", "gitlab-ha-mine", "172.31.68.0/24", "20360", "20500"]).status, 0);
    assert.equal(check(["other", "17", "gitlab-ha-other", "172.31.67.0/24", "20342"], "gitlab-ha-other-pgsql").status, 0);
    // A wider subnet that contains the other one overlaps too.
    assert.equal(check(["mine", "0", "gitlab-ha-mine", "172.31.0.0/16"]).status, 1);
  });
});
