import path from 'node:path';
import { readCsvColumn } from '../models/csv.ts';
import { fitGbmL1 } from '../models/gbm.ts';
import { DEFAULT_MLP_OPTIONS, fitMlp } from '../models/mlp.ts';
import { mulberry32 } from '../models/random.ts';
import { trainFeatureRidge } from '../models/train-features.ts';
import { emit } from './figure.ts';

/**
 * Training cost, what central retraining pays per sensor:
 * (1) one absolute-error boosted-tree fit (models/gbm.ts, the shipped options: 200 rounds, depth
 * 3) on 9,500 rows x 47 features, the size of one horizon's stage on the shared RH_1 file,
 * median of 3;
 * (2) one epoch of the ensemble's neural network (models/mlp.ts, the shipped shape: 47 inputs,
 * 32 hidden units, 36 outputs, minibatches of 200) on 9,500 rows, the mean over 30 epochs. The
 * shipped kind fits 25 such networks of about 100 epochs each (4 penalties, then 3 seeds for each
 * of 5 cross-validation blocks, the report and the final fit), so this figure x 2,500 is most of
 * its training time;
 * (3) the whole v4 boosted kind (`npm run model -- train --kind boosted`) on the shared RH_1
 * file: feature ridge, 5-block cross-validated trees for the intervals, report fit and final
 * refit at 8 boosted horizons, without writing or checking the ONNX file. (The ensemble kind
 * takes minutes, too long for a bench run.)
 */
const ROWS = 9500;
const FEATURES = 47;
const FITS = 3;
const repoRoot = path.resolve(import.meta.dirname, '..');

export async function main(): Promise<void> {
  const random = mulberry32(11);
  const x = Float64Array.from({ length: ROWS * FEATURES }, () => random());
  const y = Float64Array.from({ length: ROWS }, (_, r) => Math.sin(6 * (x[r * FEATURES] ?? 0)) + 2 * (x[r * FEATURES + 3] ?? 0) + random());
  const times: number[] = [];
  for (let i = 0; i < FITS; i++) {
    const t = performance.now();
    fitGbmL1({ n: ROWS, p: FEATURES, x }, y);
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  emit({ bench: 'train', figure: 'gbm_fit', value: times[FITS >> 1] ?? 0, unit: 'ms', rows: ROWS, features: FEATURES, rounds: 200, depth: 3, fits: FITS });

  const outputs = 36;
  const ny = Float64Array.from({ length: ROWS * outputs }, (_, i) => Math.sin(6 * (x[Math.floor(i / outputs) * FEATURES + (i % FEATURES)] ?? 0)) + random());
  const epochs = 30;
  const tn = performance.now();
  const net = fitMlp(x, ny, ROWS, FEATURES, outputs, { ...DEFAULT_MLP_OPTIONS, maxEpochs: epochs, patience: epochs });
  emit({ bench: 'train', figure: 'mlp_epoch', value: (performance.now() - tn) / net.epochs, unit: 'ms', rows: ROWS, inputs: FEATURES, hidden: DEFAULT_MLP_OPTIONS.hidden, outputs, epochs: net.epochs });

  const csv = await readCsvColumn(path.resolve(repoRoot, '../shared/data/appliances_rh_10min.train.csv'), 'RH_1');
  const t = performance.now();
  const r = trainFeatureRidge(csv, { boost: true });
  emit({ bench: 'train', figure: 'boosted_model_train', value: (performance.now() - t) / 1000, unit: 's', series: 'appliances RH_1', steps: csv.timesMs.length, boosted_horizons: r.weights.boost?.models.length ?? 0 });
}
