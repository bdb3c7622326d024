# Workyard image: one image for every role; the command says what a container runs
# (start | serve | worker | migrate). Node.js 24 LTS (what package.json engines says). Docker does
# not run on the development machines: scripts/release/image-check.ts carries out these steps in CI.

# --- build: compile TypeScript and the native addon (better-sqlite3) ---
FROM node:24-bookworm-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

# --- runtime: no compiler, no dev dependencies, not root ---
FROM node:24-bookworm-slim
ENV NODE_ENV=production \
    WORKYARD_HOST=0.0.0.0 \
    WORKYARD_PORT=8080 \
    WORKYARD_DATA_DIR=/data
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=2s CMD node -e "fetch('http://127.0.0.1:'+(process.env.WORKYARD_WORKER_PORT||process.env.WORKYARD_PORT)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# the V8 flags of src/node-flags.ts (why there)
ENTRYPOINT ["node", "--max-semi-space-size=8", "dist/main.js"]
CMD ["start"]
