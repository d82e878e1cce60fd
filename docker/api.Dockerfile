# syntax=docker/dockerfile:1
# Trainyard API, and the one-shot `migrate` step (same image, command
# `node dist/apps/cli/src/migrate.js`). Build context: the repository root (see docker-compose.yml).
# The API never loads TensorFlow, so this image needs no CUDA and no native TF binary.

# Node 22 is an LTS line (supported to April 2027); Node 20 reached its end of life in April 2026.
ARG NODE_IMAGE=node:22.20.0-bookworm-slim

FROM ${NODE_IMAGE} AS base
# The lockfile and the `allowScripts` field in package.json are npm 11's; node:22 ships npm 10,
# which would ignore allowScripts and run every install script.
RUN npm install -g npm@11.19.1 && npm cache clean --force
WORKDIR /app

FROM base AS build
# Only what `npm ci` needs first, so the dependency layer is cached until the lockfile changes.
# The postinstall script runs `prisma generate`, hence prisma/ and tools/.
COPY package.json package-lock.json prisma.config.ts ./
COPY prisma ./prisma
COPY tools ./tools
RUN npm ci
COPY . .
RUN npm run build && npm prune --omit=dev

FROM base AS runtime
ENV NODE_ENV=production
# /app belongs to root and stays read-only for the app; local state goes here, owned by `node`
# (compose and Kubernetes mount a volume on it).
ENV TRAINYARD_HOME=/var/lib/trainyard
RUN mkdir -p /var/lib/trainyard && chown node:node /var/lib/trainyard
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# SQL migrations, applied by `npm run migrate` (or at start with MIGRATE_ON_START=true).
COPY --from=build /app/prisma ./prisma
USER node
EXPOSE 3000
CMD ["node", "dist/apps/api/src/main.js"]
