/**
 * A DNS server on loopback (dns2) serving zones written for the tests. TXT records longer than 255 bytes are split
 * into several character-strings, as real servers do (a single long string breaks Node's resolver). UDP and TCP listen
 * on the same port: answers over 512 bytes come back truncated over UDP and the resolver retries over TCP.
 */
import { createServer } from 'node:net';
import dns2 from 'dns2';

/**
 * Records by name. `rcode` answers every query for the name with that response code instead (2 SERVFAIL, 5 REFUSED);
 * `silent` never answers (the client times out).
 */
export type Zone = Record<string, { TXT?: string[]; MX?: [number, string][]; A?: string[]; CNAME?: string; PTR?: string; rcode?: number; silent?: true }>;

function chunks(text: string): string[] {
  const parts: string[] = [];
  for (let i = 0; i < text.length; i += 255) parts.push(text.slice(i, i + 255));
  return parts.length > 0 ? parts : [''];
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function startDnsServer(zone: Zone): Promise<{ server: string; close: () => Promise<void>; queries: string[] }> {
  const { Packet } = dns2;
  const queries: string[] = [];
  const records = new Map(Object.entries(zone).map(([name, data]) => [name.toLowerCase(), data]));
  const server = dns2.createServer({
    udp: true,
    tcp: true,
    handle: (request, send) => {
      const response = Packet.createResponseFromRequest(request);
      const [question] = request.questions;
      if (!question) return void send(response);
      const name = question.name.toLowerCase();
      queries.push(`${name} ${question.type}`);
      const data = records.get(name);
      if (!data) {
        response.header.rcode = 3; // NXDOMAIN
        return void send(response);
      }
      if (data.silent) return;
      if (data.rcode !== undefined) {
        response.header.rcode = data.rcode;
        return void send(response);
      }
      const base = { name: question.name, class: Packet.CLASS.IN, ttl: 60 };
      if (question.type === Packet.TYPE.TXT) for (const text of data.TXT ?? []) response.answers.push({ ...base, type: Packet.TYPE.TXT, data: chunks(text) } as never);
      if (question.type === Packet.TYPE.MX) for (const [priority, exchange] of data.MX ?? []) response.answers.push({ ...base, type: Packet.TYPE.MX, priority, exchange } as never);
      if (question.type === Packet.TYPE.A) for (const address of data.A ?? []) response.answers.push({ ...base, type: Packet.TYPE.A, address } as never);
      if (question.type === Packet.TYPE.CNAME && data.CNAME) response.answers.push({ ...base, type: Packet.TYPE.CNAME, domain: data.CNAME } as never);
      if (question.type === Packet.TYPE.PTR && data.PTR) response.answers.push({ ...base, type: Packet.TYPE.PTR, domain: data.PTR } as never);
      void send(response);
    },
  });
  const port = await freePort();
  await server.listen({ udp: { port, address: '127.0.0.1' }, tcp: { port, address: '127.0.0.1' } });
  return { server: `127.0.0.1:${port}`, close: () => server.close(), queries };
}
