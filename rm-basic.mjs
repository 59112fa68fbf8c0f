import ort from 'onnxruntime-node';
import { basicOptimized } from './build/src/backends/calibration-graph.js';
import { readFile } from 'node:fs/promises';
const f = process.argv[2];
const b = await basicOptimized(new Uint8Array(await readFile(f)), f);
for (const lvl of ['disabled','all']) { try { const s = await ort.InferenceSession.create(b, { graphOptimizationLevel: lvl, logSeverityLevel: 3 }); console.log('reload', lvl, 'ok'); await s.release(); } catch (e) { console.log('reload', lvl, 'FAIL', String(e.message).slice(0, 300)); } }
import { exposeTensors } from './build/src/backends/activation-capture.js';
import { quantizableTensors } from './build/src/backends/qdq-quantizer.js';
import { foldAffine } from './build/src/backends/fold-affine.js';
const names = quantizableTensors(b, {});
console.log(names);
try { await ort.InferenceSession.create(exposeTensors(b, names), { graphOptimizationLevel: 'disabled', logSeverityLevel: 3 }); console.log('expose ok'); } catch (e) { console.log('expose FAIL', String(e.message).slice(0, 400)); }
const folded = foldAffine(b).model;
try { const s = await ort.InferenceSession.create(folded, { graphOptimizationLevel: 'disabled', logSeverityLevel: 3 }); console.log('folded ok'); } catch (e) { console.log('folded FAIL', String(e.message).slice(0, 600)); }
import onnxProto from 'onnx-proto';
const m = onnxProto.onnx.ModelProto.decode(b);
console.log('inits', m.graph.initializer.map(i => i.name).filter(n => n.includes('verifier')));
console.log('nodes producing verifier', m.graph.node.filter(n => n.output.some(o => o.includes('verifier'))).map(n => n.opType + ':' + n.output));
const ifn = m.graph.node.find(n => n.opType === 'If'); for (const a of ifn.attribute) console.log(a.name, a.g.node.map(n => n.opType + '(' + n.input + ')'));
