# syntax=docker/dockerfile:1
# Trainyard GPU worker. Build context: the repository root; run with the `gpu` compose profile
# on a host with the NVIDIA driver and the NVIDIA Container Toolkit.
#
# @tensorflow/tfjs-node-gpu 4.22 links libtensorflow 2.9, built for CUDA 11.2 and cuDNN 8.1:
# newer CUDA images do not work with it, hence this base. (The host driver must support 11.2,
# i.e. >= 460; the driver itself is mounted in by the container toolkit at run time.)
ARG CUDA_IMAGE=nvidia/cuda:11.2.2-cudnn8-runtime-ubuntu20.04

# Node 20 comes from the official image as files: no NodeSource apt repository, no curl | bash.
# Those are the nodejs.org binaries, built against glibc 2.28, so they run on Ubuntu 20.04 (2.31).
FROM node:20-bookworm-slim AS node

FROM ${CUDA_IMAGE} AS base
COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=node /usr/local/lib/node_modules /usr/local/lib/node_modules
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && npm install -g npm@11.19.1 && npm cache clean --force \
 && useradd --create-home --uid 1000 node
WORKDIR /app

FROM base AS build
# Compilers only in case no prebuilt tfjs binding matches and node-pre-gyp builds from source.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json prisma.config.ts ./
COPY prisma ./prisma
COPY tools ./tools
RUN npm ci
# tfjs-node-gpu's install script downloads libtensorflow (GPU) and the native binding. It runs
# here, at image build time on the user's network, never at run time; the check after it fails
# the build loudly rather than shipping an image that silently falls back to wasm.
RUN npm install --no-save --allow-scripts=@tensorflow/tfjs-node-gpu @tensorflow/tfjs-node-gpu@4.22.0 \
 && ls node_modules/@tensorflow/tfjs-node-gpu/deps/lib/libtensorflow.so.2 \
 && find node_modules/@tensorflow/tfjs-node-gpu/lib -name tfjs_binding.node | grep -q .
COPY . .
RUN npm run build && npm prune --omit=dev \
 && ls node_modules/@tensorflow/tfjs-node-gpu/deps/lib/libtensorflow.so.2

FROM base AS runtime
ENV NODE_ENV=production
COPY --from=build --chown=node:node /app/package.json ./
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
COPY --from=build --chown=node:node /app/prisma ./prisma
USER node
CMD ["node", "dist/apps/worker/src/main.js"]
