import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';

/**
 * Git's smart HTTP protocol on 127.0.0.1: Debian's `git http-backend` run as a CGI program per request
 * (Flux refuses file:// URLs, and go-git cannot use the dumb protocol). Repositories are bare ones under
 * `<dir>/repos`; tests change them through a working copy each, committed and pushed locally.
 */
export class GitServer {
  private server?: Server;
  readonly root: string;
  url = '';

  constructor(private readonly dir: string) {
    this.root = join(dir, 'repos');
    mkdirSync(this.root, { recursive: true });
  }

  async start(port: number): Promise<void> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Creates a bare repository and its working copy on branch main; returns the working copy. */
  createRepository(name: string): GitWorkingCopy {
    const bare = join(this.root, `${name}.git`);
    git(this.root, 'init', '--quiet', '--bare', '--initial-branch=main', bare);
    const work = join(this.dir, 'work', name);
    mkdirSync(work, { recursive: true });
    git(work, 'init', '--quiet', '--initial-branch=main');
    git(work, 'remote', 'add', 'origin', bare);
    return new GitWorkingCopy(work, `${this.url}/${name}.git`);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const cgi = spawn('git', ['http-backend'], {
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        GIT_PROJECT_ROOT: this.root,
        GIT_HTTP_EXPORT_ALL: '1',
        REQUEST_METHOD: req.method ?? 'GET',
        PATH_INFO: decodeURIComponent(url.pathname),
        QUERY_STRING: url.search.slice(1),
        CONTENT_TYPE: req.headers['content-type'] ?? '',
        REMOTE_ADDR: '127.0.0.1',
        ...(req.headers['content-length'] ? { CONTENT_LENGTH: req.headers['content-length'] } : {}),
        ...(req.headers['content-encoding']
          ? { HTTP_CONTENT_ENCODING: req.headers['content-encoding'] }
          : {}),
        ...(req.headers['git-protocol'] ? { GIT_PROTOCOL: String(req.headers['git-protocol']) } : {}),
      },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    req.pipe(cgi.stdin);
    let head = Buffer.alloc(0);
    let headersSent = false;
    cgi.stdout.on('data', (chunk: Buffer) => {
      if (headersSent) {
        res.write(chunk);
        return;
      }
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      headersSent = true;
      let status = 200;
      for (const line of head.subarray(0, end).toString('latin1').split('\r\n')) {
        const colon = line.indexOf(':');
        const name = line.slice(0, colon).trim();
        const value = line.slice(colon + 1).trim();
        if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10);
        else res.setHeader(name, value);
      }
      res.writeHead(status);
      res.write(head.subarray(end + 4));
    });
    cgi.on('close', (code) => {
      if (!headersSent) res.writeHead(code === 0 ? 200 : 500);
      res.end();
    });
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

/** A working copy whose commits reach the served repository by a local push. */
export class GitWorkingCopy {
  constructor(
    readonly dir: string,
    /** The repository's URL on the Git server. */
    readonly url: string,
  ) {}

  /** Writes the files (path → content), commits them and pushes main; returns the commit's SHA. */
  commit(message: string, files: Record<string, string>, remove: string[] = []): string {
    for (const [path, content] of Object.entries(files)) {
      mkdirSync(dirname(join(this.dir, path)), { recursive: true });
      writeFileSync(join(this.dir, path), content);
    }
    for (const path of remove) git(this.dir, 'rm', '--quiet', '-r', path);
    git(this.dir, 'add', '--all');
    git(
      this.dir,
      '-c',
      'user.name=keptn-gitops-real',
      '-c',
      'user.email=real@keptn-gitops.invalid',
      'commit',
      '--quiet',
      '--allow-empty',
      '-m',
      message,
    );
    git(this.dir, 'push', '--quiet', 'origin', 'main');
    return git(this.dir, 'rev-parse', 'HEAD').trim();
  }
}

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}
