# syntax=docker/dockerfile:1
# Trainyard API. Build context: the repository root (see docker-compose.yml).
# The API never loads TensorFlow, so this image needs no CUDA and no native TF binary.

FROM node:20-bookworm-slim AS base
# The lockfile and the `allowScripts` field in package.json are npm 11's; node:20 ships npm 10,
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
COPY --from=build --chown=node:node /app/package.json ./
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
# SQL migrations, applied by libs/db's migrator at startup.
COPY --from=build --chown=node:node /app/prisma ./prisma
USER node
EXPOSE 3000
CMD ["node", "dist/apps/api/src/main.js"]
