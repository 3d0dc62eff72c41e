import { mulberry32 } from './random.ts';

/**
 * A small multi-output neural network (one hidden layer of ReLU units, linear outputs) trained
 * by minibatch Adam on squared error with an L2 penalty, stopped early on a held-out tenth of
 * the rows. The recipe is scikit-learn's MLPRegressor (the defaults our prototypes used):
 *   - Glorot-uniform weights, bound sqrt(6 / (fan_in + fan_out)), biases likewise;
 *   - gradient per minibatch of B rows: (a' * (prediction - target) + alpha * W) / B
 *     (the penalty on weights, not biases), Adam with beta 0.9 / 0.999, eps 1e-8;
 *   - rows reshuffled every epoch; the held-out rows are a seeded random tenth;
 *   - stop when the held-out loss has not improved by `tol` for `patience` epochs, and keep
 *     the best epoch's weights.
 * Inputs and targets should be standardised by the caller. Deterministic for a given seed.
 */
export interface MlpOptions {
  hidden: number;
  /** L2 penalty on the weights (scikit-learn's alpha). */
  alpha: number;
  learningRate: number;
  batch: number;
  maxEpochs: number;
  patience: number;
  tol: number;
  /** Fraction of rows held out for early stopping. */
  holdout: number;
  seed: number;
}

export const DEFAULT_MLP_OPTIONS: MlpOptions = { hidden: 32, alpha: 10, learningRate: 1e-3, batch: 200, maxEpochs: 300, patience: 15, tol: 1e-4, holdout: 0.1, seed: 1 };

export interface MlpNet {
  inputs: number;
  hidden: number;
  outputs: number;
  /** inputs x hidden, row-major. */
  w1: Float64Array;
  b1: Float64Array;
  /** hidden x outputs, row-major. */
  w2: Float64Array;
  b2: Float64Array;
}

export interface MlpFit {
  net: MlpNet;
  /** Epochs run (the kept weights are from the best one). */
  epochs: number;
  bestEpoch: number;
}

