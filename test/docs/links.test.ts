import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { MANAGED_BY } from '../../service/state/state-labels.js';
import { ARGOCD_TRIGGERS } from '../../service/webhooks/payloads.js';
import { repoRoot } from '../support/paths.js';

/** The files of the repository as git sees them (tracked and new, not ignored). */
function repoFiles(): string[] {
  const out = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], {
    cwd: repoRoot,
    encoding: 'utf8',
  });
  return out.split('\n').filter((f) => f && existsSync(join(repoRoot, f)));
}

const markdown = () => repoFiles().filter((f) => f.endsWith('.md') && !f.startsWith('test/fixtures/'));

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces to dashes. */
const anchorOf = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\w\- ]/g, '')
    .replace(/ /g, '-');

describe('documentation', () => {
  it('every relative link in a Markdown file points to a file (and heading) in the repository', () => {
    const broken: string[] = [];
    for (const file of markdown()) {
      const text = readFileSync(join(repoRoot, file), 'utf8');
      for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/.test(target!) || target!.startsWith('#')) continue;
        const [path, anchor] = target!.split('#');
        const resolved = join(dirname(join(repoRoot, file)), path!);
        if (!existsSync(resolved)) {
          broken.push(`${file}: ${target} (no ${relative(repoRoot, resolved)})`);
          continue;
        }
        if (anchor && resolved.endsWith('.md')) {
          const headings = [...readFileSync(resolved, 'utf8').matchAll(/^#+ (.*)$/gm)].map((m) =>
            anchorOf(m[1]!),
          );
          if (!headings.includes(anchor)) broken.push(`${file}: ${target} (no heading #${anchor})`);
        }
      }
    }
    expect(broken).to.deep.equal([]);
  });

  it('points to no document outside the repository', () => {
    // Spelled in two parts so that this file does not match itself.
    const outside = [
      ['product', '.md'],
      ['contracts', '/'],
      ['/work', '/shared'],
      ['../', 'shared'],
    ].map((p) => p.join(''));
    const found: string[] = [];
    for (const file of repoFiles()) {
      if (
        file.startsWith('test/fixtures/') ||
        file === 'package-lock.json' ||
        !/\.(md|ts|ya?ml|json|txt|tpl)$/.test(file)
      )
        continue;
      const text = readFileSync(join(repoRoot, file), 'utf8');
      for (const word of outside) if (text.includes(word)) found.push(`${file}: ${word}`);
    }
    expect(found).to.deep.equal([]);
  });

  it('docs/argocd names the trigger names the service accepts', () => {
    const cm = readFileSync(join(repoRoot, 'docs', 'argocd', 'argocd-notifications-cm.yaml'), 'utf8');
    const triggers = [...cm.matchAll(/^ {2}trigger\.([\w-]+):/gm)].map((m) => m[1]);
    expect(triggers.sort()).to.deep.equal([...ARGOCD_TRIGGERS].sort());
    const sent = [...cm.matchAll(/"trigger": "([\w-]+)"/g)].map((m) => m[1]);
    expect(sent.sort()).to.deep.equal([...ARGOCD_TRIGGERS].sort());
  });

  it('docs/uninstall.md removes the objects by the label the service puts on them', () => {
    const text = readFileSync(join(repoRoot, 'docs', 'uninstall.md'), 'utf8');
    expect(text).to.include(`-l ${MANAGED_BY.key}=${MANAGED_BY.value}`);
  });
});
