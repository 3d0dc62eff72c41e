import { mulberry32 } from './random.ts';

/**
 * Gradient-boosted regression trees with the absolute-error loss (the forecasts are scored by
 * MAE, whose optimum is the conditional median, not the mean that squared error chases; a
 * kitchen's cooking spikes pull a mean far more than a median). Friedman's LAD boosting:
 * each tree is grown on the signs of the current residuals, and each leaf then takes the median
 * of the residuals it holds, times the learning rate.
 *
 * Splits search quantile bins of each feature (histograms, as LightGBM and XGBoost's `hist` do);
 * a split is "feature < threshold", the threshold a float32 value halfway between two distinct
 * training values, so the ONNX TreeEnsembleRegressor (float32, BRANCH_LT) routes every training
 * window the way the trainer did. Deterministic: row subsampling uses a seeded generator.
 */

export interface GbmOptions {
  rounds: number;
  learningRate: number;
  /** Splits from the root to a leaf. */
  depth: number;
  /** Fewest training rows in a leaf. */
  minLeaf: number;
  /** Quantile bins per feature. */
  bins: number;
  /** Fraction of rows each tree is grown on (the leaf values use the same rows). */
  subsample: number;
  seed: number;
}

export const DEFAULT_GBM_OPTIONS: GbmOptions = { rounds: 200, learningRate: 0.05, depth: 3, minLeaf: 50, bins: 32, subsample: 0.8, seed: 1 };

/** A tree in one flat array: node 0 is the root. */
export type TreeNode = { feature: number; threshold: number; yes: number; no: number } | { value: number };

export interface GbmModel {
  /** Added to the sum of the trees (the median of the targets). */
  base: number;
  trees: TreeNode[][];
}

/** Rows of features: n x p, row-major. */
export interface FeatureRows {
  n: number;
  p: number;
  x: Float64Array;
}

export function fitGbmL1(rows: FeatureRows, y: Float64Array, opts: GbmOptions = DEFAULT_GBM_OPTIONS): GbmModel {
  const { n, p, x } = rows;
  if (n === 0 || y.length !== n) throw new RangeError(`gbm: ${n} rows and ${y.length} targets`);
  const thresholds = Array.from({ length: p }, (_, j) => binThresholds(x, n, p, j, opts.bins));
  // Row-major (row r's bins are bins[r*p .. r*p+p)): a histogram of every feature is one pass over a node's rows.
  const bins = new Uint8Array(n * p);
  for (let r = 0; r < n; r++) for (let j = 0; j < p; j++) bins[r * p + j] = binOf(thresholds[j] as Float32Array, x[r * p + j] ?? 0);
  const width = opts.bins + 1;
  const base = median(Float64Array.from(y));
  const f = new Float64Array(n).fill(base);
  const random = mulberry32(opts.seed);
  const trees: TreeNode[][] = [];
  const grad = new Float64Array(n);
  const splits = (size: number, level: number): boolean => level < opts.depth && size >= 2 * opts.minLeaf;
  for (let round = 0; round < opts.rounds; round++) {
    const chosen: number[] = [];
    for (let r = 0; r < n; r++) if (random() < opts.subsample) chosen.push(r);
    for (const r of chosen) grad[r] = Math.sign((y[r] ?? 0) - (f[r] ?? 0));
    const nodes: TreeNode[] = [];
    const root = Int32Array.from(chosen);
    grow(root, 0, splits(root.length, 0) ? histogram(root) : null);
    trees.push(nodes);
    for (let r = 0; r < n; r++) f[r] = (f[r] ?? 0) + leafOfBins(nodes, bins, p, r, thresholds);

    /** `hist`: the node's histograms when it may split (null for a leaf by size or depth). */
    function grow(idx: Int32Array, level: number, hist: Histogram | null): number {
      const at = nodes.length;
      nodes.push({ value: 0 });
      const split = hist ? bestSplit(idx, hist) : null;
      if (!hist || !split) {
        const residuals = new Float64Array(idx.length);
        for (let i = 0; i < idx.length; i++) residuals[i] = (y[idx[i] as number] as number) - (f[idx[i] as number] as number);
        nodes[at] = { value: opts.learningRate * median(residuals) };
        return at;
      }
      const leftRows: number[] = [];
      const rightRows: number[] = [];
      for (const r of idx) ((bins[r * p + split.feature] ?? 0) <= split.bin ? leftRows : rightRows).push(r);
      const left = Int32Array.from(leftRows);
      const right = Int32Array.from(rightRows);
      const [leftHist, rightHist] = childHistograms(hist, left, right, level + 1);
      const yes = grow(left, level + 1, leftHist);
      const no = grow(right, level + 1, rightHist);
      nodes[at] = { feature: split.feature, threshold: (thresholds[split.feature] as Float32Array)[split.bin] ?? 0, yes, no };
      return at;
    }

    /**
     * The histograms of the children that may split: the smaller child's counted from its rows,
     * the larger's as the parent's minus the smaller's (LightGBM's histogram subtraction). The
     * gradients are -1, 0 or 1, so the sums are integers and the subtraction is exact.
     */
    function childHistograms(parent: Histogram, left: Int32Array, right: Int32Array, level: number): [Histogram | null, Histogram | null] {
      const needLeft = splits(left.length, level);
      const needRight = splits(right.length, level);
      if (!needLeft && !needRight) return [null, null];
      const leftSmaller = left.length <= right.length;
      const small = histogram(leftSmaller ? left : right);
      const needBig = leftSmaller ? needRight : needLeft;
      const big = needBig ? subtract(parent, small) : null;
      return leftSmaller ? [needLeft ? small : null, big] : [big, needRight ? small : null];
    }

    function histogram(idx: Int32Array): Histogram {
      const sums = new Float64Array(p * width);
      const counts = new Int32Array(p * width);
      for (let i = 0; i < idx.length; i++) {
        const r = idx[i] as number;
        const g = grad[r] as number;
        const row = r * p;
        for (let j = 0; j < p; j++) {
          const k = j * width + (bins[row + j] as number);
          sums[k] = (sums[k] as number) + g;
          counts[k] = (counts[k] as number) + 1;
        }
      }
      return { sums, counts };
    }

    function bestSplit(idx: Int32Array, hist: Histogram): { feature: number; bin: number } | null {
      let total = 0;
      for (let i = 0; i < idx.length; i++) total += grad[idx[i] as number] as number;
      const count = idx.length;
      let best = 1e-12;
      let found: { feature: number; bin: number } | null = null;
      for (let j = 0; j < p; j++) {
        const nb = (thresholds[j] as Float32Array).length;
        let s = 0;
        let c = 0;
        for (let b = 0; b < nb; b++) {
          s += hist.sums[j * width + b] ?? 0;
          c += hist.counts[j * width + b] ?? 0;
          if (c < opts.minLeaf) continue;
          if (count - c < opts.minLeaf) break;
          const gain = (s * s) / c + ((total - s) * (total - s)) / (count - c) - (total * total) / count;
          if (gain > best) {
            best = gain;
            found = { feature: j, bin: b };
          }
        }
      }
      return found;
    }
  }
  return { base, trees };
}