/** x: n x p, y: n x q, both row-major. */
export function fitMlp(x: Float64Array, y: Float64Array, n: number, p: number, q: number, opts: MlpOptions = DEFAULT_MLP_OPTIONS): MlpFit {
  if (n < 10) throw new Error(`a neural network needs at least 10 rows, got ${n}`);
  const rand = mulberry32(opts.seed);
  const h = opts.hidden;
  const glorot = (fanIn: number, fanOut: number, size: number): Float64Array => {
    const bound = Math.sqrt(6 / (fanIn + fanOut));
    return Float64Array.from({ length: size }, () => (2 * rand() - 1) * bound);
  };
  const net: MlpNet = { inputs: p, hidden: h, outputs: q, w1: glorot(p, h, p * h), b1: glorot(p, h, h), w2: glorot(h, q, h * q), b2: glorot(h, q, q) };
  const params = [net.w1, net.b1, net.w2, net.b2];
  const m = params.map((a) => new Float64Array(a.length));
  const v = params.map((a) => new Float64Array(a.length));
  const grads = params.map((a) => new Float64Array(a.length));
  const order = shuffled(n, rand);
  const nHold = Math.max(1, Math.floor(n * opts.holdout));
  const hold = order.slice(0, nHold);
  const fit = order.slice(nHold);
  const B = Math.min(opts.batch, fit.length);
  const act = new Float64Array(B * h);
  const delta = new Float64Array(B * q);
  const dHidden = new Float64Array(h);
  const active = new Int32Array(h);
  let best = { loss: Infinity, epoch: 0, params: params.map((a) => a.slice()) };
  let stale = 0;
  let step = 0;
  let lastLoss = NaN;
  const epochLoss = (e: number): string => `${lastLoss} after ${e} epochs`;
  let epoch = 0;
  const { w1, b1, w2 } = net;
  const [gw1, gb1, gw2, gb2] = grads as [Float64Array, Float64Array, Float64Array, Float64Array];
  while (epoch < opts.maxEpochs) {
    epoch++;
    shuffleInPlace(fit, rand);
    for (let start = 0; start < fit.length; start += B) {
      const rows = fit.subarray(start, Math.min(fit.length, start + B));
      const bs = rows.length;
      forward(net, x, rows, act, delta);
      for (const g of grads) g.fill(0);
      // Typed-array reads in these loops are in bounds by construction (indices below the
      // sizes allocated above), hence the non-null assertions in the hot path.
      for (let i = 0; i < bs; i++) {
        const r = rows[i]!;
        const yo = r * q;
        const d0 = i * q;
        for (let k = 0; k < q; k++) delta[d0 + k] = delta[d0 + k]! - y[yo + k]!;
        for (let k = 0; k < q; k++) gb2[k] = gb2[k]! + delta[d0 + k]!;
        // Units the ReLU switched off (activation 0) contribute nothing to any gradient of
        // this row, so only the active ones are visited.
        const a0 = i * h;
        let nActive = 0;
        for (let j = 0; j < h; j++) {
          const a = act[a0 + j]!;
          if (a <= 0) continue;
          active[nActive++] = j;
          const wo = j * q;
          let dh = 0;
          for (let k = 0; k < q; k++) {
            const d = delta[d0 + k]!;
            gw2[wo + k] = gw2[wo + k]! + a * d;
            dh += w2[wo + k]! * d;
          }
          dHidden[j] = dh;
        }
        const xo = r * p;
        for (let c = 0; c < p; c++) {
          const xc = x[xo + c]!;
          if (xc === 0) continue;
          const base = c * h;
          for (let t = 0; t < nActive; t++) {
            const j = active[t]!;
            gw1[base + j] = gw1[base + j]! + xc * dHidden[j]!;
          }
        }
        for (let t = 0; t < nActive; t++) {
          const j = active[t]!;
          gb1[j] = gb1[j]! + dHidden[j]!;
        }
      }
      for (let i = 0; i < gw1.length; i++) gw1[i] = (gw1[i]! + opts.alpha * w1[i]!) / bs;
      for (let i = 0; i < gw2.length; i++) gw2[i] = (gw2[i]! + opts.alpha * w2[i]!) / bs;
      for (let i = 0; i < gb1.length; i++) gb1[i] = gb1[i]! / bs;
      for (let i = 0; i < gb2.length; i++) gb2[i] = gb2[i]! / bs;
      step++;
      adam(params, grads, m, v, step, opts.learningRate);
    }
    const loss = heldOutLoss(net, x, y, hold);
    lastLoss = loss;
    if (loss < best.loss - opts.tol) {
      best = { loss, epoch, params: params.map((a) => a.slice()) };
      stale = 0;
    } else if (++stale >= opts.patience) break;
  }
  if (best.epoch === 0) throw new Error(`the network's held-out loss was never finite (${epochLoss(epoch)}): the inputs or targets hold NaN or infinite values, or the learning rate ${opts.learningRate} diverges`);
  params.forEach((a, i) => a.set(best.params[i] as Float64Array));
  return { net, epochs: epoch, bestEpoch: best.epoch };
}

/** One hidden layer's weights, in float64 (training) or float32 (a model file's NeuralStage). */
export interface MlpWeights {
  hidden: number;
  /** inputs x hidden, row-major. */
  w1: ArrayLike<number>;
  b1: ArrayLike<number>;
  /** hidden x outputs, row-major. */
  w2: ArrayLike<number>;
  b2: ArrayLike<number>;
}

/** The network's outputs for one row of inputs: relu(f · w1 + b1) · w2 + b2. */
export function predictMlp(net: MlpWeights, f: ArrayLike<number>): number[] {
  const h = net.hidden;
  const p = net.w1.length / h;
  const q = net.b2.length;
  const out = Array.from(net.b2);
  for (let j = 0; j < h; j++) {
    let z = net.b1[j] ?? 0;
    for (let c = 0; c < p; c++) z += (f[c] ?? 0) * (net.w1[c * h + j] ?? 0);
    if (z <= 0) continue;
    for (let k = 0; k < q; k++) out[k] = (out[k] ?? 0) + z * (net.w2[j * q + k] ?? 0);
  }
  return out;
}

/**
 * Several networks on the same inputs as one wider network whose output is their mean: the
 * hidden units side by side, the output weights divided by the count. Exact, so an ensemble of
 * seeds costs one MatMul pair in the graph.
 */
