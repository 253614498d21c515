/**
 * s3Upload — runs for every object created under targets/ of the upload bucket (the filter is in
 * serverless.yml). Reads each object as a stream and logs one JSON line per record.
 * Event format: https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html
 */
import type { Context, S3Event } from 'aws-lambda';
import { s3 } from '../lib/clients';
import { config } from '../lib/config';
import { logger } from '../lib/logger';
import { MetricUnit, metrics } from '../lib/metrics';
import { type ObjectSummary, summariseObject } from '../lib/object-summary';
import { isFolderMarker } from '../lib/s3-keys';
import { type ObjectCreated, parseObjectCreatedEvent } from '../lib/s3-records';

async function processRecord(record: ObjectCreated): Promise<ObjectSummary | undefined> {
  if (isFolderMarker(record.key)) {
    logger.info('folder marker skipped', { bucket: record.bucket, key: record.key });
    return undefined;
  }
  try {
    const summary = await summariseObject(record, { s3, s3Endpoint: config.s3Endpoint });
    logger.info('object processed', { ...summary });
    metrics.addMetric('ObjectsProcessed', MetricUnit.Count, 1);
    metrics.addMetric('BytesProcessed', MetricUnit.Bytes, summary.size);
    return summary;
  } catch (error) {
    logger.error('object failed', { bucket: record.bucket, key: record.key, error });
    throw error;
  }
}

export const handler = async (event: S3Event, context: Context): Promise<ObjectSummary[]> => {
  logger.addContext(context);
  const summaries: ObjectSummary[] = [];
  try {
    for (const record of parseObjectCreatedEvent(event)) {
      const summary = await processRecord(record);
      if (summary) summaries.push(summary);
    }
    return summaries;
  } finally {
    // Also when a later record fails: the objects processed before it count.
    if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
  }
};
