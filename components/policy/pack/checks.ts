// The mandatory policies, as plain functions over one resource, so that the policy pack
// (`pulumi preview --policy-pack components/policy/pack`), the offline render and the tests all
// run the very same checks. No @pulumi/policy import here: the pack wraps these. This file lives
// in the pack's folder and imports nothing outside it: `pulumi policy publish` ships only that
// folder (pulumi/pulumi pkg/backend/httpstate/policypack.go: a Node.js pack is `npm pack`ed in its
// directory and its package.json dependencies installed where it runs).

/** What a policy sees of a resource; a secret value may appear as "[secret]" (offline render). */
export interface ResourceView {
  readonly type: string;
  readonly name: string;
  readonly props: Record<string, unknown>;
  readonly deleteBeforeReplace?: boolean;
  readonly protect?: boolean;
}

export interface Policy {
  readonly name: string;
  readonly description: string;
  /** Messages, one per violation; empty when the resource complies. */
  check(r: ResourceView): string[];
}

const SECRET_MARKER = "[secret]";
const REMOTE_COMMAND = "command:remote:Command";
const HOST_FILE = "gitlab-ha:host:File";
const CONTAINER = "docker:index/container:Container";

/** Text that is a credential wherever it appears. */
const SECRET_PATTERNS: [RegExp, string][] = [
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----/, "a private key"],
  [/SCRAM-SHA-256\$\d+:/, "a SCRAM password verifier"],
  [/\bglrt-[A-Za-z0-9_-]{10,}/, "a runner authentication token"],
  [/\bGR1348941[A-Za-z0-9_-]{10,}/, "a runner registration token"],
  [/\b(PGPASSWORD|password)=\S+/i, "a password assignment"],
];

function secretsIn(field: string, value: unknown): string[] {
  if (value === SECRET_MARKER) return [`${field} carries a secret: secrets go on stdin or into 0600 files`];
  if (typeof value === "string") {
    return SECRET_PATTERNS.filter(([re]) => re.test(value)).map(([, what]) => `${field} contains ${what}`);
  }
  if (Array.isArray(value)) return value.flatMap((v, i) => secretsIn(`${field}[${i}]`, v));
  if (value && typeof value === "object") return Object.entries(value).flatMap(([k, v]) => secretsIn(`${field}.${k}`, v));
  return [];
}

const fields = (r: ResourceView, names: readonly string[]) => names.filter((n) => r.props[n] !== undefined).map((n) => [n, r.props[n]] as const);

export const noSecretInPlainInputs: Policy = {
  name: "no-secret-in-plain-inputs",
  description: "No secret in command lines, command environments, file paths or container names, commands, labels and environment.",
  check(r) {
    const names =
      r.type === REMOTE_COMMAND || r.type === "command:local:Command"
        ? ["create", "update", "delete", "environment"]
        : r.type === HOST_FILE
          ? ["path"]
          : r.type === CONTAINER
            ? ["name", "hostname", "command", "labels", "envs"]
            : [];
    return fields(r, names).flatMap(([n, v]) => secretsIn(n, v));
  },
};

/** Steps that can destroy data if two copies ever ran at once. */
const DESTRUCTIVE = [/\bmkfs\b/, /\bcreate-md\b/, /\bpg_basebackup\b/, /\bpg_rewind\b/, /-mindepth 1 -delete\b/, /\bwipefs (-\S+ )*-a\b/, /--discard-my-data\b/];

export const destructiveStepsProtected: Policy = {
  name: "destructive-steps-protected",
  description: "Commands that can format, wipe or overwrite data are replaced delete-before-create (or protected).",
  check(r) {
    if (r.type !== REMOTE_COMMAND) return [];
    const text = [r.props.create, r.props.update].filter((x): x is string => typeof x === "string").join("\n");
    const hit = DESTRUCTIVE.find((re) => re.test(text));
    return hit && !r.deleteBeforeReplace && !r.protect ? [`runs a destructive step (${hit.source}) without deleteBeforeReplace or protect`] : [];
  },
};

/** Marker the DRBD renderer writes when config names an acknowledgement of the split-brain risk. */
export const SPLIT_BRAIN_ACK = "# split-brain risk acknowledged:";

