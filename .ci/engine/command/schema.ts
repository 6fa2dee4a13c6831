// The package schema the engine may ask for (GetSchema): the inputs and outputs of @pulumi/command
// 1.2.1, as upstream's generated schema lists them (pulumi-command v1.2.1
// provider/cmd/pulumi-resource-command/schema.json: command:local:Command, command:remote:Command,
// command:remote:Connection, command:remote:ProxyConnection). Descriptions are left out.
export const VERSION = "1.2.1";

const str = { type: "string" };
const secretStr = { type: "string", secret: true };
const strArray = { type: "array", items: str };
const common = {
  triggers: { type: "array", items: { $ref: "pulumi.json#/Any" }, replaceOnChanges: true },
  create: str,
  update: str,
  delete: str,
  stdin: str,
  environment: { type: "object", additionalProperties: str },
  addPreviousOutputInEnv: { type: "boolean" },
};
const localOnly = { dir: str, interpreter: strArray, assetPaths: strArray, archivePaths: strArray };
const connectionBase = {
  host: str,
  port: { type: "number", default: 22 },
  user: { type: "string", default: "root" },
  password: secretStr,
  privateKey: secretStr,
  privateKeyPassword: secretStr,
  agentSocketPath: str,
  dialErrorLimit: { type: "integer", default: 10 },
  perDialTimeout: { type: "integer", default: 15 },
  hostKey: str,
};
const loggingEnum = (mod: string) => ({
  type: "string",
  enum: ["stdout", "stderr", "stdoutAndStderr", "none"].map((value) => ({ value })),
  description: `command:${mod}:Logging`,
});

const resource = (mod: "local" | "remote") => {
  const inputs: Record<string, unknown> = {
    ...common,
    logging: { $ref: `#/types/command:${mod}:Logging` },
    ...(mod === "local" ? localOnly : { connection: { $ref: "#/types/command:remote:Connection", secret: true } }),
  };
  const outputs: Record<string, unknown> = {
    ...inputs,
    stdout: str,
    stderr: str,
    ...(mod === "local" ? { assets: { type: "object", additionalProperties: { $ref: "pulumi.json#/Asset" } }, archive: { $ref: "pulumi.json#/Archive" } } : {}),
  };
  return {
    inputProperties: inputs,
    properties: outputs,
    required: ["stdout", "stderr", ...(mod === "remote" ? ["connection"] : [])],
    ...(mod === "remote" ? { requiredInputs: ["connection"] } : {}),
  };
};

export const SCHEMA = JSON.stringify({
  name: "command",
  version: VERSION,
  types: {
    "command:local:Logging": loggingEnum("local"),
    "command:remote:Logging": loggingEnum("remote"),
    "command:remote:Connection": {
      type: "object",
      properties: { ...connectionBase, proxy: { $ref: "#/types/command:remote:ProxyConnection" } },
      required: ["host"],
    },
    "command:remote:ProxyConnection": { type: "object", properties: connectionBase, required: ["host"] },
  },
  resources: { "command:local:Command": resource("local"), "command:remote:Command": resource("remote") },
});

/** Input names per resource (R1), for Check and for reading old inputs out of a state (R9). */
export const INPUTS: Record<"local" | "remote", readonly string[]> = {
  local: [...Object.keys(common), "logging", ...Object.keys(localOnly)],
  remote: [...Object.keys(common), "logging", "connection"],
};
export const CONNECTION_FIELDS = [...Object.keys(connectionBase), "proxy"];
export const PROXY_FIELDS = Object.keys(connectionBase);
