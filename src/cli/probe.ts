/**
 * `eoplock probe`: wiring only.
 */
import { parseAssumeFlags, resolveAssumptions } from '../eop/assumptions.js';
import { InputError } from '../errors.js';
import { meetsExpectation, probe, type ProbeOptions } from '../probe/probe.js';
import { tenantProbes } from '../probe/tenant-tests.js';
import { renderProbeJson, renderProbeJunit, renderProbeSarif, renderProbeText, type ProbeReport, type ProbeRun } from '../report/probe.js';
import { loadSnapshotFile } from '../snapshot/load.js';
import { readTextFile } from '../util/files.js';
import { emit, type Io } from './io.js';
import { version } from './version.js';

export interface ProbeCommandOptions {
  host: string;
  port: number;
  from?: string;
  to: string[];
  ehlo: string;
  starttls: 'auto' | 'require' | 'never';
  clientCert?: string;
  clientKey?: string;
  expect?: string;
  send: boolean;
  timeout: number;
  tenant?: string;
  localAddress?: string;
  format: 'text' | 'json' | 'junit' | 'sarif';
  out?: string;
  assume: string[];
}

export async function probeCommand(io: Io, options: ProbeCommandOptions): Promise<number> {
  if (!Number.isInteger(options.port) || options.port < 1 || options.port > 65535) throw new InputError(`${options.port} is not a TCP port`, { where: '--port' });
  if (!(options.timeout > 0)) throw new InputError('expected a number of seconds above 0', { where: '--timeout' });
  if (!!options.clientCert !== !!options.clientKey) throw new InputError('give both --client-cert and --client-key', { where: '--client-cert' });
  if (options.expect && !/^(accept|reject|\d{3}|[245]\.\d{1,3}\.\d{1,3})$/i.test(options.expect)) {
    throw new InputError(`"${options.expect}" is not a reply code (550), an enhanced code (5.7.68), accept or reject`, { where: '--expect' });
  }
  const clientCertificate =
    options.clientCert && options.clientKey ? { cert: await readTextFile(options.clientCert), key: await readTextFile(options.clientKey) } : undefined;
  const base: Omit<ProbeOptions, 'from' | 'to'> = {
    host: options.host,
    port: options.port,
    ehlo: options.ehlo,
    starttls: options.starttls,
    send: options.send,
    timeoutMs: options.timeout * 1000,
    ...(clientCertificate ? { clientCertificate } : {}),
    ...(options.localAddress ? { localAddress: options.localAddress } : {}),
  };

  const plans: { name: string; from: string; to: string[]; expect: string | null; why?: string }[] = [];
  if (options.tenant) {
    const { snapshot } = await loadSnapshotFile(options.tenant);
    const assumptions = resolveAssumptions(parseAssumeFlags(options.assume));
    for (const test of tenantProbes(snapshot, { ...(options.to[0] ? { to: options.to[0] } : {}), assumptions })) {
      plans.push({ name: test.name, from: test.from, to: [test.to], expect: test.expect, why: test.why });
    }
  } else {
    if (options.from === undefined) throw new InputError('give --from (the envelope sender), or --tenant <snapshot> for the guide\'s tests', { where: '--from' });
    if (options.to.length === 0) throw new InputError('give at least one --to recipient', { where: '--to' });
    plans.push({ name: `MAIL FROM:<${options.from}>`, from: options.from, to: options.to, expect: options.expect ?? null });
  }

  const runs: ProbeRun[] = [];
  for (const plan of plans) {
    const result = await probe({ ...base, from: plan.from, to: plan.to });
    runs.push({
      name: plan.name,
      from: plan.from,
      to: plan.to,
      expect: plan.expect,
      ...(plan.why ? { why: plan.why } : {}),
      result,
      passed: plan.expect && !result.failure ? meetsExpectation(result, plan.expect) : plan.expect ? false : null,
    });
  }
  const report: ProbeReport = { host: options.host, port: options.port, snapshot: options.tenant ?? null, runs };
  const text =
    options.format === 'json'
      ? renderProbeJson(report)
      : options.format === 'junit'
        ? renderProbeJunit(report)
        : options.format === 'sarif'
          ? renderProbeSarif(report, version())
          : renderProbeText(report);
  await emit(io, text, options.out);
  const failure = runs.find((run) => run.result.failure);
  if (failure?.result.failure) {
    io.stderr(`eoplock: error: ${failure.result.failure.message}\n`);
    return 2;
  }
  return runs.some((run) => run.passed === false) ? 1 : 0;
}
