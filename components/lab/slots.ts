// Lab stacks, plural: `pulumi stack init <name>` with a byte copy of Pulumi.lab.yaml must bring up
// a second lab beside the first. Everything two lab stacks on one Docker engine must not share
// (network name and subnet, host addresses, published SSH and GitLab ports, GitLab's volume root)
// is therefore derived from the project and stack name, never read from the copied config: each
// lab stack gets a "slot", and the slot decides the rest. Values set explicitly in the config win.
import type { ConfigIssue } from "../config/rules";

export interface StackIdentity {
  readonly project: string;
  readonly stack: string;
}

/** Number of slots: subnets 172.31.50.0/24 to 172.31.249.0/24, SSH port blocks 20000 to 23999. */
export const LAB_SLOTS = 200;
const SUBNET_OFFSET = 50;
const PORT_BASE = 20000;
/** Ports per slot: one per host, then GitLab's http, https and ssh. */
export const PORT_BLOCK = 20;
/** Hosts per slot that get a derived SSH port (the block's last ports are GitLab's). */
export const MAX_DERIVED_HOSTS = PORT_BLOCK - 3;
/** Host addresses start here (.1 is the gateway Docker gives the bridge). */
const FIRST_HOST = 11;

/** FNV-1a (32 bit) of `<project>/<stack>`: stable across machines and Node versions. */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(text, "utf8")) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** The slot a stack name derives (lab.slot overrides it). */
export const derivedSlot = (id: StackIdentity): number => fnv1a(`${id.project}/${id.stack}`) % LAB_SLOTS;

/** What a slot gives a lab stack. */
export function slotValues(id: StackIdentity, slot: number) {
  const block = PORT_BASE + slot * PORT_BLOCK;
  return {
    networkName: `${id.project}-${id.stack}`,
    subnet: `172.31.${SUBNET_OFFSET + slot}.0/24`,
    sshPort: (index: number) => block + index,
    gitlabPorts: { http: block + PORT_BLOCK - 3, https: block + PORT_BLOCK - 2, ssh: block + PORT_BLOCK - 1 },
    volumeRoot: `/var/tmp/${id.project}-${id.stack}`,
  };
}

type Raw = Record<string, unknown>;
const obj = (v: unknown): Raw | undefined => (v && typeof v === "object" && !Array.isArray(v) ? (v as Raw) : undefined);

const toInt = (a: string) => a.split(".").reduce((n, o) => n * 256 + Number(o), 0);
const toAddress = (n: number) => [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join(".");

/** The IPv4 subnet's network number and size, or undefined when it is not one. */
function ipv4Subnet(cidr: unknown): { net: number; size: number } | undefined {
  const m = typeof cidr === "string" ? /^(\d{1,3}(?:\.\d{1,3}){3})\/(\d{1,2})$/.exec(cidr) : null;
  if (!m || m[1]!.split(".").some((o) => Number(o) > 255) || Number(m[2]) > 30) return undefined;
  const size = 2 ** (32 - Number(m[2]));
  return { net: toInt(m[1]!) - (toInt(m[1]!) % size), size };
}

/**
 * Fills in what a lab stack derives from its slot, on the raw config (before the schema and the
 * cross-key rules, so that every renderer sees concrete values and every error names its key
 * path). Returns the config unchanged outside lab stacks. Problems go to `add` with key paths.
 */
export function deriveLabValues(input: Raw, id: StackIdentity | undefined, add: (issue: ConfigIssue) => void): Raw {
  const lab = obj(input.lab);
  if (!lab || Object.keys(lab).length === 0) return input;
  const explicitSlot = lab.slot;
  if (explicitSlot !== undefined && (typeof explicitSlot !== "number" || !Number.isInteger(explicitSlot) || explicitSlot < 0 || explicitSlot >= LAB_SLOTS)) {
    return input; // the schema reports lab.slot
  }
  if (!id || !id.project || !id.stack) {
    add({ path: "lab", message: "a lab stack derives its network, addresses and ports from the project and stack name, which are unknown here" });
    return input;
  }
  const slot = (explicitSlot as number | undefined) ?? derivedSlot(id);
  const s = slotValues(id, slot);
  const network = obj(lab.network) ?? {};
  const subnetText = network.subnet ?? s.subnet;
  const subnet = ipv4Subnet(subnetText);

  const hosts = Array.isArray(input.hosts)
    ? input.hosts.map((h, i) => {
        const host = obj(h);
        if (!host) return h;
        const ssh = obj(host.ssh) ?? {};
        const out: Raw = { ...host };
        if (host.address === undefined) {
          if (!subnet) add({ path: `hosts[${i}].address`, message: `expected an address: lab.network.subnet ${String(subnetText)} is no IPv4 subnet to derive one from` });
          else if (FIRST_HOST + i >= subnet.size - 1) add({ path: `hosts[${i}].address`, message: `lab.network.subnet ${String(subnetText)} has no room for a derived address at position ${i}: set the address` });
          else out.address = toAddress(subnet.net + FIRST_HOST + i);
        }
        if (ssh.port === undefined && ssh.host === undefined) {
          if (i >= MAX_DERIVED_HOSTS) add({ path: `hosts[${i}].ssh.port`, message: `a lab slot has SSH ports for ${MAX_DERIVED_HOSTS} hosts: set this host's ssh.port` });
          else out.ssh = { ...ssh, port: s.sshPort(i) };
        }
        return out;
      })
    : input.hosts;

  const out: Raw = { ...input, hosts, lab: { ...lab, slot, network: { name: s.networkName, ...network, subnet: subnetText } } };

  // GitLab's containers run on the lab's engine: their published ports and bind-mount sources
  // are the engine machine's, shared by every lab stack on it.
  const gitlab = input.gitlab === undefined ? {} : obj(input.gitlab);
  if (gitlab) {
    out.gitlab = {
      ...gitlab,
      volumeRoot: gitlab.volumeRoot ?? s.volumeRoot,
      ports: obj(gitlab.ports) ? { ...s.gitlabPorts, ...obj(gitlab.ports) } : (gitlab.ports ?? s.gitlabPorts),
    };
  }

  // Published SSH ports arrive from the lab network's gateway (Docker gives the bridge the
  // subnet's first address): the firewall must admit it.
  const firewall = input.firewall === undefined ? {} : obj(input.firewall);
  if (firewall && subnet) {
    const gateway = `${toAddress(subnet.net + 1)}/32`;
    const admin = Array.isArray(firewall.adminNetworks) ? firewall.adminNetworks : firewall.adminNetworks === undefined ? [] : undefined;
    if (admin && !admin.includes(gateway)) out.firewall = { ...firewall, adminNetworks: [gateway, ...admin] };
  }
  return out;
}
