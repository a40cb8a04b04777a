/**
 * The self-contained HTML report (pure): one file with inline CSS, inline SVG, inline Chart.js (passed in as text),
 * and a Content-Security-Policy that forbids every network request. Works offline, prints, follows dark mode.
 */
import { SEVERITIES, type Finding, type Severity } from '../../audit/model.js';
import { ATTACK_ACCEPTED, isSpfCandidate } from '../../corpus/builtin.js';
import { controlName, foundText } from '../controls.js';
import type { ProofFinding, ProofResult } from '../../prove/types.js';
import { onlyUnderText, proofHeadline, transactionLine } from '../prove.js';
import type { FilledFix } from './fix.js';
import { controlLink, linkSourceIds, sourceUrl } from './links.js';
import type { CorpusCell, CorpusRow, HtmlReportModel, MailFlowFacts, PlanSection, TopAction } from './model.js';

/** HTML-escapes text for element content and quoted attributes. */
export const escapeHtml = (value: unknown): string =>
  String(value ?? '').replace(/[&<>"']/g, (char) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[char] as string);

const esc = escapeHtml;

/** JSON safe inside a <script> element. */
const scriptJson = (value: unknown): string => JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');

const CSS = `
:root{--bg:#fff;--fg:#1b1f24;--muted:#57606a;--line:#d0d7de;--card:#f6f8fa;--ok:#1a7f37;--bad:#cf222e;--warn:#9a6700;--high:#cf222e;--medium:#bc4c00;--low:#6e7781;--accent:#0969da}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;--muted:#8d96a0;--line:#30363d;--card:#161b22;--ok:#3fb950;--bad:#f85149;--warn:#d29922;--high:#f85149;--medium:#db6d28;--low:#8d96a0;--accent:#4493f8}}
*{box-sizing:border-box}body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;overflow-wrap:break-word}
main{max-width:1180px;margin:0 auto;padding:24px}h1{font-size:26px;margin:0 0 4px}h2{font-size:20px;margin:32px 0 12px;border-bottom:1px solid var(--line);padding-bottom:6px}
a{color:var(--accent)}.muted{color:var(--muted)}.verdict{display:inline-block;padding:6px 12px;border-radius:6px;font-weight:600;margin-top:8px}.verdict.bad{background:var(--bad);color:#fff}.verdict.ok{background:var(--ok);color:#fff}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(170px,1fr));gap:12px;margin-top:16px}.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:12px}.card b{font-size:24px;display:block}
table{border-collapse:collapse;width:100%;font-size:14px}th,td{border-bottom:1px solid var(--line);padding:6px 8px;text-align:left;vertical-align:top}th{background:var(--card)}
.got-in,.broken{color:var(--bad);font-weight:600}.relation{font-style:italic}.blocked,.contained,.delivered{color:var(--ok);font-weight:600}
.sev{display:inline-block;min-width:64px;text-align:center;border-radius:4px;color:#fff;font-size:12px;padding:1px 6px;text-transform:uppercase}.sev.high{background:var(--high)}.sev.medium{background:var(--medium)}.sev.low{background:var(--low)}
.toolbar{display:flex;flex-wrap:wrap;gap:8px;align-items:center;margin:8px 0}.toolbar button,.copy{background:var(--card);color:var(--fg);border:1px solid var(--line);border-radius:6px;padding:4px 10px;cursor:pointer;font:inherit}
.toolbar button[aria-pressed=true]{background:var(--accent);color:#fff;border-color:var(--accent)}input[type=search]{padding:5px 8px;border:1px solid var(--line);border-radius:6px;background:var(--bg);color:var(--fg);min-width:240px;max-width:100%}
:focus-visible{outline:3px solid var(--accent);outline-offset:2px}details{border:1px solid var(--line);border-radius:8px;margin:8px 0;padding:8px 12px;background:var(--bg)}summary{cursor:pointer;font-weight:600}
pre{background:var(--card);border:1px solid var(--line);border-radius:6px;padding:10px;overflow:auto;font-size:12.5px;max-height:480px}code{font-family:ui-monospace,SFMono-Regular,Consolas,monospace}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(320px,100%),1fr));gap:16px}.chart{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:12px;position:relative;min-width:0}.chart canvas{max-height:300px}
svg text{fill:var(--fg);font:13px system-ui,sans-serif}svg .box{fill:var(--card);stroke:var(--line)}svg .open{stroke:var(--bad)}svg .closed{stroke:var(--ok)}svg .lbl{font-size:12px;fill:var(--muted)}
.hidden{display:none}.flow-facts{margin:8px 0 0;padding-left:18px;color:var(--muted);font-size:14px}.flow-vertical{display:none}
.actions{padding-left:0;list-style:none;counter-reset:action}.actions>li{counter-increment:action;background:var(--card);border:1px solid var(--line);border-radius:8px;padding:12px;margin:8px 0}.actions>li>h3{margin:0 0 4px;font-size:16px}.actions>li>p{margin:0 0 4px}.actions>li>h3::before{content:counter(action) ". "}
.command pre{margin:6px 0}var.to-supply{font-style:normal;border:1px dashed var(--warn);border-radius:3px;padding:0 2px}
.sevcounts{margin-top:4px}.sevcounts td,.sevcounts th{border:0;padding:2px 6px;background:none}.sevcounts td.w{width:100%}.sevcounts .bar{display:inline-block;height:12px;border-radius:2px;vertical-align:middle;min-width:2px}.sevcounts .n{font-weight:600;text-align:right}
.command{position:relative}.command .copy{position:absolute;right:6px;top:6px;font-size:13px;padding:2px 8px}.command pre{padding-right:64px}
.grid td.outcome{white-space:nowrap}.grid details{border:0;padding:0;margin:0;background:none}.grid summary{font-weight:400}.trace{margin:4px 0 0;padding-left:18px;font-size:13px}.trace code{color:var(--muted)}
.empty{background:var(--card);border:1px dashed var(--line);border-radius:8px;padding:12px;margin:8px 0}
.no-link{font-style:italic}
@media (max-width:700px){
 body{overflow-wrap:anywhere}main{padding:12px}h1{font-size:21px}.flow-horizontal{display:none}.flow-vertical{display:block}
 input[type=search]{min-width:0;width:100%}pre{white-space:pre-wrap}
 table.stack,table.stack tbody,table.stack tr,table.stack td{display:block;width:100%}table.stack thead{display:none}
 table.stack tr{border-bottom:1px solid var(--line);padding:6px 0}table.stack td{border:0;padding:2px 4px}table.stack td[data-label]::before{content:attr(data-label) ": ";color:var(--muted);font-weight:400}
 .grid td.outcome{white-space:normal}
}
@media print{
 .toolbar,.copy,.screen-only{display:none!important}body{font-size:11pt}main{max-width:none;padding:0}
 .finding.hidden{display:block!important}details{break-inside:avoid-page}details::details-content{content-visibility:visible;display:contents}
 details:not([open])>*:not(summary){display:block}pre{max-height:none;overflow:visible;white-space:pre-wrap}
 main>section{break-before:page}main>section#actions{break-before:auto}h2,h3{break-after:avoid}
 a[href^="http"]::after{content:" <" attr(href) ">";color:var(--muted);font-size:9pt;overflow-wrap:anywhere}
 .flow-vertical{display:none}.flow-horizontal{display:block}
}
`;

const SCRIPT = `
(function(){
  var data = JSON.parse(document.getElementById('report-data').textContent);
  var css = getComputedStyle(document.documentElement);
  var color = function(name){ return css.getPropertyValue(name).trim() || '#888'; };
  // The count of each bar, written next to it: a chart shows the numbers, not only their shape.
  var counts = { id: 'counts', afterDatasetsDraw: function(chart){
    var ctx = chart.ctx, horizontal = chart.options.indexAxis === 'y';
    ctx.save(); ctx.fillStyle = color('--fg'); ctx.font = '12px system-ui, sans-serif';
    chart.data.datasets.forEach(function(dataset, i){ chart.getDatasetMeta(i).data.forEach(function(bar, j){
      var value = dataset.data[j]; if (!value) return; var at = bar.tooltipPosition();
      if (horizontal) { ctx.textAlign = 'left'; ctx.textBaseline = 'middle'; ctx.fillText(String(value), at.x + 4, at.y); }
      else { ctx.textAlign = 'center'; ctx.textBaseline = 'bottom'; ctx.fillText(String(value), at.x, at.y - 2); }
    }); });
    ctx.restore();
  } };
  function chart(id, config){ var el = document.getElementById(id); if (!el || typeof Chart === 'undefined') return; config.plugins = [counts]; el.chart = new Chart(el, config); }
  if (typeof Chart !== 'undefined') { Chart.defaults.color = color('--fg'); Chart.defaults.borderColor = color('--line'); Chart.defaults.animation = false; }
  var total = function(list){ return list.reduce(function(sum, d){ return sum + d.messages; }, 0); };
  if (data.perDay && data.perDay.length > 0) chart('chart-per-day', { type: 'bar', data: { labels: data.perDay.map(function(d){return d.day;}), datasets: [{ label: 'Messages that bypassed the gateway (' + total(data.perDay) + ' in all)', data: data.perDay.map(function(d){return d.messages;}), backgroundColor: color('--bad') }] }, options: { scales: { y: { beginAtZero: true, grace: '12%', ticks: { precision: 0 } } } } });
  if (data.topSources && data.topSources.length > 0) chart('chart-sources', { type: 'bar', data: { labels: data.topSources.map(function(s){return s.clientIp;}), datasets: [{ label: 'Messages not from the gateway (' + total(data.topSources) + ' from these sources)', data: data.topSources.map(function(s){return s.messages;}), backgroundColor: color('--medium') }] }, options: { indexAxis: 'y', scales: { x: { beginAtZero: true, grace: '12%', ticks: { precision: 0 } } } } });

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
    var count = document.getElementById('finding-count'); if (count) count.textContent = shown + ' shown';
    buttons.forEach(function(b){ b.setAttribute('aria-pressed', String(b.dataset.filter === filter)); });
  }
  buttons.forEach(function(b){ b.addEventListener('click', function(){ filter = b.dataset.filter; apply(); }); });
  var search = document.getElementById('finding-search');
  if (search) search.addEventListener('input', function(){ query = search.value.trim().toLowerCase(); apply(); });
  apply();

  // Printing is a document: every collapsed section opens for the print and closes again afterwards.
  var opened = [];
  window.addEventListener('beforeprint', function(){ Array.prototype.slice.call(document.querySelectorAll('details:not([open])')).forEach(function(el){ el.open = true; opened.push(el); }); });
  window.addEventListener('afterprint', function(){ opened.forEach(function(el){ el.open = false; }); opened = []; });

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

/** A link to an address the report knows (Microsoft Learn, a source, a framework); the address prints after it. */
const link = (url: string, label: string, className = ''): string => `<a${className ? ` class="${className}"` : ''} href="${esc(url)}" rel="noreferrer">${esc(label)}</a>`;

function flowLines(flow: MailFlowFacts): string[] {
  const connector = flow.gatewayConnector;
  return [
    `RejectDirectSend: ${flow.rejectDirectSend ? 'on' : 'off'}`,
    connector ? `Connector "${connector.name}": ${connector.restriction === 'none' ? 'not restricted (anyone may send straight to EOP)' : `restricted to the gateway's ${connector.restriction}`}` : 'No gateway connector',
    `Enhanced Filtering: ${connector?.enhancedFiltering ? 'on' : 'off'}`,
    `Safety-net rule: ${flow.safetyNetRule ?? 'none'}`,
  ];
}

function flowDescription(flow: MailFlowFacts): string {
  const bypassOpen = flow.bypassesOpen > 0;
  return `Internet senders reach Exchange Online Protection through the gateway; the gateway path is ${flow.gatewayPathOpen ? 'open' : 'broken'}. Mail an attacker sends straight to Exchange Online Protection is ${bypassOpen ? `accepted for delivery (${flow.bypassesOpen} of ${flow.attacks} attacks; content filtering, not emulated, may still act)` : 'refused or contained'}.`;
}

const bypassText = (flow: MailFlowFacts): string => (flow.bypassesOpen > 0 ? `bypass OPEN: EOP accepts ${flow.bypassesOpen} of ${flow.attacks} attacks` : 'bypass closed: every attack refused or contained');

/** The mail flow, wide: senders and the attacker on the left, mailboxes on the right. */
function flowSvgHorizontal(flow: MailFlowFacts): string {
  const bypassOpen = flow.bypassesOpen > 0;
  return `<svg class="flow-horizontal" role="img" aria-labelledby="flow-title flow-desc" viewBox="0 0 900 250" width="100%" style="max-width:900px">
<title id="flow-title">Mail flow</title>
<desc id="flow-desc">${esc(flowDescription(flow))}</desc>
<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" fill="currentColor"/></marker></defs>
<g><rect class="box" x="10" y="30" width="150" height="50" rx="8"/><text x="85" y="60" text-anchor="middle">Internet senders</text></g>
<g><rect class="box" x="240" y="30" width="170" height="50" rx="8"/><text x="325" y="60" text-anchor="middle">Gateway (SEG)</text></g>
<g><rect class="box" x="490" y="90" width="170" height="60" rx="8"/><text x="575" y="117" text-anchor="middle">Exchange Online</text><text x="575" y="135" text-anchor="middle">Protection</text></g>
<g><rect class="box" x="740" y="90" width="140" height="60" rx="8"/><text x="810" y="125" text-anchor="middle">Mailboxes</text></g>
<g><rect class="box" x="10" y="170" width="150" height="50" rx="8"/><text x="85" y="200" text-anchor="middle">Attacker</text></g>
<g class="${flow.gatewayPathOpen ? 'closed' : 'open'}" style="color:var(${flow.gatewayPathOpen ? '--ok' : '--bad'})"><path d="M160,55 L238,55" stroke="currentColor" stroke-width="3" fill="none" marker-end="url(#arrow)"/><path d="M410,55 L488,105" stroke="currentColor" stroke-width="3" fill="none" marker-end="url(#arrow)"/></g>
<g style="color:var(--fg)"><path d="M660,120 L738,120" stroke="currentColor" stroke-width="3" fill="none" marker-end="url(#arrow)"/></g>
<g id="bypass-path" data-open="${bypassOpen}" style="color:var(${bypassOpen ? '--bad' : '--ok'})"><path d="M160,195 L488,135" stroke="currentColor" stroke-width="3" ${bypassOpen ? '' : 'stroke-dasharray="6 6"'} fill="none" marker-end="url(#arrow)"/>
<text x="175" y="238" style="fill:currentColor;font-weight:600">${esc(bypassText(flow))}</text>${bypassOpen ? '' : '<path d="M318,158 l16,16 M334,158 l-16,16" stroke="currentColor" stroke-width="4"/>'}</g>
</svg>`;
}

/**
 * The same picture for a narrow screen: the boxes stacked top to bottom in a drawing about as wide as a phone, so
 * that its labels keep their size instead of shrinking with a wide drawing.
 */
function flowSvgVertical(flow: MailFlowFacts): string {
  const bypassOpen = flow.bypassesOpen > 0;
  return `<svg class="flow-vertical" role="img" aria-labelledby="flow-title-v flow-desc-v" viewBox="0 0 340 440" width="100%" style="max-width:340px">
<title id="flow-title-v">Mail flow</title>
<desc id="flow-desc-v">${esc(flowDescription(flow))}</desc>
<defs><marker id="arrow-v" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" fill="currentColor"/></marker></defs>
<g><rect class="box" x="5" y="5" width="150" height="44" rx="8"/><text x="80" y="32" text-anchor="middle">Internet senders</text></g>
<g><rect class="box" x="185" y="5" width="150" height="44" rx="8"/><text x="260" y="32" text-anchor="middle">Attacker</text></g>
<g><rect class="box" x="5" y="105" width="150" height="44" rx="8"/><text x="80" y="132" text-anchor="middle">Gateway (SEG)</text></g>
<g><rect class="box" x="70" y="215" width="200" height="52" rx="8"/><text x="170" y="238" text-anchor="middle">Exchange Online</text><text x="170" y="256" text-anchor="middle">Protection</text></g>
<g><rect class="box" x="95" y="325" width="150" height="44" rx="8"/><text x="170" y="352" text-anchor="middle">Mailboxes</text></g>
<g class="${flow.gatewayPathOpen ? 'closed' : 'open'}" style="color:var(${flow.gatewayPathOpen ? '--ok' : '--bad'})"><path d="M80,49 L80,103" stroke="currentColor" stroke-width="3" fill="none" marker-end="url(#arrow-v)"/><path d="M80,149 L120,213" stroke="currentColor" stroke-width="3" fill="none" marker-end="url(#arrow-v)"/></g>
<g style="color:var(--fg)"><path d="M170,267 L170,323" stroke="currentColor" stroke-width="3" fill="none" marker-end="url(#arrow-v)"/></g>
<g id="bypass-path-vertical" data-open="${bypassOpen}" style="color:var(${bypassOpen ? '--bad' : '--ok'})"><path d="M260,49 L225,213" stroke="currentColor" stroke-width="3" ${bypassOpen ? '' : 'stroke-dasharray="6 6"'} fill="none" marker-end="url(#arrow-v)"/>
<text x="170" y="400" text-anchor="middle" style="fill:currentColor;font-weight:600">${esc(bypassOpen ? 'bypass OPEN:' : 'bypass closed:')}</text><text x="170" y="420" text-anchor="middle" style="fill:currentColor;font-weight:600">${esc(bypassOpen ? `EOP accepts ${flow.bypassesOpen} of ${flow.attacks} attacks` : 'every attack refused or contained')}</text>${bypassOpen ? '' : '<path d="M234,123 l16,16 M250,123 l-16,16" stroke="currentColor" stroke-width="4"/>'}</g>
</svg>`;
}

function flowHtml(flow: MailFlowFacts): string {
  return `${flowSvgHorizontal(flow)}${flowSvgVertical(flow)}<ul class="flow-facts">${flowLines(flow).map((line) => `<li>${esc(line)}</li>`).join('')}</ul>`;
}

const OUTCOME: Record<string, string> = { 'got-in': 'accepted by EOP', blocked: 'blocked', contained: 'contained', delivered: 'accepted', broken: 'broken' };

const replyOf = (cell: CorpusCell): string => (cell.verdict.action === 'reject' ? `${cell.verdict.code} ${cell.verdict.enhanced}` : `${cell.verdict.action} → ${cell.verdict.disposition}`);

function outcomeCell(cell: CorpusCell | null, label: string): string {
  if (!cell) return `<td class="outcome muted" data-label="${esc(label)}">—</td>`;
  return `<td class="outcome" data-label="${esc(label)}" data-outcome="${esc(cell.outcome)}"><span class="${esc(cell.outcome)}">${esc(OUTCOME[cell.outcome] ?? cell.outcome)}</span></td>`;
}

function traceList(label: string, cell: CorpusCell): string {
  const steps = cell.trace.map((step) => `<li><code>${esc(step.step)}</code> ${linkSourceIds(step.detail, esc)}${step.sources.length > 0 ? ` <span class="muted">(${step.sources.map((id) => (sourceUrl(id) ? link(sourceUrl(id) as string, id, 'source') : esc(id))).join(', ')})</span>` : ''}</li>`).join('');
  return `<p><b>${esc(label)}</b>: <code>${esc(replyOf(cell))}</code></p><ol class="trace">${steps}</ol>`;
}

/** The corpus as a grid: one row a transaction, now and after the plan, one reason, the traces on demand. */
function corpusGrid(rows: CorpusRow[]): string {
  const body = rows
    .map((row) => {
      const shown = row.afterPlan ?? row.now;
      const traces = `${traceList('Now', row.now)}${row.afterPlan ? traceList('After the plan', row.afterPlan) : ''}`;
      return `<tr data-kind="${row.kind}" data-id="${esc(row.id)}"><td data-label="${row.kind === 'attack' ? 'Attack' : 'Legitimate'}"><b>${esc(row.name)}</b></td>${outcomeCell(row.now, 'Now')}${outcomeCell(row.afterPlan, 'After the plan')}<td data-label="Why"><details><summary>${linkSourceIds(shown.reason || replyOf(shown), esc)}</summary>${traces}</details></td></tr>`;
    })
    .join('\n');
  return `<table class="grid stack" id="corpus-grid"><thead><tr><th>Transaction</th><th>Now</th><th>After the plan</th><th>Why (${rows.some((row) => row.afterPlan) ? 'after the plan' : 'now'}; the full trace on demand)</th></tr></thead><tbody>${body}</tbody></table>`;
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
      return `<tr data-kind="${esc(finding.kind)}"><td data-label="Finding">${esc(PROOF_KIND[finding.kind])}</td><td data-label="Cause">${linkSourceIds(finding.cause, esc)}${notes ? `<br><span class="muted">${esc(notes)}</span>` : ''}</td><td data-label="Classes">${finding.classes.toLocaleString('en-US')}</td><td data-label="Representative"><code>${esc(transactionLine(finding.representative.transaction))}</code></td><td data-label="Reply"><code>${esc(reply)}</code></td></tr>`;
    })
    .join('\n');
  const limits = proof.limits.length > 0 ? `<details><summary>Limits of the proof</summary><ul>${proof.limits.map((limit) => `<li>${linkSourceIds(limit, esc)}</li>`).join('')}</ul></details>` : '';
  return `<h3>${esc(label)}</h3><p class="verdict ${bad ? 'bad' : 'ok'}" id="${id}">${esc(proofHeadline(proof))}${proof.brokenLegitimate > 0 ? esc(`; ${proof.brokenLegitimate.toLocaleString('en-US')} class(es) from the gateway or an allowed source refused`) : ''}</p>
${rows ? `<table class="stack"><thead><tr><th>Finding</th><th>Cause</th><th>Classes</th><th>Representative</th><th>Reply</th></tr></thead><tbody>${rows}</tbody></table>` : ''}${limits}`;
}

/** A fix as a command block: the tenant's values in, the values only the admin knows marked. */
function fixHtml(fix: FilledFix, id: string): string {
  let code = esc(fix.text);
  for (const placeholder of fix.toSupply) code = code.split(esc(placeholder)).join(`<var class="to-supply">${esc(placeholder.slice(1, -1))}</var>`);
  const supply = fix.toSupply.length > 0 ? `<p class="muted">You supply: ${fix.toSupply.map((placeholder) => esc(placeholder.slice(1, -1))).join('; ')} (eoplock cannot know ${fix.toSupply.length === 1 ? 'it' : 'them'} from the snapshot).</p>` : '';
  return `<div class="command"><button type="button" class="copy" data-target="${id}">Copy</button><pre><code id="${id}">${code}</code></pre>${supply}</div>`;
}

function actionsHtml(actions: TopAction[], failed: number): string {
  if (actions.length === 0) return `<section id="actions"><h2>What to do first</h2><p class="empty">Nothing: no check failed.</p></section>`;
  const items = actions.map((action, index) => `<li data-finding="${esc(action.findingId)}"><h3><span class="sev ${action.severity}">${action.severity}</span> <a href="#finding-${esc(action.findingId)}">${esc(action.findingId)}</a> ${esc(action.title)}</h3><p class="muted">${linkSourceIds(action.summary, esc)}</p>${fixHtml(action.fix, `action-${index + 1}`)}</li>`).join('\n');
  return `<section id="actions"><h2>What to do first</h2><p class="muted">The ${actions.length === 1 ? 'most severe failed check' : `${actions.length} most severe failed checks`} of ${failed}, with the command for this tenant; the plan below does them in a safe order.</p><ol class="actions">${items}</ol></section>`;
}

function breaksHtml(model: HtmlReportModel): string {
  const parts: string[] = [];
  const legitimate = model.corpus.filter((row) => row.kind === 'legitimate');
  if (!model.plan) {
    parts.push('<p class="empty">No lockdown plan in this report (a plan needs a gateway: --seg-ip, --seg-cert or --profile; or give one with --plan DIR), so nothing here says what it would break.</p>');
  } else {
    // Known senders (the gateway, connectors, allowed sources) apart from the Direct Send sources only an SPF record
    // suggests: the plan lists those as candidates, each with the argument that keeps it, as PLAN.md does.
    const known = legitimate.filter((row) => !isSpfCandidate(row.id));
    const broken = known.filter((row) => row.afterPlan?.outcome === 'broken');
    const item = (row: CorpusRow) => `<li><b>${esc(row.name)}</b>: <code>${esc(row.afterPlan ? replyOf(row.afterPlan) : '')}</code> — ${linkSourceIds(row.afterPlan?.reason ?? '', esc)}</li>`;
    parts.push(
      broken.length === 0
        ? `<p id="breaks-corpus">No known legitimate path of the corpus breaks after the plan (0 of ${known.length}).</p>`
        : `<p id="breaks-corpus"><b>${broken.length} of ${known.length} known legitimate paths break after the plan:</b></p><ul>${broken.map(item).join('')}</ul>`,
    );
    const candidates = legitimate.filter((row) => isSpfCandidate(row.id) && row.afterPlan?.outcome === 'broken');
    if (candidates.length > 0) {
      parts.push(
        `<div id="breaks-candidates"><p>${candidates.length === 1 ? 'One Direct Send source that only an SPF record suggests is' : `${candidates.length} Direct Send sources that only an SPF record suggests are`} refused after the plan. ` +
          'If one is yours (a scanner, an application), run the plan with its <code>--allow-direct-send</code> argument (PLAN.md lists each) so that it gets a connector of its own:</p>' +
          `<ul>${candidates.map(item).join('')}</ul></div>`,
      );
    }
    const classes = model.proof?.afterPlan?.brokenLegitimate;
    if (classes !== undefined) parts.push(`<p id="breaks-classes">${classes === 0 ? 'The class search finds no class of mail from the gateway or an allowed source that the plan refuses.' : `<b>The class search finds ${classes.toLocaleString('en-US')} class(es) of mail from the gateway or an allowed source that the plan refuses</b> (see the proof).`}</p>`);
    if (model.plan.warnings.length > 0) parts.push(`<ul>${model.plan.warnings.map((warning) => `<li>${linkSourceIds(warning, esc)}</li>`).join('')}</ul>`);
  }
  if (model.impact) {
    const impactRows = model.impact.groups
      .map((group) => `<tr><td data-label="Source"><code>${esc(group.clientIp)}</code></td><td data-label="Sender domain">${esc(group.senderDomain)}</td><td data-label="Messages">${group.messages}</td><td data-label="After the change">${esc(group.reason)}</td><td data-label="Example subject">${esc(group.subjects[0] ?? '')}</td><td data-label="Keep it working">${esc(group.suggestion ?? '')}</td></tr>`)
      .join('');
    parts.push(`<h3>From the message trace: who breaks</h3><p>${model.impact.acceptedNow} accepted today, <b>${model.impact.breaking} refused after the change</b>.</p>
<table id="impact" class="stack"><thead><tr><th>Source</th><th>Sender domain</th><th>Messages</th><th>After the change</th><th>Example subject</th><th>Keep it working</th></tr></thead><tbody>${impactRows || '<tr><td colspan="6">Nothing breaks.</td></tr>'}</tbody></table>`);
  }
  return `<section id="breaks"><h2>What the plan would break</h2>${parts.join('\n')}</section>`;
}

/** A reference as one link when its id's source is the same page, else the id and the title each to their own. */
function referenceHtml(ref: Finding['references'][number]): string {
  const source = sourceUrl(ref.id);
  if (ref.url && (source === ref.url || !source)) return `<li>${link(ref.url, `${ref.id}: ${ref.title}`, source ? 'source' : '')}</li>`;
  return `<li>${source ? link(source, ref.id, 'source') : esc(ref.id)}: ${ref.url ? link(ref.url, ref.title) : esc(ref.title)}</li>`;
}

function controlHtml(control: Finding['controls'][number]): string {
  const target = controlLink(control);
  const name = target.url ? `<a href="${esc(target.url)}" rel="noreferrer" title="${esc(target.note)}">${esc(controlName(control))}</a>` : `${esc(controlName(control))} <span class="no-link muted">(${esc(target.note)})</span>`;
  return `${name}${control.relation === 'exact' ? '' : ` <span class="relation" data-relation="${esc(control.relation)}">(${esc(control.relation)}${control.why ? `: ${esc(control.why)}` : ''})</span>`}`;
}

function findingHtml(finding: Finding, fix: FilledFix | undefined): string {
  const evidence = finding.evidence
    .slice(0, 20)
    .map((item) => `<li><code>${esc(item.path)}</code>: ${linkSourceIds(item.message, esc)}${item.absent ? ` <span class="muted absent">(${esc(foundText(item, String))})</span>` : ''}${item.expected ? ` <span class="muted">(expected ${esc(item.expected)})</span>` : ''}</li>`)
    .join('');
  const more = finding.evidence.length > 20 ? `<li class="muted">… ${finding.evidence.length - 20} more</li>` : '';
  const refs = finding.references.map(referenceHtml).join('');
  const controls = finding.controls.map(controlHtml).join('; ');
  return `<details class="finding" id="finding-${esc(finding.id)}" data-severity="${finding.severity}" data-status="${finding.status}" data-id="${esc(finding.id)}"${finding.status === 'fail' && finding.severity === 'high' ? ' open' : ''}>
<summary><span class="sev ${finding.severity}">${finding.severity}</span> ${finding.status === 'fail' ? '✗' : finding.status === 'pass' ? '✓' : '–'} ${esc(finding.id)} ${esc(finding.title)}</summary>
<p>${linkSourceIds(finding.summary, esc)}</p><p class="muted">${linkSourceIds(finding.why, esc)}</p>
${evidence ? `<h4>Evidence</h4><ul>${evidence}${more}</ul>` : ''}
${finding.status === 'fail' && fix ? `<h4>Remediation</h4>${fixHtml(fix, `fix-${esc(finding.id)}`)}` : ''}
${refs ? `<h4>References</h4><ul>${refs}</ul>` : ''}${controls ? `<p class="muted">Controls: ${controls}</p>` : ''}
</details>`;
}

/** Failed checks per severity as numbers with a bar each: three numbers say more than a doughnut. */
function severityCounts(failed: Record<Severity, number>): string {
  const total = failed.high + failed.medium + failed.low;
  if (total === 0) return '<p class="empty" id="severity-counts">No check failed.</p>';
  const widest = Math.max(failed.high, failed.medium, failed.low);
  const rows = SEVERITIES.map((severity) => `<tr data-severity="${severity}"><th scope="row">${severity[0]?.toUpperCase()}${severity.slice(1)}</th><td class="n">${failed[severity]}</td><td class="w"><span class="bar" style="width:${Math.round((failed[severity] / widest) * 100)}%;background:var(--${severity})"></span></td></tr>`).join('');
  return `<table class="sevcounts" id="severity-counts" aria-label="Failed checks by severity"><tbody>${rows}</tbody></table>`;
}

function planHtml(plan: PlanSection): string {
  let block = 0;
  const code = (label: string, text: string | null) => {
    if (!text) return '';
    const id = `code-${++block}`;
    return `<details class="script"><summary>${esc(label)}</summary><button type="button" class="copy" data-target="${id}">Copy</button><pre><code id="${id}">${esc(text)}</code></pre></details>`;
  };
  const changes = (rows: string[][]) =>
    rows.length === 0
      ? '<p class="muted">Nothing changes: the tenant already has what this phase sets.</p>'
      : `<table class="changes stack"><thead><tr><th>Object</th><th>Property</th><th>Before</th><th>After</th></tr></thead><tbody>${rows.map(([object, property, before, after]) => `<tr><td data-label="Object">${esc(object)}</td><td data-label="Property">${esc(property)}</td><td data-label="Before"><code>${esc(before)}</code></td><td data-label="After"><code>${esc(after)}</code></td></tr>`).join('')}</tbody></table>`;
  const phases = plan.phases.map((phase) => `<div class="phase" data-phase="${esc(phase.id)}"><h3>${esc(phase.id)}: ${esc(phase.title)}</h3>${changes(phase.changes)}${code('Script', phase.script)}${code('Rollback', phase.rollback)}${code('Verify', phase.verify)}</div>`).join('\n');
  return `<section id="plan"><h2>Lockdown plan</h2><p class="muted">${esc(plan.source)}</p>${phases}</section>`;
}

export function renderHtmlReport(model: HtmlReportModel, chartJs: string): string {
  const { audit, flow } = model;
  const summary = audit.summary;
  const failed = summary.failedBySeverity;
  const bad = summary.attacksIn > 0 || failed.high > 0;
  const title = `eoplock report — ${audit.tenant ?? audit.file}`;
  const bySeverity = (severity: Severity) => audit.findings.filter((finding) => finding.severity === severity);
  const data = {
    failed,
    perDay: model.monitor?.perDay ?? null,
    topSources: model.monitor?.topSources ?? null,
  };
  const profile = audit.profile;
  const sections: string[] = [];
  const hasAfter = model.corpus.some((row) => row.afterPlan);
  // The after-plan numbers are counted from the same rows the grid shows, so a tile cannot disagree with its column.
  const afterCount = (kind: CorpusRow['kind'], outcome: string) => model.corpus.filter((row) => row.kind === kind && row.afterPlan?.outcome === outcome).length;
  const candidatesAfter = model.corpus.filter((row) => row.kind === 'legitimate' && isSpfCandidate(row.id) && row.afterPlan?.outcome === 'broken').length;

  sections.push(`<header><h1>${esc(title)}</h1>
<p class="muted">Snapshot ${esc(audit.file)}${audit.capturedAt ? `, captured ${esc(audit.capturedAt)}` : ''} · report generated ${esc(model.generatedAt)} by eoplock ${esc(model.version)}</p>
<p>Gateway: <b>${esc(profile.name ?? 'none')}</b>${profile.ips.length > 0 ? ` — ${esc(profile.ips.join(', '))}` : ''}${profile.certificateName ? `; certificate ${esc(profile.certificateName)}` : ''} <span class="muted">(${esc(profile.origin.kind)}${profile.origin.from.length > 0 ? `: ${esc(profile.origin.from.join('; '))}` : ''})</span></p>
<div class="verdict ${bad ? 'bad' : 'ok'}" id="overall-verdict">${bad ? `Exposed: ${summary.attacksIn} of ${summary.attacksTotal} attacks ${ATTACK_ACCEPTED}; ${failed.high} high-severity finding(s)` : 'Locked down: EOP refuses or contains every attack, and no high-severity finding'}</div>
<div class="cards" id="summary">
<div class="card"><span class="muted">Attacks accepted by EOP without the gateway, now</span><b id="attacks-in">${summary.attacksIn} / ${summary.attacksTotal}</b>${hasAfter ? `<span class="muted">after the plan: <span id="attacks-in-after">${afterCount('attack', 'got-in')} / ${summary.attacksTotal}</span></span>` : ''}</div>
<div class="card"><span class="muted">Legitimate paths broken, now</span><b id="legitimate-broken">${summary.legitimateBroken} / ${summary.legitimateTotal}</b>${hasAfter ? `<span class="muted">after the plan: <span id="legitimate-broken-after">${afterCount('legitimate', 'broken')} / ${summary.legitimateTotal}</span>${candidatesAfter > 0 ? ` (<span id="candidates-broken-after">${candidatesAfter}</span> of them ${candidatesAfter === 1 ? 'an SPF candidate' : 'SPF candidates'}, not known senders)` : ''}</span>` : ''}</div>
<div class="card"><span class="muted">Checks failed</span><b id="checks-failed">${summary.failed}</b>${severityCounts(failed)}</div>
<div class="card"><span class="muted">Checks passed</span><b id="checks-passed">${summary.passed}</b><span class="muted"><span id="checks-not-applicable">${summary.notApplicable}</span> not applicable</span></div>
</div></header>`);

  sections.push(actionsHtml(model.actions, summary.failed));
  sections.push(breaksHtml(model));

  const findings = SEVERITIES.map((severity) => bySeverity(severity).map((finding) => findingHtml(finding, model.fixes[finding.id])).join('\n')).join('\n');
  sections.push(`<section id="findings"><h2>Findings</h2>
<div class="toolbar" role="toolbar" aria-label="Filter findings"><button type="button" data-filter="fail">Failed</button><button type="button" data-filter="high">High</button><button type="button" data-filter="medium">Medium</button><button type="button" data-filter="low">Low</button><button type="button" data-filter="all">All checks</button>
<label>Search <input type="search" id="finding-search" placeholder="id, title, evidence…"></label><span class="muted" id="finding-count" aria-live="polite"></span></div>
${findings}</section>`);

  sections.push(`<section id="proof"><h2>The proof</h2>
<div class="chart"><h3>Mail flow</h3>${flowHtml(flow)}</div>
<div id="corpus"><h3>The attack corpus: now and after the plan</h3><p class="muted">Each transaction sent straight to EOP in the emulator, against the snapshot and against the snapshot the lockdown plan leaves behind. "Accepted" is EOP's decision at the transport layer: its content filtering (spam, phishing, malware) is not emulated and may still junk or quarantine an accepted message — unless a transport rule set SCL -1, which leaves only malware and high-confidence phishing acted on.</p>
${corpusGrid(model.corpus)}</div>
${model.proof ? `<div id="classes"><h3>Every class of transaction</h3><p class="muted">The corpus above is a sample. Here every transaction the configuration can tell apart (each boundary of each address list it reads, each certificate name, domain, tested header value and authentication result) falls into a class, and one representative of each class is decided ("eoplock prove"). A bypass is a class accepted for delivery to a tenant mailbox that did not come from the gateway or an allowed Direct Send source.</p>
${proofBlock('Now', model.proof.now, 'proof-now')}${model.proof.afterPlan ? proofBlock('After the plan', model.proof.afterPlan, 'proof-after') : ''}</div>` : ''}</section>`);

  const summaryNote =
    (model.summaryRows ?? 0) > 0
      ? `<p id="trace-summary-note" class="muted">${model.summaryRows} row(s) of an impact summary (eoplock queries --for impact) were read: each stands for many messages over days, so they count toward what the plan breaks, not toward the charts below, which need message trace or EmailEvents rows.</p>`
      : '';
  if (!model.monitor && summaryNote) sections.push(`<section id="trace"><h2>Mail-flow data</h2>
${summaryNote}
</section>`);
  if (model.monitor) {
    const monitor = model.monitor;
    const charts =
      monitor.bypassed === 0
        ? '<p class="empty" id="trace-empty">No message in the trace bypassed the gateway, so there is nothing to chart.</p>'
        : `<div class="charts"><div class="chart"><h3>Bypasses per day (${monitor.bypassed} in all)</h3><canvas id="chart-per-day" role="img" aria-label="Messages that bypassed the gateway per day: ${esc(monitor.perDay.map((day) => `${day.day} ${day.messages}`).join(', '))}"></canvas></div><div class="chart"><h3>Top sources not using the gateway</h3><canvas id="chart-sources" role="img" aria-label="Top sources not using the gateway: ${esc(monitor.topSources.map((source) => `${source.clientIp} ${source.messages}`).join(', '))}"></canvas></div></div>`;
    sections.push(`<section id="trace"><h2>Mail-flow data</h2>
<p>${monitor.records} message(s) read; ${monitor.inbound} inbound, ${monitor.viaGateway} through the gateway, <b id="trace-bypassed">${monitor.bypassed}</b> bypassed it.</p>
${summaryNote}${charts}
</section>`);
  }

  if (model.plan) sections.push(planHtml(model.plan));

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
