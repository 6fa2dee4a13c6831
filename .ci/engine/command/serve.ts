// Serving the provider with @pulumi/pulumi/provider's main(). Its gRPC server answers most calls
// through the Provider interface, but three things upstream's provider does cannot pass through it
// (@pulumi/pulumi provider/server.js): Diff sends only `changes` and `replaces`, so without the
// changed keys and the detailed diff the engine could not apply the SDK's replaceOnChanges
// `triggers[*]` (pulumi pkg/resource/deploy/step_generator.go applyReplaceOnChanges reads ChangedKeys
// and DetailedDiff), and Create/Update/Delete drop the request's customTimeouts. So, while main()
// registers its service, this replaces the Diff handler and wraps Create/Update/Delete; everything
// else (GetPluginInfo, GetSchema, Check, Read, Cancel, Configure) is main()'s own.
import * as grpc from "@grpc/grpc-js";
import * as provider from "@pulumi/pulumi/provider";
import { diff } from "./diff";
import { callContext, CommandProvider, kindOf } from "./provider";
// eslint-disable-next-line @typescript-eslint/no-require-imports
const provproto = require("@pulumi/pulumi/proto/provider_pb");

const KIND = provproto.PropertyDiff.Kind;
const toKind = (k: "add" | "delete" | "update", replace: boolean) =>
  k === "add" ? (replace ? KIND.ADD_REPLACE : KIND.ADD) : k === "delete" ? (replace ? KIND.DELETE_REPLACE : KIND.DELETE) : replace ? KIND.UPDATE_REPLACE : KIND.UPDATE;

type Handler = (call: any, callback: (err: any, resp?: any) => void) => void;

/** The Diff handler: full DiffResponse as pulumi-go-provider sends it (GP provider.go DiffResponse.rpc). */
export const diffHandler: Handler = (call, callback) => {
  try {
    const req = call.request;
    const out = diff(
      kindOf(req.getUrn()),
      req.getOlds()?.toJavaScript() ?? {},
      req.getOldInputs()?.toJavaScript(),
      req.getNews()?.toJavaScript() ?? {},
      req.getIgnorechangesList(),
    );
    const resp = new provproto.DiffResponse();
    resp.setChanges(out.changes ? provproto.DiffResponse.DiffChanges.DIFF_SOME : provproto.DiffResponse.DiffChanges.DIFF_NONE);
    resp.setReplacesList(out.replaces);
    resp.setDiffsList(out.diffs);
    resp.setHasdetaileddiff(true);
    resp.setDeletebeforereplace(false); // never set: the engine's create-before-delete default holds (R11)
    const map = resp.getDetaileddiffMap();
    for (const [p, d] of Object.entries(out.detailed)) {
      const pd = new provproto.PropertyDiff();
      pd.setKind(toKind(d.kind, d.replace));
      pd.setInputdiff(true);
      map.set(p, pd);
    }
    callback(null, resp);
  } catch (e) {
    callback(e);
  }
};

const withTimeout =
  (inner: Handler): Handler =>
  (call, callback) =>
    callContext.run({ timeout: Number(call.request.getTimeout?.() ?? 0) }, () => inner(call, callback));

export async function serve(p: CommandProvider, args: string[]): Promise<void> {
  const original = grpc.Server.prototype.addService;
  grpc.Server.prototype.addService = function (this: grpc.Server, service: any, impl: any) {
    if (service === require("@pulumi/pulumi/proto/provider_grpc_pb").ResourceProviderService) {
      impl.diff = diffHandler;
      for (const m of ["create", "update", "delete"]) impl[m] = withTimeout(impl[m].bind(impl));
    }
    return original.call(this, service, impl);
  };
  try {
    await provider.main(p, args);
  } finally {
    grpc.Server.prototype.addService = original;
  }
}
