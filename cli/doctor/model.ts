import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../../gateway/config/schema.ts';
import { readModelFile } from '../../models/onnx-file.ts';
import { fail, ok, type CheckResult } from './check.ts';

const SHIPPED = 'models/hygrocast-rh.onnx';

/** The configured model file exists, decodes, and meets the model contract (docs/model-contract.md). */
export async function checkModel(config: Config, installDir: string): Promise<CheckResult> {
  if (!config.forecast.enabled) return ok('model', 'forecasting is off (forecast.enabled: false)');
  const file = path.resolve(installDir, config.forecast.modelPath);
  const setIt = `set forecast.modelPath (or HYGROCAST_FORECAST_MODEL_PATH) to a model that passes \`hygrocast model inspect FILE\`; the shipped one is ${SHIPPED}`;
  if (!existsSync(file)) return fail('model', `model file ${file} does not exist`, `${setIt}, or train one with \`hygrocast model train\``);
  try {
    const model = await readModelFile(file);
    if (!model.contract) return fail('model', `${file} breaks the model contract: ${model.problems.join('; ')}`, setIt);
    const c = model.contract;
    return ok('model', `${file}: model ${c.modelVersion}, ${c.horizonsS.length} horizons up to ${Math.max(...c.horizonsS) / 3600} h, step ${c.stepS} s`);
  } catch (err) {
    return fail('model', (err as Error).message, setIt);
  }
}
