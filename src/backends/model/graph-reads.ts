/** Which values a graph's nodes read, subgraphs included. */
import type { onnx as Onnx } from 'onnx-proto';

/**
 * Every name the nodes read, including the inputs of nodes in their If branches and Loop/Scan
 * bodies: a subgraph may read an initializer of the outer graph by name (openWakeWord's heads do),
 * so pruning initializers by the top-level nodes alone would leave the subgraph dangling.
 */
export function namesRead(nodes: readonly Onnx.INodeProto[]): Set<string> {
  const read = new Set<string>();
  const stack: Array<readonly Onnx.INodeProto[]> = [nodes];
  for (let level = stack.pop(); level; level = stack.pop()) {
    for (const node of level) {
      for (const input of node.input ?? []) if (input) read.add(input);
      for (const attribute of node.attribute ?? []) {
        if (attribute.g) stack.push(attribute.g.node ?? []);
        for (const sub of attribute.graphs ?? []) stack.push(sub.node ?? []);
      }
    }
  }
  return read;
}

/**
 * The names the subgraphs of `nodes` (If branches, Loop/Scan bodies, nested ones) read: values of
 * the outer graph a rewrite must keep under their name and meaning, as it keeps graph outputs.
 */
export function namesReadBySubgraphs(nodes: readonly Onnx.INodeProto[]): Set<string> {
  const inner = nodes.flatMap((node) =>
    (node.attribute ?? [])
      .flatMap((a) => [...(a.g ? [a.g] : []), ...(a.graphs ?? [])])
      .flatMap((g) => g.node ?? []),
  );
  return namesRead(inner);
}
