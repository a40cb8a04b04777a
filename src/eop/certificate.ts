/**
 * Matching a connector's TlsSenderCertificateName against the certificate a sending server presents.
 */
import type { Assumptions } from './assumptions.js';
import type { PresentedCertificate } from './types.js';
import { normaliseDomain } from './addresses.js';

/** The DNS names a certificate carries: the subject CN and every SAN, lower-cased. */
export function certificateNames(certificate: PresentedCertificate): string[] {
  const names: string[] = [];
  const subject = certificate.subject.trim();
  if (subject.includes('=')) {
    for (const part of subject.split(/,(?=\s*[A-Za-z][\w.]*\s*=)/)) {
      const match = /^\s*CN\s*=\s*(.+?)\s*$/i.exec(part);
      if (match?.[1]) names.push(normaliseDomain(match[1].replace(/^"(.*)"$/, '$1')));
    }
  } else if (subject) {
    names.push(normaliseDomain(subject));
  }
  for (const san of certificate.san ?? []) names.push(normaliseDomain(san.replace(/^DNS:/i, '')));
  return [...new Set(names.filter((name) => name.length > 0))];
}

/**
 * The certificate name that satisfies the configured name, or null. `*.example.com` reaches as far as the
 * `certificate-wildcard` assumption says; a certificate's own wildcard name matches only the same wildcard.
 */
export function matchCertificateName(
  configured: string,
  names: readonly string[],
  assumptions: Pick<Assumptions, 'certificate-wildcard'>,
): string | null {
  const wanted = normaliseDomain(configured);
  for (const name of names) {
    if (name === wanted) return name;
    if (wanted.startsWith('*.') && !name.startsWith('*.')) {
      const base = wanted.slice(2);
      const mode = assumptions['certificate-wildcard'];
      if (name === base) {
        if (mode === 'subdomains-and-apex') return name;
        continue;
      }
      if (!name.endsWith(`.${base}`)) continue;
      const labels = name.slice(0, -(base.length + 1)).split('.');
      if (mode === 'single-label' ? labels.length === 1 : labels.length >= 1) return name;
    }
  }
  return null;
}
