#!/bin/sh
# GPU worker start: log what TensorFlow sees (in its own short process, so it holds no GPU memory
# afterwards), then become the worker. This listing only informs: the worker's own device probe
# decides, and a worker pinned to WORKER_RESOURCE_CLASSES=gpu,any (compose and Kubernetes pin it)
# that finds no GPU refuses to start instead of taking gpu jobs it would train on the CPU.
set -u
node /app/docker/tf-devices.cjs || echo "tf-devices: probe failed (exit $?); starting the worker anyway" >&2
exec node /app/dist/apps/worker/src/main.js
