// The one way components run a step on a host: a remote.Command built from a HostScript.
import * as pulumi from "@pulumi/pulumi";
import { remote } from "@pulumi/command";
import { commandLine, HostScript } from "./script";
import type { HostTarget } from "./target";

export interface HostCommandArgs {
  readonly host: HostTarget;
  readonly script: Omit<HostScript, "host">;
  /** Fed to the script's stdin; the only channel for secrets. */
  readonly stdin?: pulumi.Input<string>;
  /** Values whose change must re-run the step (e.g. hashes of files it applies). */
  readonly triggers?: pulumi.Input<unknown>[];
  /** Script run when the resource is deleted. */
  readonly onDelete?: Omit<HostScript, "host">;
  /** Set when stdin or output may carry a secret: nothing of the command's output is logged. */
  readonly sensitive?: boolean;
}

export function hostCommand(name: string, args: HostCommandArgs, opts: pulumi.CustomResourceOptions): remote.Command {
  const { host, script } = args;
  return new remote.Command(
    name,
    {
      connection: host.connection,
      create: commandLine({ ...script, host: host.name }, host.sudo),
      ...(args.onDelete ? { delete: commandLine({ ...args.onDelete, host: host.name }, host.sudo) } : {}),
      ...(args.stdin !== undefined ? { stdin: args.stdin } : {}),
      ...(args.triggers ? { triggers: args.triggers } : {}),
      logging: args.sensitive ? "none" : "stdoutAndStderr",
      // Steps never read $PULUMI_COMMAND_STDOUT; the provider would send it with SSH setenv, which
      // sshd drops without AcceptEnv (pulumi-command remote/commandOutputs.go, issue #430).
      addPreviousOutputInEnv: false,
    },
    {
      ...opts,
      dependsOn: mergeDeps(opts.dependsOn, host.dependsOn),
      // stdout/stderr are kept in state; a step that handles a secret keeps them encrypted there.
      ...(args.sensitive ? { additionalSecretOutputs: ["stdout", "stderr"] } : {}),
    },
  );
}

function mergeDeps(a: pulumi.CustomResourceOptions["dependsOn"], extra: readonly pulumi.Resource[]): pulumi.Input<pulumi.Input<pulumi.Resource>[]> {
  const list = a === undefined ? [] : Array.isArray(a) ? a : [a as pulumi.Input<pulumi.Resource>];
  return [...list, ...extra];
}