export const drbdQuorumOrAcknowledged: Policy = {
  name: "drbd-quorum-or-acknowledged-risk",
  description: "A DRBD resource has quorum with at least three nodes, or carries a named acknowledgement of the split-brain risk.",
  check(r) {
    if (r.type !== HOST_FILE || !/^\/etc\/drbd\.d\/.+\.res$/.test(String(r.props.path))) return [];
    const text = String(r.props.content);
    if (text.includes(SPLIT_BRAIN_ACK)) return [];
    const nodes = (text.match(/^\s*on \S+ \{/gm) ?? []).length;
    return /^\s*quorum majority;/m.test(text) && nodes >= 3 ? [] : [`${r.props.path}: ${nodes} nodes without quorum majority over at least three, and no acknowledged risk`];
  },
};

/** The firewall rule that admits GitLab's users from everywhere is the only one allowed to. */
export const GITLAB_CLIENTS_COMMENT = "gitlab clients:";

export const noRuleOpenToEveryone: Policy = {
  name: "no-rule-open-to-everyone",
  description: "No pg_hba entry or firewall rule admits every address (except GitLab's own client-facing ports).",
  check(r) {
    if (r.type !== HOST_FILE) return [];
    const path = String(r.props.path);
    const text = String(r.props.content);
    if (path.endsWith("/pg_hba.conf")) {
      // host* lines: TYPE DATABASE USER ADDRESS METHOD [# comment]
      return text
        .split("\n")
        .map((l) => l.trim().split(/\s+/))
        .filter((c) => c[0]!.startsWith("host") && c[4] !== "reject" && ["0.0.0.0/0", "::/0", "all", "samenet"].includes(c[3] ?? ""))
        .map((c) => `${path}: '${c.slice(0, 5).join(" ")}' admits everyone`);
    }
    if (path === "/etc/gitlab-ha/iptables.rules" || path === "/etc/gitlab-ha/ip6tables.rules") {
      const rules = text.split("\n").filter((l) => l.startsWith("-A "));
      const clients = (l: string) => l.includes(`--comment "${GITLAB_CLIENTS_COMMENT}`);
      // What admits a new connection: ACCEPT on a port in INPUT, or RETURN (back to Docker's chains,
      // which accept what is published) on a published port's original destination in DOCKER-USER.
      const admits = (l: string) => (l.includes("-j ACCEPT") && l.includes("--dport")) || (l.includes("-j RETURN") && l.includes("--ctorigdstport"));
      const open = rules
        .filter((l) => admits(l) && !/\s-s\s/.test(l) && !clients(l))
        .map((l) => `${path}: '${l}' admits everyone`);
      // Docker publishes GitLab's ports: their connections are DNAT'd and forwarded, never seen by
      // INPUT. A client port admitted in INPUT must also be refused in the Docker chain to everyone
      // else, or firewall.gitlabClientNetworks restricts nothing.
      const refusedForwarded = new Set(
        rules.filter((l) => l.includes("-j REJECT") || l.includes("-j DROP")).flatMap((l) => /--ctorigdstport (\S+)/.exec(l)?.[1] ?? []),
      );
      const unfiltered = [...new Set(rules.filter((l) => clients(l) && l.includes("-j ACCEPT")).flatMap((l) => /--dport (\S+)/.exec(l)?.[1] ?? []))]
        .filter((port) => !refusedForwarded.has(port))
        .map((port) => `${path}: GitLab's published port ${port} is not filtered where Docker forwards it (DOCKER-USER, --ctorigdstport)`);
      return [...open, ...unfiltered];
    }
    return [];
  },
};

export const noPrivilegedContainers: Policy = {
  name: "no-privileged-containers",
  description: "No container runs privileged (lab hosts use capabilities instead).",
  check(r) {
    return r.type === CONTAINER && r.props.privileged === true ? ["privileged container"] : [];
  },
};

export const POLICIES: readonly Policy[] = [noSecretInPlainInputs, destructiveStepsProtected, drbdQuorumOrAcknowledged, noRuleOpenToEveryone, noPrivilegedContainers];

export interface Violation {
  readonly policy: string;
  readonly resource: string;
  readonly message: string;
}

export function checkAll(resources: readonly ResourceView[]): Violation[] {
  return resources.flatMap((r) => POLICIES.flatMap((p) => p.check(r).map((message) => ({ policy: p.name, resource: `${r.type}::${r.name}`, message }))));
}
