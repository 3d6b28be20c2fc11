import type { IncomingMessage, ServerResponse } from 'node:http';
import { discoveryDocument } from './discovery.js';
import type { FaultQueue, RequestInfo } from './faults.js';
import { applyJsonPatch, applyMergePatch, isObject } from './patch.js';
import type { KubeObject, ObjectStore } from './object-store.js';
import { notFound } from './object-store.js';
import type { RbacRules } from './rbac.js';
import { apiVersionOf, stamped, type ResourceRegistry, type ResourceType } from './resource-types.js';
import { fieldSelector, labelSelector } from './selectors.js';
import { ApiStatusError, statusBody } from './status.js';
import type { SchemaValidator } from './validation.js';
import { WatchStream } from './watch-stream.js';

export interface RouterParts {
  registry: ResourceRegistry;
  store: ObjectStore;
  validator: SchemaValidator;
  rbac: RbacRules;
  faults: FaultQueue;
  /** Called for every API request, before faults and authorization. */
  onRequest: (info: RequestInfo) => void;
  /** Requests the simulator must not answer (`timeout` faults); destroyed on stop. */
  onHang: (res: ServerResponse) => void;
  watches: Set<WatchStream>;
}

interface ParsedPath {
  type: ResourceType;
  namespace?: string;
  name?: string;
  subresource?: string;
}

const PATCH_TYPES = {
  merge: 'application/merge-patch+json',
  json: 'application/json-patch+json',
  strategic: 'application/strategic-merge-patch+json',
} as const;

/** Turns HTTP requests into store operations, the way kube-apiserver lays out its REST paths. */
export class KubeApiRouter {
  constructor(private readonly parts: RouterParts) {}

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://sim');
    try {
      const doc =
        req.method === 'GET'
          ? discoveryDocument(this.parts.registry, url.pathname.replace(/\/$/, ''))
          : undefined;
      if (doc) return send(res, 200, doc);
      const path = this.parsePath(url.pathname);
      const info = requestInfo(req.method ?? 'GET', url, path);
      this.parts.onRequest(info);
      const fault = this.parts.faults.take(info);
      if (fault === 'reset') return void req.socket.destroy();
      if (fault === 'timeout') return this.parts.onHang(res);
      if (typeof fault === 'number') return send(res, fault, statusBody(fault, `injected fault: ${fault}`));
      if (info.resource !== 'selfsubjectaccessreviews' && !this.parts.rbac.allows(info)) {
        return send(
          res,
          403,
          statusBody(403, this.parts.rbac.describeDenial(info), {
            name: info.name,
            group: info.group,
            kind: info.resource,
          }),
        );
      }
      const body = await readBody(req);
      if (fault === 'applied-timeout') {
        await this.dispatch(
          req.method ?? 'GET',
          url,
          path,
          info,
          body,
          req.headers['content-type'] ?? '',
          discarded(),
        );
        return this.parts.onHang(res);
      }
      await this.dispatch(req.method ?? 'GET', url, path, info, body, req.headers['content-type'] ?? '', res);
    } catch (err) {
      if (err instanceof ApiStatusError) return send(res, err.code, err.toStatus());
      send(res, 500, statusBody(500, err instanceof Error ? err.message : String(err)));
    }
  }

  private async dispatch(
    method: string,
    url: URL,
    path: ParsedPath,
    info: RequestInfo,
    body: string,
    contentType: string,
    res: ServerResponse,
  ): Promise<void> {
    const { store, validator } = this.parts;
    const { type, namespace, name, subresource } = path;
    if (subresource && !(subresource === 'status' && type.statusSubresource))
      throw new ApiStatusError(404, `the server could not find the requested resource`);
    const status = subresource === 'status' ? 'status' : undefined;
    switch (info.verb) {
      case 'get': {
        const obj = store.get(type, namespace, name!);
        if (!obj) throw notFound(type, name!);
        return send(res, 200, obj);
      }
      case 'list': {
        const filter = selectorFilter(url);
        const items = store.list(type, namespace).filter(filter);
        return send(res, 200, {
          apiVersion: apiVersionOf(type),
          kind: `${type.kind}List`,
          metadata: { resourceVersion: store.resourceVersion },
          items,
        });
      }
      case 'watch': {
        const stream = new WatchStream(
          store,
          res,
          {
            type,
            namespace,
            resourceVersion: url.searchParams.get('resourceVersion') ?? undefined,
            timeoutSeconds: Number(url.searchParams.get('timeoutSeconds') ?? 0) || undefined,
            filter: selectorFilter(url),
          },
          (s) => this.parts.watches.delete(s),
        );
        this.parts.watches.add(stream);
        return stream.start();
      }
      case 'create': {
        const obj = parseJson(body) as KubeObject;
        if (type.plural === 'selfsubjectaccessreviews') return send(res, 201, this.review(obj));
        if (!isObject(obj) || !isObject(obj.metadata))
          throw new ApiStatusError(400, 'body must be an object with metadata');
        if (type.namespaced) obj.metadata.namespace = namespace;
        validator.validate(type, stamped(obj, type));
        return send(res, 201, store.create(type, obj));
      }
      case 'update': {
        const obj = parseJson(body) as KubeObject;
        if (!isObject(obj)) throw new ApiStatusError(400, 'body must be an object');
        return send(res, 200, this.write(type, namespace, name!, obj, status));
      }
      case 'patch': {
        const current = store.get(type, namespace, name!);
        if (!current) throw notFound(type, name!);
        const patch = parseJson(body);
        const patched = applyPatch(type, current, patch, contentType.split(';')[0]!.trim()) as KubeObject;
        if (!isObject(patched) || !isObject(patched.metadata))
          throw new ApiStatusError(422, 'patch removed metadata');
        if (!hasRv(patch)) patched.metadata.resourceVersion = current.metadata.resourceVersion;
        return send(res, 200, this.write(type, namespace, name!, patched, status));
      }
      case 'delete':
        return send(res, 200, store.delete(type, namespace, name!));
      default:
        throw new ApiStatusError(405, `method ${method} not allowed`);
    }
  }

  private write(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    obj: KubeObject,
    status: 'status' | undefined,
  ): KubeObject {
    const { store, validator } = this.parts;
    const current = store.get(type, namespace, name);
    if (!current) throw notFound(type, name);
    const candidate: KubeObject = status
      ? { ...current, status: obj.status }
      : { ...obj, status: type.statusSubresource ? current.status : obj.status };
    if (candidate.status === undefined) delete candidate.status;
    validator.validate(type, stamped(candidate, type));
    return store.update(type, namespace, name, obj, status);
  }

  private review(obj: KubeObject): KubeObject {
    const attrs = ((obj.spec as { resourceAttributes?: Record<string, string> } | undefined)
      ?.resourceAttributes ?? {}) as Record<string, string>;
    const request = {
      verb: attrs.verb ?? '',
      group: attrs.group ?? '',
      resource: attrs.resource ?? '',
      subresource: attrs.subresource || undefined,
      namespace: attrs.namespace || undefined,
      name: attrs.name || undefined,
    };
    const allowed = this.parts.rbac.allows(request);
    return {
      ...obj,
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SelfSubjectAccessReview',
      metadata: { name: '' },
      status: allowed
        ? { allowed: true, reason: 'allowed by sandbox RBAC' }
        : { allowed: false, reason: this.parts.rbac.describeDenial(request) },
    };
  }

  private parsePath(pathname: string): ParsedPath {
    const core = /^\/api\/(v1)\/(.*)$/.exec(pathname);
    const grouped = /^\/apis\/([^/]+)\/([^/]+)\/(.*)$/.exec(pathname);
    const [group, version, rest] = core
      ? ['', core[1]!, core[2]!]
      : grouped
        ? [grouped[1]!, grouped[2]!, grouped[3]!]
        : [];
    if (version === undefined || rest === undefined)
      throw new ApiStatusError(404, `the server could not find the requested resource (${pathname})`);
    let segments = rest.split('/').filter(Boolean).map(decodeURIComponent);
    let namespace: string | undefined;
    if (segments[0] === 'namespaces' && segments.length >= 3) {
      namespace = segments[1];
      segments = segments.slice(2);
    }
    const type = this.parts.registry.find(group!, version, segments[0] ?? '');
    if (!type)
      throw new ApiStatusError(404, `the server could not find the requested resource (${pathname})`);
    return { type, namespace, name: segments[1], subresource: segments[2] };
  }
}

