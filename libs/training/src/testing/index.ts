// Fixtures of libs/training's tests that tools share (`@trainyard/training/testing`); nothing here loads TensorFlow.js.
export { OWN_LAYERS_AUTOENCODER } from './own-layers-autoencoder';
