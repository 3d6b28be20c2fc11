import { execFile } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A bare Git repository on disk and a working copy that commits and pushes to it. */
export class GitRepo {
  readonly bare: string;
  private readonly work: string;

  private constructor(dir: string, name: string) {
    this.bare = join(dir, `${name}.git`);
    this.work = join(dir, `${name}.work`);
  }

  static async create(dir: string, name: string): Promise<GitRepo> {
    const repo = new GitRepo(dir, name);
    mkdirSync(dir, { recursive: true });
    await run('git', ['init', '--quiet', '--bare', '--initial-branch=main', repo.bare]);
    await run('git', ['clone', '--quiet', repo.bare, repo.work]);
    await repo.git('checkout', '--quiet', '-b', 'main');
    return repo;
  }

  /** `file://` URL of the bare repository (Argo CD's e2e default). */
  get fileUrl(): string {
    return `file://${this.bare}`;
  }

  /** Writes the files (a null content deletes one), commits them and pushes; returns the commit SHA. */
  async commit(files: Record<string, string | null>, message: string): Promise<string> {
    for (const [path, content] of Object.entries(files)) {
      const file = join(this.work, path);
      if (content === null) {
        rmSync(file, { force: true });
      } else {
        mkdirSync(dirname(file), { recursive: true });
        writeFileSync(file, content);
      }
    }
    await this.git('add', '--all');
    await this.git('commit', '--quiet', '--allow-empty', '-m', message);
    await this.git('push', '--quiet', 'origin', 'main');
    return (await this.git('rev-parse', 'HEAD')).trim();
  }

  private async git(...args: string[]): Promise<string> {
    const env = { ...process.env, GIT_AUTHOR_NAME: 'keptn-gitops tests', GIT_AUTHOR_EMAIL: 'tests@keptn-gitops.invalid', GIT_COMMITTER_NAME: 'keptn-gitops tests', GIT_COMMITTER_EMAIL: 'tests@keptn-gitops.invalid' };
    const { stdout } = await run('git', ['-C', this.work, ...args], { env });
    return stdout;
  }
}