export function averageNets(nets: MlpNet[]): MlpNet {
  const first = nets[0];
  if (!first) throw new Error('averageNets: no networks');
  const { inputs: p, outputs: q } = first;
  const h = nets.reduce((a, n) => a + n.hidden, 0);
  const w1 = new Float64Array(p * h);
  const b1 = new Float64Array(h);
  const w2 = new Float64Array(h * q);
  const b2 = new Float64Array(q);
  let at = 0;
  for (const n of nets) {
    if (n.inputs !== p || n.outputs !== q) throw new Error('averageNets: networks of different shapes');
    for (let c = 0; c < p; c++) for (let j = 0; j < n.hidden; j++) w1[c * h + at + j] = n.w1[c * n.hidden + j] ?? 0;
    for (let j = 0; j < n.hidden; j++) {
      b1[at + j] = n.b1[j] ?? 0;
      for (let k = 0; k < q; k++) w2[(at + j) * q + k] = (n.w2[j * q + k] ?? 0) / nets.length;
    }
    for (let k = 0; k < q; k++) b2[k] = (b2[k] ?? 0) + (n.b2[k] ?? 0) / nets.length;
    at += n.hidden;
  }
  return { inputs: p, hidden: h, outputs: q, w1, b1, w2, b2 };
}

/** Hidden activations into act (B x h) and outputs into out (B x q) for the given rows. */
function forward(net: MlpNet, x: Float64Array, rows: Uint32Array, act: Float64Array, out: Float64Array): void {
  const { inputs: p, hidden: h, outputs: q, w1, b1, w2, b2 } = net;
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    const a = i * h;
    for (let j = 0; j < h; j++) act[a + j] = b1[j]!;
    const xo = r * p;
    for (let c = 0; c < p; c++) {
      const xc = x[xo + c]!;
      if (xc === 0) continue;
      const base = c * h;
      for (let j = 0; j < h; j++) act[a + j] = act[a + j]! + xc * w1[base + j]!;
    }
    const o = i * q;
    for (let k = 0; k < q; k++) out[o + k] = b2[k]!;
    for (let j = 0; j < h; j++) {
      const z = act[a + j]!;
      if (z <= 0) {
        act[a + j] = 0;
        continue;
      }
      const base = j * q;
      for (let k = 0; k < q; k++) out[o + k] = out[o + k]! + z * w2[base + k]!;
    }
  }
}

function heldOutLoss(net: MlpNet, x: Float64Array, y: Float64Array, rows: Uint32Array): number {
  const { hidden: h, outputs: q } = net;
  const chunk = 512;
  const act = new Float64Array(chunk * h);
  const out = new Float64Array(chunk * q);
  let sum = 0;
  for (let start = 0; start < rows.length; start += chunk) {
    const part = rows.subarray(start, Math.min(rows.length, start + chunk));
    forward(net, x, part, act, out);
    for (let i = 0; i < part.length; i++) {
      const r = part[i] ?? 0;
      for (let k = 0; k < q; k++) sum += ((out[i * q + k] ?? 0) - (y[r * q + k] ?? 0)) ** 2;
    }
  }
  return sum / (2 * rows.length * q);
}

function adam(params: Float64Array[], grads: Float64Array[], m: Float64Array[], v: Float64Array[], t: number, lr: number): void {
  const [b1, b2, eps] = [0.9, 0.999, 1e-8];
  const rate = (lr * Math.sqrt(1 - b2 ** t)) / (1 - b1 ** t);
  params.forEach((p, i) => {
    const g = grads[i] as Float64Array;
    const mi = m[i] as Float64Array;
    const vi = v[i] as Float64Array;
    for (let j = 0; j < p.length; j++) {
      const gj = g[j] ?? 0;
      const mj = b1 * (mi[j] ?? 0) + (1 - b1) * gj;
      const vj = b2 * (vi[j] ?? 0) + (1 - b2) * gj * gj;
      mi[j] = mj;
      vi[j] = vj;
      p[j] = (p[j] ?? 0) - (rate * mj) / (Math.sqrt(vj) + eps);
    }
  });
}

function shuffled(n: number, rand: () => number): Uint32Array {
  const a = Uint32Array.from({ length: n }, (_, i) => i);
  shuffleInPlace(a, rand);
  return a;
}

function shuffleInPlace(a: Uint32Array, rand: () => number): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = a[i] ?? 0;
    a[i] = a[j] ?? 0;
    a[j] = t;
  }
}
