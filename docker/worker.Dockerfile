# syntax=docker/dockerfile:1
# Trainyard CPU worker. Build context: the repository root (see docker-compose.yml).
# tfjs-node and tfjs-node-gpu stay optional and their install scripts are not allowed, so this
# worker trains on the wasm backend (libs/engine picks it at run time); the GPU image is
# docker/worker-gpu.Dockerfile.

# Node 22 is an LTS line (supported to April 2027); Node 20 reached its end of life in April 2026.
ARG NODE_IMAGE=node:22.20.0-bookworm-slim

FROM ${NODE_IMAGE} AS base
# The lockfile and the `allowScripts` field in package.json are npm 11's; node:22 ships npm 10,
# which would ignore allowScripts and run every install script.
RUN npm install -g npm@11.19.1 && npm cache clean --force
WORKDIR /app

FROM base AS build
# The postinstall script runs `prisma generate`, hence prisma/ and tools/ before `npm ci`.
COPY package.json package-lock.json prisma.config.ts ./
COPY prisma ./prisma
COPY tools ./tools
RUN npm ci
COPY . .
RUN npm run build && npm prune --omit=dev

FROM base AS runtime
ENV NODE_ENV=production
# /app belongs to root and stays read-only for the app; the image-folder cache and other local
# state go here, owned by `node` (compose and Kubernetes mount a volume on it).
ENV TRAINYARD_HOME=/var/lib/trainyard
RUN mkdir -p /var/lib/trainyard && chown node:node /var/lib/trainyard
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/prisma ./prisma
USER node
# WORKER_METRICS_PORT, when set (compose and Kubernetes use 9464).
EXPOSE 9464
CMD ["node", "dist/apps/worker/src/main.js"]
