# syntax=docker/dockerfile:1
# keptn-gitops-service: `docker build -t keptn-gitops-service .`

# 1. Build: all dependencies, TypeScript compiled to dist/.
FROM node:24-alpine AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY lib ./lib
COPY service ./service
RUN npm run build

# 2. Runtime: production dependencies only, no compiler, no npm, a non-root user.
FROM node:24-alpine AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund \
 && npm cache clean --force \
 && rm -rf /usr/local/lib/node_modules/npm /usr/local/bin/npm /usr/local/bin/npx /opt/yarn* /usr/local/bin/yarn /usr/local/bin/yarnpkg
COPY --from=build /app/dist ./dist
# Read at run time (the sandbox of `keptn-gitops demo`).
COPY service/sandbox/crds ./service/sandbox/crds
# 65532: the same non-root user as the chart's securityContext (runAsUser/runAsGroup).
USER 65532:65532
# HEALTH_ENDPOINT_PORT (/health, /ready, /metrics) and WEBHOOK_PORT (/webhooks/argocd, /webhooks/flux)
EXPOSE 8080 8090
# --optimize-for-size: the flags of service/node-flags.ts (memory over speed; it cannot go in NODE_OPTIONS).
ENTRYPOINT ["node", "--optimize-for-size", "dist/service/cli/main.js"]
CMD ["serve"]
