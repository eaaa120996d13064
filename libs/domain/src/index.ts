// Public surface of the pure domain. Everything outside libs/domain imports from here only.
export * from './kernel/time';
export * from './kernel/actor';
export * from './kernel/domain-error';
export * from './kernel/decider';
export * from './catalogue/product-catalogue';
export * from './calendar/term-calendar';
export * from './subscription/plan';
export * from './subscription/subscription.events';
export * from './subscription/subscription.commands';
export * from './subscription/subscription.state';
export * from './subscription/subscription.evolve';
export * from './subscription/subscription.decide';
export * from './subscription/cancellation-policy';
export * from './subscription/cancellation-preview';
export * from './subscription/recorded-refusal';
export { nextTermEndDue } from './subscription/decide/process-term-end.decide';
export * from './account/account.events';
export * from './account/account.commands';
export * from './account/account.state';
export * from './account/account.evolve';
export * from './account/account.decide';
export * from './personal-data';
export * from './deciders';
export * from './subscription/subscription-listing';
export {
  isPurgeNoticeOffset,
  plannedPurgeNotices,
  type PlannedPurgeNotice,
  purgeNoticesFor,
} from './subscription/decide/issue-purge-notice.decide';
