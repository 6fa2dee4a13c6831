// The mandatory policies of ./checks.ts as @pulumi/policy resource validation policies.
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { POLICIES } from "./checks";

export const packPolicies: ResourceValidationPolicy[] = POLICIES.map((p) => ({
  name: p.name,
  description: p.description,
  enforcementLevel: "mandatory",
  validateResource: (args, reportViolation) => {
    const view = { type: args.type, name: args.name, props: args.props, deleteBeforeReplace: args.opts.deleteBeforeReplace ?? false, protect: args.opts.protect };
    for (const message of p.check(view)) reportViolation(message);
  },
}));