/** Per feature, per bin: the sum of the gradients and the number of rows (feature j's bins at j * (bins + 1)). */
interface Histogram {
  sums: Float64Array;
  counts: Int32Array;
}

function subtract(a: Histogram, b: Histogram): Histogram {
  return { sums: a.sums.map((v, k) => v - (b.sums[k] ?? 0)), counts: a.counts.map((v, k) => v - (b.counts[k] ?? 0)) };
}

/** The model's value for one row of features, and how close the row came to a split threshold. */
export function predictGbm(m: GbmModel, f: ArrayLike<number>): { value: number; margin: number } {
  let value = m.base;
  let margin = Infinity;
  for (const nodes of m.trees) {
    let at = 0;
    for (;;) {
      const node = nodes[at] as TreeNode;
      if ('value' in node) {
        value += node.value;
        break;
      }
      const v = f[node.feature] ?? 0;
      margin = Math.min(margin, Math.abs(v - node.threshold) / Math.max(1, Math.abs(node.threshold)));
      at = v < node.threshold ? node.yes : node.no;
    }
  }
  return { value, margin };
}

function leafOfBins(nodes: TreeNode[], bins: Uint8Array, p: number, row: number, thresholds: Float32Array[]): number {
  let at = 0;
  for (;;) {
    const node = nodes[at] as TreeNode;
    if ('value' in node) return node.value;
    // bin <= k  <=>  x < thresholds[k]
    const t = thresholds[node.feature] as Float32Array;
    const b = bins[row * p + node.feature] ?? 0;
    at = b < t.length && (t[b] ?? 0) <= node.threshold ? node.yes : node.no;
  }
}

/**
 * Up to `bins - 1` float32 thresholds of feature j, each halfway between two adjacent distinct
 * training values at (about) evenly spaced quantiles, ascending.
 */
function binThresholds(x: Float64Array, n: number, p: number, j: number, bins: number): Float32Array {
  const v = new Float64Array(n);
  for (let r = 0; r < n; r++) v[r] = x[r * p + j] ?? 0;
  v.sort();
  const out: number[] = [];
  for (let q = 1; q < bins; q++) {
    const i = Math.min(n - 1, Math.floor((q * n) / bins));
    // The first value above v[i]: the threshold sits between them.
    let k = i + 1;
    while (k < n && (v[k] ?? 0) === (v[i] ?? 0)) k++;
    if (k >= n) break;
    const t = Math.fround(((v[i] ?? 0) + (v[k] ?? 0)) / 2);
    if (t > (v[i] ?? 0) && t <= (v[k] ?? 0) && (out.length === 0 || t > (out[out.length - 1] ?? 0))) out.push(t);
  }
  return Float32Array.from(out);
}

/** Number of thresholds <= value: the row goes left (yes) of threshold k exactly when bin <= k. */
function binOf(thresholds: Float32Array, value: number): number {
  let lo = 0;
  let hi = thresholds.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((thresholds[mid] ?? 0) <= value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Median of the values (sorts `v` in place: typed-array sort is numeric). */
function median(v: Float64Array): number {
  if (v.length === 0) return 0;
  const s = v.sort();
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] ?? 0) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2;
}
