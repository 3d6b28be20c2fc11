import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, join } from 'node:path';
import { binaries, binary } from './binaries.js';

/** Runs the real helm with its cache and configuration under `home`; resolves with its standard output. */
export function helm(
  args: string[],
  options: { home: string; cwd?: string; env?: Record<string, string> },
): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      binary(binaries().helm, 'helm'),
      args,
      {
        cwd: options.cwd,
        maxBuffer: 64 * 1024 * 1024,
        timeout: 120_000,
        env: { PATH: process.env.PATH ?? '', HOME: options.home, ...options.env },
      },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`helm ${args.join(' ')}: ${stderr.trim() || err.message}`));
        else resolve(stdout);
      },
    );
  });
}

/**
 * A Helm chart repository over HTTP on 127.0.0.1: `index.yaml` and the packaged charts, made by the real
 * helm.
 */
export class HelmRepository {
  private server?: Server;
  readonly root: string;
  private readonly home: string;
  url = '';

  constructor(dir: string) {
    this.root = join(dir, 'helm-repo');
    this.home = join(dir, 'helm-home');
    mkdirSync(this.root, { recursive: true });
    mkdirSync(this.home, { recursive: true });
  }

  async start(port: number): Promise<void> {
    this.server = createServer((req, res) => {
      const name = basename(new URL(req.url ?? '/', 'http://127.0.0.1').pathname);
      try {
        const body = readFileSync(join(this.root, name));
        res
          .writeHead(200, { 'content-type': name.endsWith('.yaml') ? 'text/yaml' : 'application/gzip' })
          .end(body);
      } catch {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Packages the chart in `chartDir` at `version` into the repository and re-indexes it. */
  async publish(chartDir: string, version: string): Promise<void> {
    await helm(['package', chartDir, '--version', version, '--destination', this.root], { home: this.home });
    await helm(['repo', 'index', this.root, '--url', this.url], { home: this.home });
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
