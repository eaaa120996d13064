export * from './holders/product-data-holder.port';
export * from './holders/local-product-data.store';
export * from './holders/http-product-data-holder';
export * from './holders/holder-registry';
export * from './purge.ports';
export * from './purge-process';
export * from './personal-data-eraser';
export * from './purge.module';
