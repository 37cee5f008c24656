// Writes extra TF.js layers-models (TF.js format only) with TF.js 4.x's own
// predictions, covering layers and options the Keras golden models do not:
// stacked cells, TimeDistributed, Masking, go_backwards, merge modes,
// return_state with initial_state, use_bias=false, hard_sigmoid (TF.js'
// default recurrent activation), softmax, several shards.
// usage: node make_models.js OUTDIR      (run once; the output is committed)
'use strict';
const fs = require('fs');
const path = require('path');
const tf = require(path.join(process.env.RECUR_TFJS_MODULES || path.join(__dirname, 'node_modules'),
                             '@tensorflow', 'tfjs'));

let seed = 7;
function rnd() { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; }
function uniform(n, lo, hi) { return Array.from({length: n}, () => lo + (hi - lo) * rnd()); }

async function save(model, dir, input, shards) {
  fs.mkdirSync(dir, {recursive: true});
  // weights drawn from our generator so the files are reproducible
  for (const w of model.weights) w.write(tf.tensor(uniform(w.shape.reduce((a, b) => a * b, 1), -0.8, 0.8), w.shape));
  await model.save({save: async (a) => {
    const data = Buffer.from(a.weightData);
    const n = shards || 1, paths = [];
    const cut = Math.ceil(data.length / 4 / n) * 4;
    for (let i = 0; i < n; i++) {
      const p = `group1-shard${i + 1}of${n}.bin`;
      fs.writeFileSync(path.join(dir, p), data.subarray(i * cut, Math.min(data.length, (i + 1) * cut)));
      paths.push(p);
    }
    fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify({modelTopology: a.modelTopology,
      format: 'layers-model', generatedBy: 'TensorFlow.js tfjs-layers v' + tf.version_layers, convertedBy: null,
      weightsManifest: [{paths, weights: a.weightSpecs}]}));
    return {modelArtifactsInfo: {dateSaved: new Date(), modelTopologyType: 'JSON'}};
  }});
  fs.writeFileSync(path.join(dir, 'input.json'), JSON.stringify(input));
  const x = tf.tensor(input.values, input.shape, input.dtype);
  let y = model.predict(x);
  y = Array.isArray(y) ? y : [y];
  const out = y.map(t => ({shape: t.shape, values: Array.from(t.dataSync()).map(v => +v.toPrecision(9))}));
  fs.writeFileSync(path.join(dir, 'expected.json'), JSON.stringify(out.length === 1 ? out[0] : out));
}

function floats(shape, zeroSteps) {
  const v = uniform(shape.reduce((a, b) => a * b, 1), -1, 1);
  for (const [b, t] of zeroSteps || [])
    for (let f = 0; f < shape[2]; f++) v[(b * shape[1] + t) * shape[2] + f] = 0;
  return {dtype: 'float32', shape, values: v.map(x => +x.toPrecision(9))};
}

async function main() {
  await tf.setBackend('cpu');
  const out = process.argv[2];
  { // stacked cells -> TimeDistributed(Dense softmax)
    const x = tf.input({shape: [5, 3], name: 'x'});
    const r = tf.layers.rnn({cell: [tf.layers.lstmCell({units: 4}), tf.layers.gruCell({units: 3}),
                                    tf.layers.simpleRNNCell({units: 2, activation: 'relu'})],
                             returnSequences: true, name: 'stack'}).apply(x);
    const y = tf.layers.timeDistributed({layer: tf.layers.dense({units: 2, activation: 'softmax'}), name: 'td'}).apply(r);
    await save(tf.model({inputs: x, outputs: y, name: 'stacked_td'}), path.join(out, 'stacked_td'), floats([2, 5, 3]), 3);
  }
  { // Masking -> Bidirectional(GRU, ave) -> Dropout -> SimpleRNN(go_backwards) -> Activation
    const m = tf.sequential({name: 'masking_bidir'});
    m.add(tf.layers.masking({maskValue: 0, inputShape: [6, 3]}));
    m.add(tf.layers.bidirectional({layer: tf.layers.gru({units: 3, returnSequences: true, recurrentActivation: 'sigmoid'}),
                                   mergeMode: 'ave'}));
    m.add(tf.layers.dropout({rate: 0.3}));
    m.add(tf.layers.simpleRNN({units: 2, goBackwards: true}));
    m.add(tf.layers.activation({activation: 'sigmoid'}));
    await save(m, path.join(out, 'masking_bidir'), floats([3, 6, 3], [[0, 4], [0, 5], [1, 0], [1, 1], [2, 2]]));
  }
  { // encoder states into a decoder (return_state, initial_state), two outputs
    const x = tf.input({shape: [5, 2], name: 'seq'});
    const [o, h, c] = tf.layers.lstm({units: 3, returnState: true, name: 'enc'}).apply(x);
    const d = tf.layers.lstm({units: 3, returnSequences: true, name: 'dec', unitForgetBias: false})
                .apply(x, {initialState: [h, c]});
    const y = tf.layers.dense({units: 2, name: 'head'}).apply(d);
    await save(tf.model({inputs: x, outputs: [y, o], name: 'enc_dec'}), path.join(out, 'enc_dec'), floats([2, 5, 2]));
  }
  { // Embedding(mask_zero) -> Bidirectional(SimpleRNN, concat) -> GRU(no bias) -> Dense(no bias)
    const m = tf.sequential({name: 'embed_bidir'});
    m.add(tf.layers.embedding({inputDim: 12, outputDim: 3, maskZero: true, inputLength: 7}));
    m.add(tf.layers.bidirectional({layer: tf.layers.simpleRNN({units: 2, returnSequences: true}), mergeMode: 'concat'}));
    m.add(tf.layers.gru({units: 2, useBias: false}));
    m.add(tf.layers.dense({units: 3, useBias: false}));
    const ids = [3, 5, 0, 0, 0, 0, 0, 0, 0, 7, 1, 11, 2, 4, 9, 8, 7, 6, 5, 4, 3];
    await save(m, path.join(out, 'embed_bidir'), {dtype: 'int32', shape: [3, 7], values: ids}, 2);
  }
  { // Bidirectional(LSTM, merge_mode=null, return_sequences): two outputs; mul merge after
    const x = tf.input({shape: [4, 2], name: 'x'});
    const [f, b] = tf.layers.bidirectional({layer: tf.layers.lstm({units: 2, returnSequences: true}),
                                            mergeMode: null, name: 'bi'}).apply(x);
    const z = tf.layers.bidirectional({layer: tf.layers.simpleRNN({units: 2}), mergeMode: 'mul', name: 'bi2'}).apply(f);
    await save(tf.model({inputs: x, outputs: [f, b, z], name: 'bidir_none'}), path.join(out, 'bidir_none'),
               floats([2, 4, 2]));
  }
  { // activations: relu cell, exponential-free Dense heads: swish, then log_softmax; Sequential Dense on 3-D
    const m = tf.sequential({name: 'activations'});
    m.add(tf.layers.lstm({units: 3, returnSequences: true, activation: 'relu', inputShape: [3, 2]}));
    m.add(tf.layers.dense({units: 4, activation: 'swish'}));
    m.add(tf.layers.activation({activation: 'logSoftmax'}));
    await save(m, path.join(out, 'activations'), floats([2, 3, 2]));
  }
}
main().catch(e => { console.error(e); process.exit(1); });
