export { isProcessRunning } from './process-running';
