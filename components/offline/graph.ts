// Dependency order of evaluated resources, as the engine would schedule them: a resource waits
// for what it names in dependsOn and for the resources its inputs come from; depending on a
// component means depending on everything under it. A component's own dependsOn is not passed
// to its children (as in the engine), so components must hand it down themselves.
import type { EvaluatedResource } from "./evaluate";

export function descendants(resources: readonly EvaluatedResource[]): Map<string, string[]> {
  const children = new Map<string, string[]>();
  for (const r of resources) if (r.parent) children.set(r.parent, [...(children.get(r.parent) ?? []), r.id]);
  const out = new Map<string, string[]>();
  const collect = (id: string): string[] => {
    const cached = out.get(id);
    if (cached) return cached;
    const list = (children.get(id) ?? []).flatMap((c) => [c, ...collect(c)]);
    out.set(id, list);
    return list;
  };
  for (const r of resources) collect(r.id);
  return out;
}

/** Ids each resource waits for (custom resources only). */
export function dependencies(resources: readonly EvaluatedResource[]): Map<string, Set<string>> {
  const byId = new Map(resources.map((r) => [r.id, r]));
  const under = descendants(resources);
  const expand = (id: string): string[] => (byId.get(id)?.custom ? [id] : (under.get(id) ?? []).filter((d) => byId.get(d)?.custom));
  const deps = new Map<string, Set<string>>();
  for (const r of resources) {
    const set = new Set<string>();
    for (const d of [...r.dependsOn, ...r.inputDependencies, ...(r.options.provider ? [r.options.provider] : [])]) {
      for (const e of expand(d)) if (e !== r.id) set.add(e);
    }
    deps.set(r.id, set);
  }
  return deps;
}

/** Custom resources in an order that satisfies every dependency; declaration order breaks ties. */
export function topologicalOrder(resources: readonly EvaluatedResource[]): EvaluatedResource[] {
  const deps = dependencies(resources);
  const custom = resources.filter((r) => r.custom);
  const done = new Set<string>();
  const order: EvaluatedResource[] = [];
  while (order.length < custom.length) {
    const next = custom.find((r) => !done.has(r.id) && [...deps.get(r.id)!].every((d) => done.has(d)));
    if (!next) {
      const stuck = custom.filter((r) => !done.has(r.id)).map((r) => r.id);
      throw new Error(`dependency cycle among: ${stuck.join(", ")}`);
    }
    done.add(next.id);
    order.push(next);
  }
  return order;
}
