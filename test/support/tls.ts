import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type ServerOptions } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { makeOpensslCa } from './openssl-ca.js';

/** PEM files made by openssl: a CA, server certificates signed by it, and a client certificate. */
export interface Pki {
  /** The CA certificate; also written to `caFile`. */
  ca: string;
  caFile: string;
  /** Valid for IP 127.0.0.1. */
  serverCert: string;
  serverKey: string;
  /** Valid only for kubernetes.default.svc, not for 127.0.0.1. */
  namedCert: string;
  namedKey: string;
  clientCert: string;
  clientKey: string;
}

/** Makes a fresh CA and certificates in `dir` (which the caller removes). */
export function makePki(dir: string): Pki {
  const { issue } = makeOpensslCa(dir, '/CN=test-ca', 1);
  issue('server', '/CN=127.0.0.1', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth');
  issue('named', '/CN=kubernetes', 'subjectAltName=DNS:kubernetes.default.svc\nextendedKeyUsage=serverAuth');
  issue('client', '/CN=keptn-gitops', 'extendedKeyUsage=clientAuth');
  const read = (file: string) => readFileSync(join(dir, file), 'utf8');
  return {
    ca: read('ca.crt'),
    caFile: join(dir, 'ca.crt'),
    serverCert: read('server.crt'),
    serverKey: read('server.key'),
    namedCert: read('named.crt'),
    namedKey: read('named.key'),
    clientCert: read('client.crt'),
    clientKey: read('client.key'),
  };
}

/** What the test server saw of each request that reached its handler. */
export interface SeenRequest {
  method?: string;
  url?: string;
  authorization?: string;
  headers: IncomingHttpHeaders;
  /** SNI the client sent, if any. */
  servername?: string;
  /** CN of the client certificate, when the server asked for one. */
  clientCN?: string;
}

export interface TestHttpsServer {
  /** `https://127.0.0.1:<port>` */
  url: string;
  /** One entry per request, in arrival order. */
  seen: SeenRequest[];
  /** TCP connections accepted so far, including those whose TLS handshake failed. */
  readonly connections: number;
  close(): Promise<void>;
}

/** Starts a node:https server on 127.0.0.1, on a free port, that records each request before handling it. */
export async function startHttpsServer(
  options: ServerOptions,
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<TestHttpsServer> {
  const seen: SeenRequest[] = [];
  const server = createServer(options, (req, res) => {
    const socket = req.socket as TLSSocket;
    const peer = options.requestCert ? socket.getPeerCertificate() : undefined;
    seen.push({
      method: req.method,
      url: req.url,
      authorization: req.headers.authorization,
      headers: req.headers,
      servername: socket.servername || undefined,
      clientCN: peer?.subject?.CN as string | undefined,
    });
    handler(req, res);
  });
  let connections = 0;
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    get connections() {
      return connections;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A handler answering `body` as JSON with status 200. */
export function answerJson(body: unknown): (req: IncomingMessage, res: ServerResponse) => void {
  return (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
}

/** A PKI made once for the enclosing `describe` (openssl takes a moment) in a temp dir removed after it. */
export function pkiForSuite(prefix: string): { pki: Pki; dir: string } {
  const suite = {} as { pki: Pki; dir: string };
  before(function () {
    this.timeout(60_000);
    suite.dir = mkdtempSync(join(tmpdir(), prefix));
    suite.pki = makePki(suite.dir);
  });
  after(() => rmSync(suite.dir, { recursive: true, force: true }));
  return suite;
}
