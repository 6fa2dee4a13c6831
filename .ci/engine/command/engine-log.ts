// Status lines and diagnostics to the engine that launched the plugin (its address is the plugin's
// argument: @pulumi/pulumi provider/internals.ts parseArgs). Upstream logs each output line with
// Logger.InfoStatus (GP logging.go): an ephemeral info message tied to the resource's URN.
import * as grpc from "@grpc/grpc-js";
import type { Logger } from "./capture";
// eslint-disable-next-line @typescript-eslint/no-require-imports
const engrpc = require("@pulumi/pulumi/proto/engine_grpc_pb");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const engproto = require("@pulumi/pulumi/proto/engine_pb");

let client: any;

export function connectEngine(args: string[]): void {
  const clean = args.filter((a, i) => a !== "--logtostderr" && !a.startsWith("-v=") && a !== "--tracing" && args[i - 1] !== "--tracing");
  if (clean[0]) client = new engrpc.EngineClient(clean[0], grpc.credentials.createInsecure());
}

/** A logger for one operation on `urn`; `flush()` waits until the engine has every message. */
export function engineLogger(urn: string): Logger & { flush(): Promise<void> } {
  const pending: Promise<void>[] = [];
  const send = (severity: number, message: string, ephemeral: boolean) => {
    if (!client) return;
    const req = new engproto.LogRequest();
    req.setSeverity(severity);
    req.setMessage(message);
    req.setUrn(urn);
    req.setEphemeral(ephemeral);
    pending.push(new Promise((resolve) => client.log(req, () => resolve())));
  };
  return {
    status: (m) => send(engproto.LogSeverity.INFO, m, true),
    warning: (m) => send(engproto.LogSeverity.WARNING, m, false),
    error: (m) => send(engproto.LogSeverity.ERROR, m, false),
    flush: async () => void (await Promise.all(pending)),
  };
}
