// Pure renderer of a host's firewall: an iptables-restore (or ip6tables-restore) file for the
// filter table that only declares and fills the program's own chains, so loading it with
// --noflush leaves every other chain (Docker's, the distribution's) alone. One file per IP
// family, from the same rules: each family's file keeps the sources of its own family.
import { isIP } from "node:net";

export type IpFamily = 4 | 6;

export interface FirewallRule {
  /** Why the rule exists, e.g. "postgresql from pgsq2"; becomes an iptables comment (sanitised). */
  readonly comment: string;
  readonly protocol: "tcp" | "udp";
  /** Single ports or inclusive ranges [from, to]. */
  readonly ports: readonly (number | readonly [number, number])[];
  /** IPv4 or IPv6 addresses or CIDRs allowed; "0.0.0.0/0" / "::/0" mean anyone (of that family). */
  readonly sources: readonly string[];
  /**
   * The ports are published by Docker: such connections are DNAT'd in PREROUTING and forwarded
   * to the container, so they never pass INPUT; they are filtered in DOCKER_CHAIN too.
   */
  readonly docker?: boolean;
}

export interface FirewallInput {
  readonly host: string;
  readonly rules: readonly FirewallRule[];
}

export const CHAIN = "GITLAB-HA-INPUT";
/** Jumped to first from Docker's DOCKER-USER chain (FORWARD jumps there before Docker's own chains). */
export const DOCKER_CHAIN = "GITLAB-HA-DOCKER";

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

/** The family of an address or CIDR; throws when it is neither. */
export function sourceFamily(source: string, where = "firewall"): IpFamily {
  const [address, prefix, extra] = source.split("/");
  const kind = isIP(address ?? "");
  const max = kind === 6 ? 128 : 32;
  const okPrefix = prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= max);
  if (extra !== undefined || kind === 0 || !okPrefix) throw new Error(`${where}: source "${source}" is not an IPv4 or IPv6 address or CIDR`);
  return kind as IpFamily;
}

/** "-s X " for a source, nothing for anyone (iptables drops a /0 match anyway). */
function sourceMatch(source: string): string {
  return source.split("/")[1] === "0" ? "" : `-s ${source} `;
}

/** iptables-restore input that, loaded with `iptables-restore --noflush`, replaces the program's chains and nothing else. */
export function renderIptablesRules(input: FirewallInput, family: IpFamily = 4): string {
  const a = `-A ${CHAIN}`;
  const d = `-A ${DOCKER_CHAIN}`;
  const tool = family === 4 ? "iptables" : "ip6tables";
  const checked = input.rules.map((r, i) => {
    const where = `firewall of ${input.host}, rule ${i} (${r.comment})`;
    if (r.protocol !== "tcp" && r.protocol !== "udp") throw new Error(`${where}: protocol must be tcp or udp`);
    if (r.ports.length === 0 || r.sources.length === 0) throw new Error(`${where}: needs at least one port and one source`);
    const sources = r.sources.filter((s) => sourceFamily(s, where) === family);
    return { r, sources, ports: r.ports.map((p) => dport(p, where)), comment: sanitiseComment(r.comment) };
  });
  const docker = checked.filter((c) => c.r.docker);
  const lines = [
    `# gitlab-ha firewall (IPv${family}) of host ${sanitiseComment(input.host)}: managed by gitlab-ha, local changes are overwritten.`,
    `# Load with: ${tool}-restore --noflush <this file> (replaces chain ${CHAIN}${docker.length ? ` and ${DOCKER_CHAIN}` : ""} only).`,
    "*filter",
    `:${CHAIN} - [0:0]`,
    ...(docker.length ? [`:${DOCKER_CHAIN} - [0:0]`] : []),
    `-F ${CHAIN}`,
    ...(docker.length ? [`-F ${DOCKER_CHAIN}`] : []),
    `${a} -i lo -j ACCEPT`,
    `${a} -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT`,
    // IPv6 needs ICMPv6 for neighbour discovery and path MTU (RFC 4890): all of it is admitted, and
    // DHCPv6 replies on the link (as EL's default /etc/sysconfig/ip6tables does, plus the source).
    ...(family === 4
      ? [`${a} -p icmp -m icmp --icmp-type echo-request -j ACCEPT`]
      : [`${a} -p ipv6-icmp -j ACCEPT`, `${a} -s fe80::/10 -d fe80::/64 -p udp -m udp --dport 546 -m comment --comment "dhcpv6 client" -j ACCEPT`]),
  ];
  for (const c of checked) {
    for (const source of c.sources) {
      for (const p of c.ports) {
        lines.push(`${a} ${sourceMatch(source)}-p ${c.r.protocol} -m ${c.r.protocol} --dport ${p} -m comment --comment "${c.comment}" -j ACCEPT`);
      }
    }
  }
  // Reject rather than drop: a refused connection fails at once instead of timing out.
  const unreachable = family === 4 ? "icmp-port-unreachable" : "icmp6-port-unreachable";
  lines.push(`${a} -p tcp -j REJECT --reject-with tcp-reset`, `${a} -j REJECT --reject-with ${unreachable}`);
  if (docker.length) {
    // docs.docker.com "Docker with iptables": packets reach DOCKER-USER after DNAT, so the published
    // port is matched as the connection's original destination port (conntrack). --ctstate DNAT
    // keeps containers' own outgoing connections (SNAT'd, e.g. to some server's 443) out of it.
    // Allowed connections RETURN to Docker's chains, which still accept only what is published.
    lines.push(`${d} -m conntrack --ctstate ESTABLISHED,RELATED -j RETURN`);
    const match = (proto: string, p: string) => `-p ${proto} -m conntrack --ctstate DNAT --ctorigdstport ${p} --ctdir ORIGINAL`;
    for (const c of docker) {
      for (const source of c.sources) {
        for (const p of c.ports) lines.push(`${d} ${sourceMatch(source)}${match(c.r.protocol, p)} -m comment --comment "${c.comment}" -j RETURN`);
      }
    }
    for (const c of docker) {
      for (const p of c.ports) {
        const reject = c.r.protocol === "tcp" ? "tcp-reset" : unreachable;
        lines.push(`${d} ${match(c.r.protocol, p)} -m comment --comment "${c.comment}" -j REJECT --reject-with ${reject}`);
      }
    }
  }
  lines.push("COMMIT", "");
  return lines.join("\n");
}
