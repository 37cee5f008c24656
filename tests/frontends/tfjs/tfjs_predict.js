// Load a TF.js layers-model directory with @tensorflow/tfjs (pure JS, CPU
// backend) and print model.predict(input) as {"shape", "values"} JSON.
// usage: node tfjs_predict.js MODEL_DIR INPUT.json
// Exits 77 (meson's "skipped") when @tensorflow/tfjs cannot be loaded.
'use strict';
const fs = require('fs');
const path = require('path');
let tf;
try {
  const where = process.env.RECUR_TFJS_MODULES || path.join(__dirname, 'node_modules');
  tf = require(path.join(where, '@tensorflow', 'tfjs'));
} catch (e) {
  console.error('skipped: @tensorflow/tfjs not installed (npm install @tensorflow/tfjs in tests/tfjs, ' +
                'or set RECUR_TFJS_MODULES to a node_modules directory)');
  process.exit(77);
}
async function main() {
  const [dir, inputFile] = process.argv.slice(2);
  const mj = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
  const specs = [], bufs = [];
  for (const g of mj.weightsManifest) {
    for (const p of g.paths) bufs.push(fs.readFileSync(path.join(dir, p)));
    specs.push(...g.weights);
  }
  const all = Buffer.concat(bufs);
  const data = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength);
  await tf.setBackend('cpu');
  const model = await tf.loadLayersModel(tf.io.fromMemory({modelTopology: mj.modelTopology, weightSpecs: specs,
                                                           weightData: data}), {strict: true});
  const inp = JSON.parse(fs.readFileSync(inputFile, 'utf8'));
  const x = tf.tensor(inp.values, inp.shape, inp.dtype === 'int32' ? 'int32' : 'float32');
  const y = model.predict(x);
  const ys = Array.isArray(y) ? y : [y];
  const out = ys.map(t => ({shape: t.shape, values: Array.from(t.dataSync())}));
  process.stdout.write(JSON.stringify(out.length === 1 ? out[0] : out) + '\n');
}
main().catch(e => { console.error('tfjs: ' + (e && e.stack || e)); process.exit(1); });
