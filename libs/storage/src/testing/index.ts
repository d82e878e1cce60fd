// Test helpers, kept out of the main entry point: s3rver is a devDependency.
export { startS3TestServer, type S3TestServer } from './s3-test-server';
