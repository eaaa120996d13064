export { isProcessRunning } from './process-running';
export { cgroupCpuLimit, cpuBudget } from './cpu-budget';
export { startModuleWorker } from './module-worker';
