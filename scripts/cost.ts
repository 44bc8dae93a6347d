/**
 * npm run cost: the monthly cost of the synthesized stack (cdk.out) idle and at 100 one-hour interviews
 * a day, line by line, from the list prices in scripts/prices/<region>.json. Synthesizes first when
 * cdk.out has no template. Options: --cdk-out DIR, --prices FILE, --interviews N (per day).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { PROJECT_ROOT } from '../lib/project-root';
import { type CloudFormationTemplate, type Estimate, estimate, isMonitoring, type Prices, readTemplate } from './cost/estimate';
import { HUNDRED_INTERVIEWS_A_DAY, IDLE } from './cost/traffic';

const { values } = parseArgs({
  options: {
    'cdk-out': { type: 'string', default: join(PROJECT_ROOT, 'cdk.out') },
    prices: { type: 'string', default: join(PROJECT_ROOT, 'scripts', 'prices', 'us-east-1.json') },
    interviews: { type: 'string', default: String(HUNDRED_INTERVIEWS_A_DAY.interviewsPerDay) },
  },
});

const templateFile = join(values['cdk-out'], 'InterviewOps.template.json');
if (!existsSync(templateFile)) {
  console.log(`No ${templateFile}: synthesizing (about 40 s)...`);
  execFileSync('npx', ['cdk', 'synth', '--quiet', '-o', values['cdk-out']], {
    cwd: PROJECT_ROOT,
    stdio: 'inherit',
    env: { ...process.env, CDK_DISABLE_VERSION_CHECK: '1' },
  });
}
const template = JSON.parse(readFileSync(templateFile, 'utf8')) as CloudFormationTemplate;
const prices = JSON.parse(readFileSync(values.prices, 'utf8')) as Prices;
const facts = readTemplate(template);
const busy = {
  ...HUNDRED_INTERVIEWS_A_DAY,
  interviewsPerDay: Number(values.interviews),
  name: `${values.interviews} one-hour interviews a day`,
};

const dollars = (amount: number) => `$${amount.toFixed(2)}`;
const print = (result: Estimate) => {
  console.log(`\n${result.traffic}`);
  for (const line of result.lines) console.log(`  ${dollars(line.monthly).padStart(10)}  ${line.service}: ${line.item}`);
  const monitoring = result.lines.filter(isMonitoring).reduce((sum, line) => sum + line.monthly, 0);
  console.log(
    `  ${dollars(result.total).padStart(10)}  total a month (${dollars(result.total - monitoring)} without CloudWatch and X-Ray)`,
  );
};

console.log(`Monthly cost estimate, list prices of ${prices.region} as of ${prices.date} (no free tier), from ${templateFile}`);
console.log(
  `Template: ${facts.functions} functions (${facts.tracedFunctions} traced), Aurora minimum ${facts.databaseMinCapacity} ACU, ${facts.secrets} secrets, ${facts.alarmMetrics} alarm metrics, ${facts.dashboards} dashboard(s), ${Math.round(facts.scheduledRunsPerMonth)} scheduled runs a month`,
);
print(estimate(facts, IDLE, prices));
print(estimate(facts, IDLE, prices, { alwaysFree: true }));
print(estimate(facts, busy, prices));
const neverPauses = estimate(facts, { ...IDLE, idleSnapshotsTouchDatabase: true }, prices);
console.log(`\nIdle if every scheduled snapshot still queried the database (the cluster never pauses): ${dollars(neverPauses.total)}`);
