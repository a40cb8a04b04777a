/**
 * The eoplock command line: argument parsing, help, and the mapping of errors to exit codes.
 * Exit codes: 0 success; 1 findings (an expectation not met, an attack accepted without the gateway, a path that breaks);
 * 2 bad input (a file, a flag, a value); 70 an internal error (a bug).
 */
import { Command, CommanderError, Option } from 'commander';
import { createRequire } from 'node:module';
import { InputError } from '../errors.js';
import { setPublicSuffixLookup, type PublicSuffixLookup } from '../mail/dmarc.js';
import { DEFAULT_CONNECTOR_NAME, DEFAULT_RULE_NAME } from '../plan/names.js';
import { terminalSafe, visible } from '../util/display.js';
import type { AuditFormat } from './audit.js';
import { processIo, writeData, type Io } from './io.js';
import { addProfileOptions, profileOptionsFrom } from './profile-options.js';
import { version } from './version.js';

/**
 * `--prove-time-limit`'s default as the help shows it: the value of DEFAULT_PROVE_TIME_LIMIT (time-limit.ts), written
 * here because this module loads nothing a command alone needs (test/cli/lazy-load.test.ts).
 */
const PROVE_TIME_LIMIT = '60';

// The command definitions (names, arguments, options, help texts) are built eagerly, so every --help lists them all;
// each command's implementation, and the libraries it needs, is loaded by import() only when that command runs.

const collect = (value: string, previous: string[]) => [...previous, value];


