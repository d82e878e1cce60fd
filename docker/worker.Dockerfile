# syntax=docker/dockerfile:1
# Trainyard CPU worker. Build context: the repository root (see docker-compose.yml).
# tfjs-node and tfjs-node-gpu stay optional and their install scripts are not allowed, so this
# worker trains on the wasm backend (libs/engine picks it at run time); the GPU image is
# docker/worker-gpu.Dockerfile.

FROM node:20-bookworm-slim AS base
# The lockfile and the `allowScripts` field in package.json are npm 11's; node:20 ships npm 10,
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
COPY --from=build --chown=node:node /app/package.json ./
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
COPY --from=build --chown=node:node /app/prisma ./prisma
USER node
CMD ["node", "dist/apps/worker/src/main.js"]
