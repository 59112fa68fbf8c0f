/**
 * Reads protobuf text format back against a real descriptor, strictly, so that a generated
 * config.pbtxt is checked the way Triton's C++ TextFormat parser would check it: unknown field
 * names, wrong scalar types, unknown enum names, a singular field set twice, two members of one
 * oneof, invalid UTF-8 and malformed syntax all throw.
 *
 * The parsing itself is protobufjs's spec-following text-format extension (`ext/textformat`), an
 * implementation independent of kiln's writer: a writer bug cannot be mirrored by a parser written
 * with the same misunderstanding.
 */
import path from 'node:path';
import protobuf from 'protobufjs';
import textformat from 'protobufjs/ext/textformat.js';
import { ROOT } from './kiln-cli.js';

/** Triton's model_config.proto as vendored (see test/fixtures/triton/README.md). */
export const TRITON_MODEL_CONFIG_PROTO = path.join(ROOT, 'test', 'fixtures', 'triton', 'model_config.proto');

let modelConfigType: protobuf.Type | undefined;

/** Loads a .proto keeping snake_case field names (text format uses the names as declared). */
export function loadProtoType(protoFile: string, typeName: string): protobuf.Type {
  const root = new protobuf.Root().loadSync(protoFile, { keepCase: true });
  root.resolveAll();
  return root.lookupType(typeName);
}

/** `inference.ModelConfig` from the vendored proto, loaded once. */
export function tritonModelConfigType(): protobuf.Type {
  modelConfigType ??= loadProtoType(TRITON_MODEL_CONFIG_PROTO, 'inference.ModelConfig');
  return modelConfigType;
}

/** Parses `text` as a `type` message; throws on anything the text-format spec refuses. */
export function parsePbtxt(type: protobuf.Type, text: string): protobuf.Message {
  return textformat.fromText(type, text);
}

/**
 * Parses a config.pbtxt, verifies the message against ModelConfig and returns it as a plain
 * object: snake_case names, enums as names, 64-bit integers as numbers, defaults left out (what
 * the file set is what the object holds).
 */
export function parseTritonConfig(text: string): Record<string, unknown> {
  const type = tritonModelConfigType();
  const message = parsePbtxt(type, text);
  const problem = type.verify(message);
  if (problem) throw new Error(`config.pbtxt does not verify as inference.ModelConfig: ${problem}`);
  return type.toObject(message, { enums: String, longs: Number });
}
