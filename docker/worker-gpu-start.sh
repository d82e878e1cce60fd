#!/bin/sh
# GPU worker start: log what TensorFlow sees (in its own short process, so it holds no GPU memory
# afterwards), then become the worker. A probe that finds no GPU warns but does not stop the
# worker: the runs then fail with the backend's own message, which the API shows per run.
set -u
node /app/docker/tf-devices.cjs || echo "tf-devices: probe failed (exit $?); starting the worker anyway" >&2
exec node /app/dist/apps/worker/src/main.js
