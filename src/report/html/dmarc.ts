/**
 * `eoplock dmarc --format html`: the DMARC analysis on the report page's shell (same stylesheet, no requests,
 * inline Chart.js). Pure.
 */
import type { DmarcAnalysis } from '../../dmarc/analyse.js';
import { escapeHtml as esc, htmlShell } from './render.js';

const SCRIPT = `
(function(){
  var data = JSON.parse(document.getElementById('report-data').textContent);
  var css = getComputedStyle(document.documentElement);
  var color = function(name){ return css.getPropertyValue(name).trim() || '#888'; };
  Chart.defaults.color = color('--fg'); Chart.defaults.borderColor = color('--line'); Chart.defaults.animation = false;
  var el = document.getElementById('chart-dmarc-days');
  if (el && data.days.length > 0) el.chart = new Chart(el, { type: 'bar', data: { labels: data.days.map(function(d){return d.day;}), datasets: [
    { label: 'Failing DMARC', data: data.days.map(function(d){return d.failing;}), backgroundColor: color('--bad') },
    { label: 'Passing', data: data.days.map(function(d){return d.total - d.failing;}), backgroundColor: color('--ok') } ] },
    options: { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } } } });
})();
`;

const LABEL = { gateway: 'gateway', microsoft365: 'Microsoft 365', authenticated: 'authenticated', failing: 'failing' } as const;

export function renderDmarcHtml(analysis: DmarcAnalysis, skipped: readonly { source: string; reason: string }[], chartJs: string, generatedAt: string): string {
  const days = new Map<string, { failing: number; total: number }>();
  for (const domain of analysis.domains) {
    for (const day of domain.perDay) {
      const entry = days.get(day.day) ?? { failing: 0, total: 0 };
      entry.failing += day.failing;
      entry.total += day.total;
      days.set(day.day, entry);
    }
  }
  const failingElsewhere = analysis.sources.filter((source) => source.class !== 'gateway' && source.class !== 'microsoft365').reduce((sum, source) => sum + source.failing, 0);
  const body = `<header><h1>eoplock DMARC report</h1>
<p class="muted">${analysis.reports} report(s)${analysis.duplicates > 0 ? ` (${analysis.duplicates} duplicate(s) ignored)` : ''}${analysis.period ? `, ${esc(analysis.period.begin.slice(0, 10))} … ${esc(analysis.period.end.slice(0, 10))}` : ''} · generated ${esc(generatedAt)}</p>
<div class="verdict ${failingElsewhere > 0 ? 'bad' : 'ok'}" id="overall-verdict">${failingElsewhere > 0 ? `${failingElsewhere} message(s) failing DMARC from sources that are neither the gateway nor Microsoft 365` : 'No failing mail from sources other than the gateway and Microsoft 365'}</div></header>
<section id="summary"><h2>Summary</h2><div class="cards">
<div class="card"><span class="muted">Messages reported</span><b id="messages">${analysis.messages}</b></div>
<div class="card"><span class="muted">Sources</span><b>${analysis.sources.length}</b></div>
<div class="card"><span class="muted">Failing, not gateway or M365</span><b id="failing-elsewhere">${failingElsewhere}</b></div>
<div class="card"><span class="muted">Files skipped</span><b>${skipped.length}</b></div></div>
<div class="chart" style="margin-top:16px"><h3>Messages per day</h3><canvas id="chart-dmarc-days" role="img" aria-label="Messages per day, failing and passing DMARC"></canvas></div></section>
<section id="domains"><h2>Domains</h2><table><thead><tr><th>Domain</th><th>Policy</th><th>Messages</th><th>Gateway</th><th>Microsoft 365</th><th>Authenticated</th><th>Failing</th></tr></thead><tbody>
${analysis.domains.map((domain) => `<tr><td>${esc(domain.domain)}</td><td>p=${esc(domain.policy)}</td><td>${domain.messages}</td><td>${domain.byClass.gateway}</td><td>${domain.byClass.microsoft365}</td><td>${domain.byClass.authenticated}</td><td class="${domain.byClass.failing > 0 ? 'got-in' : ''}">${domain.byClass.failing}</td></tr>`).join('\n')}
</tbody></table></section>
<section id="findings"><h2>Findings</h2>${analysis.findings.map((finding) => `<details class="finding" data-severity="${finding.severity}" open><summary><span class="sev ${finding.severity}">${finding.severity}</span> ${esc(finding.id)} ${esc(finding.title)}</summary><p>${esc(finding.detail)}</p></details>`).join('\n')}</section>
<section id="sources"><h2>Sources</h2><p class="muted">Failing first${analysis.sources.length > 500 ? `; the first 500 of ${analysis.sources.length}` : ''}.</p><table><thead><tr><th>Source</th><th>Class</th><th>Messages</th><th>Failing</th><th>As</th><th>Reporters</th></tr></thead><tbody>
${analysis.sources.slice(0, 500).map((source) => `<tr data-class="${source.class}"><td><code>${esc(source.sourceIp)}</code>${source.reverseNames[0] ? `<br><span class="muted">${esc(source.reverseNames[0])}</span>` : ''}</td><td>${LABEL[source.class]}</td><td>${source.messages}</td><td>${source.failing}</td><td>${esc(source.headerFrom.join(', '))}</td><td>${esc(source.reporters.map((name) => name || 'unnamed reporter').join(', '))}</td></tr>`).join('\n')}
</tbody></table></section>
${skipped.length > 0 ? `<section id="skipped"><h2>Files skipped</h2><ul>${skipped.map((entry) => `<li><code>${esc(entry.source)}</code>: ${esc(entry.reason)}</li>`).join('')}</ul></section>` : ''}`;
  const data = { days: [...days.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([day, counts]) => ({ day, ...counts })) };
  return htmlShell('eoplock DMARC report', body, data, chartJs, SCRIPT);
}
