import type { onnx as Onnx } from 'onnx-proto';

/**
 * A name allocator for the new tensors and nodes of `graph`: `base`, else `base_1`, `base_2`, …,
 * never a name its initializers or node outputs hold or an earlier call returned, so an edit never
 * rewires a value it did not mean to.
 */
export function uniqueNamer(graph: Onnx.IGraphProto): (base: string) => string {
  const names = new Set([
    ...(graph.initializer ?? []).map((t) => t.name ?? ''),
    ...(graph.node ?? []).flatMap((n) => [...(n.output ?? [])]),
  ]);
  return (base) => {
    let name = base;
    for (let i = 1; names.has(name); i++) name = `${base}_${i}`;
    names.add(name);
    return name;
  };
}
