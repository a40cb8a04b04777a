/**
 * The example plans kept as golden files under examples/plans/ (regenerate with `npm run golden`).
 */
import { makePlan } from '../../src/cli/plan.js';
import { DEFAULT_CONNECTOR_NAME, DEFAULT_RULE_NAME } from '../../src/plan/plan.js';

export interface GoldenPlan {
  name: string;
  snapshot: string;
  allowDirectSend: string[];
}

export const GOLDEN_PLANS: readonly GoldenPlan[] = [
  { name: 'contoso-exposed', snapshot: 'examples/contoso-exposed.json', allowDirectSend: ['192.0.2.25=Office scanners (192.0.2.25)'] },
  { name: 'contoso-partial', snapshot: 'examples/contoso-partial.json', allowDirectSend: ['192.0.2.25=Office scanners (192.0.2.25)'] },
  { name: 'contoso-locked', snapshot: 'examples/contoso-locked.json', allowDirectSend: ['192.0.2.25=Office scanners (192.0.2.25)'] },
];

/** The plan files for an example, without the copy of the exporter (it is scripts/Export-EoplockSnapshot.ps1). */
export async function goldenFiles(example: GoldenPlan): Promise<Record<string, string>> {
  const { files } = await makePlan(example.snapshot, {
    segIp: [],
    allowDirectSend: example.allowDirectSend,
    safetyNet: 'quarantine',
    ruleName: DEFAULT_RULE_NAME,
    connectorName: DEFAULT_CONNECTOR_NAME,
    assume: [],
  });
  return Object.fromEntries(Object.entries(files).filter(([name]) => name !== 'Export-EoplockSnapshot.ps1'));
}
