// Entry point of the device probe (compiled to device-probe.child.js, forked by probeDevices when
// a worker starts). It lists the GPUs and activates the backend in a process of its own: a broken
// driver crashes this process, not the worker, and the GPU memory TensorFlow takes is given back.
import { runChild } from './child-runtime';
import type { DeviceReport } from './device-report';

runChild({}, async (start, channel) => {
  if (start.kind !== 'probe') throw new Error(`device-probe.child.js was sent '${start.kind}'`);
  const [{ initEngine }, { listNvidiaGpus }] = await Promise.all([
    import('@trainyard/engine'),
    import('./nvidia-gpus'),
  ]);
  // Listing first: it asks the driver only, and says what there is even if the backend then fails.
  const gpus = await listNvidiaGpus();
  const engine = await initEngine({ backend: start.backend });
  const onGpu = engine.backend === 'tensorflow-gpu';
  const report: DeviceReport = {
    backend: engine.backend,
    detail: engine.detail,
    gpus: onGpu ? gpus : [],
    unusedGpus: onGpu ? [] : gpus,
  };
  await channel.send({ kind: 'devices', report });
});
