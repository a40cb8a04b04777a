/**
 * The self-contained HTML report (pure): one file with inline CSS, inline SVG, inline Chart.js (passed in as text),
 * and a Content-Security-Policy that forbids every network request. Works offline, prints, follows dark mode.
 */
import { SEVERITIES, type Finding, type Severity } from '../../audit/model.js';
import { ATTACK_ACCEPTED } from '../../corpus/builtin.js';
import { controlName, foundText } from '../controls.js';
import type { ProofFinding, ProofResult } from '../../prove/types.js';
import { onlyUnderText, proofHeadline, transactionLine } from '../prove.js';
import type { CorpusRow, HtmlReportModel, MailFlowFacts, ProofSection } from './model.js';

/** HTML-escapes text for element content and quoted attributes. */
export const escapeHtml = (value: unknown): string =>
  String(value ?? '').replace(/[&<>"']/g, (char) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[char] as string);

const esc = escapeHtml;

/** JSON safe inside a <script> element. */
const scriptJson = (value: unknown): string => JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');

const CSS = `
:root{--bg:#fff;--fg:#1b1f24;--muted:#57606a;--line:#d0d7de;--card:#f6f8fa;--ok:#1a7f37;--bad:#cf222e;--warn:#9a6700;--high:#cf222e;--medium:#bc4c00;--low:#6e7781;--accent:#0969da}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;--muted:#8d96a0;--line:#30363d;--card:#161b22;--ok:#3fb950;--bad:#f85149;--warn:#d29922;--high:#f85149;--medium:#db6d28;--low:#8d96a0;--accent:#4493f8}}
*{box-sizing:border-box}body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
main{max-width:1180px;margin:0 auto;padding:24px}h1{font-size:26px;margin:0 0 4px}h2{font-size:20px;margin:32px 0 12px;border-bottom:1px solid var(--line);padding-bottom:6px}
.muted{color:var(--muted)}.verdict{display:inline-block;padding:6px 12px;border-radius:6px;font-weight:600;margin-top:8px}.verdict.bad{background:var(--bad);color:#fff}.verdict.ok{background:var(--ok);color:#fff}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(170px,1fr));gap:12px}.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:12px}.card b{font-size:24px;display:block}
table{border-collapse:collapse;width:100%;font-size:14px}th,td{border-bottom:1px solid var(--line);padding:6px 8px;text-align:left;vertical-align:top}th{background:var(--card)}
.got-in,.broken{color:var(--bad);font-weight:600}.relation{font-style:italic}.blocked,.contained,.delivered{color:var(--ok);font-weight:600}
.sev{display:inline-block;min-width:64px;text-align:center;border-radius:4px;color:#fff;font-size:12px;padding:1px 6px;text-transform:uppercase}.sev.high{background:var(--high)}.sev.medium{background:var(--medium)}.sev.low{background:var(--low)}
.toolbar{display:flex;flex-wrap:wrap;gap:8px;align-items:center;margin:8px 0}.toolbar button,.copy{background:var(--card);color:var(--fg);border:1px solid var(--line);border-radius:6px;padding:4px 10px;cursor:pointer;font:inherit}
.toolbar button[aria-pressed=true]{background:var(--accent);color:#fff;border-color:var(--accent)}input[type=search]{padding:5px 8px;border:1px solid var(--line);border-radius:6px;background:var(--bg);color:var(--fg);min-width:240px}
:focus-visible{outline:3px solid var(--accent);outline-offset:2px}details{border:1px solid var(--line);border-radius:8px;margin:8px 0;padding:8px 12px;background:var(--bg)}summary{cursor:pointer;font-weight:600}
pre{background:var(--card);border:1px solid var(--line);border-radius:6px;padding:10px;overflow:auto;font-size:12.5px;max-height:480px}code{font-family:ui-monospace,SFMono-Regular,Consolas,monospace}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(320px,1fr));gap:16px}.chart{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:12px;position:relative}.chart canvas{max-height:300px}
svg text{fill:var(--fg);font:13px system-ui,sans-serif}svg .box{fill:var(--card);stroke:var(--line)}svg .open{stroke:var(--bad)}svg .closed{stroke:var(--ok)}svg .lbl{font-size:12px;fill:var(--muted)}
.hidden{display:none}.flow-row{display:grid;grid-template-columns:2fr 1fr;gap:16px;margin-top:16px}@media (max-width:800px){.flow-row{grid-template-columns:1fr}}.flow-facts{margin:8px 0 0;padding-left:18px;color:var(--muted);font-size:14px}
@media print{.toolbar,.copy{display:none}details{break-inside:avoid}details:not([open])>*:not(summary){display:block}pre{max-height:none}body{font-size:12px}}
`;

const SCRIPT = `
(function(){
  var data = JSON.parse(document.getElementById('report-data').textContent);
  var css = getComputedStyle(document.documentElement);
  var color = function(name){ return css.getPropertyValue(name).trim() || '#888'; };
  function chart(id, config){ var el = document.getElementById(id); if (!el || typeof Chart === 'undefined') return; el.chart = new Chart(el, config); }
  Chart.defaults.color = color('--fg'); Chart.defaults.borderColor = color('--line'); Chart.defaults.animation = false;
  chart('chart-severity', { type: 'doughnut', data: { labels: ['High','Medium','Low'], datasets: [{ data: [data.failed.high, data.failed.medium, data.failed.low], backgroundColor: [color('--high'), color('--medium'), color('--low')] }] }, options: { plugins: { legend: { position: 'bottom' } } } });
  if (data.perDay) chart('chart-per-day', { type: 'line', data: { labels: data.perDay.map(function(d){return d.day;}), datasets: [{ label: 'Messages that bypassed the gateway', data: data.perDay.map(function(d){return d.messages;}), borderColor: color('--bad'), backgroundColor: color('--bad') }] }, options: { scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } } });
  if (data.topSources) chart('chart-sources', { type: 'bar', data: { labels: data.topSources.map(function(s){return s.clientIp;}), datasets: [{ label: 'Messages not from the gateway', data: data.topSources.map(function(s){return s.messages;}), backgroundColor: color('--medium') }] }, options: { indexAxis: 'y', scales: { x: { beginAtZero: true, ticks: { precision: 0 } } } } });

  var filter = 'fail', query = '';
  var buttons = Array.prototype.slice.call(document.querySelectorAll('[data-filter]'));
  var findings = Array.prototype.slice.call(document.querySelectorAll('.finding'));
  function apply(){
    var shown = 0;
    findings.forEach(function(el){
      var f = el.dataset;
      var okFilter = filter === 'all' || (filter === 'fail' ? f.status === 'fail' : f.status === 'fail' && f.severity === filter);
      var okQuery = !query || el.textContent.toLowerCase().indexOf(query) >= 0;
      var show = okFilter && okQuery; el.classList.toggle('hidden', !show); if (show) shown++;
    });
    document.getElementById('finding-count').textContent = shown + ' shown';
    buttons.forEach(function(b){ b.setAttribute('aria-pressed', String(b.dataset.filter === filter)); });
  }
  buttons.forEach(function(b){ b.addEventListener('click', function(){ filter = b.dataset.filter; apply(); }); });
  var search = document.getElementById('finding-search');
  if (search) search.addEventListener('input', function(){ query = search.value.trim().toLowerCase(); apply(); });
  apply();

  Array.prototype.slice.call(document.querySelectorAll('.copy')).forEach(function(button){
    button.addEventListener('click', function(){
      var text = document.getElementById(button.dataset.target).textContent;
      var done = function(){ button.textContent = 'Copied'; setTimeout(function(){ button.textContent = 'Copy'; }, 1500); };
      if (navigator.clipboard && navigator.clipboard.writeText) navigator.clipboard.writeText(text).then(done, function(){ fallback(text); done(); }); else { fallback(text); done(); }
    });
  });
  function fallback(text){ var area = document.createElement('textarea'); area.value = text; document.body.appendChild(area); area.select(); try { document.execCommand('copy'); } catch (e) {} area.remove(); }
})();
`;

function flowSvg(flow: MailFlowFacts): string {
  const bypassOpen = flow.bypassesOpen > 0;
  const connector = flow.gatewayConnector;
  const lines = [
    `RejectDirectSend: ${flow.rejectDirectSend ? 'on' : 'off'}`,
    connector ? `Connector "${connector.name}": ${connector.restriction === 'none' ? 'not restricted (anyone may send straight to EOP)' : `restricted to the gateway's ${connector.restriction}`}` : 'No gateway connector',
    `Enhanced Filtering: ${connector?.enhancedFiltering ? 'on' : 'off'}`,
    `Safety-net rule: ${flow.safetyNetRule ?? 'none'}`,
  ];
  return `<svg role="img" aria-labelledby="flow-title flow-desc" viewBox="0 0 900 250" width="100%" style="max-width:900px">
<title id="flow-title">Mail flow</title>
<desc id="flow-desc">Internet senders reach Exchange Online Protection through the gateway; the gateway path is ${flow.gatewayPathOpen ? 'open' : 'broken'}. Mail an attacker sends straight to Exchange Online Protection is ${bypassOpen ? `accepted for delivery (${flow.bypassesOpen} of ${flow.attacks} attacks; content filtering, not emulated, may still act)` : 'refused or contained'}.</desc>
<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" fill="currentColor"/></marker></defs>
<g><rect class="box" x="10" y="30" width="150" height="50" rx="8"/><text x="85" y="60" text-anchor="middle">Internet senders</text></g>
<g><rect class="box" x="240" y="30" width="170" height="50" rx="8"/><text x="325" y="60" text-anchor="middle">Gateway (SEG)</text></g>
<g><rect class="box" x="490" y="90" width="170" height="60" rx="8"/><text x="575" y="117" text-anchor="middle">Exchange Online</text><text x="575" y="135" text-anchor="middle">Protection</text></g>
<g><rect class="box" x="740" y="90" width="140" height="60" rx="8"/><text x="810" y="125" text-anchor="middle">Mailboxes</text></g>
<g><rect class="box" x="10" y="170" width="150" height="50" rx="8"/><text x="85" y="200" text-anchor="middle">Attacker</text></g>
<g class="${flow.gatewayPathOpen ? 'closed' : 'open'}" style="color:var(${flow.gatewayPathOpen ? '--ok' : '--bad'})"><path d="M160,55 L238,55" stroke="currentColor" stroke-width="3" fill="none" marker-end="url(#arrow)"/><path d="M410,55 L488,105" stroke="currentColor" stroke-width="3" fill="none" marker-end="url(#arrow)"/></g>
<g style="color:var(--fg)"><path d="M660,120 L738,120" stroke="currentColor" stroke-width="3" fill="none" marker-end="url(#arrow)"/></g>
<g id="bypass-path" data-open="${bypassOpen}" style="color:var(${bypassOpen ? '--bad' : '--ok'})"><path d="M160,195 L488,135" stroke="currentColor" stroke-width="3" ${bypassOpen ? '' : 'stroke-dasharray="6 6"'} fill="none" marker-end="url(#arrow)"/>
<text x="175" y="238" style="fill:currentColor;font-weight:600">${bypassOpen ? `bypass OPEN: EOP accepts ${flow.bypassesOpen} of ${flow.attacks} attacks` : 'bypass closed: every attack refused or contained'}</text>${bypassOpen ? '' : '<path d="M318,158 l16,16 M334,158 l-16,16" stroke="currentColor" stroke-width="4"/>'}</g>
</svg>
<ul class="flow-facts">${lines.map((line) => `<li>${esc(line)}</li>`).join('')}</ul>`;
}

const OUTCOME: Record<string, string> = { 'got-in': 'accepted by EOP', blocked: 'blocked', contained: 'contained', delivered: 'accepted', broken: 'broken' };

function verdictCell(cell: CorpusRow['now'] | null): string {
  if (!cell) return '<td class="muted">—</td>';
  const code = cell.verdict.action === 'reject' ? `${cell.verdict.code} ${cell.verdict.enhanced}` : `${cell.verdict.action} → ${cell.verdict.disposition}`;
  return `<td><span class="${esc(cell.outcome)}">${esc(OUTCOME[cell.outcome] ?? cell.outcome)}</span><br><code>${esc(code)}</code><br><span class="muted">${esc(cell.reason)}</span></td>`;
}

const PROOF_KIND: Record<ProofFinding['kind'], string> = { bypass: 'Bypass', 'broken-legitimate': 'Broken legitimate path', 'shared-gateway-infrastructure': 'Shared gateway infrastructure' };

/** One proof (now or after the plan): its headline, its findings with a representative each, and its limits. */
function proofBlock(label: string, proof: ProofResult, id: string): string {
  const bad = proof.bypasses > 0 || proof.brokenLegitimate > 0;
  const rows = proof.findings
    .map((finding) => {
      const { verdict } = finding.representative;
      const reply = verdict.action === 'reject' ? `${verdict.code} ${verdict.enhanced}` : `accept → ${verdict.disposition}`;
      const notes = [finding.onlyUnder && finding.onlyUnder.length > 0 ? `only under ${onlyUnderText(finding.onlyUnder)}` : '', finding.remedy ? `narrowed by: ${finding.remedy}` : ''].filter(Boolean).join('; ');
      return `<tr data-kind="${esc(finding.kind)}"><td>${esc(PROOF_KIND[finding.kind])}</td><td>${esc(finding.cause)}${notes ? `<br><span class="muted">${esc(notes)}</span>` : ''}</td><td>${finding.classes.toLocaleString('en-US')}</td><td><code>${esc(transactionLine(finding.representative.transaction))}</code></td><td><code>${esc(reply)}</code></td></tr>`;
    })
    .join('\n');
  const limits = proof.limits.length > 0 ? `<details><summary>Limits of the proof</summary><ul>${proof.limits.map((limit) => `<li>${esc(limit)}</li>`).join('')}</ul></details>` : '';
  return `<h3>${esc(label)}</h3><p class="verdict ${bad ? 'bad' : 'ok'}" id="${id}">${esc(proofHeadline(proof))}${proof.brokenLegitimate > 0 ? esc(`; ${proof.brokenLegitimate.toLocaleString('en-US')} class(es) from the gateway or an allowed source refused`) : ''}</p>
${rows ? `<table><thead><tr><th>Finding</th><th>Cause</th><th>Classes</th><th>Representative</th><th>Reply</th></tr></thead><tbody>${rows}</tbody></table>` : ''}${limits}`;
}

function proofHtml(proof: ProofSection): string {
  return `<section id="proof"><h2>Proof: every class of transaction</h2><p class="muted">The corpus above is a sample. Here every transaction the configuration can tell apart (each boundary of each address list it reads, each certificate name, domain, tested header value and authentication result) falls into a class, and one representative of each class is decided ("eoplock prove"). A bypass is a class accepted for delivery to a tenant mailbox that did not come from the gateway or an allowed Direct Send source.</p>
${proofBlock('Now', proof.now, 'proof-now')}${proof.afterPlan ? proofBlock('After the plan', proof.afterPlan, 'proof-after') : ''}</section>`;
}

function findingHtml(finding: Finding): string {
  const evidence = finding.evidence
    .slice(0, 20)
    .map((item) => `<li><code>${esc(item.path)}</code>: ${esc(item.message)}${item.absent ? ` <span class="muted absent">(${esc(foundText(item, String))})</span>` : ''}${item.expected ? ` <span class="muted">(expected ${esc(item.expected)})</span>` : ''}</li>`)
    .join('');
  const more = finding.evidence.length > 20 ? `<li class="muted">… ${finding.evidence.length - 20} more</li>` : '';
  const refs = finding.references.map((ref) => `<li>${esc(ref.id)}: ${ref.url ? `<a href="${esc(ref.url)}" rel="noreferrer">${esc(ref.title)}</a> — <span class="muted">${esc(ref.url)}</span>` : esc(ref.title)}</li>`).join('');
  const controls = finding.controls
    .map((control) => `${esc(controlName(control))}${control.relation === 'exact' ? '' : ` <span class="relation" data-relation="${esc(control.relation)}">(${esc(control.relation)}${control.why ? `: ${esc(control.why)}` : ''})</span>`}`)
    .join('; ');
  return `<details class="finding" data-severity="${finding.severity}" data-status="${finding.status}" data-id="${esc(finding.id)}"${finding.status === 'fail' && finding.severity === 'high' ? ' open' : ''}>
<summary><span class="sev ${finding.severity}">${finding.severity}</span> ${finding.status === 'fail' ? '✗' : finding.status === 'pass' ? '✓' : '–'} ${esc(finding.id)} ${esc(finding.title)}</summary>
<p>${esc(finding.summary)}</p><p class="muted">${esc(finding.why)}</p>
${evidence ? `<h4>Evidence</h4><ul>${evidence}${more}</ul>` : ''}
${finding.status === 'fail' ? `<h4>Remediation</h4><p>${esc(finding.remediation)}</p>` : ''}
${refs ? `<h4>References</h4><ul>${refs}</ul>` : ''}${controls ? `<p class="muted">Controls: ${controls}</p>` : ''}
</details>`;
}

export function renderHtmlReport(model: HtmlReportModel, chartJs: string): string {
  const { audit, flow } = model;
  const failed = audit.summary.failedBySeverity;
  const bad = audit.summary.attacksIn > 0 || failed.high > 0;
  const title = `eoplock report — ${audit.tenant ?? audit.file}`;
  const bySeverity = (severity: Severity) => audit.findings.filter((finding) => finding.severity === severity);
  const data = {
    failed,
    perDay: model.monitor?.perDay ?? null,
    topSources: model.monitor?.topSources ?? null,
  };
  const profile = audit.profile;
  const sections: string[] = [];

  sections.push(`<header><h1>${esc(title)}</h1>
<p class="muted">Snapshot ${esc(audit.file)}${audit.capturedAt ? `, captured ${esc(audit.capturedAt)}` : ''} · report generated ${esc(model.generatedAt)} by eoplock ${esc(model.version)}</p>
<p>Gateway: <b>${esc(profile.name ?? 'none')}</b>${profile.ips.length > 0 ? ` — ${esc(profile.ips.join(', '))}` : ''}${profile.certificateName ? `; certificate ${esc(profile.certificateName)}` : ''} <span class="muted">(${esc(profile.origin.kind)}${profile.origin.from.length > 0 ? `: ${esc(profile.origin.from.join('; '))}` : ''})</span></p>
<div class="verdict ${bad ? 'bad' : 'ok'}" id="overall-verdict">${bad ? `Exposed: ${audit.summary.attacksIn} of ${audit.summary.attacksTotal} attacks ${ATTACK_ACCEPTED}; ${failed.high} high-severity finding(s)` : 'Locked down: EOP refuses or contains every attack, and no high-severity finding'}</div>
</header>`);

  sections.push(`<section id="summary"><h2>Summary</h2><div class="cards">
<div class="card"><span class="muted">Attacks accepted by EOP without the gateway</span><b id="attacks-in">${audit.summary.attacksIn} / ${audit.summary.attacksTotal}</b></div>
<div class="card"><span class="muted">Legitimate paths broken</span><b>${audit.summary.legitimateBroken} / ${audit.summary.legitimateTotal}</b></div>
<div class="card"><span class="muted">Checks failed</span><b id="checks-failed">${audit.summary.failed}</b><span class="muted">${failed.high} high · ${failed.medium} medium · ${failed.low} low</span></div>
<div class="card"><span class="muted">Checks passed</span><b>${audit.summary.passed}</b><span class="muted">${audit.summary.notApplicable} not applicable</span></div>
</div><div class="flow-row"><div class="chart"><h3>Mail flow</h3>${flowSvg(flow)}</div><div class="chart"><h3>Failed checks by severity</h3><canvas id="chart-severity" role="img" aria-label="Failed checks by severity: ${failed.high} high, ${failed.medium} medium, ${failed.low} low"></canvas></div></div></section>`);

  const rows = model.corpus.map((row) => `<tr data-kind="${row.kind}"><td>${row.kind === 'attack' ? 'Attack' : 'Legitimate'}</td><td><b>${esc(row.name)}</b><br><code class="muted">${esc(row.id)}</code></td>${verdictCell(row.now)}${verdictCell(row.afterPlan)}</tr>`).join('\n');
  sections.push(`<section id="corpus"><h2>Attack corpus: now and after the plan</h2><p class="muted">Each transaction sent straight to EOP in the emulator, against the snapshot and against the snapshot the lockdown plan leaves behind. "Accepted" is EOP's decision at the transport layer: its content filtering (spam, phishing, malware) is not emulated and may still junk or quarantine an accepted message — unless a transport rule set SCL -1, which leaves only malware and high-confidence phishing acted on.</p>
<table><thead><tr><th>Kind</th><th>Transaction</th><th>Now</th><th>After the plan</th></tr></thead><tbody>${rows}</tbody></table></section>`);

  if (model.proof) sections.push(proofHtml(model.proof));

  const findings = SEVERITIES.map((severity) => bySeverity(severity).map(findingHtml).join('\n')).join('\n');
  sections.push(`<section id="findings"><h2>Findings</h2>
<div class="toolbar" role="toolbar" aria-label="Filter findings"><button type="button" data-filter="fail">Failed</button><button type="button" data-filter="high">High</button><button type="button" data-filter="medium">Medium</button><button type="button" data-filter="low">Low</button><button type="button" data-filter="all">All checks</button>
<label>Search <input type="search" id="finding-search" placeholder="id, title, evidence…"></label><span class="muted" id="finding-count" aria-live="polite"></span></div>
${findings}</section>`);

  if (model.monitor || model.impact) {
    const monitor = model.monitor;
    const impactRows = (model.impact?.groups ?? []).map((group) => `<tr><td><code>${esc(group.clientIp)}</code></td><td>${esc(group.senderDomain)}</td><td>${group.messages}</td><td>${esc(group.reason)}</td><td>${esc(group.subjects[0] ?? '')}</td><td>${esc(group.suggestion ?? '')}</td></tr>`).join('');
    sections.push(`<section id="trace"><h2>Mail-flow data</h2>
${monitor ? `<p>${monitor.records} message(s) read; ${monitor.inbound} inbound, ${monitor.viaGateway} through the gateway, <b>${monitor.bypassed} bypassed it</b>.</p>
<div class="charts"><div class="chart"><h3>Bypasses per day</h3><canvas id="chart-per-day" role="img" aria-label="Messages that bypassed the gateway per day"></canvas></div><div class="chart"><h3>Top sources not using the gateway</h3><canvas id="chart-sources" role="img" aria-label="Top sources not using the gateway"></canvas></div></div>` : ''}
${model.impact ? `<h3>Impact of the plan: who breaks</h3><p>${model.impact.acceptedNow} accepted today, <b>${model.impact.breaking} refused after the change</b>.</p>
<table id="impact"><thead><tr><th>Source</th><th>Sender domain</th><th>Messages</th><th>After the change</th><th>Example subject</th><th>Keep it working</th></tr></thead><tbody>${impactRows || '<tr><td colspan="6">Nothing breaks.</td></tr>'}</tbody></table>` : ''}
</section>`);
  }

  if (model.plan) {
    let block = 0;
    const code = (label: string, text: string | null) => {
      if (!text) return '';
      const id = `code-${++block}`;
      return `<details><summary>${esc(label)}</summary><button type="button" class="copy" data-target="${id}">Copy</button><pre><code id="${id}">${esc(text)}</code></pre></details>`;
    };
    const phases = model.plan.phases.map((phase) => `<div class="phase"><h3>${esc(phase.id)}: ${esc(phase.title)}</h3>${code('Script', phase.script)}${code('Rollback', phase.rollback)}${code('Verify', phase.verify)}</div>`).join('\n');
    sections.push(`<section id="plan"><h2>Lockdown plan</h2><p class="muted">${esc(model.plan.source)}</p>${model.plan.warnings.length > 0 ? `<ul>${model.plan.warnings.map((warning) => `<li>${esc(warning)}</li>`).join('')}</ul>` : ''}${phases}</section>`);
  }

  return htmlShell(title, `${sections.join('\n')}
<footer class="muted"><p>Verdicts come from eoplock's EOP emulator and its named assumptions ("eoplock assumptions"); they are predictions, not observations.</p></footer>`, data, chartJs, SCRIPT);
}

/**
 * The page every eoplock HTML output shares: the Content-Security-Policy that forbids requests, the stylesheet
 * (light/dark/print), the data as JSON, Chart.js and the page's script.
 */
export function htmlShell(title: string, body: string, data: unknown, chartJs: string, script: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<meta name="color-scheme" content="light dark"><title>${esc(title)}</title><style>${CSS}</style></head>
<body><main>
${body}
</main>
<script type="application/json" id="report-data">${scriptJson(data)}</script>
<script>${chartJs.replace(/<\/script/gi, '<\\/script')}</script>
<script>${script}</script>
</body></html>
`;
}
