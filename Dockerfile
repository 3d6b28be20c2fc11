# syntax=docker/dockerfile:1
# keptn-gitops-service: `docker build -t keptn-gitops-service .`

# 1. Build: all dependencies, TypeScript compiled to dist/, then the CLI bundled with its
#    dependencies (tree-shaken) into dist/image/ (build/bundle.ts).
FROM node:24-alpine AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: the `node` devDependency would download a glibc Node for machines whose own Node
# is older; this image has Node 24 (musl) already. esbuild needs no install script.
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json ./
COPY lib ./lib
COPY service ./service
COPY build ./build
RUN npm run build

# 2. Runtime: the bundle only (no node_modules, no compiler, no npm, no demo or simulators), a non-root
#    user. The bundle sits where the compiled CLI would, so `node dist/service/cli/main.js check` works
#    in the pod.
FROM node:24-alpine AS runtime
ENV NODE_ENV=production
WORKDIR /app
RUN rm -rf /usr/local/lib/node_modules/npm /usr/local/bin/npm /usr/local/bin/npx /opt/yarn* /usr/local/bin/yarn /usr/local/bin/yarnpkg
# package.json: the version the CLI reports.
COPY package.json ./
COPY --from=build /app/dist/image ./dist/service/cli
# 65532: the same non-root user as the chart's securityContext (runAsUser/runAsGroup).
USER 65532:65532
# HEALTH_ENDPOINT_PORT (/health, /ready, /metrics) and WEBHOOK_PORT (/webhooks/argocd, /webhooks/flux)
EXPOSE 8080 8090
# --optimize-for-size: the flags of service/node-flags.ts (memory over speed; it cannot go in NODE_OPTIONS).
ENTRYPOINT ["node", "--optimize-for-size", "dist/service/cli/main.js"]
CMD ["serve"]
