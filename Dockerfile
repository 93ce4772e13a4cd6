# Tessera: Node 24 runs the TypeScript sources directly (type stripping), so there is no build step.
FROM node:24-slim

# NODE_COMPILE_CACHE: Node keeps the type-stripped, compiled modules between starts, so a
# restarted node never loads the TypeScript stripper (see server/compile-cache.ts).
ENV NODE_ENV=production \
    PORT=3000 \
    DATA_DIR=/var/lib/tessera \
    NODE_COMPILE_CACHE=/app/node_modules/.cache/tessera
WORKDIR /app

COPY package.json package-lock.json ./
# npm install rather than npm ci: see .ci/run (the lockfile lacks other platforms' optional builds).
RUN npm install --omit=dev --no-audit --no-fund && npm cache clean --force

COPY server ./server
COPY adapters ./adapters
COPY db ./db
COPY views ./views
COPY scripts ./scripts

# The embedded database and its generated secret live here when DATABASE_URL is not set.
RUN mkdir -p "$DATA_DIR" "$NODE_COMPILE_CACHE" && chown node:node "$DATA_DIR" "$NODE_COMPILE_CACHE"
VOLUME ["/var/lib/tessera"]
USER node

EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.PORT}/healthz`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

# SIGTERM drains in-flight requests and closes the database pool.
STOPSIGNAL SIGTERM
CMD ["node", "server/main.ts"]
