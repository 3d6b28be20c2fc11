import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../support/paths.js';

interface Built {
  version: string;
  /** The cache directory holding the component's binaries. */
  dir: string;
}

type FluxController =
  'source-controller' | 'kustomize-controller' | 'helm-controller' | 'notification-controller';

/**
 * What `tools/build.sh` built: the binaries' directories and versions, and the upstream module files the tier
 * uses.
 */
export interface Binaries {
  kubernetes: Built;
  kubectl: Built;
  etcd: Built;
  kwok: Built & { stages: string };
  helm: Built;
  flux: Record<FluxController, Built & { crds: string }>;
  /**
   * One binary for every Argo CD component; `manifests` is the module's manifests/ directory. Absent when
   * built with KEPTN_GITOPS_REAL_ARGOCD=0.
   */
  argocd?: Built & { manifests: string };
}

export const BUILT_FILE = join(repoRoot, 'tools', 'built.json');

let loaded: Binaries | undefined;

/** The binaries `tools/build.sh` built (npm run test:real runs it first). */
export function binaries(): Binaries {
  if (loaded) return loaded;
  if (!existsSync(BUILT_FILE))
    throw new Error(
      `${BUILT_FILE} is missing: run tools/build.sh (npm run test:real does) to build the real systems`,
    );
  loaded = JSON.parse(readFileSync(BUILT_FILE, 'utf8')) as Binaries;
  return loaded;
}

/** The path of one binary in a component's cache directory. */
export function binary(component: Built, name: string): string {
  const path = join(component.dir, name);
  if (!existsSync(path)) throw new Error(`${path} is missing: run tools/build.sh`);
  return path;
}

/** One line naming every version, printed at the start of a run and quoted in the README. */
export function versionsLine(): string {
  const b = binaries();
  const flux = Object.entries(b.flux)
    .map(([name, c]) => `${name} ${c.version}`)
    .join(', ');
  return `Kubernetes ${b.kubernetes.version}, etcd ${b.etcd.version}, kwok ${b.kwok.version}, helm ${b.helm.version}, Flux ${flux}${b.argocd ? `, Argo CD ${b.argocd.version}` : ''}`;
}
