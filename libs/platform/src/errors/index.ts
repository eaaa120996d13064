export { PlatformError, isPlatformError, type PlatformErrorCode } from './platform.error';
