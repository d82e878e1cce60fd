# syntax=docker/dockerfile:1
# Trainyard GPU worker. Build context: the repository root; run with the `gpu` compose profile
# on a host with the NVIDIA driver and the NVIDIA Container Toolkit, or the Kubernetes
# worker-gpu Deployment (deploy/k8s).
#
# @tensorflow/tfjs-node-gpu 4.22 links libtensorflow 2.9, built for CUDA 11.2 and cuDNN 8.1:
# newer CUDA images do not work with it, hence this base. (The host driver must support 11.2,
# i.e. >= 460; the driver itself is mounted in by the container toolkit at run time.)
ARG CUDA_IMAGE=nvidia/cuda:11.2.2-cudnn8-runtime-ubuntu20.04
# Node 22 is an LTS line (supported to April 2027); Node 20 reached its end of life in April 2026.
ARG NODE_IMAGE=node:22.20.0-bookworm-slim

# Node comes from the official image as files: no NodeSource apt repository, no curl | bash.
# Those are the nodejs.org binaries, built against glibc 2.28, so they run on Ubuntu 20.04 (2.31).
FROM ${NODE_IMAGE} AS node

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
# `npm ci` installs tfjs-node-gpu (an optional dependency, at the lockfile's version) WITHOUT its
# install script, which allowScripts denies everywhere else. Re-installing it would find it already
# there and run nothing, so the script is run on purpose: allow it for exactly this version in
# package.json (npm 11 refuses --allow-scripts on the command line of a project install) and
# `npm rebuild` it. The script downloads libtensorflow (GPU) and the native binding here, at image
# build time on the builder's network, never at run time.
RUN npm ci \
 && node -e "const f='package.json',p=require('./'+f);p.allowScripts['@tensorflow/tfjs-node-gpu@4.22.0']=true;require('fs').writeFileSync(f,JSON.stringify(p,null,2))" \
 && npm rebuild @tensorflow/tfjs-node-gpu
COPY docker/tf-devices.cjs ./docker/tf-devices.cjs
# The load check: the build fails here, loudly, unless libtensorflow's GPU build is inside and
# loads (no GPU is needed for that: CUDA is opened lazily), instead of shipping an image whose
# runs would fall back to wasm.
RUN node docker/tf-devices.cjs --build
COPY . .
# (COPY puts the original package.json back: prune and build run no install scripts.)
RUN npm run build && npm prune --omit=dev \
 && node docker/tf-devices.cjs --build

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
COPY --from=build /app/docker/tf-devices.cjs /app/docker/worker-gpu-start.sh ./docker/
# The check again, on the files the worker will run with.
RUN node docker/tf-devices.cjs --build
USER node
EXPOSE 9464
# Logs the devices TensorFlow sees, then execs the worker (see docker/worker-gpu-start.sh).
CMD ["/bin/sh", "/app/docker/worker-gpu-start.sh"]
