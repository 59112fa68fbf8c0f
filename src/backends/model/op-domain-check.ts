/** Refusing, before any compile, a node whose op domain ONNX Runtime has no kernels for. */
import type { onnx as Onnx } from 'onnx-proto';
import { InputError } from '../../core/errors.js';

/**
 * Op domains the onnxruntime-node CPU build registers kernels for. The golden reference always runs
 * on ONNX Runtime CPU, whatever the target backend, so a node outside these cannot be checked.
 * Training-only domains (ai.onnx.training, org.pytorch.aten) are absent from inference builds.
 */
export const ORT_OP_DOMAINS: ReadonlySet<string> = new Set([
  '',
  'ai.onnx',
  'ai.onnx.ml',
  'com.microsoft',
  'com.microsoft.nchwc',
  'com.ms.internal.nhwc',
]);

interface ForeignOp {
  opType: string;
  domain: string;
  node: string;
}

// Walks the main graph and every subgraph (If branches, Loop/Scan bodies); a node that calls a
// function the model itself defines (model.functions) is loadable whatever its domain.
function findForeignOp(model: Onnx.IModelProto): ForeignOp | undefined {
  const local = new Set((model.functions ?? []).map((f) => `${f.domain ?? ''}\u0000${f.name ?? ''}`));
  const stack: Array<Onnx.INodeProto[]> = [model.graph?.node ?? []];
  for (const fn of model.functions ?? []) stack.push(fn.node ?? []);
  while (stack.length > 0) {
    for (const node of stack.pop()!) {
      const domain = node.domain ?? '';
      const opType = node.opType ?? '';
      if (!ORT_OP_DOMAINS.has(domain) && !local.has(`${domain}\u0000${opType}`)) {
        return { opType, domain, node: node.name ?? '' };
      }
      for (const attribute of node.attribute ?? []) {
        if (attribute.g) stack.push(attribute.g.node ?? []);
        for (const sub of attribute.graphs ?? []) stack.push(sub.node ?? []);
      }
    }
  }
  return undefined;
}

/**
 * Refuses a model with a node in a custom op domain ONNX Runtime cannot load (a TensorRT plugin, a
 * custom-op library), in one line naming the file, the op, its domain and the node.
 * @throws InputError
 */
export function assertLoadableOps(model: Onnx.IModelProto, file: string): void {
  const foreign = findForeignOp(model);
  if (!foreign) return;
  const named = foreign.node ? ` (node '${foreign.node}')` : '';
  throw new InputError(
    `${file}: op '${foreign.opType}'${named} is in custom domain '${foreign.domain}', which ONNX Runtime has no kernels for; kiln checks every engine against an ONNX Runtime CPU reference, so export the model with standard ONNX ops (or a model-local function)`,
  );
}
