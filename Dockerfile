# syntax=docker/dockerfile:1
#
# Tributary image: one image for every Tributary service. The compose file picks the service
# with `command`, e.g. `command: ["capture", "infoportal"]` or `command: ["sink", "warehouse"]`.

ARG NODE_IMAGE=node:22-bookworm-slim

# ---- build: compile TypeScript to dist/ -------------------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# No dependency needs an install script (no native modules); skipping them also keeps a future
# `prepare` script from running before the sources are copied in.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# ---- runtime: production dependencies, compiled code, non-root -------------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    TRIBUTARY_CONFIG=/etc/tributary/tributary.yaml \
    TRIBUTARY_HEALTH_URL=http://127.0.0.1:8080/healthz
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY --chmod=755 bin ./bin

USER node

# Long-running services (capture, sink, up, dashboard) serve /healthz on their HTTP port. A
# service whose port is not 8080 sets TRIBUTARY_HEALTH_URL (compose does this per service).
# Node's built-in fetch does the probe, so the slim image needs no curl.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch(process.env.TRIBUTARY_HEALTH_URL).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

# The file itself, so that its shebang's node flags (the heap cap) apply.
ENTRYPOINT ["/app/bin/tributary.js"]
