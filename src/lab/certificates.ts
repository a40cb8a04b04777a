/**
 * Self-signed certificates for the lab's STARTTLS and for the gateway hop's client certificate (selfsigned, loaded
 * only when a certificate is made: the trace impact analysis uses hostForCertificateName alone).
 */

export interface CertificatePair {
  cert: string;
  key: string;
}

/** A self-signed certificate for `commonName` (also in subjectAltName), valid from `now` for 30 days. */
export async function selfSignedCertificate(commonName: string, altNames: readonly string[] = [], now = new Date()): Promise<CertificatePair> {
  const names = [...new Set([commonName, ...altNames])];
  const { default: selfsigned } = await import('selfsigned');
  const pems = await selfsigned.generate([{ name: 'commonName', value: commonName }], {
    keyType: 'ec',
    curve: 'P-256',
    notBeforeDate: new Date(now.getTime() - 60_000),
    notAfterDate: new Date(now.getTime() + 30 * 86_400_000),
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'extKeyUsage', serverAuth: true, clientAuth: true },
      { name: 'subjectAltName', altNames: names.map((value) => ({ type: 2 as const, value })) },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}

/** A concrete host name for a certificate name that may be a wildcard (`*.seg.example.net` → `mx1.seg.example.net`). */
export function hostForCertificateName(name: string): string {
  return name.startsWith('*.') ? `mx1.${name.slice(2)}` : name;
}
