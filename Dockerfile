# bun-fleet image: the primary and its workers in one container, one worker per CPU you give it.
# Build: docker build -t bun-fleet .   Run: docker run -p 3000:3000 -e ADMIN_TOKEN=... bun-fleet
# The base is pinned to the Bun the project is tested with (a test checks it equals Bun.version).

# Stage 1: production dependencies only, from the lockfile as committed.
FROM oven/bun:1.4.5 AS deps
WORKDIR /app
COPY package.json bun.lock bunfig.toml ./
RUN bun install --frozen-lockfile --production

# Stage 2: the runtime. tini is PID 1: it forwards signals to the primary and reaps orphaned
# grandchildren, which Bun as PID 1 leaves as zombies.
FROM oven/bun:1.4.5-slim
RUN apt-get update \
  && apt-get install -y --no-install-recommends tini \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production \
  HOST=0.0.0.0 \
  PORT=3000
COPY --from=deps /app/node_modules ./node_modules
COPY package.json bun.lock bunfig.toml tsconfig.json ./
COPY app ./app
COPY workers ./workers
COPY scripts/start.ts scripts/migrate.ts ./scripts/
# SQLite (DATABASE_URL unset) keeps data/app.db here: mount a volume on /app/data (one
# container only; several replicas need PostgreSQL, DATABASE_URL=postgres://...).
RUN mkdir -p /app/data && chown 10001:10001 /app/data
VOLUME /app/data
# A numeric non-root user, so Kubernetes' runAsNonRoot can check it without a passwd lookup.
USER 10001:10001
EXPOSE 3000
# The image has no curl: Bun's fetch asks /healthz of this container's own fleet on 127.0.0.1
# (covered by the default HOST=0.0.0.0; a HOST bound to one other address needs another check).
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
  CMD ["bun", "-e", "fetch(`http://127.0.0.1:${process.env.PORT || 3000}/healthz`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Exec form: tini, then the primary itself (not `bun run`, not a shell) receives SIGTERM.
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["bun", "scripts/start.ts"]
