export * from './bitstream-image';
export * from './bitstream-source';
export * from './verified-download';
export { GlanceSource } from './glance.source';
export { DirectorySource } from './directory.source';
export { HttpSource } from './http.source';
export { createBitstreamSource } from './create-source';
export * from './program-deployable';
