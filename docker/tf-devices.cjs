// What TensorFlow sees, in a short-lived process of its own (TensorFlow keeps GPU memory until its
// process exits, so the worker itself must not be the one to look).
//
//   node docker/tf-devices.cjs --build   image build: fails unless tfjs-node-gpu loads its GPU
//                                        libtensorflow (no GPU needed: CUDA is opened lazily)
//   node docker/tf-devices.cjs           container start (docker/worker-gpu-start.sh): logs the
//                                        GPUs the driver exposes and the devices TensorFlow creates
'use strict';
/* eslint-disable @typescript-eslint/no-require-imports -- a plain CommonJS script run by node in the image, before any build */
const { existsSync, readdirSync, readFileSync } = require('node:fs');
const { dirname, join } = require('node:path');

const build = process.argv.includes('--build');
const PKG = '@tensorflow/tfjs-node-gpu';
// TensorFlow prints "Created device /job:localhost/.../device:GPU:0 with N MB memory -> physical GPU
// (device: 0, name: …)" at INFO level; keep it for this probe whatever the container sets.
process.env.TF_CPP_MIN_LOG_LEVEL = '0';

function fail(message) {
  process.stderr.write(`tf-devices: ${message}\n`);
  process.exit(1);
}

let pkgDir;
try {
  pkgDir = dirname(require.resolve(`${PKG}/package.json`));
} catch {
  fail(`${PKG} is not installed`);
}
const lib = join(pkgDir, 'deps', 'lib', 'libtensorflow.so.2');
if (!existsSync(lib)) fail(`${lib} is missing: the package's install script (which fetches libtensorflow) did not run`);
// The GPU build of libtensorflow names the CUDA runtime it opens; the CPU build does not.
if (!readFileSync(lib).includes('libcudart')) fail(`${lib} is a CPU build of libtensorflow, not the GPU one`);

let tf;
try {
  tf = require(PKG);
} catch (error) {
  fail(`${PKG} failed to load: ${error.message}`);
}
const backend = tf.backend();
if (tf.getBackend() !== 'tensorflow' || backend.isGPUPackage !== true) {
  fail(`${PKG} loaded but its backend is ${tf.getBackend()} (GPU package: ${backend.isGPUPackage})`);
}
// One op makes TensorFlow create its devices (and log them, see above).
tf.tidy(() => tf.matMul(tf.ones([2, 2]), tf.ones([2, 2])).dataSync());

const versions = JSON.stringify(tf.version);
if (build) {
  process.stdout.write(`tf-devices: ${PKG} loads libtensorflow (GPU build) ${versions}\n`);
  process.exit(0);
}

const gpusDir = '/proc/driver/nvidia/gpus';
const gpus = existsSync(gpusDir)
  ? readdirSync(gpusDir).map((bus) => {
      const info = readFileSync(join(gpusDir, bus, 'information'), 'utf8');
      const model = /^Model:\s*(.+)$/m.exec(info);
      return `${bus} ${model ? model[1].trim() : 'unknown model'}`;
    })
  : [];
const line = {
  msg: 'TensorFlow devices',
  package: PKG,
  versions: tf.version,
  usingGpu: backend.isUsingGpuDevice,
  cudaVisibleDevices: process.env.CUDA_VISIBLE_DEVICES ?? '(unset: all)',
  driverGpus: gpus,
};
process.stdout.write(`${JSON.stringify(line)}\n`);
if (backend.isUsingGpuDevice !== true) {
  process.stderr.write(
    'tf-devices: TensorFlow found no usable GPU (driver mounted? NVIDIA Container Toolkit, --gpus, nvidia.com/gpu limit?); ' +
      'with TRAINYARD_BACKEND=tensorflow-gpu every run will fail to pick its backend\n',
  );
}
