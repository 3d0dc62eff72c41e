// Types of operator.js for the TypeScript tests.
import type { SensorAlertPayload } from '../../../forecast/alerts.ts';
import type { ForecastErrorReport } from '../../../forecast/forecast-log.ts';
import type { SyncStatus } from '../../../sync/sync-types.ts';
import type { Forecast } from '../../../types.ts';
import type { GatewayInfo } from '../../messages.ts';

export declare const ERROR_HORIZONS_S: number[];
export declare function alertText(alert: SensorAlertPayload | null, fmtTime?: (ms: number) => string): string | null;
export declare function errorText(report: ForecastErrorReport | null): string | null;
export declare function syncText(sync: SyncStatus | null, fmtTime?: (ms: number) => string): string | null;
export declare function modelText(model: GatewayInfo['model']): string;
export declare function forecastText(f: Forecast, fmtTime?: (ms: number) => string): string;
