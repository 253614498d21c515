/**
 * CloudFormation's answers as the SDK hands them back, for tests that mock it: a stack (its ARN carries the
 * account, its outputs the settings), a stack that does not exist, a resource a stack does not have.
 */
import type {
  DescribeStackResourceCommandOutput,
  DescribeStacksCommandOutput,
  Output,
  StackStatus,
} from '@aws-sdk/client-cloudformation';

export const ACCOUNT = '123456789012';
export const REGION = 'ap-northeast-1';

/** DescribeStacks's answer for lambda-notes-<stage> with these outputs. */
export function describedStack(
  stage: string,
  outputs: Record<string, string>,
  status: StackStatus = 'UPDATE_COMPLETE',
): Pick<DescribeStacksCommandOutput, 'Stacks'> {
  return {
    Stacks: [
      {
        StackName: `lambda-notes-${stage}`,
        StackId: `arn:aws:cloudformation:${REGION}:${ACCOUNT}:stack/lambda-notes-${stage}/0f2b7c30-cb1e-11f0-8de9-0a1b2c3d4e5f`,
        StackStatus: status,
        CreationTime: new Date('2026-11-01T00:00:00Z'),
        Outputs: Object.entries(outputs).map(([OutputKey, OutputValue]): Output => ({
          OutputKey,
          OutputValue,
        })),
      },
    ],
  };
}

/** CloudFormation's answer for a stack that does not exist (the SDK names the error after its code). */
export function noSuchStack(stage: string): Error {
  const error = new Error(`Stack with id lambda-notes-${stage} does not exist`);
  error.name = 'ValidationError';
  return error;
}

/** CloudFormation's answer for a logical resource the stack does not have (e.g. after a rollback). */
export function noSuchResource(stage: string, logicalId: string): Error {
  const error = new Error(`Resource ${logicalId} does not exist for stack lambda-notes-${stage}`);
  error.name = 'ValidationError';
  return error;
}

/** DescribeStackResource's answer for the upload bucket of lambda-notes-<stage>, named as given. */
export function uploadBucketResource(
  bucket: string,
): Pick<DescribeStackResourceCommandOutput, 'StackResourceDetail'> {
  return {
    StackResourceDetail: {
      LogicalResourceId: 'S3BucketUploads',
      PhysicalResourceId: bucket,
      ResourceType: 'AWS::S3::Bucket',
      ResourceStatus: 'CREATE_COMPLETE',
      LastUpdatedTimestamp: new Date('2026-11-01T00:00:00Z'),
    },
  };
}
