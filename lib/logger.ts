import { Logger } from '@aws-lambda-powertools/logger';

/** One JSON line per log call, with request id, function name and cold-start flag once addContext ran. */
export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'lambda-notes' });