function buildProgram(io: Io, setExit: (code: number) => void): Command {
  const program = new Command('eoplock')
    .description(
      'Close the gateway-bypass hole in Exchange Online: emulate what Exchange Online Protection does with mail ' +
        'sent straight to <tenant>.mail.protection.outlook.com, from a saved tenant snapshot, with the reason why.',
    )
    .version(version(), '-V, --version')
    .showHelpAfterError('(run "eoplock --help" for usage)')
    .configureOutput({
      writeOut: io.stdout,
      writeErr: (text) => io.stderr(terminalSafe(text, { colour: false })),
      // An error Commander composed around an argument ("unknown option '…'"): one line, whatever the argument holds.
      outputError: (text, write) => write(`${visible(text.replace(/\n$/, ''))}\n`),
    })
    .exitOverride()
    .addHelpText(
      'after',
      `
Exit codes: 0 success, 1 findings (expectation not met, attack or bypass class accepted by EOP without the gateway, legitimate path breaks, a source in impact's data would break), 2 bad input.

Examples:
  $ eoplock demo
  $ eoplock audit examples/contoso-exposed.json
  $ eoplock prove examples/contoso-locked.json
  $ eoplock simulate examples/contoso-locked.json --scenarios examples/scenarios.yaml
  $ eoplock simulate tenant.json --corpus builtin --trace
  $ eoplock simulate tenant.json --corpus builtin --assume attribution-reject-stage=data --format json
  $ eoplock report examples/contoso-exposed.json --out report.html
  $ eoplock headers examples/messages/direct-bypass.eml --snapshot examples/contoso-exposed.json
  $ eoplock dmarc rua-reports/ --snapshot tenant.json
  $ eoplock assumptions`,
    );

  program
    .command('simulate')
    .description('run SMTP transactions through the EOP emulator against a tenant snapshot')
    .argument('<snapshot>', 'tenant snapshot JSON (see docs/snapshot-format.md; scripts/Export-EoplockSnapshot.ps1 writes it)')
    .option('-s, --scenarios <file>', 'scenario file (JSON or YAML) with transactions and optional expectations')
    .option('-c, --corpus <name>', 'run a generated corpus instead: "builtin" (attacks and legitimate paths from the snapshot)')
    .addOption(new Option('-f, --format <format>', 'output format').choices(['text', 'json']).default('text'))
    .option('-a, --assume <ID=VALUE>', 'switch an undocumented-behaviour assumption (repeatable; see "eoplock assumptions")', collect, [])
    .option('-t, --trace', 'show every decision step with its sources', false)
    .option('-o, --out <file>', 'write the report to a file (atomically) instead of stdout')
    .option('--no-color', 'no colour in text output')
    .addHelpText(
      'after',
      `
Scenario file:
  scenarios:
    - name: Direct Send spoof of the CEO
      clientIp: 198.51.100.77            # IPv4 or IPv6
      helo: mail.attacker.example         # optional
      tls: { certificate: { subject: "CN=mx1.seg.example.net", san: ["mx1.seg.example.net"] } }  # omit = no TLS
      mailFrom: ceo@contoso.com           # "" = null sender
      rcptTo: [user@contoso.com]
      headers: "From: CEO <ceo@contoso.com>\\nSubject: Wire transfer\\n"   # optional raw block or map
      expect: { action: reject, code: 550, enhanced: 5.7.68, connector: null }

Exit code 1 when an expectation is not met (--scenarios) or when an attack is accepted by EOP without
passing the gateway or a legitimate path breaks (--corpus); 2 on bad input, with the file and the JSON path or line.`,
    )
    .action(async (snapshot: string, options: Record<string, unknown>) => {
      setExit(
        await (await import('./simulate.js')).simulateCommand(io, snapshot, {
          ...(typeof options.scenarios === 'string' ? { scenarios: options.scenarios } : {}),
          ...(typeof options.corpus === 'string' ? { corpus: options.corpus } : {}),
          format: options.format as 'text' | 'json',
          assume: options.assume as string[],
          trace: options.trace === true,
          color: options.color !== false && io.color,
          ...(typeof options.out === 'string' ? { output: options.out } : {}),
        }),
      );
    });

  addProfileOptions(
    program
      .command('audit')
      .description('audit one or more tenant snapshots for gateway-bypass exposure, with proof from the emulator')
      .argument('<snapshot...>', 'tenant snapshot JSON files'),
  )
    .addOption(new Option('-f, --format <format>', 'output format (html: one snapshot, a self-contained page)').choices(['text', 'json', 'sarif', 'junit', 'html']).default('text'))
    .option('-o, --out <file>', 'write the report to a file (atomically) instead of stdout')
    .addOption(new Option('--fail-on <severity>', 'exit 1 when a check at or above this severity fails').choices(['high', 'medium', 'low', 'none']).default('high'))
    .option('-a, --assume <ID=VALUE>', 'switch an emulator assumption (repeatable; see "eoplock assumptions")', collect, [])
    .option('--concurrency <n>', 'snapshots read at once', (value) => Number(value), 8)
    .option('--live-dns', "look up each accepted domain's MX, SPF, DMARC and DKIM in DNS instead of the snapshot's Dns", false)
    .option('--resolver <ip[:port]>', 'with --live-dns: the DNS server to ask (default: the system\'s)')
    .option('--prove', 'EOPL-090/091: search every class of transaction (as "eoplock prove"; seconds per tenant) instead of the corpus', false)
    .option('--prove-time-limit <seconds>', 'with --prove: stop each search after this many seconds (EOPL-090/091 then say so and judge on the corpus)', PROVE_TIME_LIMIT)
    .option('-v, --verbose', 'text: list passed and not-applicable checks with their reasons', false)
    .option('--no-color', 'no colour in text output')
    .addHelpText(
      'after',
      `
Without --seg-ip, --seg-cert or --seg, the gateway is inferred from each snapshot (its SenderDomains * Partner
connector and the MX records in Dns), and the report says so. --live-dns replaces the snapshot's Dns section with
fresh lookups (MX, TXT, _dmarc, selector1/selector2 CNAMEs) of every accepted domain but *.onmicrosoft.com. DNS data
that is missing (no Dns section, a domain without an entry) or a lookup that failed is never read as "no record": the
checks that need it (EOPL-022, EOPL-031-033) are not evaluated for that domain, and a warning on stderr says so once.

Examples:
  $ eoplock audit examples/contoso-exposed.json
  $ eoplock audit tenant.json --seg-ip 203.0.113.10 --seg-ip 198.51.100.0/28 --seg-cert '*.seg.example.net'
  $ eoplock audit tenants/*.json --format sarif --out eoplock.sarif --fail-on medium
  $ eoplock audit tenant.json --seg gateway.yaml --format junit --out audit.xml
  $ eoplock audit tenant.json --live-dns --resolver 1.1.1.1
  $ eoplock audit tenant.json --prove

Exit code 0 when no check at or above --fail-on fails, 1 when one does, 2 on bad input (a file, a flag).`,
    )
    .action(async (files: string[], options: Record<string, unknown>) => {
      setExit(
        await (await import('./audit.js')).auditCommand(io, files, {
          ...profileOptionsFrom(options),
          format: options.format as AuditFormat,
          ...(typeof options.out === 'string' ? { out: options.out } : {}),
          failOn: options.failOn as 'high' | 'medium' | 'low' | 'none',
          assume: options.assume as string[],
          concurrency: options.concurrency as number,
          liveDns: options.liveDns === true,
          ...(typeof options.resolver === 'string' ? { resolver: options.resolver } : {}),
          classSearch: options.prove === true,
          proveTimeLimit: options.proveTimeLimit as string,
          verbose: options.verbose === true,
          color: options.color !== false && io.color,
          progress: files.length > 1 && io.progress,
        }),
      );
    });

  addProfileOptions(
    program
      .command('prove')
      .description('search every class of SMTP transaction for a way around the gateway: "0 bypasses in N classes" is the proof')
      .argument('<snapshot...>', 'tenant snapshot JSON files'),
  )
    .option('--allow-direct-send <IP[=NAME]>', 'a legitimate Direct Send source (address or CIDR): its mail is not a bypass (repeatable)', collect, [])
    .option('-a, --assume <ID=VALUE>', 'switch an emulator assumption (repeatable; see "eoplock assumptions")', collect, [])
    .option('--all-assumptions', 'search under every combination of the uncertain assumptions; label what exists only under some', false)
    .addOption(new Option('-f, --format <format>', 'output format').choices(['text', 'json', 'sarif']).default('text'))
    .option('-o, --out <file>', 'write the report to a file (atomically) instead of stdout')
    .option('-t, --trace', "show each representative's decision steps with their sources", false)
    .option('--replay', "send each finding's representative over real SMTP to the lab (loopback) and confirm the same reply", false)
    .option('--time-limit <seconds>', 'stop each search after this many seconds and report what it found so far (then it is not a proof)')
    .option('--threads <count>', 'a search not ended after a second goes on in up to this many worker threads (default: one per processor, at most 4; 1: this thread only)')
    .option('--no-color', 'no colour in text output')
    .addHelpText(
      'after',
      `
The decision is a function of a finite configuration, so the transactions split into finitely many classes the
configuration cannot tell apart: every boundary of every address list it reads (IPv4 and IPv6), every certificate
name, accepted and named domain, tested header value and authentication result. One representative per class is
decided. A bypass is a class accepted for delivery to a tenant mailbox that did not come from the gateway (its
addresses or certificate) or an allowed Direct Send source; a broken legitimate path is a class from the gateway or
an allowed source that is refused. Findings are grouped by cause, each with its representative and its number of
classes; where the gateway connector trusts addresses or certificate names the gateway service shares with all its
customers, the path through another customer of the same service is reported on its own. What the proof does not
cover (content filtering, what the emulator does not evaluate) is listed under "Limits of the proof".

Examples:
  $ eoplock prove examples/contoso-locked.json
  $ eoplock prove examples/contoso-exposed.json --trace
  $ eoplock prove tenant.json --seg-ip 203.0.113.0/28 --seg-cert '*.seg.example.net' --allow-direct-send 192.0.2.25
  $ eoplock prove tenant.json --all-assumptions --format sarif --out prove.sarif
  $ eoplock prove examples/contoso-partial.json --replay
  $ eoplock prove big-tenant.json --time-limit 120

On a terminal, the search shows how much of the space it has covered. A tenant with hundreds of rules and
connectors can have billions of classes: --time-limit stops the search and reports the findings of the classes
covered so far, marked as not a proof. A search that has not ended after a second goes on in worker threads (the
same result as on one thread; each thread holds its own memos, a few hundred MB on such a tenant); --threads 1
keeps it on one. --all-assumptions searches on one thread.

Exit code 0 when no class is a bypass or a broken legitimate path (and, with --replay, the lab gave every
representative the emulator's reply), 1 otherwise (also when --time-limit stopped a search), 2 on bad input.`,
    )
    .action(async (files: string[], options: Record<string, unknown>) => {
      setExit(
        await (await import('./prove.js')).proveCommand(io, files, {
          ...profileOptionsFrom(options),
          allowDirectSend: options.allowDirectSend as string[],
          assume: options.assume as string[],
          allAssumptions: options.allAssumptions === true,
          format: options.format as 'text' | 'json' | 'sarif',
          ...(typeof options.out === 'string' ? { out: options.out } : {}),
          trace: options.trace === true,
          replay: options.replay === true,
          ...(typeof options.timeLimit === 'string' ? { timeLimit: options.timeLimit } : {}),
          ...(typeof options.threads === 'string' ? { threads: options.threads } : {}),
          color: options.color !== false && io.color,
          progress: io.progress,
        }),
      );
    });

  addProfileOptions(
    program
      .command('plan')
      .description('write the phased lockdown as idempotent PowerShell, with exact rollback, verification and PLAN.md')
      .argument('<snapshot>', 'tenant snapshot JSON'),
  )
    .requiredOption('-o, --out <dir>', 'folder to write the plan into (replaced as a whole with --force)')
    .option('--allow-direct-send <IP=NAME>', 'a legitimate Direct Send source that gets its own IP connector (repeatable)', collect, [])
    .addOption(
      new Option('--safety-net <action>', 'what the safety-net rule does to mail not from the gateway (quarantine: as Microsoft\'s own rule)').choices(['quarantine', 'reject']).default('quarantine'),
    )
    .option('--trace <files...>', 'message trace exports (as "eoplock impact" reads them): every source sending as your domains is checked')
    .option('--keep-bypasses', 'leave SCL -1 rules and the connection filter\'s allow list as they are (the risk is stated)', false)
    .option('--accept-broken', 'write the plan even though it breaks a known sender (otherwise: exit 1, nothing written)', false)
    .option('--rule-name <name>', 'name of the safety-net transport rule', DEFAULT_RULE_NAME)
    .option('--connector-name <name>', 'name of the gateway connector, when one has to be created', DEFAULT_CONNECTOR_NAME)
    .option('-a, --assume <ID=VALUE>', 'switch an emulator assumption for the predictions (repeatable)', collect, [])
    .option('--force', 'replace the --out folder if it exists', false)
    .option('--prove-time-limit <seconds>', 'stop the class search (as "eoplock prove") after this many seconds; it then says it is not a proof', PROVE_TIME_LIMIT)
    .addHelpText(
      'after',
      `
Phases (each with a script, a rollback script and a read-only verify script):
  01  safety-net rule in Audit mode: all messages, except the gateway, the named sources, every connector
      matched by IP and AuthAs Internal
  02  Direct Send connectors for the named sources, then the gateway connector restricted (certificate or
      /24-/32 IPs; its address list is rewritten only when it must be, and PLAN.md says why)
  03  Enhanced Filtering for the gateway connector
  04  spam-filter bypasses off: SCL -1 rules disabled, the connection filter's allow list emptied
      (--keep-bypasses leaves them, with the risk stated)
  05  RejectDirectSend on
  06  safety-net rule to Enforce; any other safety-net rule (e.g. FromScope NotInOrganization) disabled

A plan that breaks a known sender (a connector, the gateway, a named source, a source in --trace) is not
written: the command lists which and why, with the --allow-direct-send argument that keeps each, and exits 1,
unless --accept-broken is given. SPF sources are listed as candidates with their argument.

Examples:
  $ eoplock plan examples/contoso-exposed.json --out plan --allow-direct-send '192.0.2.25=Office scanners'
  $ eoplock plan examples/contoso-exposed.json --out plan --trace examples/traces/contoso-message-trace.csv
  $ eoplock plan tenant.json --seg-ip 203.0.113.10 --seg-cert '*.seg.example.net' --safety-net reject --out plan`,
    )
    .action(async (snapshot: string, options: Record<string, unknown>) => {
      setExit(
        await (await import('./plan.js')).planCommand(io, snapshot, {
          ...profileOptionsFrom(options),
          out: options.out as string,
          allowDirectSend: options.allowDirectSend as string[],
          safetyNet: options.safetyNet as 'reject' | 'quarantine',
          ruleName: options.ruleName as string,
          connectorName: options.connectorName as string,
          assume: options.assume as string[],
          force: options.force === true,
          keepBypasses: options.keepBypasses === true,
          acceptBroken: options.acceptBroken === true,
          ...(Array.isArray(options.trace) ? { trace: options.trace as string[] } : {}),
          proveTimeLimit: options.proveTimeLimit as string,
        }),
      );
    });

  addProfileOptions(
    program
      .command('drift')
      .description('check the lockdown invariants on a snapshot, for scheduled runs: exit 1 when one does not hold')
      .argument('<snapshot>', 'tenant snapshot JSON'),
  )
    .option('-b, --baseline <snapshot>', 'an earlier snapshot: report what changed since it (without one, drift states only how the tenant is)')
    .addOption(new Option('-f, --format <format>', 'output format').choices(['text', 'json']).default('text'))
    .option('-o, --out <file>', 'write the report to a file (atomically) instead of stdout')
    .option('-a, --assume <ID=VALUE>', 'switch an emulator assumption (repeatable)', collect, [])
    .option('--no-color', 'no colour in text output')
    .addHelpText(
      'after',
      `
Invariants: RejectDirectSend on; the gateway connector present, Partner, SenderDomains *, restricted, requiring TLS,
covering every gateway address and accepted domain, with the gateway's certificate name; the safety-net rule present,
enabled, enforced, first, excepting the gateway; every domain's MX at the gateway; no corpus attack accepted by EOP without the gateway.
Every invariant that does not hold is listed with all of its evidence.

One snapshot shows how the tenant is, not what happened to it: without --baseline a failure is stated as the
current state ("RejectDirectSend is off"). With --baseline, both snapshots are checked against the same gateway and
a failure of an invariant that held in the baseline is named as a change ("RejectDirectSend was turned off"), with
the baseline's value of each property in the evidence; failures the baseline had too are listed apart.
The gateway is the one given (--seg-ip/--seg-cert/--seg), else the one the baseline shows, else the one the snapshot
shows; give it in scheduled runs, so a deleted connector is a failure and not "no lockdown found".
Exit code 0 when every invariant holds, 1 when one does not (or no lockdown is found), 2 on bad input.

Examples:
  $ eoplock drift tenant.json --seg gateway.yaml
  $ eoplock drift today.json --baseline last-week.json --seg gateway.yaml
  $ eoplock drift today.json --baseline last-week.json --format json --out drift.json`,
    )
    .action(async (snapshot: string, options: Record<string, unknown>) => {
      setExit(
        await (await import('./drift.js')).driftCommand(io, snapshot, {
          ...profileOptionsFrom(options),
          format: options.format as 'text' | 'json',
          ...(typeof options.out === 'string' ? { out: options.out } : {}),
          ...(typeof options.baseline === 'string' ? { baseline: options.baseline } : {}),
          assume: options.assume as string[],
          color: options.color !== false && io.color,
        }),
      );
    });

  program
    .command('diff')
    .description('print the property-level changes between two snapshots: exit 1 when they differ')
    .argument('<before>', 'the earlier snapshot')
    .argument('<after>', 'the later snapshot')
    .addOption(new Option('-f, --format <format>', 'output format').choices(['text', 'json']).default('text'))
    .option('-o, --out <file>', 'write the report to a file (atomically) instead of stdout')
    .option('--no-color', 'no colour in text output')
    .addHelpText(
      'after',
      `
Objects are matched by name in each section (domain for Dns). Values are compared after undoing export encodings:
enum numbers (Windows PowerShell 5.1) equal their names, a date equals the same moment written with more or fewer
fractional digits, and lists compare as collections (order is ignored). Properties that change on every export
(WhenChanged, RunspaceId, ...) are left out. Added and removed objects are shown with their properties; long
strings (TXT records, rule texts) are shown whole, with removed words as [-old-] and added words as {+new+}.
Exit code 0 when the snapshots are the same, 1 when they differ, 2 on bad input.

Examples:
  $ eoplock diff before.json after.json
  $ eoplock diff before.json after.json --format json --out changes.json`,
    )
    .action(async (before: string, after: string, options: { format: 'text' | 'json'; out?: string; color?: boolean }) => {
      setExit(
        await (await import('./diff.js')).diffCommand(io, before, after, {
          format: options.format,
          ...(options.out ? { out: options.out } : {}),
          color: options.color !== false && io.color,
        }),
      );
    });

  addProfileOptions(
    program
      .command('lab')
      .description('run an SMTP server on loopback that answers like EOP for a snapshot, with an optional gateway hop in front')
      .argument('<snapshot>', 'tenant snapshot JSON'),
  )
    .option('--listen <host:port>', 'where the EOP lab listens', '127.0.0.1:2525')
    .option('--gateway-listen <host:port>', 'also run the gateway hop, which relays to the lab as the gateway')
    .option('--gateway-source <address>', 'loopback address the gateway hop relays from (stands for the gateway\'s first address)', '127.0.0.2')
    .option('--store <dir>', 'store accepted messages (.eml) and transactions.jsonl here')
    .option('--store-max-messages <n>', 'with --store: most .eml files in the folder, those already there included', (value) => Number(value), 10_000)
    .option('--store-max-bytes <size>', 'with --store: most bytes of .eml files and transactions.jsonl in the folder (K/M/G suffixes)', '1GB')
    .option('--tls-cert <file>', 'STARTTLS certificate (PEM); default: a generated self-signed one')
    .option('--tls-key <file>', 'key for --tls-cert (PEM)')
    .option('--xclient-from <address>', 'client address allowed to use XCLIENT ADDR= (repeatable; default none)', collect, [])
    .option('-a, --assume <ID=VALUE>', 'switch an emulator assumption (repeatable)', collect, [])
    .option('--max-clients <n>', 'concurrent connections', (value) => Number(value), 2000)
    .option('--max-message-size <bytes>', 'largest message accepted', (value) => Number(value), 10 * 1024 * 1024)
    .option('--idle-timeout <seconds>', 'drop a connection idle this long', (value) => Number(value), 60)
    .option('--session-timeout <seconds>', 'drop a connection open this long', (value) => Number(value), 600)
    .option('--resolver <ip[:port]>', "DNS server for SPF/DMARC at DATA (default: the snapshot's Dns section, offline)")
    .addHelpText(
      'after',
      `
Every reply comes from the emulator: 5.7.68/5.7.51/5.7.64 at RCPT TO, a rule's reject or Honor DMARC's 5.7.509 at
the end of DATA (as the assumptions say). Accepted messages get the headers EOP adds, including
Authentication-Results in EXO's form and X-MS-Exchange-SkipListedInternetSender when skip listing applied.

The store has a quota (--store-max-messages, --store-max-bytes; what the folder already holds counts): when a
message would go over it, the lab answers the end of DATA with 452 4.3.1 (insufficient system storage), stores
nothing of it, and says so on stderr (once per limit). A header block over 1 MB is refused with 552 5.3.4.

Example:
  $ eoplock lab examples/contoso-locked.json --gateway-listen 127.0.0.1:2526 --store lab-mail
  $ swaks --server 127.0.0.1:2525 --from ceo@contoso.com --to alice@contoso.com --quit-after RCPT   # 550 5.7.68
  $ swaks --server 127.0.0.1:2526 --from a@fabrikam.example --to alice@contoso.com                  # accepted via the gateway`,
    )
    .action(async (snapshot: string, options: Record<string, unknown>) => {
      setExit(
        await (await import('./lab.js')).labCommand(io, snapshot, {
          ...profileOptionsFrom(options),
          listen: options.listen as string,
          ...(typeof options.gatewayListen === 'string' ? { gatewayListen: options.gatewayListen } : {}),
          gatewaySource: options.gatewaySource as string,
          ...(typeof options.store === 'string' ? { store: options.store } : {}),
          storeMaxMessages: options.storeMaxMessages as number,
          storeMaxBytes: options.storeMaxBytes as string,
          ...(typeof options.tlsCert === 'string' ? { tlsCert: options.tlsCert } : {}),
          ...(typeof options.tlsKey === 'string' ? { tlsKey: options.tlsKey } : {}),
          xclientFrom: options.xclientFrom as string[],
          assume: options.assume as string[],
          maxClients: options.maxClients as number,
          maxMessageSize: options.maxMessageSize as number,
          idleTimeout: options.idleTimeout as number,
          sessionTimeout: options.sessionTimeout as number,
          ...(typeof options.resolver === 'string' ? { resolver: options.resolver } : {}),
        }),
      );
    });

  program
    .command('probe')
    .description('probe an SMTP endpoint safely: EHLO, STARTTLS, MAIL FROM, RCPT TO, then RSET — no DATA unless --send')
    .requiredOption('--host <host>', 'the endpoint, e.g. contoso-com.mail.protection.outlook.com')
    .option('--port <port>', 'TCP port', (value) => Number(value), 25)
    .option('--from <address>', 'envelope sender ("" for the null sender)')
    .option('--to <address>', 'recipient (repeatable); with --tenant the default is postmaster@ the default domain', collect, [])
    .option('--ehlo <name>', 'the EHLO name', 'eoplock-probe.invalid')
    .addOption(new Option('--starttls <mode>', 'use STARTTLS').choices(['auto', 'require', 'never']).default('auto'))
    .option('--client-cert <file>', 'client certificate to present (PEM)')
    .option('--client-key <file>', 'key for --client-cert (PEM)')
    .option('--expect <reply>', 'pass/fail: a code (550), an enhanced code (5.7.68), accept or reject')
    .option('--send', 'send a small, clearly labelled test message (DATA); off by default', false)
    .option('--timeout <seconds>', 'time limit for the whole probe, every test and step included', (value) => Number(value), 30)
    .option('--tenant <snapshot>', "run the guide's tests generated from a snapshot, each with the reply the emulator expects")
    .option('--local-address <address>', 'local address to connect from')
    .addOption(new Option('-f, --format <format>', 'output format').choices(['text', 'json', 'junit', 'sarif']).default('text'))
    .option('-o, --out <file>', 'write the report to a file (atomically) instead of stdout')
    .option('-a, --assume <ID=VALUE>', 'with --tenant: switch an emulator assumption (repeatable)', collect, [])
    .addHelpText(
      'after',
      `
Exit code 0 when every expectation is met, 1 when one is not, 2 on bad input or when no SMTP conversation was
possible (refused, timed out, TLS failure, not SMTP). Many networks block outbound port 25.
--from, --to and --ehlo must be RFC 5321 addresses and names (never a control character or line break; a space only
inside a quoted local part); anything else is refused before connecting. --timeout bounds the whole run, every test
of --tenant included: the probe ends within it, however the server behaves.

Examples:
  $ eoplock probe --host contoso-com.mail.protection.outlook.com --from ceo@contoso.com --to alice@contoso.com --expect 5.7.68
  $ eoplock probe --tenant contoso.json --host contoso-com.mail.protection.outlook.com --format junit --out probe.xml`,
    )
    .action(async (options: Record<string, unknown>) => {
      setExit(
        await (await import('./probe.js')).probeCommand(io, {
          host: options.host as string,
          port: options.port as number,
          ...(typeof options.from === 'string' ? { from: options.from } : {}),
          to: options.to as string[],
          ehlo: options.ehlo as string,
          starttls: options.starttls as 'auto' | 'require' | 'never',
          ...(typeof options.clientCert === 'string' ? { clientCert: options.clientCert } : {}),
          ...(typeof options.clientKey === 'string' ? { clientKey: options.clientKey } : {}),
          ...(typeof options.expect === 'string' ? { expect: options.expect } : {}),
          send: options.send === true,
          timeout: options.timeout as number,
          ...(typeof options.tenant === 'string' ? { tenant: options.tenant } : {}),
          ...(typeof options.localAddress === 'string' ? { localAddress: options.localAddress } : {}),
          format: options.format as 'text' | 'json' | 'junit' | 'sarif',
          ...(typeof options.out === 'string' ? { out: options.out } : {}),
          assume: options.assume as string[],
        }),
      );
    });

  addProfileOptions(
    program
      .command('impact')
      .description('who breaks: replay message trace, historical search, EmailEvents, an impact summary or lab logs against the planned configuration')
      .argument('<snapshot>', 'tenant snapshot JSON (the current configuration)')
      .argument('<files...>', 'mail-flow data: CSV, JSON or JSON Lines, optionally gzipped'),
  )
    .option('--plan <dir>', 'a folder written by "eoplock plan" (its expected-after.json is the configuration after)')
    .addOption(new Option('-f, --format <format>', 'output format (html: the full report page with these data)').choices(['text', 'json', 'html']).default('text'))
    .option('-o, --out <file>', 'write the report to a file (atomically) instead of stdout')
    .option('-a, --assume <ID=VALUE>', 'switch an emulator assumption (repeatable)', collect, [])
    .addHelpText(
      'after',
      `
Without --plan, the configuration after is the lockdown plan for the gateway profile with no Direct Send sources
named, so every Direct Send source in the data shows up, with the --allow-direct-send flag that keeps it working.
Exit code 0 when nothing in the data would break, 1 when a source would (its mail is accepted today and refused
after the change), 2 on bad input; --format html writes the page and exits 0.

An impact summary ("eoplock queries --for impact": the KQL result exported from Advanced hunting or Sentinel as CSV
or JSON, or the PowerShell script's impact-summary.csv) is read like any trace, each row counted as its Messages.

Example:
  $ eoplock impact tenant.json trace-*.csv.gz --seg-ip 203.0.113.10 --seg-cert '*.seg.example.net'
  $ eoplock impact examples/contoso-exposed.json examples/traces/contoso-message-trace.csv
  $ eoplock impact tenant.json impact-summary.csv          # from eoplock queries --for impact`,
    )
    .action(async (snapshot: string, files: string[], options: Record<string, unknown>) => {
      // The workers that read a large file in parts start first (their module is light), and load their code while
      // this thread loads the command's, reads the snapshot and plans; those not used are let go at the end.
      const workers = options.format === 'html' ? null : await import('../trace/read-workers.js');
      await workers?.startReadWorkers(files);
      try {
        setExit(
          await (await import('./trace.js')).impactCommand(io, snapshot, files, {
            ...profileOptionsFrom(options),
            ...(typeof options.plan === 'string' ? { plan: options.plan } : {}),
            format: options.format as 'text' | 'json' | 'html',
            ...(typeof options.out === 'string' ? { out: options.out } : {}),
            assume: options.assume as string[],
            progress: io.progress,
          }),
        );
      } finally {
        workers?.stopReadWorkers();
      }
    });

  addProfileOptions(
    program
      .command('monitor')
      .description('find accepted inbound mail that did not come through the gateway (exit 1 when there is any)')
      .argument('<files...>', 'mail-flow data: CSV, JSON or JSON Lines, optionally gzipped'),
  )
    .option('--snapshot <file>', 'tenant snapshot: accepted domains, connectors, and the gateway when no profile flag is given')
    .option('--allow-direct-send <IP[=NAME]>', 'a legitimate Direct Send source (address or CIDR): its mail is not a bypass, its sender not a spoof (repeatable)', collect, [])
    .addOption(new Option('-f, --format <format>', 'output format (html needs --snapshot: the full report page)').choices(['text', 'json', 'html']).default('text'))
    .option('-o, --out <file>', 'write the report to a file (atomically) instead of stdout')
    .action(async (files: string[], options: Record<string, unknown>) => {
      setExit(
        await (await import('./trace.js')).monitorCommand(io, files, {
          ...profileOptionsFrom(options),
          ...(typeof options.snapshot === 'string' ? { snapshot: options.snapshot } : {}),
          allowDirectSend: options.allowDirectSend as string[],
          format: options.format as 'text' | 'json' | 'html',
          ...(typeof options.out === 'string' ? { out: options.out } : {}),
          assume: [],
          progress: io.progress,
        }),
      );
    });

  addProfileOptions(
    program
      .command('queries')
      .description("print KQL (Defender, Sentinel) and PowerShell that find gateway bypasses, or summarise mail for impact, in Microsoft's own engines")
      .argument('[snapshot]', 'tenant snapshot (for the accepted domains and the gateway)'),
  )
    .addOption(new Option('--kind <kind>', 'only one language').choices(['kql', 'powershell']))
    .addOption(
      new Option('--for <purpose>', 'bypass: find mail around the gateway; impact: a per-sender summary that "eoplock impact" reads').choices(['bypass', 'impact']).default('bypass'),
    )
    .option('--days <n>', 'how far back (1–90)', (value) => Number(value), 7)
    .option('-o, --out <file>', 'write the queries to a file (atomically) instead of stdout')
    .addHelpText(
      'after',
      `
--for impact counts inbound mail per decision key (source IP, envelope and header sender domains, recipient domain,
connector) where the data live: the KQL runs in Defender Advanced Hunting or Sentinel over EmailEvents, the
PowerShell pages Get-MessageTraceV2 and counts as it goes. Either result (thousands of rows however large the tenant)
is read by "eoplock impact" with each row weighted by its message count. It needs no gateway address.

Examples:
  $ eoplock queries tenant.json --kind kql                                # bypass detections
  $ eoplock queries --for impact --kind kql --days 30 -o impact.kql       # paste into Advanced hunting, export CSV
  $ eoplock queries --for impact --kind powershell -o impact-summary.ps1  # writes impact-summary.csv
  $ eoplock impact tenant.json impact-summary.csv`,
    )
    .action(async (snapshot: string | undefined, options: Record<string, unknown>) => {
      setExit(
        await (await import('./queries.js')).queriesCommand(io, {
          ...profileOptionsFrom(options),
          ...(snapshot ? { snapshot } : {}),
          ...(typeof options.kind === 'string' ? { kind: options.kind as 'kql' | 'powershell' } : {}),
          for: options.for as 'bypass' | 'impact',
          days: options.days as number,
          ...(typeof options.out === 'string' ? { out: options.out } : {}),
        }),
      );
    });

  program
    .command('dns')
    .description('check MX, SPF, DMARC and DKIM of domains (live DNS) or of a snapshot\'s Dns section (offline)')
    .argument('[domains...]', 'domains to check (default with --snapshot: the snapshot\'s)')
    .option('--snapshot <file>', 'tenant snapshot: its Dns section offline, its DKIM configuration and gateway MX')
    .option('--resolver <ip[:port]>', 'DNS server to ask (live): IP, IP:PORT or [IPv6]:PORT')
    .option('--live', 'with --snapshot: look the domains up in DNS instead of reading the snapshot', false)
    .addOption(new Option('-f, --format <format>', 'output format').choices(['text', 'json']).default('text'))
    .option('-o, --out <file>', 'write the report to a file (atomically) instead of stdout')
    .addHelpText(
      'after',
      `
A lookup that fails (timeout, SERVFAIL, REFUSED, no DNS server; offline: a domain the snapshot's Dns section lacks)
is shown as "lookup failed: <why>" and no finding is drawn from it; NXDOMAIN is reported as "the domain does not exist".

Exit code 0 without errors, 1 when a domain has an error (no SPF, two SPF records, +all, over 10 lookups, no DMARC, a
DKIM selector that differs from Get-DkimSigningConfig while signing is on, the domain does not exist), 2 on bad input
or when a lookup failed (stderr names the lookups and why: the report is incomplete).

Examples:
  $ eoplock dns contoso.com contoso.co.uk --resolver 1.1.1.1
  $ eoplock dns --snapshot examples/contoso-exposed.json`,
    )
    .action(async (domains: string[], options: Record<string, unknown>) => {
      setExit(
        await (await import('./dns.js')).dnsCommand(io, domains, {
          ...(typeof options.snapshot === 'string' ? { snapshot: options.snapshot } : {}),
          ...(typeof options.resolver === 'string' ? { resolver: options.resolver } : {}),
          live: options.live === true,
          format: options.format as 'text' | 'json',
          ...(typeof options.out === 'string' ? { out: options.out } : {}),
        }),
      );
    });

  addProfileOptions(
    program
      .command('headers')
      .description("analyse a delivered message's headers: Received chain, the hop EOP saw, EXO's stamps, the guide's test 4")
      .argument('<file>', 'message (.eml) or pasted headers; - reads standard input')
      .option('--snapshot <file>', 'tenant snapshot: accepted domains, connectors and the inferred gateway profile'),
  )
    .addOption(new Option('-f, --format <format>', 'output format').choices(['text', 'json']).default('text'))
    .option('-o, --out <file>', 'write the report to a file (atomically) instead of stdout')
    .addHelpText(
      'after',
      `
Pasted headers are repaired where pasting broke them (indentation, blank lines, lost folds); each repair is noted.
The entry into Exchange Online is the latest hop into *.mail.protection.outlook.com. It is the gateway only by
evidence: --seg-ip/--seg, the snapshot's inferred profile, or Exchange Online's X-MS-Exchange-SkipListedInternetSender
stamp; a vendor host name alone leaves it undetermined (a sender's own relay can be at the same vendor).
CRLF, a bare LF and a bare CR each end a header line. Only the header is read: at most the first 1 MB of the file or
of standard input. A header block that does not end within it is bad input ("header block over 1 MB").

Exit code 0 when no check fails, 1 when one does (for example the message reached EOP without the gateway), 2 on
bad input.

Examples:
  $ eoplock headers examples/messages/direct-bypass.eml --snapshot examples/contoso-exposed.json
  $ pbpaste | eoplock headers - --seg-ip 203.0.113.10 --format json`,
    )
    .action(async (file: string, options: Record<string, unknown>) => {
      setExit(
        await (await import('./headers.js')).headersCommand(io, file, {
          ...profileOptionsFrom(options),
          ...(typeof options.snapshot === 'string' ? { snapshot: options.snapshot } : {}),
          format: options.format as 'text' | 'json',
          ...(typeof options.out === 'string' ? { out: options.out } : {}),
        }),
      );
    });

  addProfileOptions(
    program
      .command('report')
      .description('write a self-contained HTML report: mail-flow picture, corpus now and after the plan, findings, charts')
      .argument('<snapshot>', 'tenant snapshot JSON file'),
  )
    .option('--trace <files...>', 'message trace exports (CSV/JSON, .gz): bypasses per day, top sources, impact of the plan')
    .option('--plan <dir>', 'a folder written by "eoplock plan" (default: the plan is built with its defaults)')
    .option('-o, --out <file>', 'where to write the page (atomically)', 'eoplock-report.html')
    .option('-a, --assume <ID=VALUE>', 'switch an emulator assumption (repeatable; see "eoplock assumptions")', collect, [])
    .option('--prove-time-limit <seconds>', 'stop each class search (now and after the plan, as "eoplock prove") after this many seconds; it then says it is not a proof', PROVE_TIME_LIMIT)
    .addHelpText(
      'after',
      `
The page makes no network requests (everything is inline, and its Content-Security-Policy forbids loading anything),
prints to PDF, follows the system's dark mode and works with a keyboard.

Examples:
  $ eoplock report examples/contoso-exposed.json --out report.html
  $ eoplock report tenant.json --plan lockdown-plan --trace trace-week1.csv trace-week2.csv --out report.html
  $ eoplock audit tenant.json --format html --out audit.html

Exit code 0 when the page is written, 2 on bad input.`,
    )
    .action(async (snapshot: string, options: Record<string, unknown>) => {
      setExit(
        await (await import('./report.js')).reportCommand(io, snapshot, {
          ...profileOptionsFrom(options),
          traces: (options.trace as string[] | undefined) ?? [],
          ...(typeof options.plan === 'string' ? { plan: options.plan } : {}),
          out: options.out as string,
          assume: options.assume as string[],
          proveTimeLimit: options.proveTimeLimit as string,
        }),
      );
    });

  addProfileOptions(
    program
      .command('dmarc')
      .description('read DMARC aggregate reports: who sends as your domains, and which of it is not the gateway')
      .argument('<paths...>', 'report files (.xml, .xml.gz, .zip, .eml) or folders (walked)'),
  )
    .option('--snapshot <file>', 'tenant snapshot: the gateway profile is inferred from it')
    .option('--resolve', 'look up the sources in DNS (reverse names, Microsoft 365\'s SPF record) to recognise Microsoft 365', false)
    .option('--resolver <ip[:port]>', 'with --resolve: the DNS server to ask')
    .addOption(new Option('-f, --format <format>', 'output format (html: a self-contained page like "eoplock report")').choices(['text', 'json', 'html']).default('text'))
    .option('-o, --out <file>', 'write the report to a file (atomically) instead of stdout')
    .option('--max-bytes <size>', 'bytes unpacked (inflated or decoded) across the whole run, e.g. 4G (default 1G)')
    .option('--max-entries <n>', 'archive entries and message attachments across the whole run (default 50000)')
    .option('--max-seconds <n>', 'time for reading the whole run (default 300)')
    .addHelpText(
      'after',
      `
Each source is the gateway (its addresses), Microsoft 365 (with --resolve: authorised by spf.protection.outlook.com,
or a reverse name under outbound.protection.outlook.com), authenticated (aligned DKIM or SPF passed), or failing. Repeated reports (same reporter and report id)
count once.

Limits (hostile input): one budget covers the whole run, every file, folder and nesting level: 1 GiB unpacked
(--max-bytes), 50000 archive entries and attachments (--max-entries), 300 s (--max-seconds). An input file may be
100 MiB; one document, inner archive or message 50 MiB unpacked (the messages in one file also 200000 lines in all);
each stream, and each file across its levels, a 200:1 compression ratio (past 1 MiB); containers nest 3 deep (a gzip
in a zip in a message). Limits are checked while inflating, and reports are read one document at a time. Whatever is
over a limit or unreadable (a file, an archive member, a document) is skipped with the reason, and the rest is
reported; XML with DOCTYPE/ENTITY, or nested deeper than 32, is refused.

Examples:
  $ eoplock dmarc rua-mailbox-export/ --snapshot tenant.json
  $ eoplock dmarc reports/*.xml.gz --seg-ip 203.0.113.10 --resolve --format json --out dmarc.json
  $ eoplock dmarc rua/ --snapshot tenant.json --format html --out dmarc.html

Exit code 0, or 1 when mail failing DMARC came from sources that are neither the gateway nor Microsoft 365; 2 on bad
input.`,
    )
    .action(async (paths: string[], options: Record<string, unknown>) => {
      setExit(
        await (await import('./dmarc.js')).dmarcCommand(io, paths, {
          ...profileOptionsFrom(options),
          ...(typeof options.snapshot === 'string' ? { snapshot: options.snapshot } : {}),
          resolve: options.resolve === true,
          ...(typeof options.resolver === 'string' ? { resolver: options.resolver } : {}),
          format: options.format as 'text' | 'json' | 'html',
          ...(typeof options.out === 'string' ? { out: options.out } : {}),
          ...(typeof options.maxBytes === 'string' ? { maxBytes: options.maxBytes } : {}),
          ...(typeof options.maxEntries === 'string' ? { maxEntries: options.maxEntries } : {}),
          ...(typeof options.maxSeconds === 'string' ? { maxSeconds: options.maxSeconds } : {}),
        }),
      );
    });

  program
    .command('pull')
    .description("read a tenant over Exchange Online's admin REST endpoint (unsupported by Microsoft) into a snapshot")
    .option('--tenant <id or domain>', 'tenant id (GUID) or initial domain (contoso.onmicrosoft.com)')
    .option('--tenants <file>', 'many tenants, one per line (# comments); needs --out-dir and --certificate')
    .option('--app-id <guid>', 'application (client) id of your Entra app registration')
    .option('--certificate <file>', 'app-only sign-in: PEM with the certificate and its private key (Exchange.ManageAsApp + a role)')
    .option('--key <file>', 'the private key, when it is not in the --certificate file')
    .option('--device-code', 'sign in as a person with a code on another device', false)
    .addOption(new Option('--cloud <cloud>', 'Microsoft cloud').choices(['global', 'gcc', 'gcchigh', 'dod']).default('global'))
    .option('-o, --out <file>', 'where to write the snapshot (atomically)')
    .option('--out-dir <dir>', 'with --tenants: one <tenant>.json per tenant')
    .option('--skip-dns', 'no DNS lookups (the snapshot then has no Dns key)', false)
    .option('--resolver <ip[:port]>', 'DNS server for the Dns section')
    .option('--concurrency <n>', 'tenants pulled at once', (value) => Number(value), 4)
    .addHelpText(
      'after',
      `
NOT A SUPPORTED MICROSOFT API. eoplock pull calls https://outlook.office365.com/adminapi/beta/<tenant>/InvokeCommand,
the endpoint the ExchangeOnlineManagement v3 module uses internally. Microsoft does not support calling it directly
and may change it without notice. The supported path is scripts/Export-EoplockSnapshot.ps1 (PowerShell); both write
the same snapshot format.

Only read cmdlets run (those of the export script). Tokens stay in memory; nothing secret is printed or written.
Throttling (429/503) is retried with Retry-After, at most 4 times per request.

Examples:
  $ eoplock pull --tenant contoso.onmicrosoft.com --app-id 11111111-2222-3333-4444-555555555555 \\
        --certificate eoplock-app.pem --out contoso.json
  $ eoplock pull --tenant contoso.onmicrosoft.com --app-id <guid> --device-code --out contoso.json
  $ eoplock pull --tenants customers.txt --app-id <guid> --certificate msp.pem --out-dir snapshots --concurrency 8

Exit code 0 when every snapshot was written, 1 when a tenant failed (the others are still written), 2 on bad input.`,
    )
    .action(async (options: Record<string, unknown>) => {
      const text = (name: string) => (typeof options[name] === 'string' ? { [name]: options[name] as string } : {});
      setExit(
        await (await import('./pull.js')).pullCommand(io, {
          ...text('tenant'),
          ...text('tenants'),
          ...text('appId'),
          ...text('certificate'),
          ...text('key'),
          ...text('out'),
          ...text('outDir'),
          ...text('resolver'),
          deviceCode: options.deviceCode === true,
          cloud: options.cloud as 'global' | 'gcc' | 'gcchigh' | 'dod',
          skipDns: options.skipDns === true,
          concurrency: options.concurrency as number,
        }),
      );
    });

  program
    .command('demo')
    .description('run the builtin corpus on the bundled example tenant: exposed, half-done, locked (what "npm start" runs)')
    .option('--examples <dir>', 'folder holding contoso-exposed.json, contoso-partial.json and contoso-locked.json')
    .option('-t, --trace', 'show every decision step', false)
    .option('--report <file>', 'where to write the HTML report of the exposed example', 'eoplock-report.html')
    .option('--no-report', 'do not write the HTML report')
    .action(async (options: { examples?: string; trace: boolean; report: string | false }) => {
      setExit(await (await import('./demo.js')).demoCommand(io, { ...(options.examples ? { examples: options.examples } : {}), trace: options.trace, report: options.report }));
    });

  program
    .command('assumptions')
    .description('list the undocumented EOP behaviours the emulator assumes, their defaults and alternatives')
    .addOption(new Option('-f, --format <format>', 'output format').choices(['text', 'json']).default('text'))
    .action(async (options: { format: string }) => {
      const { ASSUMPTIONS } = await import('../eop/assumptions.js');
      if (options.format === 'json') {
        writeData(io, `${JSON.stringify(ASSUMPTIONS, null, 2)}\n`);
        return;
      }
      const lines: string[] = [];
      for (const entry of ASSUMPTIONS) {
        lines.push(`${entry.id}  (default: ${entry.default})`);
        lines.push(`  ${entry.question}`);
        for (const [value, meaning] of Object.entries(entry.values)) {
          lines.push(`    ${value === entry.default ? '*' : ' '} ${value}: ${meaning}`);
        }
        lines.push(`  Why the default: ${entry.rationale}`);
        lines.push(`  Sources: ${entry.sources.join(', ')}`);
        lines.push('');
      }
      lines.push('Switch one with --assume ID=VALUE on "eoplock simulate".');
      lines.push('§ numbers are sections of the fact base eoplock was written from; the sources it cites are listed below and in docs/sources.md.');
      const { citedSourceIds, sourceFooter } = await import('../eop/sources.js');
      lines.push('', ...sourceFooter(citedSourceIds(lines.join('\n')), 'Sources cited above:'));
      io.stdout(`${lines.join('\n')}\n`);
    });

  return program;
}

