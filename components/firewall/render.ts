// Pure renderer of a host's firewall: an iptables-restore file for the filter table that only
// declares and fills the program's own chain, so loading it with --noflush leaves every other
// chain (Docker's, the distribution's) alone. IPv4 only for now: IPv6 is neither filtered nor
// accepted as a source (ip6tables would need its own file and ICMPv6 rules).
import { isIPv4 } from "node:net";

export interface FirewallRule {
  /** Why the rule exists, e.g. "postgresql from pgsq2"; becomes an iptables comment (sanitised). */
  readonly comment: string;
  readonly protocol: "tcp" | "udp";
  /** Single ports or inclusive ranges [from, to]. */
  readonly ports: readonly (number | readonly [number, number])[];
  /** IPv4 addresses or CIDRs allowed; "0.0.0.0/0" means anyone. */
  readonly sources: readonly string[];
}

export interface FirewallInput {
  readonly host: string;
  readonly rules: readonly FirewallRule[];
}

export const CHAIN = "GITLAB-HA-INPUT";

/** Keeps a comment to [A-Za-z0-9 ._:/-], at most 200 characters: safe inside "..." in the file. */
export function sanitiseComment(text: string): string {
  const s = text.replace(/[^A-Za-z0-9 ._:/-]+/g, "_").replace(/\s+/g, " ").trim().slice(0, 200).trim();
  return s === "" ? "gitlab-ha" : s;
}

function validPort(p: number): boolean {
  return Number.isInteger(p) && p >= 1 && p <= 65535;
}

function dport(p: number | readonly [number, number], where: string): string {
  if (typeof p === "number") {
    if (!validPort(p)) throw new Error(`${where}: port ${p} is not an integer in 1-65535`);
    return String(p);
  }
  const [a, b] = p;
  if (!validPort(a) || !validPort(b) || a > b) throw new Error(`${where}: port range ${a}:${b} is invalid`);
  return a === b ? String(a) : `${a}:${b}`;
}

/** "-s X " for a source, nothing for anyone (iptables drops a 0.0.0.0/0 match anyway). */
function sourceMatch(source: string, where: string): string {
  const [address, prefix, extra] = source.split("/");
  const okPrefix = prefix === undefined || (/^\d{1,2}$/.test(prefix) && Number(prefix) <= 32);
  if (extra !== undefined || !isIPv4(address ?? "") || !okPrefix) {
    throw new Error(`${where}: source "${source}" is not an IPv4 address or CIDR (the firewall is IPv4 only)`);
  }
  return prefix === "0" ? "" : `-s ${source} `;
}

/** iptables-restore input that, loaded with `iptables-restore --noflush`, replaces CHAIN and nothing else. */
export function renderIptablesRules(input: FirewallInput): string {
  const a = `-A ${CHAIN}`;
  const lines = [
    `# gitlab-ha firewall of host ${sanitiseComment(input.host)}: managed by gitlab-ha, local changes are overwritten.`,
    `# Load with: iptables-restore --noflush <this file> (replaces chain ${CHAIN} only). IPv4 only.`,
    "*filter",
    `:${CHAIN} - [0:0]`,
    `-F ${CHAIN}`,
    `${a} -i lo -j ACCEPT`,
    `${a} -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT`,
    `${a} -p icmp -m icmp --icmp-type echo-request -j ACCEPT`,
  ];
  input.rules.forEach((r, i) => {
    const where = `firewall of ${input.host}, rule ${i} (${r.comment})`;
    if (r.protocol !== "tcp" && r.protocol !== "udp") throw new Error(`${where}: protocol must be tcp or udp`);
    if (r.ports.length === 0 || r.sources.length === 0) throw new Error(`${where}: needs at least one port and one source`);
    const comment = sanitiseComment(r.comment);
    for (const source of r.sources) {
      const s = sourceMatch(source, where);
      for (const p of r.ports) {
        lines.push(`${a} ${s}-p ${r.protocol} -m ${r.protocol} --dport ${dport(p, where)} -m comment --comment "${comment}" -j ACCEPT`);
      }
    }
  });
  // Reject rather than drop: a refused connection fails at once instead of timing out.
  lines.push(`${a} -p tcp -j REJECT --reject-with tcp-reset`, `${a} -j REJECT --reject-with icmp-port-unreachable`, "COMMIT", "");
  return lines.join("\n");
}
