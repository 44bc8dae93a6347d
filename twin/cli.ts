/**
 * npm run twin: synthesizes the stack (unless TWIN_CDK_OUT names an existing cloud assembly), starts the
 * twin on PORT (8010) and prints how to call it. Ctrl-C stops everything it started.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../lib/project-root';
import { startTwin } from './main';

const cdkOutDir = process.env.TWIN_CDK_OUT ?? join(PROJECT_ROOT, 'cdk.out');
if (!process.env.TWIN_CDK_OUT) {
  console.error('twin: cdk synth …');
  execFileSync('npx', ['cdk', 'synth', '--quiet', '-o', cdkOutDir], {
    cwd: PROJECT_ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, CDK_DISABLE_VERSION_CHECK: '1' },
  });
}

const seconds = (name: string) => (process.env[name] ? Number(process.env[name]) : undefined);
const twin = await startTwin({
  cdkOutDir,
  port: seconds('PORT') ?? 8010,
  ...(seconds('TWIN_SCHEDULE_SECONDS') ? { scheduleSeconds: seconds('TWIN_SCHEDULE_SECONDS')! } : {}),
  ...(seconds('TWIN_RETRY_DELAY_SECONDS') ? { retryDelaySeconds: seconds('TWIN_RETRY_DELAY_SECONDS')! } : {}),
});
const { accessKeyId, secretAccessKey } = twin.credentials;
console.log(
  JSON.stringify({ message: 'Twin listening', url: twin.url, region: twin.region, accessKeyId, secretAccessKey, bucket: twin.bucket }),
);
console.error(`
twin: serving ${twin.template.stackName} from ${cdkOutDir} at ${twin.url}
  Every route but /health and /openapi.json needs SigV4 (service execute-api), for example:
  curl --aws-sigv4 "aws:amz:${twin.region}:execute-api" --user "${accessKeyId}:${secretAccessKey}" ${twin.url}/sandbox_snapshots
`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void twin.stop().then(() => process.exit(0));
  });
}
