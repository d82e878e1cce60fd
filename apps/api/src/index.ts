export { createApiApp, type ApiOptions } from './create-api-app';
