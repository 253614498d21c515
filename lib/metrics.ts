import { Metrics } from '@aws-lambda-powertools/metrics';

/**
 * Custom metrics as CloudWatch Embedded Metric Format: a JSON line in the function's log that CloudWatch turns
 * into metrics, with no API call and no extra permission.
 */
export const metrics = new Metrics({
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'lambda-notes',
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'lambda-notes',
});