function requestInfo(method: string, url: URL, path: ParsedPath): RequestInfo {
  const watch = url.searchParams.get('watch');
  const verb =
    method === 'GET'
      ? path.name
        ? 'get'
        : watch === 'true' || watch === '1'
          ? 'watch'
          : 'list'
      : method === 'POST'
        ? 'create'
        : method === 'PUT'
          ? 'update'
          : method === 'PATCH'
            ? 'patch'
            : method === 'DELETE'
              ? 'delete'
              : method.toLowerCase();
  return {
    verb,
    group: path.type.group,
    resource: path.type.plural,
    subresource: path.subresource,
    namespace: path.namespace,
    name: path.name,
    url: url.pathname + url.search,
  };
}

function applyPatch(type: ResourceType, current: KubeObject, patch: unknown, contentType: string): unknown {
  switch (contentType) {
    case PATCH_TYPES.merge:
      return applyMergePatch(current, patch);
    case PATCH_TYPES.json:
      return applyJsonPatch(current, patch);
    case PATCH_TYPES.strategic:
      if (type.schema)
        throw new ApiStatusError(
          415,
          `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml`,
        );
      return applyMergePatch(current, patch);
    default:
      throw new ApiStatusError(
        415,
        `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json`,
      );
  }
}

function hasRv(patch: unknown): boolean {
  return isObject(patch) && isObject(patch.metadata) && typeof patch.metadata.resourceVersion === 'string';
}

function selectorFilter(url: URL): (obj: KubeObject) => boolean {
  const labels = labelSelector(url.searchParams.get('labelSelector'));
  const fields = fieldSelector(url.searchParams.get('fieldSelector'));
  return (obj) => labels(obj) && fields(obj);
}

function parseJson(body: string): unknown {
  try {
    return JSON.parse(body || 'null');
  } catch {
    throw new ApiStatusError(400, 'request body is not valid JSON');
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** A response nobody reads: the request is carried out, its answer lost. */
function discarded(): ServerResponse {
  return {
    headersSent: false,
    writeHead: () => undefined,
    end: () => undefined,
  } as unknown as ServerResponse;
}

function send(res: ServerResponse, code: number, body: unknown): void {
  if (res.headersSent) return void res.end();
  res.writeHead(code, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}
