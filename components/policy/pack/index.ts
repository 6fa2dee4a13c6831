// gitlab-ha's policy pack. Usage: pulumi preview --stack <name> --policy-pack components/policy/pack
import { PolicyPack } from "@pulumi/policy";
import { packPolicies } from "./policies";

new PolicyPack("gitlab-ha", { policies: packPolicies });
