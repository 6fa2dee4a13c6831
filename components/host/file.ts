// A file the program owns on a host: content, mode and ownership, converged atomically.
import * as crypto from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import { hostCommand } from "./command";
import type { HostTarget } from "./target";

export interface HostFileArgs {
  readonly host: HostTarget;
  /** Absolute target path on the host. */
  readonly path: string;
  /** File content, sent on stdin. */
  readonly content: pulumi.Input<string>;
  /** The content is a credential: kept a Pulumi secret and no output of the step is logged. */
  readonly secret?: boolean;
  /** Octal mode, e.g. "0640". */
  readonly mode: string;
  readonly owner: string;
  readonly group: string;
  /** Create the parent directory (mode 0755, the file's owner) when it is missing. */
  readonly createDirectory?: boolean;
  /** Remove the file when the resource is deleted (credentials); config files stay by default. */
  readonly removeOnDelete?: boolean;
}

export class HostFile extends pulumi.ComponentResource {
  /** sha256 of the content: put it in the triggers of the step that applies the file. */
  public readonly contentHash: pulumi.Output<string>;

  constructor(name: string, args: HostFileArgs, opts: pulumi.ComponentResourceOptions = {}) {
    const content = args.secret ? pulumi.secret(args.content) : pulumi.output(args.content);
    // A component's inputs are kept in state (@pulumi/pulumi resource.ts ComponentResource): what
    // reviewers and policies read of the file, with the host by name and a secret content encrypted.
    const { host, path, mode, owner, group } = args;
    const inputs = { host: host.name, path, mode, owner, group, content, secret: args.secret ?? false, createDirectory: args.createDirectory ?? false, removeOnDelete: args.removeOnDelete ?? false };
    super("gitlab-ha:host:File", name, inputs, opts);
    this.contentHash = content.apply((c) => crypto.createHash("sha256").update(c).digest("hex"));
    const vars = { FILE_PATH: args.path, FILE_MODE: args.mode, FILE_OWNER: args.owner, FILE_GROUP: args.group, FILE_MKDIR: args.createDirectory ?? false };
    hostCommand(
      `${name}-write`,
      {
        host: args.host,
        script: { description: `write ${args.path} on ${args.host.name}`, vars, bodies: ["components/host/scripts/write-file.sh"] },
        stdin: content,
        sensitive: args.secret ?? false,
        ...(args.removeOnDelete
          ? { onDelete: { description: `remove ${args.path} from ${args.host.name}`, vars, bodies: ["components/host/scripts/remove-file.sh"] } }
          : {}),
      },
      // The engine does not pass a component's dependsOn to its children: hand it down.
      { parent: this, ...(opts.dependsOn ? { dependsOn: opts.dependsOn } : {}) },
    );
    this.registerOutputs({ contentHash: this.contentHash });
  }
}
