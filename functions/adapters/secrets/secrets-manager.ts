/**
 * Database login credentials from AWS Secrets Manager: the JSON secret RDS and the stack generate,
 * `{"username": ..., "password": ...}`. Only the migration function reads secrets this way.
 */
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { LoginCredentials } from '../../core/database-logins';
import { translateAwsFailure } from '../aws-failures';

export const readLoginSecret = async (client: SecretsManagerClient, secretArn: string): Promise<LoginCredentials> => {
  const { SecretString } = await client.send(new GetSecretValueCommand({ SecretId: secretArn })).catch(translateAwsFailure);
  const parsed = JSON.parse(SecretString ?? '{}') as { username?: unknown; password?: unknown };
  if (typeof parsed.username !== 'string' || typeof parsed.password !== 'string') {
    throw new Error(`secret ${secretArn} holds no username and password`);
  }
  return { username: parsed.username, password: parsed.password };
};