/** Runs the CLI; returns the exit code. Never throws. */
// src/mail loads the public suffix list through process.getBuiltinModule (Node ≥ 20.16). On an older Node 20 the
// command line, an IO edge, supplies it: tldts, required on the first organisational-domain lookup.
if (typeof (process as { getBuiltinModule?: unknown }).getBuiltinModule !== 'function') {
  let getDomain: PublicSuffixLookup | undefined;
  setPublicSuffixLookup((name, options) => (getDomain ??= (createRequire(import.meta.url)('tldts') as { getDomain: PublicSuffixLookup }).getDomain)(name, options));
}

export async function main(argv: readonly string[], io: Io = processIo()): Promise<number> {
  let exitCode = 0;
  const program = buildProgram(io, (code) => {
    exitCode = code;
  });
  try {
    if (argv.length === 0) {
      program.outputHelp();
      return 0;
    }
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') return 0;
      return 2;
    }
    if (error instanceof InputError) {
      io.stderr(`eoplock: error: ${error.describe()}\n`);
      return 2;
    }
    const message = visible(error instanceof Error ? error.message : String(error));
    io.stderr(`eoplock: internal error: ${message}\nThis is a bug in eoplock; set EOPLOCK_DEBUG=1 for details.\n`);
    if (process.env.EOPLOCK_DEBUG) io.stderr(`${terminalSafe(error instanceof Error ? (error.stack ?? '') : '')}\n`);
    return 70;
  }
}
